// LOOKUP and LOOKUPP (RFC 7530 16.13-16.14, RFC 8881 18.13-18.14), including
// crossing from the pseudo-root into a file system or access point.
#include "nfs4/export.h"
#include "nfs4/ops/fs_ops.h"
#include "nfs4/server.h"

namespace efs::nfs4 {

nfsstat4 op_lookup(Compound& c, const LOOKUP4args& args, LOOKUP4res& res) {
  if (!c.current.set()) return res.status = NFS4ERR_NOFILEHANDLE;
  const std::string& name = args.objname;
  if (c.current.is_pseudo()) {
    if (nfsstat4 st = check_component(name); st != NFS4_OK) return res.status = st;
    auto fh = c.server.exports().lookup_junction(name);
    if (!fh) return res.status = fh.error();
    c.current = std::move(*fh);
    c.has_current_stateid = false;
    return res.status = NFS4_OK;
  }
  auto dir = c.current.fs->getattr(c.current.ino);
  if (!dir) return res.status = to_nfsstat(dir.error());
  // RFC 8881 18.13.3: a symlink gives SYMLINK, another non-directory NOTDIR.
  if (dir->type == vfs::FileType::lnk) return res.status = NFS4ERR_SYMLINK;
  if (dir->type != vfs::FileType::dir) return res.status = NFS4ERR_NOTDIR;
  if (nfsstat4 st = check_component(name); st != NFS4_OK) return res.status = st;
  auto a = c.current.fs->lookup(c.cred, c.current.ino, name);
  if (!a) return res.status = to_nfsstat(a.error());
  c.current = c.server.exports().child(c.current, a->ino);
  c.has_current_stateid = false;
  return res.status = NFS4_OK;
}

nfsstat4 op_lookupp(Compound& c, LOOKUPP4res& res) {
  if (!c.current.set()) return res.status = NFS4ERR_NOFILEHANDLE;
  // RFC 7530 16.14.4: the root has no parent.
  if (c.current.is_pseudo()) return res.status = NFS4ERR_NOENT;
  auto self = c.current.fs->getattr(c.current.ino);
  if (!self) return res.status = to_nfsstat(self.error());
  // RFC 7530 16.14.5 / RFC 8881 18.14.3: NOTDIR for any non-directory, a
  // symbolic link included (SYMLINK is LOOKUP's answer, not LOOKUPP's; pynfs
  // LOOKP2a).
  if (self->type != vfs::FileType::dir) return res.status = NFS4ERR_NOTDIR;
  if (c.current.ino == c.current.export_root) {
    // An access point's root directory is its client's "/" (EFS enforces it):
    // ".." stays there. A file system's root leads back to the pseudo-root,
    // unless a mount target serves this file system as "/".
    if (c.current.kind == FhKind::access_point) return res.status = NFS4_OK;
    if (!c.server.exports().routed_fs(c.call).empty()) return res.status = NFS4ERR_NOENT;
    c.current = c.server.exports().pseudo_root();
    c.has_current_stateid = false;
    return res.status = NFS4_OK;
  }
  auto a = c.current.fs->lookup_parent(c.cred, c.current.ino);
  if (!a) return res.status = to_nfsstat(a.error());
  // A directory renamed out of an access point's root keeps its handle; its
  // parent must not lead the client out (export.cc, from_wire).
  if (nfsstat4 st = c.server.exports().within_export(c.current, a->ino); st != NFS4_OK)
    return res.status = st;
  c.current = c.server.exports().child(c.current, a->ino);
  c.has_current_stateid = false;
  return res.status = NFS4_OK;
}

}  // namespace efs::nfs4
