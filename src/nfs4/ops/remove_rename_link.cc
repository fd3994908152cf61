// REMOVE, RENAME, LINK (RFC 7530 16.26, 16.27, 16.9; RFC 8881 18.25, 18.26, 18.9).
#include "nfs4/export.h"
#include "nfs4/ops/fs_ops.h"
#include "nfs4/server.h"

namespace efs::nfs4 {

namespace {

// Two filehandles in one file system (rename and link cannot cross: RFC 7530 16.27.5 XDEV).
bool same_fs(const CurrentFh& a, const CurrentFh& b) {
  return a.fs && b.fs && (a.fs == b.fs || a.fs->id() == b.fs->id());
}

}  // namespace

nfsstat4 op_remove(Compound& c, const REMOVE4args& args, REMOVE4res& res) {
  if (nfsstat4 st = need_fs_dir(c); st != NFS4_OK) return res.status = st;
  if (nfsstat4 st = check_component(args.target); st != NFS4_OK) return res.status = st;
  auto r = c.current.fs->remove(c.cred, c.current.ino, args.target);
  if (!r) return res.status = to_nfsstat(r.error());
  res.resok4.cinfo = to_cinfo(*r);
  return res.status = NFS4_OK;
}

// Source directory is the saved filehandle, target the current one.
nfsstat4 op_rename(Compound& c, const RENAME4args& args, RENAME4res& res) {
  if (!c.current.set()) return res.status = NFS4ERR_NOFILEHANDLE;
  if (!c.saved.set()) return res.status = NFS4ERR_NOFILEHANDLE;
  if (c.saved.is_pseudo() || c.current.is_pseudo()) return res.status = NFS4ERR_ROFS;
  if (!same_fs(c.saved, c.current)) return res.status = NFS4ERR_XDEV;
  for (const CurrentFh* fh : {&c.saved, &c.current}) {
    auto a = fh->fs->getattr(fh->ino);
    if (!a) return res.status = to_nfsstat(a.error());
    if (a->type != vfs::FileType::dir) return res.status = NFS4ERR_NOTDIR;
  }
  if (nfsstat4 st = check_component(args.oldname); st != NFS4_OK) return res.status = st;
  if (nfsstat4 st = check_component(args.newname); st != NFS4_OK) return res.status = st;
  auto r = c.current.fs->rename(c.cred, c.saved.ino, args.oldname, c.current.ino, args.newname);
  if (!r) return res.status = to_nfsstat(r.error());
  res.resok4.source_cinfo = to_cinfo(r->source_dir);
  res.resok4.target_cinfo = to_cinfo(r->target_dir);
  return res.status = NFS4_OK;
}

// The saved filehandle is the object, the current one the directory.
nfsstat4 op_link(Compound& c, const LINK4args& args, LINK4res& res) {
  if (!c.current.set() || !c.saved.set()) return res.status = NFS4ERR_NOFILEHANDLE;
  if (c.saved.is_pseudo() || c.current.is_pseudo()) return res.status = NFS4ERR_ROFS;
  if (!same_fs(c.saved, c.current)) return res.status = NFS4ERR_XDEV;
  if (nfsstat4 st = need_fs_dir(c); st != NFS4_OK) return res.status = st;
  auto obj = c.saved.fs->getattr(c.saved.ino);
  if (!obj) return res.status = to_nfsstat(obj.error());
  // RFC 8881 18.9.3: no hard links to directories.
  if (obj->type == vfs::FileType::dir) return res.status = NFS4ERR_ISDIR;
  if (nfsstat4 st = check_component(args.newname); st != NFS4_OK) return res.status = st;
  auto r = c.current.fs->link(c.cred, c.saved.ino, c.current.ino, args.newname);
  if (!r) return res.status = to_nfsstat(r.error());
  res.resok4.cinfo = to_cinfo(*r);
  return res.status = NFS4_OK;
}

}  // namespace efs::nfs4
