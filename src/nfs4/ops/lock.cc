// LOCK, LOCKT, LOCKU (RFC 7530 16.10-16.12, RFC 8881 18.10-18.12). Locks are
// advisory (EFS); the blocking types READW_LT/WRITEW_LT are served like the
// non-blocking ones (no CB_NOTIFY_LOCK: the client polls).
#include "common/log.h"
#include "nfs4/ops/state_convert.h"
#include "nfs4/ops/state_ops.h"
#include "nfs4/server.h"

namespace efs::nfs4 {

using namespace state_convert;

namespace {

// -1 for an undefined nfs_lock_type4.
int is_write(nfs_lock_type4 t) {
  switch (t) {
    case READ_LT:
    case READW_LT:
      return 0;
    case WRITE_LT:
    case WRITEW_LT:
      return 1;
    default:
      return -1;
  }
}

LOCK4denied to_wire_denied(const LockDenied& d) {
  LOCK4denied w;
  w.offset = d.offset;
  w.length = d.length;
  w.locktype = d.write ? WRITE_LT : READ_LT;
  w.owner.clientid = d.clientid;
  w.owner.owner = d.owner;
  return w;
}

// The file a lock op acts on: a regular file in a file system. RFC 7530
// 16.10.5-16.12.5 (and pynfs LKT2*): ISDIR for a directory, INVAL for any
// other non-file. RFC 8881 18.10.4-18.12.4: ISDIR, SYMLINK for a symbolic
// link, WRONG_TYPE for the rest.
nfsstat4 need_file(const Compound& c) {
  if (!c.current.set()) return NFS4ERR_NOFILEHANDLE;
  if (c.current.is_pseudo()) return NFS4ERR_ISDIR;
  auto a = c.current.fs->getattr(c.current.ino);
  if (!a) return to_nfsstat(a.error());
  switch (a->type) {
    case vfs::FileType::reg:
      return NFS4_OK;
    case vfs::FileType::dir:
      return NFS4ERR_ISDIR;
    case vfs::FileType::lnk:
      return c.minorversion == 0 ? NFS4ERR_INVAL : NFS4ERR_SYMLINK;
    default:
      return c.minorversion == 0 ? NFS4ERR_INVAL : NFS4ERR_WRONG_TYPE;
  }
}

}  // namespace

nfsstat4 op_lock(Compound& c, const LOCK4args& args, LOCK4res& res) {
  if (nfsstat4 st = need_file(c); st != NFS4_OK) return res.status = st;
  int write = is_write(args.locktype);
  if (write < 0) return res.status = NFS4ERR_INVAL;
  auto& sm = c.server.state();
  LockRequest req;
  req.minorversion = c.minorversion;
  req.session_client = c.client;
  req.write = write == 1;
  req.reclaim = args.reclaim;
  req.offset = args.offset;
  req.length = args.length;
  req.file = file_key(c.current);
  req.new_lock_owner = args.locker.new_lock_owner;
  if (req.new_lock_owner) {
    const auto& o = args.locker.open_owner;
    if (nfsstat4 st = resolve(c, o.open_stateid, &req.open_sid); st != NFS4_OK) {
      return res.status = st;
    }
    req.open_seqid = o.open_seqid;
    req.lock_seqid = o.lock_seqid;
    req.lo_clientid = o.lock_owner.clientid;
    req.lo_owner = o.lock_owner.owner;
  } else {
    const auto& e = args.locker.lock_owner;
    if (nfsstat4 st = resolve(c, e.lock_stateid, &req.lock_sid); st != NFS4_OK) {
      return res.status = st;
    }
    req.lock_seqid = e.lock_seqid;
  }
  auto r = sm.lock(req);
  return answer_seqid_op(c, sm, r, OP_LOCK, res, [&](LOCK4res& out) {
    if (r.status == NFS4_OK) {
      out.resok4.lock_stateid = r.sid;
    } else if (r.denied) {
      out.denied = to_wire_denied(*r.denied);
    }
  });
}

nfsstat4 op_lockt(Compound& c, const LOCKT4args& args, LOCKT4res& res) {
  if (nfsstat4 st = need_file(c); st != NFS4_OK) return res.status = st;
  int write = is_write(args.locktype);
  if (write < 0) return res.status = NFS4ERR_INVAL;
  LockDenied d;
  nfsstat4 s =
      c.server.state().lockt(c.minorversion, c.client.get(), args.owner.clientid, args.owner.owner,
                             write == 1, args.offset, args.length, file_key(c.current), &d);
  res.status = s;
  if (s == NFS4ERR_DENIED) res.denied = to_wire_denied(d);
  return res.status;
}

nfsstat4 op_locku(Compound& c, const LOCKU4args& args, LOCKU4res& res) {
  if (nfsstat4 st = need_file(c); st != NFS4_OK) return res.status = st;
  int write = is_write(args.locktype);
  if (write < 0) return res.status = NFS4ERR_INVAL;
  stateid4 sid;
  if (nfsstat4 st = resolve(c, args.lock_stateid, &sid); st != NFS4_OK) return res.status = st;
  auto& sm = c.server.state();
  auto r = sm.locku(sid, args.seqid, write == 1, args.offset, args.length, file_key(c.current),
                    c.minorversion, c.client.get());
  return answer_seqid_op(c, sm, r, OP_LOCKU, res, [&](LOCKU4res& out) {
    if (r.status == NFS4_OK) out.lock_stateid = r.sid;
  });
}

}  // namespace efs::nfs4
