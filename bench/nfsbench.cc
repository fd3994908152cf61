// nfsbench: an NFSv4.1 load generator. One TCP connection, one session with a
// full slot table, so up to `qd` requests are in flight at once; 1 MiB READ
// and WRITE for streaming, 4 KiB for random reads, OPEN/CLOSE for creates,
// LOOKUP+GETATTR for stats, READDIR for a directory walk.
//
// It shares nothing with the server but the generated XDR types: the RPC
// framing and the session logic here are the client's own, so the same
// binary drives nfs-ganesha and efs-local alike (which is how we know it is
// a fair client).
//
//   nfsbench --server 127.0.0.1:2049 --export /fs-0123... --test seqwrite --qd 8
//
// Prints one line of JSON per test: {"test":..., "seconds":..., "ops":...,
// "bytes":..., "ops_per_s":..., "mib_per_s":...}.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "xdr/nfs4_xdr.h"
#include "xdr/xdr.h"

using namespace efs::xdr::nfs4;
using efs::xdr::Reader;
using efs::xdr::Writer;

namespace {

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "nfsbench: %s\n", msg.c_str());
  std::exit(1);
}

constexpr uint32_t kMiB = 1 << 20;

// ---- ONC RPC over TCP (RFC 5531), client side -------------------------------

class RpcConn {
 public:
  RpcConn(const std::string& host, uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) die("bad address " + host);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      die("cannot connect to " + host + ":" + std::to_string(port));
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RpcConn() { ::close(fd_); }

  // Sends a COMPOUND call; returns its xid.
  uint32_t send_compound(const COMPOUND4args& args) {
    uint32_t xid = next_xid_++;
    buf_.clear();
    Writer w(&buf_);
    w.u32(0);  // record mark, patched below
    w.u32(xid);
    w.u32(0);       // CALL
    w.u32(2);       // RPC version
    w.u32(100003);  // NFS
    w.u32(4);
    w.u32(1);  // COMPOUND
    // AUTH_SYS credential, uid/gid 0.
    std::vector<uint8_t> cred;
    Writer cw(&cred);
    cw.u32(0);
    cw.string("nfsbench");
    cw.u32(0);
    cw.u32(0);
    cw.u32(0);
    w.u32(1);
    w.opaque(cred);
    w.u32(0);  // verifier AUTH_NONE
    w.u32(0);
    encode(w, args);
    w.patch_u32(0, 0x80000000u | static_cast<uint32_t>(buf_.size() - 4));
    write_all(buf_.data(), buf_.size());
    return xid;
  }

  // Reads one reply record; returns its xid and leaves the COMPOUND4res in res.
  uint32_t recv_compound(COMPOUND4res& res) {
    rec_.clear();
    for (;;) {
      uint8_t h[4];
      read_all(h, 4);
      uint32_t mark = (uint32_t(h[0]) << 24) | (uint32_t(h[1]) << 16) | (uint32_t(h[2]) << 8) | h[3];
      size_t n = mark & 0x7fffffffu;
      size_t at = rec_.size();
      rec_.resize(at + n);
      read_all(rec_.data() + at, n);
      if (mark & 0x80000000u) break;
    }
    Reader r(rec_);
    uint32_t xid = r.u32();
    if (r.u32() != 1) die("not a reply");
    if (r.u32() != 0) die("RPC call denied");
    r.u32();           // verifier flavor
    r.opaque(400);     // verifier body
    uint32_t accept = r.u32();
    if (accept != 0) die("RPC accept_stat " + std::to_string(accept));
    res = COMPOUND4res{};
    if (!decode(r, res)) die("cannot decode COMPOUND4res");
    return xid;
  }

 private:
  void write_all(const uint8_t* p, size_t n) {
    while (n) {
      ssize_t k = ::send(fd_, p, n, MSG_NOSIGNAL);
      if (k <= 0) die("send failed");
      p += k;
      n -= static_cast<size_t>(k);
    }
  }
  void read_all(uint8_t* p, size_t n) {
    while (n) {
      ssize_t k = ::recv(fd_, p, n, 0);
      if (k <= 0) die("connection closed by server");
      p += k;
      n -= static_cast<size_t>(k);
    }
  }
  int fd_ = -1;
  uint32_t next_xid_ = 0x10000;
  std::vector<uint8_t> buf_, rec_;
};

// ---- NFSv4.1 session ---------------------------------------------------------

nfs_argop4 op(nfs_opnum4 n) {
  nfs_argop4 a;
  a.argop = n;
  return a;
}

class Session {
 public:
  Session(RpcConn& c, uint32_t slots) : c_(c) {
    // EXCHANGE_ID (RFC 8881 18.35).
    COMPOUND4args ex;
    ex.minorversion = 1;
    auto e = op(OP_EXCHANGE_ID);
    std::string owner = "nfsbench-" + std::to_string(getpid()) + "-" + std::to_string(time(nullptr));
    e.opexchange_id.eia_clientowner.co_ownerid.assign(owner.begin(), owner.end());
    for (size_t i = 0; i < 8; ++i) e.opexchange_id.eia_clientowner.co_verifier[i] = uint8_t(rand());
    e.opexchange_id.eia_state_protect.spa_how = SP4_NONE;
    ex.argarray.push_back(std::move(e));
    auto r = call(ex);
    auto& eid = r.resarray.at(0).opexchange_id;
    if (eid.eir_status != NFS4_OK) die("EXCHANGE_ID: " + std::string(to_string(eid.eir_status)));
    clientid_ = eid.eir_resok4.eir_clientid;
    uint32_t seq = eid.eir_resok4.eir_sequenceid;

    // CREATE_SESSION (18.36) with as many slots as the queue depth needs.
    COMPOUND4args cs;
    cs.minorversion = 1;
    auto s = op(OP_CREATE_SESSION);
    auto& a = s.opcreate_session;
    a.csa_clientid = clientid_;
    a.csa_sequence = seq;
    a.csa_flags = 0;
    a.csa_fore_chan_attrs.ca_maxrequestsize = kMiB + 64 * 1024;
    a.csa_fore_chan_attrs.ca_maxresponsesize = kMiB + 64 * 1024;
    a.csa_fore_chan_attrs.ca_maxresponsesize_cached = 64 * 1024;
    a.csa_fore_chan_attrs.ca_maxoperations = 16;
    a.csa_fore_chan_attrs.ca_maxrequests = slots;
    a.csa_back_chan_attrs = a.csa_fore_chan_attrs;
    a.csa_back_chan_attrs.ca_maxrequests = 1;
    a.csa_cb_program = 0x40000000;
    callback_sec_parms4 sec;
    sec.cb_secflavor = 0;  // AUTH_NONE
    a.csa_sec_parms.push_back(sec);
    cs.argarray.push_back(std::move(s));
    r = call(cs);
    auto& csr = r.resarray.at(0).opcreate_session;
    if (csr.csr_status != NFS4_OK) die("CREATE_SESSION: " + std::string(to_string(csr.csr_status)));
    sessionid_ = csr.csr_resok4.csr_sessionid;
    uint32_t got = csr.csr_resok4.csr_fore_chan_attrs.ca_maxrequests;
    if (got < slots) std::fprintf(stderr, "nfsbench: server granted %u slots of %u\n", got, slots);
    slot_seq_.assign(std::min(got, slots), 0);
    for (uint32_t i = 0; i < slot_seq_.size(); ++i) free_slots_.push_back(i);

    COMPOUND4args rc;
    auto rcop = op(OP_RECLAIM_COMPLETE);
    rcop.opreclaim_complete.rca_one_fs = false;
    rc.argarray.push_back(std::move(rcop));
    auto rr = run(std::move(rc));
    (void)rr;
  }

  ~Session() {
    COMPOUND4args d;
    d.minorversion = 1;
    auto ds = op(OP_DESTROY_SESSION);
    ds.opdestroy_session.dsa_sessionid = sessionid_;
    d.argarray.push_back(std::move(ds));
    call(d);
    COMPOUND4args dc;
    dc.minorversion = 1;
    auto dco = op(OP_DESTROY_CLIENTID);
    dco.opdestroy_clientid.dca_clientid = clientid_;
    dc.argarray.push_back(std::move(dco));
    call(dc);
  }

  uint32_t slots() const { return static_cast<uint32_t>(slot_seq_.size()); }
  clientid4 clientid() const { return clientid_; }

  // Sends ops (SEQUENCE is prepended) on a free slot; returns a ticket.
  uint32_t submit(COMPOUND4args ops) {
    if (free_slots_.empty()) die("no free slot");
    uint32_t slot = free_slots_.front();
    free_slots_.pop_front();
    COMPOUND4args c;
    c.minorversion = 1;
    auto sq = op(OP_SEQUENCE);
    sq.opsequence.sa_sessionid = sessionid_;
    sq.opsequence.sa_sequenceid = ++slot_seq_[slot];
    sq.opsequence.sa_slotid = slot;
    sq.opsequence.sa_highest_slotid = slots() - 1;
    sq.opsequence.sa_cachethis = false;
    c.argarray.reserve(ops.argarray.size() + 1);
    c.argarray.push_back(std::move(sq));
    for (auto& o : ops.argarray) c.argarray.push_back(std::move(o));
    uint32_t xid = c_.send_compound(c);
    inflight_[xid] = slot;
    return xid;
  }

  // Waits for any reply; returns its ticket and the result (SEQUENCE stripped
  // is not done: resarray[0] is SEQUENCE's).
  uint32_t wait_any(COMPOUND4res& res) {
    uint32_t xid = c_.recv_compound(res);
    auto it = inflight_.find(xid);
    if (it == inflight_.end()) die("reply to an unknown xid");
    free_slots_.push_back(it->second);
    inflight_.erase(it);
    if (res.resarray.empty() || res.resarray[0].opsequence.sr_status != NFS4_OK)
      die("SEQUENCE failed: " + std::string(to_string(res.status)));
    return xid;
  }

  // One request, waited for; dies unless every op succeeded.
  COMPOUND4res run(COMPOUND4args ops) {
    submit(std::move(ops));
    COMPOUND4res res;
    wait_any(res);
    if (res.status != NFS4_OK) die(std::string("compound failed: ") + to_string(res.status));
    return res;
  }
  size_t in_flight() const { return inflight_.size(); }

 private:
  COMPOUND4res call(const COMPOUND4args& a) {
    c_.send_compound(a);
    COMPOUND4res r;
    c_.recv_compound(r);
    return r;
  }
  RpcConn& c_;
  clientid4 clientid_ = 0;
  sessionid4 sessionid_{};
  std::vector<uint32_t> slot_seq_;
  std::deque<uint32_t> free_slots_;
  std::map<uint32_t, uint32_t> inflight_;
};

// ---- helpers building ops ----------------------------------------------------

nfs_argop4 putfh(const nfs_fh4& fh) {
  auto o = op(OP_PUTFH);
  o.opputfh.object = fh;
  return o;
}
nfs_argop4 lookup(const std::string& name) {
  auto o = op(OP_LOOKUP);
  o.oplookup.objname = name;
  return o;
}
bitmap4 attr_bits(std::initializer_list<uint32_t> attrs) {
  bitmap4 b;
  for (uint32_t a : attrs) {
    if (b.size() <= a / 32) b.resize(a / 32 + 1);
    b[a / 32] |= 1u << (a % 32);
  }
  return b;
}
// type, change, size, fileid, mode, numlinks, owner, owner_group, space_used,
// time_access, time_metadata, time_modify: what `stat` needs.
const bitmap4 kStatAttrs = attr_bits({1, 3, 4, 20, 33, 35, 36, 37, 45, 47, 52, 53});

nfs_argop4 getattr(const bitmap4& bits) {
  auto o = op(OP_GETATTR);
  o.opgetattr.attr_request = bits;
  return o;
}

struct OpenFile {
  nfs_fh4 fh;
  stateid4 stateid;
};

uint64_t owner_counter = 0;

// OPEN (create, UNCHECKED4) + GETFH; a fresh open-owner each time.
COMPOUND4args open_ops(Session& s, const nfs_fh4& dir, const std::string& name, bool create,
                       bool close_after) {
  COMPOUND4args c;
  c.argarray.push_back(putfh(dir));
  auto o = op(OP_OPEN);
  o.opopen.share_access = OPEN4_SHARE_ACCESS_BOTH;
  o.opopen.share_deny = OPEN4_SHARE_DENY_NONE;
  o.opopen.owner.clientid = s.clientid();
  std::string own = "owner-" + std::to_string(++owner_counter);
  o.opopen.owner.owner.assign(own.begin(), own.end());
  if (create) {
    o.opopen.openhow.opentype = OPEN4_CREATE;
    o.opopen.openhow.how.mode = UNCHECKED4;
    // mode 0644
    o.opopen.openhow.how.createattrs.attrmask = attr_bits({33});
    Writer w(&o.opopen.openhow.how.createattrs.attr_vals);
    w.u32(0644);
  } else {
    o.opopen.openhow.opentype = OPEN4_NOCREATE;
  }
  o.opopen.claim.claim = CLAIM_NULL;
  o.opopen.claim.file = name;
  c.argarray.push_back(std::move(o));
  c.argarray.push_back(op(OP_GETFH));
  if (close_after) {
    // RFC 8881 16.2.3.1.2: the current stateid (seqid 1, other 0) is OPEN's.
    auto cl = op(OP_CLOSE);
    cl.opclose.open_stateid.seqid = 1;
    c.argarray.push_back(std::move(cl));
  }
  return c;
}

OpenFile open_file(Session& s, const nfs_fh4& dir, const std::string& name, bool create) {
  auto r = s.run(open_ops(s, dir, name, create, false));
  OpenFile f;
  f.stateid = r.resarray.at(2).opopen.resok4.stateid;
  f.fh = r.resarray.at(3).opgetfh.resok4.object;
  return f;
}

void close_file(Session& s, const OpenFile& f) {
  COMPOUND4args c;
  c.argarray.push_back(putfh(f.fh));
  auto cl = op(OP_CLOSE);
  cl.opclose.open_stateid = f.stateid;
  c.argarray.push_back(std::move(cl));
  s.run(std::move(c));
}

nfs_fh4 resolve(Session& s, const std::string& path) {
  COMPOUND4args c;
  c.argarray.push_back(op(OP_PUTROOTFH));
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) c.argarray.push_back(lookup(path.substr(i, j - i)));
    i = j + 1;
  }
  c.argarray.push_back(op(OP_GETFH));
  auto r = s.run(std::move(c));
  return r.resarray.back().opgetfh.resok4.object;
}

nfs_fh4 mkdir(Session& s, const nfs_fh4& parent, const std::string& name) {
  COMPOUND4args c;
  c.argarray.push_back(putfh(parent));
  auto o = op(OP_CREATE);
  o.opcreate.objtype.type = NF4DIR;
  o.opcreate.objname = name;
  o.opcreate.createattrs.attrmask = attr_bits({33});
  Writer w(&o.opcreate.createattrs.attr_vals);
  w.u32(0755);
  c.argarray.push_back(std::move(o));
  c.argarray.push_back(op(OP_GETFH));
  auto r = s.run(std::move(c));
  return r.resarray.back().opgetfh.resok4.object;
}

// ---- tests -----------------------------------------------------------------

struct Figures {
  double seconds = 0;
  uint64_t ops = 0;
  uint64_t bytes = 0;
};

using Clock = std::chrono::steady_clock;

// Keeps up to qd requests in flight; make(i) builds request i. check(res)
// validates each reply.
template <class Make, class Check>
void pipeline(Session& s, uint64_t n, uint32_t qd, Make make, Check check) {
  qd = std::min(qd, s.slots());
  uint64_t next = 0, done = 0;
  COMPOUND4res res;
  while (done < n) {
    while (next < n && s.in_flight() < qd) s.submit(make(next++));
    s.wait_any(res);
    if (res.status != NFS4_OK) die(std::string("request failed: ") + to_string(res.status));
    check(res);
    ++done;
  }
}

Figures seq_write(Session& s, const nfs_fh4& dir, uint64_t size, uint32_t qd, const std::string& name) {
  OpenFile f = open_file(s, dir, name, true);
  std::vector<uint8_t> block(kMiB);
  std::mt19937_64 rng(42);
  for (auto& b : block) b = uint8_t(rng());
  auto t0 = Clock::now();
  uint64_t n = size / kMiB;
  pipeline(
      s, n, qd,
      [&](uint64_t i) {
        COMPOUND4args c;
        c.argarray.push_back(putfh(f.fh));
        auto w = op(OP_WRITE);
        w.opwrite.stateid = f.stateid;
        w.opwrite.offset = i * kMiB;
        w.opwrite.stable = UNSTABLE4;
        w.opwrite.data = block;
        c.argarray.push_back(std::move(w));
        return c;
      },
      [&](const COMPOUND4res& r) {
        if (r.resarray.at(2).opwrite.resok4.count != kMiB) die("short write");
      });
  COMPOUND4args cm;
  cm.argarray.push_back(putfh(f.fh));
  auto c = op(OP_COMMIT);
  cm.argarray.push_back(std::move(c));
  s.run(std::move(cm));
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  close_file(s, f);
  return {secs, n, n * kMiB};
}

Figures reads(Session& s, const nfs_fh4& dir, const std::string& name, uint64_t size, uint32_t len,
              uint64_t count, bool random, uint32_t qd) {
  OpenFile f = open_file(s, dir, name, false);
  std::mt19937_64 rng(7);
  uint64_t blocks = size / len;
  auto t0 = Clock::now();
  pipeline(
      s, count, qd,
      [&](uint64_t i) {
        COMPOUND4args c;
        c.argarray.push_back(putfh(f.fh));
        auto r = op(OP_READ);
        r.opread.stateid = f.stateid;
        r.opread.offset = (random ? rng() % blocks : i % blocks) * len;
        r.opread.count = len;
        c.argarray.push_back(std::move(r));
        return c;
      },
      [&](const COMPOUND4res& r) {
        if (r.resarray.at(2).opread.resok4.data.size() != len) die("short read");
      });
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  close_file(s, f);
  return {secs, count, count * len};
}

Figures creates(Session& s, const nfs_fh4& dir, uint64_t n, uint32_t qd) {
  auto t0 = Clock::now();
  pipeline(
      s, n, qd, [&](uint64_t i) { return open_ops(s, dir, "f" + std::to_string(i), true, true); },
      [](const COMPOUND4res&) {});
  return {std::chrono::duration<double>(Clock::now() - t0).count(), n, 0};
}

Figures stats(Session& s, const nfs_fh4& dir, uint64_t n, uint32_t qd) {
  auto t0 = Clock::now();
  pipeline(
      s, n, qd,
      [&](uint64_t i) {
        COMPOUND4args c;
        c.argarray.push_back(putfh(dir));
        c.argarray.push_back(lookup("f" + std::to_string(i)));
        c.argarray.push_back(getattr(kStatAttrs));
        return c;
      },
      [](const COMPOUND4res&) {});
  return {std::chrono::duration<double>(Clock::now() - t0).count(), n, 0};
}

Figures readdir_walk(Session& s, const nfs_fh4& dir, uint64_t expect) {
  auto t0 = Clock::now();
  uint64_t cookie = 0, entries = 0, calls = 0;
  verifier4 verf{};
  for (;;) {
    COMPOUND4args c;
    c.argarray.push_back(putfh(dir));
    auto o = op(OP_READDIR);
    o.opreaddir.cookie = cookie;
    o.opreaddir.cookieverf = verf;
    o.opreaddir.dircount = 65536;
    o.opreaddir.maxcount = 262144;
    o.opreaddir.attr_request = kStatAttrs;
    c.argarray.push_back(std::move(o));
    auto r = s.run(std::move(c));
    ++calls;
    auto& ok = r.resarray.at(2).opreaddir.resok4;
    verf = ok.cookieverf;
    for (const entry4* e = ok.reply.entries.get(); e; e = e->nextentry.get()) {
      cookie = e->cookie;
      ++entries;
    }
    if (ok.reply.eof) break;
  }
  if (entries < expect) die("readdir saw " + std::to_string(entries) + " entries");
  return {std::chrono::duration<double>(Clock::now() - t0).count(), entries, calls};
}

void print(const std::string& test, uint32_t qd, const Figures& f) {
  std::printf(
      "{\"test\":\"%s\",\"qd\":%u,\"seconds\":%.6f,\"ops\":%llu,\"bytes\":%llu,"
      "\"ops_per_s\":%.1f,\"mib_per_s\":%.2f}\n",
      test.c_str(), qd, f.seconds, (unsigned long long)f.ops, (unsigned long long)f.bytes,
      f.ops / f.seconds, f.bytes / f.seconds / kMiB);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string server = "127.0.0.1:2049", exp = "/", test, dirname = "bench";
  uint32_t qd = 1;
  uint64_t size = 1024ull * kMiB, count = 10000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--server") server = next();
    else if (a == "--export") exp = next();
    else if (a == "--test") test = next();
    else if (a == "--qd") qd = static_cast<uint32_t>(std::stoul(next()));
    else if (a == "--size-mib") size = std::stoull(next()) * kMiB;
    else if (a == "--count") count = std::stoull(next());
    else if (a == "--dir") dirname = next();
    else die("unknown option " + a + " (see the comment at the top of bench/nfsbench.cc)");
  }
  auto colon = server.rfind(':');
  if (colon == std::string::npos) die("--server HOST:PORT");
  RpcConn conn(server.substr(0, colon), static_cast<uint16_t>(std::stoul(server.substr(colon + 1))));
  Session s(conn, std::max<uint32_t>(qd, 1));
  nfs_fh4 root = resolve(s, exp);

  if (test == "setup") {  // a directory for the run
    mkdir(s, root, dirname);
    return 0;
  }
  nfs_fh4 dir = resolve(s, exp + "/" + dirname);
  if (test == "seqwrite") print(test, qd, seq_write(s, dir, size, qd, "big"));
  else if (test == "seqread") print(test, qd, reads(s, dir, "big", size, kMiB, size / kMiB, false, qd));
  else if (test == "randread") print(test, qd, reads(s, dir, "big", size, 4096, count, true, qd));
  else if (test == "create") {
    nfs_fh4 d = mkdir(s, dir, "many");
    print(test, qd, creates(s, d, count, qd));
  } else if (test == "stat") print(test, qd, stats(s, resolve(s, exp + "/" + dirname + "/many"), count, qd));
  else if (test == "readdir") print(test, 1, readdir_walk(s, resolve(s, exp + "/" + dirname + "/many"), count));
  else die("--test setup|seqwrite|seqread|randread|create|stat|readdir");
  return 0;
}
