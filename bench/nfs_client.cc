#include "nfs_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

#include "xdr/xdr.h"

namespace nfsbench {

using efs::xdr::Reader;
using efs::xdr::Writer;
using namespace x;

void die(const std::string& msg) {
  std::fprintf(stderr, "nfsbench: %s\n", msg.c_str());
  std::fflush(nullptr);
  // Not std::exit: a client thread of the many-client figures may die while
  // the others still run, and exit's static destructors under their feet
  // turned the exit status 1 into a crash now and then.
  std::_Exit(1);
}

// ---- ONC RPC over TCP (RFC 5531), client side -------------------------------

namespace {
SSL_CTX* tls_ctx = nullptr;
std::string tls_host;

std::string tls_error() {
  char b[256];
  ERR_error_string_n(ERR_get_error(), b, sizeof b);
  return b;
}
}  // namespace

void use_tls(const std::string& ca_file, const std::string& host_name) {
  tls_ctx = SSL_CTX_new(TLS_client_method());
  if (!tls_ctx) die("SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(tls_ctx, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(tls_ctx, TLS1_2_VERSION);
  if (SSL_CTX_load_verify_locations(tls_ctx, ca_file.c_str(), nullptr) != 1)
    die(cat("cannot load the CA file ", ca_file, ": ", tls_error()));
  SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_PEER, nullptr);
  tls_host = host_name;
}

RpcConn::RpcConn(const std::string& host, uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) die(cat("bad address ", host));
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    die(cat("cannot connect to ", host, ":", port));
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!tls_ctx) return;
  SSL* ssl = SSL_new(tls_ctx);
  ssl_ = ssl;
  SSL_set_fd(ssl, fd_);
  SSL_set_tlsext_host_name(ssl, tls_host.c_str());
  if (SSL_set1_host(ssl, tls_host.c_str()) != 1) die("SSL_set1_host failed");
  if (SSL_connect(ssl) != 1) die(cat("TLS handshake with ", host, ":", port, ": ", tls_error()));
}

RpcConn::~RpcConn() {
  if (ssl_) SSL_free(static_cast<SSL*>(ssl_));
  ::close(fd_);
}

uint32_t RpcConn::send_compound(const COMPOUND4args& args) {
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
  // AUTH_SYS credential (RFC 5531 A.1), uid/gid 0.
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

uint32_t RpcConn::recv_compound(COMPOUND4res& res) {
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
  r.u32();        // verifier flavor
  r.opaque(400);  // verifier body
  uint32_t accept = r.u32();
  if (accept != 0) die(cat("RPC accept_stat ", accept));
  res = COMPOUND4res{};
  if (!decode(r, res)) die("cannot decode COMPOUND4res");
  return xid;
}

void RpcConn::write_all(const uint8_t* p, size_t n) {
  if (ssl_) {
    size_t k = 0;
    if (SSL_write_ex(static_cast<SSL*>(ssl_), p, n, &k) != 1) die("TLS write failed");
    return;  // blocking: all of it (no partial-write mode)
  }
  while (n) {
    ssize_t k = ::send(fd_, p, n, MSG_NOSIGNAL);
    if (k <= 0) die("send failed");
    p += k;
    n -= static_cast<size_t>(k);
  }
}

void RpcConn::read_all(uint8_t* p, size_t n) {
  while (n && ssl_) {
    size_t k = 0;
    if (SSL_read_ex(static_cast<SSL*>(ssl_), p, n, &k) != 1) die("TLS connection closed by server");
    p += k;
    n -= k;
  }
  while (n) {
    ssize_t k = ::recv(fd_, p, n, 0);
    if (k <= 0) die("connection closed by server");
    p += k;
    n -= static_cast<size_t>(k);
  }
}

// ---- NFSv4.1 session ---------------------------------------------------------

nfs_argop4 op(nfs_opnum4 n) {
  nfs_argop4 a;
  a.argop = n;
  return a;
}

namespace {
std::atomic<uint64_t> session_counter{0};
std::atomic<uint64_t> owner_counter{0};
}  // namespace

Session::Session(RpcConn& c, uint32_t slots) : c_(c) {
  // EXCHANGE_ID (RFC 8881 18.35). The owner is unique per session: sessions of
  // one process are separate clients (RFC 8881 2.4: same co_ownerid, same client).
  COMPOUND4args ex;
  ex.minorversion = 1;
  auto e = op(OP_EXCHANGE_ID);
  uint64_t n = ++session_counter;
  std::string owner = cat("nfsbench-", getpid(), "-", time(nullptr), "-", n);
  e.opexchange_id.eia_clientowner.co_ownerid.assign(owner.begin(), owner.end());
  std::mt19937_64 rng(static_cast<uint64_t>(getpid()) * 1000003u + n);
  for (size_t i = 0; i < 8; ++i) e.opexchange_id.eia_clientowner.co_verifier[i] = uint8_t(rng());
  e.opexchange_id.eia_state_protect.spa_how = SP4_NONE;
  ex.argarray.push_back(std::move(e));
  auto r = call(ex);
  auto& eid = r.resarray.at(0).opexchange_id;
  if (eid.eir_status != NFS4_OK) die(cat("EXCHANGE_ID: ", to_string(eid.eir_status)));
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
  if (csr.csr_status != NFS4_OK) die(cat("CREATE_SESSION: ", to_string(csr.csr_status)));
  sessionid_ = csr.csr_resok4.csr_sessionid;
  uint32_t got = csr.csr_resok4.csr_fore_chan_attrs.ca_maxrequests;
  if (got < slots) std::fprintf(stderr, "nfsbench: server granted %u slots of %u\n", got, slots);
  slot_seq_.assign(std::min(got, slots), 0);
  for (uint32_t i = 0; i < slot_seq_.size(); ++i) free_slots_.push_back(i);

  COMPOUND4args rc;
  auto rcop = op(OP_RECLAIM_COMPLETE);
  rcop.opreclaim_complete.rca_one_fs = false;
  rc.argarray.push_back(std::move(rcop));
  run(std::move(rc));
}

Session::~Session() {
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

uint32_t Session::submit(COMPOUND4args ops) {
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

uint32_t Session::wait_any(COMPOUND4res& res) {
  uint32_t xid = c_.recv_compound(res);
  auto it = inflight_.find(xid);
  if (it == inflight_.end()) die("reply to an unknown xid");
  free_slots_.push_back(it->second);
  inflight_.erase(it);
  if (res.resarray.empty() || res.resarray[0].opsequence.sr_status != NFS4_OK)
    die(cat("SEQUENCE failed: ", to_string(res.status)));
  return xid;
}

COMPOUND4res Session::try_run(COMPOUND4args ops) {
  submit(std::move(ops));
  COMPOUND4res res;
  wait_any(res);
  return res;
}

COMPOUND4res Session::run(COMPOUND4args ops) {
  COMPOUND4res res = try_run(std::move(ops));
  if (res.status != NFS4_OK) die(cat("compound failed: ", to_string(res.status)));
  return res;
}

COMPOUND4res Session::call(const COMPOUND4args& a) {
  c_.send_compound(a);
  COMPOUND4res r;
  c_.recv_compound(r);
  return r;
}

// ---- op builders -------------------------------------------------------------

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

const bitmap4 kStatAttrs = attr_bits({1, 3, 4, 20, 33, 35, 36, 37, 45, 47, 52, 53});

nfs_argop4 getattr(const bitmap4& bits) {
  auto o = op(OP_GETATTR);
  o.opgetattr.attr_request = bits;
  return o;
}

COMPOUND4args open_ops(Session& s, const nfs_fh4& dir, const std::string& name, bool create,
                       bool close_after) {
  COMPOUND4args c;
  c.argarray.push_back(putfh(dir));
  auto o = op(OP_OPEN);
  o.opopen.share_access = OPEN4_SHARE_ACCESS_BOTH;
  o.opopen.share_deny = OPEN4_SHARE_DENY_NONE;
  o.opopen.owner.clientid = s.clientid();
  std::string own = cat("owner-", ++owner_counter);
  o.opopen.owner.owner.assign(own.begin(), own.end());
  if (create) {
    o.opopen.openhow.opentype = OPEN4_CREATE;
    o.opopen.openhow.how.mode = UNCHECKED4;
    o.opopen.openhow.how.createattrs.attrmask = attr_bits({33});  // mode 0644
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

std::string unique_name(const std::string& prefix) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return cat(prefix, "-", getpid(), "-", ns);
}

const std::vector<uint8_t>& pattern() {
  static const std::vector<uint8_t> block = [] {
    std::vector<uint8_t> b(kMiB);
    std::mt19937_64 rng(42);
    for (auto& v : b) v = uint8_t(rng());
    return b;
  }();
  return block;
}

void check_pattern(uint64_t offset, const std::vector<uint8_t>& data) {
  const auto& p = pattern();
  size_t done = 0;
  while (done < data.size()) {
    size_t at = (offset + done) % kMiB;
    size_t n = std::min(data.size() - done, size_t(kMiB) - at);
    if (std::memcmp(data.data() + done, p.data() + at, n) != 0)
      die(cat("data read back at offset ", offset + done, " differs from what was written"));
    done += n;
  }
}

}  // namespace nfsbench
