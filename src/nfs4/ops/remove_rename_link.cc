// REMOVE, RENAME, LINK (RFC 7530 16.26, 16.27, 16.9; RFC 8881 18.25, 18.26, 18.9).
#include "nfs4/export.h"
#include "nfs4/ops/fs_ops.h"
#include "nfs4/server.h"

namespace efs::nfs4 {

namespace {

// RENAME and LINK cannot cross exports (RFC 7530 16.9.4, 16.26.4; RFC 8881
// 18.9.3, 18.26.3: NFS4ERR_XDEV when the two filehandles are in different
// file systems). Each export has its own fsid, and an access point's is not its
// file system's (Exports::fsid), so an access point and the file system export
// are different file systems to the client even over the same inodes. Letting
// them meet would let a file reached through the file system export (with the
// caller's own uid) be linked into an access point, or an access point's file
// be renamed out of its root. Within one export both handles carry the same
// credentials: c.cred (the access point's PosixUser, or the caller) applies to
// both directories.
nfsstat4 check_same_export(const Compound& c) {
  if (!c.current.set() || !c.saved.set()) return NFS4ERR_NOFILEHANDLE;
  if (c.saved.is_pseudo() || c.current.is_pseudo()) return NFS4ERR_ROFS;
  if (!c.saved.same_export(c.current)) return NFS4ERR_XDEV;
  return NFS4_OK;
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
  if (nfsstat4 st = check_same_export(c); st != NFS4_OK) return res.status = st;
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
  if (nfsstat4 st = check_same_export(c); st != NFS4_OK) return res.status = st;
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
