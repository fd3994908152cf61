// The benchmark's own NFSv4.1 client: ONC RPC over TCP (RFC 5531), one
// session with a slot table (RFC 8881 2.10.6), and builders for the ops the
// figures use. It shares nothing with the server but the generated XDR types,
// so the same client drives nfs-ganesha and efs-local alike.
//
// Every failure is fatal (die): a benchmark that carries on after a failed
// request would report the speed of an error path.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "xdr/nfs4_xdr.h"

namespace nfsbench {

namespace x = efs::xdr::nfs4;

[[noreturn]] void die(const std::string& msg);

// Joins strings and numbers: cat("f", 12) is "f12". (Instead of "f" +
// std::to_string(12), on which GCC 12 -O3 warns falsely: -Wrestrict.)
inline void append_part(std::string& s, std::string_view v) { s.append(v); }
template <class I>
  requires std::is_integral_v<I>
void append_part(std::string& s, I v) {
  s.append(std::to_string(v));
}
template <class... T>
std::string cat(const T&... parts) {
  std::string s;
  (append_part(s, parts), ...);
  return s;
}

constexpr uint32_t kMiB = 1 << 20;
using Clock = std::chrono::steady_clock;

// TLS for every RpcConn made after this call: the server's certificate is
// checked against ca_file and host_name, as efs-utils' stunnel does
// (verify = 2, checkHost), with TLS 1.2 as its sslVersion sets. For the TLS
// cost of the server's own front end without a relay in between.
void use_tls(const std::string& ca_file, const std::string& host_name);

class RpcConn {
 public:
  RpcConn(const std::string& host, uint16_t port);
  ~RpcConn();
  RpcConn(const RpcConn&) = delete;
  RpcConn& operator=(const RpcConn&) = delete;

  uint32_t send_compound(const x::COMPOUND4args& args);  // returns the xid
  uint32_t recv_compound(x::COMPOUND4res& res);          // returns the xid

 private:
  void write_all(const uint8_t* p, size_t n);
  void read_all(uint8_t* p, size_t n);
  int fd_ = -1;
  void* ssl_ = nullptr;  // SSL*, when use_tls() was called
  uint32_t next_xid_ = 0x10000;
  std::vector<uint8_t> buf_, rec_;
};

class Session {
 public:
  // EXCHANGE_ID (a client owner unique to this session), CREATE_SESSION with
  // `slots` fore-channel slots, RECLAIM_COMPLETE.
  Session(RpcConn& c, uint32_t slots);
  ~Session();  // DESTROY_SESSION, DESTROY_CLIENTID
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  uint32_t slots() const { return static_cast<uint32_t>(slot_seq_.size()); }
  x::clientid4 clientid() const { return clientid_; }

  // Sends ops (SEQUENCE is prepended) on a free slot; returns its xid.
  uint32_t submit(x::COMPOUND4args ops);
  // Waits for any reply (resarray[0] is SEQUENCE's); dies if SEQUENCE failed.
  uint32_t wait_any(x::COMPOUND4res& res);
  // One request, waited for; dies unless every op succeeded.
  x::COMPOUND4res run(x::COMPOUND4args ops);
  // One request, waited for; returns its status whatever it is.
  x::COMPOUND4res try_run(x::COMPOUND4args ops);
  size_t in_flight() const { return inflight_.size(); }

 private:
  x::COMPOUND4res call(const x::COMPOUND4args& a);
  RpcConn& c_;
  x::clientid4 clientid_ = 0;
  x::sessionid4 sessionid_{};
  std::vector<uint32_t> slot_seq_;
  std::deque<uint32_t> free_slots_;
  std::map<uint32_t, uint32_t> inflight_;  // xid -> slot
};

// ---- op builders -------------------------------------------------------------

x::nfs_argop4 op(x::nfs_opnum4 n);
x::nfs_argop4 putfh(const x::nfs_fh4& fh);
x::nfs_argop4 lookup(const std::string& name);
x::bitmap4 attr_bits(std::initializer_list<uint32_t> attrs);
x::nfs_argop4 getattr(const x::bitmap4& bits);

// type, change, size, fileid, mode, numlinks, owner, owner_group, space_used,
// time_access, time_metadata, time_modify: what `stat` needs.
extern const x::bitmap4 kStatAttrs;

struct OpenFile {
  x::nfs_fh4 fh;
  x::stateid4 stateid;
};

// PUTFH dir, OPEN (UNCHECKED4 create with mode 0644, or no create), GETFH,
// and CLOSE of the current stateid if close_after; a fresh open-owner each time.
x::COMPOUND4args open_ops(Session& s, const x::nfs_fh4& dir, const std::string& name, bool create,
                          bool close_after);
OpenFile open_file(Session& s, const x::nfs_fh4& dir, const std::string& name, bool create);
void close_file(Session& s, const OpenFile& f);
x::nfs_fh4 resolve(Session& s, const std::string& path);  // from the root, by LOOKUPs
x::nfs_fh4 mkdir(Session& s, const x::nfs_fh4& parent, const std::string& name);
// A name nobody else uses in this run: prefix-pid-nanoseconds.
std::string unique_name(const std::string& prefix);

// The bytes every file the bench writes holds: byte at offset o is
// pattern()[o % kMiB] (a fixed-seed random MiB), so reads can be checked.
const std::vector<uint8_t>& pattern();
// Dies unless data is what the bench wrote at offset.
void check_pattern(uint64_t offset, const std::vector<uint8_t>& data);

// Keeps up to qd requests in flight; make(i) builds request i, check(i, res)
// validates the successful reply to request i. Dies on a failed request.
template <class Make, class Check>
void pipeline(Session& s, uint64_t n, uint32_t qd, Make make, Check check) {
  qd = std::min(qd, s.slots());
  uint64_t next = 0, done = 0;
  std::map<uint32_t, uint64_t> index;  // xid -> i
  x::COMPOUND4res res;
  while (done < n) {
    while (next < n && s.in_flight() < qd) {
      index[s.submit(make(next))] = next;
      ++next;
    }
    uint32_t xid = s.wait_any(res);
    if (res.status != x::NFS4_OK) die(cat("request failed: ", x::to_string(res.status)));
    auto it = index.find(xid);
    check(it->second, res);
    index.erase(it);
    ++done;
  }
}

}  // namespace nfsbench
