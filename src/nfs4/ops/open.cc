// OPEN, OPEN_CONFIRM, OPEN_DOWNGRADE, CLOSE, DELEGRETURN, DELEGPURGE
// (RFC 7530 16.16, 16.18, 16.19, 16.2, 16.5, 16.6; RFC 8881 18.16, 18.18, 18.2, 18.5, 18.6).
// EFS: no delegations (OPEN_DELEGATE_NONE always; the delegation claims get
// NFS4ERR_NOTSUPP) and no share deny (NFS4ERR_NOTSUPP, enforced by the state layer).
#include "common/log.h"
#include "nfs4/attrs.h"
#include "nfs4/export.h"
#include "nfs4/ops/fs_ops.h"
#include "nfs4/ops/state_convert.h"
#include "nfs4/ops/state_ops.h"
#include "nfs4/server.h"

namespace efs::nfs4 {

using namespace state_convert;

namespace {

uint64_t verifier_u64(const verifier4& v) {
  uint64_t x = 0;
  for (uint8_t b : v) x = (x << 8) | b;
  return x;
}

// OPEN only opens regular files. RFC 7530 16.16.6: ISDIR for a directory,
// SYMLINK for a symbolic link and for every other special file ("INVAL would
// be inappropriate, since the arguments ... were correct"). RFC 8881 18.16.3:
// ISDIR, SYMLINK, and WRONG_TYPE for the other types.
nfsstat4 check_regular(const Compound& c, vfs::FileType t) {
  switch (t) {
    case vfs::FileType::reg:
      return NFS4_OK;
    case vfs::FileType::dir:
      return NFS4ERR_ISDIR;
    case vfs::FileType::lnk:
      return NFS4ERR_SYMLINK;
    default:  // sockets and FIFOs (Linux nfsd answers the same per version)
      return c.minorversion >= 1 ? NFS4ERR_WRONG_TYPE : NFS4ERR_SYMLINK;
  }
}

// The opened file and what OPEN reports about it.
struct Opened {
  vfs::Ino ino = 0;
  bool created = false;
  change_info4 cinfo;
  bitmap4 attrset;
};

// CLAIM_NULL: open or create `name` in the current directory.
nfsstat4 open_by_name(Compound& c, const OPEN4args& args, Opened* out) {
  const std::string& name = args.claim.file;
  if (c.current.is_pseudo() && args.openhow.opentype != OPEN4_CREATE) {
    // The pseudo-root holds only junctions, which are directories: ISDIR
    // for one that exists (RFC 7530 16.16.6), NOENT otherwise. Creating
    // there is ROFS (need_fs_dir).
    if (nfsstat4 st = check_component(name); st != NFS4_OK) return st;
    auto fh = c.server.exports().lookup_junction(name);
    return fh ? NFS4ERR_ISDIR : fh.error();
  }
  if (nfsstat4 st = need_fs_dir(c); st != NFS4_OK) return st;
  if (nfsstat4 st = check_component(name); st != NFS4_OK) return st;
  auto& fs = *c.current.fs;
  const vfs::Ino dir = c.current.ino;
  if (args.openhow.opentype == OPEN4_CREATE) {
    const createhow4& how = args.openhow.how;
    vfs::CreateMode mode = vfs::CreateMode::unchecked;
    const fattr4* attrs_in = nullptr;
    uint64_t verf = 0;
    switch (how.mode) {
      case UNCHECKED4:
        attrs_in = &how.createattrs;
        break;
      case GUARDED4:
        mode = vfs::CreateMode::guarded;
        attrs_in = &how.createattrs;
        break;
      case EXCLUSIVE4:
        mode = vfs::CreateMode::exclusive;
        verf = verifier_u64(how.createverf);
        break;
      case EXCLUSIVE4_1:
        if (c.minorversion < 1) return NFS4ERR_INVAL;
        mode = vfs::CreateMode::exclusive;
        verf = verifier_u64(how.ch_createboth.cva_verf);
        attrs_in = &how.ch_createboth.cva_attrs;
        break;
      default:
        return NFS4ERR_INVAL;
    }
    SetAttrs attrs;
    if (attrs_in) {
      auto d = decode_fattr(*attrs_in, c.minorversion);
      if (!d) return d.error();
      attrs = std::move(*d);
    }
    auto made = fs.create_file(c.cred, dir, name, mode, attrs.set, verf);
    if (!made && made.error() == vfs::Errc::exist && mode == vfs::CreateMode::unchecked) {
      // UNCHECKED4 over an existing non-file: the vfs says only "exists";
      // OPEN answers by the object's type as for a plain open.
      auto a = fs.lookup(c.cred, dir, name);
      if (a) {
        nfsstat4 st = check_regular(c, a->type);
        return st != NFS4_OK ? st : NFS4ERR_EXIST;
      }
    }
    if (!made) return to_nfsstat(made.error());
    if (nfsstat4 st = check_regular(c, made->attr.type); st != NFS4_OK) return st;
    out->ino = made->attr.ino;
    out->created = made->created;
    out->cinfo = to_cinfo(made->dir);
    if (made->created) {
      out->attrset = attrs.attrsset;
    } else if (mode == vfs::CreateMode::unchecked && attrs.set.size && *attrs.set.size == 0) {
      // RFC 7530 16.16.5 / RFC 8881 18.16.3: UNCHECKED4 on an existing file
      // ignores createattrs, except that a size of zero truncates it (O_TRUNC),
      // subject to write permission. attrset then names only size.
      auto g = fs.access(c.cred, out->ino, vfs::kAccessModify);
      if (!g) return to_nfsstat(g.error());
      if (!(*g & vfs::kAccessModify)) return NFS4ERR_ACCESS;
      vfs::SetAttr trunc;
      trunc.size = 0;
      auto s = fs.setattr(c.cred, out->ino, trunc);
      if (!s) return to_nfsstat(s.error());
      bitmap_set(out->attrset, A_size);
    }
    return NFS4_OK;
  }
  auto before = fs.getattr(dir);
  if (!before) return to_nfsstat(before.error());
  auto a = fs.lookup(c.cred, dir, name);
  if (!a) return to_nfsstat(a.error());
  if (nfsstat4 st = check_regular(c, a->type); st != NFS4_OK) return st;
  out->ino = a->ino;
  out->cinfo.atomic = true;
  out->cinfo.before = out->cinfo.after = before->change;
  return NFS4_OK;
}

// CLAIM_FH and CLAIM_PREVIOUS: the current filehandle is the file.
nfsstat4 open_by_fh(Compound& c, Opened* out) {
  if (!c.current.set()) return NFS4ERR_NOFILEHANDLE;
  if (c.current.is_pseudo()) return NFS4ERR_ISDIR;
  auto a = c.current.fs->getattr(c.current.ino);
  if (!a) return to_nfsstat(a.error());
  if (nfsstat4 st = check_regular(c, a->type); st != NFS4_OK) return st;
  out->ino = a->ino;
  return NFS4_OK;
}

}  // namespace

nfsstat4 op_open(Compound& c, const OPEN4args& args, OPEN4res& res) {
  auto& sm = c.server.state();
  OpenRequest req;
  req.minorversion = c.minorversion;
  req.session_client = c.client;
  req.clientid = args.owner.clientid;
  req.owner = args.owner.owner;
  req.seqid = args.seqid;
  // 4.1 carries delegation "want" bits above the access bits (RFC 8881 18.16.3).
  const uint32_t want =
      c.minorversion >= 1 ? (args.share_access & OPEN4_SHARE_ACCESS_WANT_DELEG_MASK) : 0;
  req.access = c.minorversion >= 1 ? (args.share_access & kShareAccessMask) : args.share_access;
  req.deny = args.share_deny;

  const open_claim_type4 claim = args.claim.claim;
  switch (claim) {
    case CLAIM_NULL:
      break;
    case CLAIM_PREVIOUS:
      req.reclaim = true;
      break;
    case CLAIM_FH:
      if (c.minorversion < 1) return res.status = NFS4ERR_INVAL;
      break;
    case CLAIM_DELEGATE_CUR:
    case CLAIM_DELEGATE_PREV:
    case CLAIM_DELEG_CUR_FH:
    case CLAIM_DELEG_PREV_FH:
      // EFS: "OPEN returns NFS4ERR_NOTSUPP for the CLAIM_DELEGATE_CUR and
      // CLAIM_DELEGATE_PREV claim types" (and their 4.1 _FH forms).
      return res.status = NFS4ERR_NOTSUPP;
    default:
      return res.status = NFS4ERR_INVAL;
  }
  // A filehandle is needed before any state is touched (RFC 8881 15.2).
  if (!c.current.set()) return res.status = NFS4ERR_NOFILEHANDLE;

  OpenStart start = sm.open_begin(req);
  if (start.replay) {
    // RFC 7530 9.1.9: a retransmission of the owner's last request.
    if (!decode_bytes(start.replay->bytes, res)) return res.status = NFS4ERR_SERVERFAULT;
    return res.status;
  }
  // 4.0: every answer after the owner's seqid was accepted is remembered.
  auto finish = [&](nfsstat4 st) {
    res.status = st;
    if (c.minorversion == 0 && start.owner) {
      sm.owner_reply(start.owner, req.seqid, st, OwnerReply{OP_OPEN, encode_bytes(res)});
    }
    return st;
  };
  if (start.status != NFS4_OK) return finish(start.status);
  // The file system policy (policy_gate.h): opening for write, or with
  // OPEN4_CREATE, needs ClientWrite.
  if ((req.access & OPEN4_SHARE_ACCESS_WRITE) || args.openhow.opentype == OPEN4_CREATE)
    if (nfsstat4 refused = gate_write(c, "OPEN for write"); refused != NFS4_OK) return finish(refused);

  Opened o;
  nfsstat4 st = claim == CLAIM_NULL ? open_by_name(c, args, &o) : open_by_fh(c, &o);
  if (st != NFS4_OK) return finish(st);

  CurrentFh file = claim == CLAIM_NULL ? c.server.exports().child(c.current, o.ino) : c.current;
  if (!o.created) {
    // RFC 7530 16.16.5: the caller needs read or write permission for the
    // access asked for (a file it just created is its own to open).
    // Execute permission stands in for read, as in Linux nfsd
    // (NFSD_MAY_READ_IF_EXEC): a client exec'ing a mode-0111 binary opens it
    // for READ.
    const bool want_read = req.access & OPEN4_SHARE_ACCESS_READ;
    const bool want_write = req.access & OPEN4_SHARE_ACCESS_WRITE;
    uint32_t ask = (want_read ? vfs::kAccessRead | vfs::kAccessExecute : 0) |
                   (want_write ? vfs::kAccessModify : 0);
    auto g = file.fs->access(c.cred, o.ino, ask);
    if (!g) return finish(to_nfsstat(g.error()));
    bool read_ok = !want_read || (*g & (vfs::kAccessRead | vfs::kAccessExecute));
    bool write_ok = !want_write || (*g & vfs::kAccessModify);
    if (!read_ok || !write_ok) return finish(NFS4ERR_ACCESS);
  }
  // The open keeps the file alive if its last name goes (vfs OpenHold).
  auto hold = file.fs->hold(o.ino);
  if (!hold) return finish(to_nfsstat(hold.error()));
  auto granted = sm.open_commit(start, req, file_key(file), std::move(*hold));
  if (!granted) return finish(granted.error());

  auto& ok = res.resok4;
  ok.stateid = granted->sid;
  ok.cinfo = o.cinfo;
  ok.rflags = OPEN4_RESULT_LOCKTYPE_POSIX | (granted->confirm ? OPEN4_RESULT_CONFIRM : 0);
  ok.attrset = o.attrset;
  // No delegations. RFC 8881 18.16.3: a 4.1 client that expressed a want
  // gets OPEN_DELEGATE_NONE_EXT with the reason.
  if (want == OPEN4_SHARE_ACCESS_WANT_NO_PREFERENCE) {
    ok.delegation.delegation_type = OPEN_DELEGATE_NONE;
  } else {
    ok.delegation.delegation_type = OPEN_DELEGATE_NONE_EXT;
    ok.delegation.od_whynone.ond_why = want == OPEN4_SHARE_ACCESS_WANT_NO_DELEG ? WND4_NOT_WANTED
                                       : want == OPEN4_SHARE_ACCESS_WANT_CANCEL ? WND4_CANCELLED
                                                                                : WND4_RESOURCE;
  }
  c.current = std::move(file);
  set_current(c, granted->sid);
  return finish(NFS4_OK);
}

nfsstat4 op_open_confirm(Compound& c, const OPEN_CONFIRM4args& args, OPEN_CONFIRM4res& res) {
  if (!c.current.set()) return res.status = NFS4ERR_NOFILEHANDLE;
  auto& sm = c.server.state();
  auto r = sm.open_confirm(args.open_stateid, args.seqid, file_key(c.current));
  // OPEN_CONFIRM exists only in 4.0, so the reply is always kept for the owner.
  return answer_seqid_op(c, sm, r, OP_OPEN_CONFIRM, res, [&](OPEN_CONFIRM4res& out) {
    if (r.status == NFS4_OK) out.resok4.open_stateid = r.sid;
  });
}

nfsstat4 op_open_downgrade(Compound& c, const OPEN_DOWNGRADE4args& args, OPEN_DOWNGRADE4res& res) {
  if (!c.current.set()) return res.status = NFS4ERR_NOFILEHANDLE;
  stateid4 sid;
  if (nfsstat4 st = resolve(c, args.open_stateid, &sid); st != NFS4_OK) return res.status = st;
  auto& sm = c.server.state();
  uint32_t access =
      c.minorversion >= 1 ? (args.share_access & kShareAccessMask) : args.share_access;
  auto r = sm.open_downgrade(sid, args.seqid, access, args.share_deny, file_key(c.current),
                             c.minorversion, c.client.get());
  return answer_seqid_op(c, sm, r, OP_OPEN_DOWNGRADE, res, [&](OPEN_DOWNGRADE4res& out) {
    if (r.status == NFS4_OK) out.resok4.open_stateid = r.sid;
  });
}

nfsstat4 op_close(Compound& c, const CLOSE4args& args, CLOSE4res& res) {
  if (!c.current.set()) return res.status = NFS4ERR_NOFILEHANDLE;
  stateid4 sid;
  if (nfsstat4 st = resolve(c, args.open_stateid, &sid); st != NFS4_OK) return res.status = st;
  auto& sm = c.server.state();
  auto r = sm.close(sid, args.seqid, file_key(c.current), c.minorversion, c.client.get());
  return answer_seqid_op(c, sm, r, OP_CLOSE, res, [&](CLOSE4res& out) {
    if (r.status == NFS4_OK) out.open_stateid = r.sid;
  });
}

nfsstat4 op_delegreturn(Compound& c, const DELEGRETURN4args& args, DELEGRETURN4res& res) {
  if (!c.current.set()) return res.status = NFS4ERR_NOFILEHANDLE;
  stateid4 sid;
  if (nfsstat4 st = resolve(c, args.deleg_stateid, &sid); st != NFS4_OK) return res.status = st;
  // No delegation stateid exists (none is ever granted), so whatever the
  // client presents is not one: a stale one from an earlier boot, or bad.
  return res.status = c.server.state().is_stale(sid) ? NFS4ERR_STALE_STATEID : NFS4ERR_BAD_STATEID;
}

nfsstat4 op_delegpurge(Compound&, const DELEGPURGE4args&, DELEGPURGE4res& res) {
  // RFC 7530 16.5.4: a server that does not support CLAIM_DELEGATE_PREV
  // answers NFS4ERR_NOTSUPP.
  return res.status = NFS4ERR_NOTSUPP;
}

}  // namespace efs::nfs4
