// PUTFH, PUTROOTFH, PUTPUBFH, GETFH, SAVEFH, RESTOREFH (RFC 7530 16.20-16.22,
// 16.8, 16.30, 16.29; RFC 8881 18.19-18.21, 18.8, 18.28, 18.27) and the checks the
// other op files share.
#include <cstring>

#include "nfs4/attrs.h"
#include "nfs4/export.h"
#include "nfs4/ops/fs_ops.h"
#include "nfs4/server.h"

namespace efs::nfs4 {

namespace {

// RFC 8881 16.2.3.1.2: changing the current filehandle clears the current stateid.
void set_current(Compound& c, CurrentFh fh) {
  c.current = std::move(fh);
  c.has_current_stateid = false;
}

bool valid_utf8(const std::string& s) {
  std::size_t i = 0, n = s.size();
  while (i < n) {
    auto b = static_cast<unsigned char>(s[i]);
    std::size_t len = b < 0x80           ? 1
                      : (b >> 5) == 0x6  ? 2
                      : (b >> 4) == 0xe  ? 3
                      : (b >> 3) == 0x1e ? 4
                                         : 0;
    if (len == 0 || i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    i += len;
  }
  return true;
}

}  // namespace

nfsstat4 need_fh(const Compound& c) {
  return c.current.set() ? NFS4_OK : NFS4ERR_NOFILEHANDLE;
}

nfsstat4 need_fs_dir(Compound& c, vfs::Attr* attr) {
  if (!c.current.set()) return NFS4ERR_NOFILEHANDLE;
  if (c.current.is_pseudo()) return NFS4ERR_ROFS;
  auto a = c.current.fs->getattr(c.current.ino);
  if (!a) return to_nfsstat(a.error());
  if (a->type != vfs::FileType::dir) return NFS4ERR_NOTDIR;
  if (attr) *attr = *a;
  return NFS4_OK;
}

nfsstat4 check_component(const std::string& name) {
  if (name.empty()) return NFS4ERR_INVAL;
  if (name.size() > vfs::kMaxNameBytes) return NFS4ERR_NAMETOOLONG;
  if (!valid_utf8(name)) return NFS4ERR_INVAL;
  if (name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos)
    return NFS4ERR_BADNAME;
  return NFS4_OK;
}

change_info4 to_cinfo(const vfs::ChangeInfo& ci) {
  change_info4 out;
  out.atomic = ci.atomic;
  out.before = ci.before;
  out.after = ci.after;
  return out;
}

nfsstat4 op_putfh(Compound& c, const PUTFH4args& args, PUTFH4res& res) {
  auto fh = c.server.exports().from_wire(args.object);
  if (!fh) return res.status = fh.error();
  set_current(c, std::move(*fh));
  return res.status = NFS4_OK;
}

nfsstat4 op_putrootfh(Compound& c, PUTROOTFH4res& res) {
  auto fh = c.server.exports().root(c.call);
  if (!fh) return res.status = fh.error();
  set_current(c, std::move(*fh));
  return res.status = NFS4_OK;
}

// RFC 7530 16.21: the public filehandle may be the root; ours is.
nfsstat4 op_putpubfh(Compound& c, PUTPUBFH4res& res) {
  PUTROOTFH4res root;
  nfsstat4 st = op_putrootfh(c, root);
  return res.status = st;
}

nfsstat4 op_getfh(Compound& c, GETFH4res& res) {
  if (!c.current.set()) return res.status = NFS4ERR_NOFILEHANDLE;
  res.resok4.object = c.current.wire;
  return res.status = NFS4_OK;
}

nfsstat4 op_savefh(Compound& c, SAVEFH4res& res) {
  if (!c.current.set()) return res.status = NFS4ERR_NOFILEHANDLE;
  c.saved = c.current;
  c.saved_stateid = c.current_stateid;
  c.has_saved_stateid = c.has_current_stateid;
  return res.status = NFS4_OK;
}

nfsstat4 op_restorefh(Compound& c, RESTOREFH4res& res) {
  if (!c.saved.set()) return res.status = NFS4ERR_RESTOREFH;
  c.current = c.saved;
  c.current_stateid = c.saved_stateid;
  c.has_current_stateid = c.has_saved_stateid;
  return res.status = NFS4_OK;
}

}  // namespace efs::nfs4
