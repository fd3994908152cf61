// The COMPOUND loop (RFC 7530 15.2 / 16.2, RFC 8881 16.2) and the op table.
// Arguments are decoded one op at a time straight from the record, so a
// compound that fails early never pays for decoding the rest, and results are
// encoded as each op finishes.
#include "nfs4/compound.h"

#include <array>
#include <chrono>

#include "common/log.h"
#include "metrics/prometheus.h"
#include "nfs4/attrs.h"
#include "nfs4/ops/fs_ops.h"
#include "nfs4/ops/state_ops.h"
#include "nfs4/server.h"
#include "nfs4/state/session.h"
#include "throughput/throttle.h"

namespace efs::nfs4 {

namespace {

using Runner = nfsstat4 (*)(Compound&, xdr::Reader&, xdr::Writer&);

// Adapts a typed handler to the loop: decode args, run, encode the result.
template <auto H>
struct Bind;

template <class A, class R, nfsstat4 (*H)(Compound&, const A&, R&)>
struct Bind<H> {
  static nfsstat4 run(Compound& c, xdr::Reader& r, xdr::Writer& w) {
    A args{};
    if (!decode(r, args)) {
      w.u32(NFS4ERR_BADXDR);  // every result union has a void arm for errors
      return NFS4ERR_BADXDR;
    }
    R res{};
    nfsstat4 st = H(c, args, res);
    encode(w, res);
    return st;
  }
};

template <class R, nfsstat4 (*H)(Compound&, R&)>
struct Bind<H> {
  static nfsstat4 run(Compound& c, xdr::Reader&, xdr::Writer& w) {
    R res{};
    nfsstat4 st = H(c, res);
    encode(w, res);
    return st;
  }
};

// Ops EFS does not support: the arguments need not be decoded because the
// loop stops after the error.
nfsstat4 not_supported(Compound&, xdr::Reader&, xdr::Writer& w) {
  w.u32(NFS4ERR_NOTSUPP);
  return NFS4ERR_NOTSUPP;
}

// WRITE4args decoded by hand so the data is handed to the vfs as a view into
// the received record instead of a copy (the same wire layout as WRITE4args).
nfsstat4 write_in_place(Compound& c, xdr::Reader& r, xdr::Writer& w) {
  stateid4 stateid{};
  decode(r, stateid);
  uint64_t offset = r.u64();
  auto stable = static_cast<stable_how4>(r.i32());
  std::span<const uint8_t> data = r.opaque(0xffffffffu);
  if (!r.ok()) {
    w.u32(NFS4ERR_BADXDR);
    return NFS4ERR_BADXDR;
  }
  WRITE4res res{};
  nfsstat4 st = write_data(c, stateid, offset, stable, data, res);
  encode(w, res);
  return st;
}

// READ encodes its own result, so that its data is read into the reply
// record in place instead of into a buffer that encode() would then copy.
nfsstat4 read_in_place(Compound& c, xdr::Reader& r, xdr::Writer& w) {
  READ4args args{};
  if (!decode(r, args)) {
    w.u32(NFS4ERR_BADXDR);
    return NFS4ERR_BADXDR;
  }
  return read_data(c, args, w);
}

// RFC 8881 18.33: nothing to change for a server that never calls back.
nfsstat4 backchannel_ctl(Compound&, xdr::Reader& r, xdr::Writer& w) {
  BACKCHANNEL_CTL4args args{};
  nfsstat4 st = decode(r, args) ? NFS4_OK : NFS4ERR_BADXDR;
  w.u32(st);
  return st;
}

enum Minors : uint8_t { kV40 = 1, kV41 = 2, kBoth = 3 };

struct OpRow {
  const char* name = nullptr;
  Runner run = nullptr;
  uint8_t minors = 0;
};

constexpr uint32_t kFirstOp = OP_ACCESS;           // 3
constexpr uint32_t kLastOp = OP_RECLAIM_COMPLETE;  // 58

struct OpTable {
  std::array<OpRow, kLastOp + 1> rows{};
  void add(uint32_t op, const char* name, Runner run, uint8_t minors) {
    rows[op] = {name, run, minors};
  }
  OpTable() {
    add(OP_ACCESS, "ACCESS", Bind<op_access>::run, kBoth);
    add(OP_COMMIT, "COMMIT", Bind<op_commit>::run, kBoth);
    add(OP_CREATE, "CREATE", Bind<op_create>::run, kBoth);
    add(OP_GETATTR, "GETATTR", Bind<op_getattr>::run, kBoth);
    add(OP_GETFH, "GETFH", Bind<op_getfh>::run, kBoth);
    add(OP_LINK, "LINK", Bind<op_link>::run, kBoth);
    add(OP_LOOKUP, "LOOKUP", Bind<op_lookup>::run, kBoth);
    add(OP_LOOKUPP, "LOOKUPP", Bind<op_lookupp>::run, kBoth);
    add(OP_NVERIFY, "NVERIFY", Bind<op_nverify>::run, kBoth);
    add(OP_OPENATTR, "OPENATTR", not_supported, kBoth);
    add(OP_PUTFH, "PUTFH", Bind<op_putfh>::run, kBoth);
    add(OP_PUTPUBFH, "PUTPUBFH", Bind<op_putpubfh>::run, kBoth);
    add(OP_PUTROOTFH, "PUTROOTFH", Bind<op_putrootfh>::run, kBoth);
    add(OP_READ, "READ", read_in_place, kBoth);
    add(OP_READDIR, "READDIR", Bind<op_readdir>::run, kBoth);
    add(OP_READLINK, "READLINK", Bind<op_readlink>::run, kBoth);
    add(OP_REMOVE, "REMOVE", Bind<op_remove>::run, kBoth);
    add(OP_RENAME, "RENAME", Bind<op_rename>::run, kBoth);
    add(OP_RESTOREFH, "RESTOREFH", Bind<op_restorefh>::run, kBoth);
    add(OP_SAVEFH, "SAVEFH", Bind<op_savefh>::run, kBoth);
    add(OP_SECINFO, "SECINFO", Bind<op_secinfo>::run, kBoth);
    add(OP_SETATTR, "SETATTR", Bind<op_setattr>::run, kBoth);
    add(OP_VERIFY, "VERIFY", Bind<op_verify>::run, kBoth);
    add(OP_WRITE, "WRITE", write_in_place, kBoth);
    add(OP_SECINFO_NO_NAME, "SECINFO_NO_NAME", Bind<op_secinfo_no_name>::run, kV41);
    add(OP_BACKCHANNEL_CTL, "BACKCHANNEL_CTL", backchannel_ctl, kV41);
    // No pNFS, no delegations, no SSV (EFS's unsupported features).
    add(OP_GETDEVICEINFO, "GETDEVICEINFO", not_supported, kV41);
    add(OP_GETDEVICELIST, "GETDEVICELIST", not_supported, kV41);
    add(OP_LAYOUTCOMMIT, "LAYOUTCOMMIT", not_supported, kV41);
    add(OP_LAYOUTGET, "LAYOUTGET", not_supported, kV41);
    add(OP_LAYOUTRETURN, "LAYOUTRETURN", not_supported, kV41);
    add(OP_SET_SSV, "SET_SSV", not_supported, kV41);
    add(OP_WANT_DELEGATION, "WANT_DELEGATION", not_supported, kV41);
    add(OP_GET_DIR_DELEGATION, "GET_DIR_DELEGATION", not_supported, kV41);
    add(OP_CLOSE, "CLOSE", Bind<op_close>::run, kBoth);
    add(OP_DELEGPURGE, "DELEGPURGE", Bind<op_delegpurge>::run, kBoth);
    add(OP_DELEGRETURN, "DELEGRETURN", Bind<op_delegreturn>::run, kBoth);
    add(OP_LOCK, "LOCK", Bind<op_lock>::run, kBoth);
    add(OP_LOCKT, "LOCKT", Bind<op_lockt>::run, kBoth);
    add(OP_LOCKU, "LOCKU", Bind<op_locku>::run, kBoth);
    add(OP_OPEN, "OPEN", Bind<op_open>::run, kBoth);
    add(OP_OPEN_CONFIRM, "OPEN_CONFIRM", Bind<op_open_confirm>::run, kV40);
    add(OP_OPEN_DOWNGRADE, "OPEN_DOWNGRADE", Bind<op_open_downgrade>::run, kBoth);
    add(OP_RENEW, "RENEW", Bind<op_renew>::run, kV40);
    add(OP_SETCLIENTID, "SETCLIENTID", Bind<op_setclientid>::run, kV40);
    add(OP_SETCLIENTID_CONFIRM, "SETCLIENTID_CONFIRM", Bind<op_setclientid_confirm>::run, kV40);
    add(OP_RELEASE_LOCKOWNER, "RELEASE_LOCKOWNER", Bind<op_release_lockowner>::run, kV40);
    add(OP_EXCHANGE_ID, "EXCHANGE_ID", Bind<op_exchange_id>::run, kV41);
    add(OP_CREATE_SESSION, "CREATE_SESSION", Bind<op_create_session>::run, kV41);
    add(OP_DESTROY_SESSION, "DESTROY_SESSION", Bind<op_destroy_session>::run, kV41);
    add(OP_SEQUENCE, "SEQUENCE", Bind<op_sequence>::run, kV41);
    add(OP_BIND_CONN_TO_SESSION, "BIND_CONN_TO_SESSION", Bind<op_bind_conn_to_session>::run, kV41);
    add(OP_DESTROY_CLIENTID, "DESTROY_CLIENTID", Bind<op_destroy_clientid>::run, kV41);
    add(OP_RECLAIM_COMPLETE, "RECLAIM_COMPLETE", Bind<op_reclaim_complete>::run, kV41);
    add(OP_TEST_STATEID, "TEST_STATEID", Bind<op_test_stateid>::run, kV41);
    add(OP_FREE_STATEID, "FREE_STATEID", Bind<op_free_stateid>::run, kV41);
  }
};

const OpTable& op_table() {
  static const OpTable table;
  return table;
}

// RFC 8881 2.10.6 / 18.35-18.37, 18.50: ops that may start a compound
// without SEQUENCE, provided they are its only op.
bool sessionless(uint32_t op) {
  return op == OP_EXCHANGE_ID || op == OP_CREATE_SESSION || op == OP_DESTROY_SESSION ||
         op == OP_BIND_CONN_TO_SESSION || op == OP_DESTROY_CLIENTID;
}

// Ops whose second execution differs from the first (RFC 7530 9.1.7 and
// 15.2: CREATE answers EXIST, REMOVE NOENT, a seqid op BAD_SEQID ...): a 4.0
// COMPOUND that ran one has its reply kept by the duplicate request cache.
bool non_idempotent(uint32_t op) {
  switch (op) {
    case OP_CREATE:
    case OP_REMOVE:
    case OP_RENAME:
    case OP_LINK:
    case OP_SETATTR:
    case OP_OPEN:
    case OP_OPEN_CONFIRM:
    case OP_CLOSE:
    case OP_OPEN_DOWNGRADE:
    case OP_LOCK:
    case OP_LOCKU:
    case OP_SETCLIENTID:
    case OP_SETCLIENTID_CONFIRM:
    case OP_RELEASE_LOCKOWNER:
      return true;
    default:
      return false;
  }
}

// Tags are opaque to the server but echoed; a longer one is refused rather
// than echoed (a hostile client could otherwise double every reply).
constexpr uint32_t kMaxTagBytes = 1024;

vfs::Cred caller_cred(const rpc::CallContext& ctx) {
  vfs::Cred cred;
  if (ctx.auth_sys) {
    cred.uid = ctx.auth_sys->uid;
    cred.gid = ctx.auth_sys->gid;
    cred.gids = ctx.auth_sys->gids;
  } else {
    cred.uid = cred.gid = 65534;  // AUTH_NONE: nobody
  }
  return cred;
}

// EFS access points enforce their POSIX user on every request through them:
// uid, gid and secondary gids all replaced. Otherwise a policy without
// ClientRootAccess squashes the caller's root to nobody (policy_gate.h); an
// access point's own POSIX user, set by whoever manages the file system, is
// left as it is.
void effective_cred(Compound& c) {
  if (c.current.kind == FhKind::access_point && c.current.posix_user) {
    const auto& u = *c.current.posix_user;
    c.cred.uid = u.uid;
    c.cred.gid = u.gid;
    c.cred.gids = u.secondary_gids;
  } else {
    c.cred = c.caller;
    if (c.cred.uid == 0 && c.current.policy && c.current.in_fs() && !c.gate.access(c).root) {
      c.cred.uid = c.cred.gid = 65534;
      c.cred.gids.clear();
    }
  }
}

// Throughput metering (throughput/throttle.h): charges what the ops did to
// the file system they ran on. A COMPOUND is one NFS request: it counts its
// READ and WRITE data, or, when it moved no data, one metadata request.
void charge_io(Compound& c) {
  if (!c.io_meter) return;
  if (!c.io.has_data()) c.io.metadata_ops = 1;
  auto* throttle = c.server.throttle();
  auto wait = throttle->charge(*c.io_meter, c.call.connection_id, c.io);
  c.io_wait = std::max(c.io_wait, wait);
  c.io = {};
  c.io_meter = nullptr;
  c.io_fs = nullptr;
}

// Before each op: the file system it runs on (the current filehandle's).
void meter_op(Compound& c) {
  if (!c.current.in_fs() || c.current.fs.get() == c.io_fs) return;
  auto* throttle = c.server.throttle();
  if (!throttle) return;
  charge_io(c);
  c.io_fs = c.current.fs.get();
  c.io_meter = throttle->meter(c.current.fs->id());
}

}  // namespace

std::optional<std::vector<uint8_t>> run_compound(Server& server, const rpc::CallContext& ctx,
                                                 std::span<const uint8_t> args,
                                                 CompoundFacts* facts) {
  xdr::Reader r(args);
  auto tag = r.opaque(0xffffffffu);
  uint32_t minor = r.u32();
  uint32_t count = r.u32();
  if (!r.ok()) {
    spdlog::info("nfs4: xid {:#x}: COMPOUND header undecodable", ctx.xid);
    return std::nullopt;
  }
  if (facts) facts->minorversion = minor;

  std::vector<uint8_t> out;
  out.reserve(512);
  xdr::Writer w(&out);
  const std::size_t status_at = w.reserve_u32();
  auto finish = [&](nfsstat4 st) {
    w.patch_u32(status_at, static_cast<uint32_t>(st));
    return std::move(out);
  };

  if (tag.size() > kMaxTagBytes) {
    spdlog::info("nfs4: xid {:#x}: COMPOUND tag of {} bytes refused", ctx.xid, tag.size());
    w.string("");
    w.u32(0);
    return finish(NFS4ERR_NAMETOOLONG);
  }
  w.opaque(tag);
  const std::size_t count_at = w.reserve_u32();

  // RFC 8881 16.2.3: an unsupported minor version gets no results at all.
  if (minor > 1) return finish(NFS4ERR_MINOR_VERS_MISMATCH);

  Compound c(server, ctx, minor);
  c.caller = caller_cred(ctx);
  c.cred = c.caller;
  c.op_count = count;

  const OpTable& table = op_table();
  uint32_t done = 0;
  nfsstat4 status = NFS4_OK;
  auto op_result = [&](uint32_t op, nfsstat4 st) {
    w.u32(op);
    w.u32(st);
    ++done;
    status = st;
  };

  // A hard cap even without a session, so a 10,000-op compound is refused
  // before anything runs (RFC 7530 15.2.4: RESOURCE; RFC 8881: TOO_MANY_OPS).
  if (count > kMaxOpsPerCompound) {
    spdlog::info("nfs4: xid {:#x}: COMPOUND of {} ops refused", ctx.xid, count);
    uint32_t first = r.u32();
    bool known = r.ok() && first >= kFirstOp && first <= kLastOp;
    op_result(known ? first : uint32_t(OP_ILLEGAL),
              minor == 0 ? NFS4ERR_RESOURCE : NFS4ERR_TOO_MANY_OPS);
    w.patch_u32(count_at, done);
    return finish(status);
  }

  for (uint32_t i = 0; i < count; ++i) {
    c.op_index = i;
    uint32_t op = r.u32();
    if (!r.ok()) {
      // The count promised more ops than the record holds.
      op_result(OP_ILLEGAL, NFS4ERR_BADXDR);
      break;
    }
    const OpRow* row = (op >= kFirstOp && op <= kLastOp) ? &table.rows[op] : nullptr;
    if (!row || !row->run) {
      op_result(OP_ILLEGAL, NFS4ERR_OP_ILLEGAL);
      break;
    }
    if (minor == 1 && !(row->minors & kV41)) {
      // RFC 8881 18 lists the 4.0-only ops as "MUST NOT be used": NOTSUPP.
      op_result(op, NFS4ERR_NOTSUPP);
      break;
    }
    if (minor == 0 && !(row->minors & kV40)) {
      // The 4.1 op numbers do not exist in 4.0 (RFC 7530 15.2.4).
      op_result(OP_ILLEGAL, NFS4ERR_OP_ILLEGAL);
      break;
    }
    if (minor == 1) {
      if (i == 0 && op != OP_SEQUENCE) {
        nfsstat4 st = NFS4_OK;
        if (!sessionless(op))
          st = NFS4ERR_OP_NOT_IN_SESSION;
        else if (count > 1)
          st = NFS4ERR_NOT_ONLY_OP;
        if (st != NFS4_OK) {
          op_result(op, st);
          break;
        }
      } else if (i > 0 && op == OP_SEQUENCE) {
        op_result(op, NFS4ERR_SEQUENCE_POS);  // RFC 8881 18.46.3
        break;
      } else if (i > 0 && c.session && count > c.session->max_ops()) {
        op_result(op, NFS4ERR_TOO_MANY_OPS);  // RFC 8881 18.36.3 ca_maxoperations
        break;
      } else if (i > 0 && c.session && args.size() > c.session->max_request()) {
        op_result(op, NFS4ERR_REQ_TOO_BIG);  // RFC 8881 18.36.3 ca_maxrequestsize
        break;
      }
    }

    spdlog::trace("nfs4: xid {:#x}: op {}/{} {}", ctx.xid, i + 1, count, row->name);
    if (nfsstat4 refused = gate_op(c, op); refused != NFS4_OK) {
      op_result(op, refused);
      break;
    }
    if (facts && non_idempotent(op)) facts->non_idempotent = true;
    const std::size_t op_start = w.size();
    w.u32(op);
    meter_op(c);
    const auto op_began = std::chrono::steady_clock::now();
    nfsstat4 st = row->run(c, r, w);
    metrics::Registry::global().observe_nfs_op(op, row->name,
                                               std::chrono::steady_clock::now() - op_began);
    ++done;
    status = st;
    effective_cred(c);

    if (c.replay) {
      // SEQUENCE found a retransmission: its cached reply is the answer.
      spdlog::debug("nfs4: xid {:#x}: replying from the session's reply cache", ctx.xid);
      return std::move(*c.replay);
    }
    if (c.session) {
      // RFC 8881 18.46.3 / 2.10.6.4: the reply (with its RPC header) must fit
      // ca_maxresponsesize, and, when SEQUENCE asked for it to be cached,
      // ca_maxresponsesize_cached; the op whose result does not fit fails.
      const std::size_t reply_size = w.size() + kRpcReplyHeaderSize;
      nfsstat4 too_big = NFS4_OK;
      if (reply_size > c.session->max_response()) {
        too_big = NFS4ERR_REP_TOO_BIG;
      } else if (c.cachethis && reply_size > c.session->max_response_cached()) {
        too_big = NFS4ERR_REP_TOO_BIG_TO_CACHE;
      }
      if (too_big != NFS4_OK) {
        spdlog::debug("nfs4: xid {:#x}: op {} reply of {} bytes: {}", ctx.xid, row->name,
                      reply_size, static_cast<int>(too_big));
        out.resize(op_start);
        --done;  // replaced by the error result
        op_result(op, too_big);
        break;
      }
    }
    if (st != NFS4_OK) {
      spdlog::debug("nfs4: xid {:#x}: op {} {} -> {}", ctx.xid, i, row->name, static_cast<int>(st));
      break;
    }
  }
  w.patch_u32(count_at, done);
  charge_io(c);
  if (facts) facts->throttle_wait = c.io_wait;
  auto reply = finish(status);
  if (c.store_reply) c.store_reply(reply);
  return reply;
}

}  // namespace efs::nfs4
