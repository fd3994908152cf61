// SECINFO and SECINFO_NO_NAME (RFC 7530 16.31, RFC 8881 18.29, 18.45). EFS
// offers AUTH_SYS only (Kerberos is an unsupported feature).
#include "nfs4/export.h"
#include "nfs4/ops/fs_ops.h"
#include "nfs4/server.h"

namespace efs::nfs4 {

namespace {

void auth_sys_only(SECINFO4res& res) {
  secinfo4 sys{};
  sys.flavor = AUTH_SYS;
  res.resok4.clear();
  res.resok4.push_back(sys);
}

}  // namespace

nfsstat4 op_secinfo(Compound& c, const SECINFO4args& args, SECINFO4res& res) {
  if (!c.current.set()) return res.status = NFS4ERR_NOFILEHANDLE;
  if (nfsstat4 st = check_component(args.name); st != NFS4_OK) return res.status = st;
  if (c.current.is_pseudo()) {
    auto fh = c.server.exports().lookup_junction(args.name);
    if (!fh) return res.status = fh.error();
  } else {
    auto dir = c.current.fs->getattr(c.current.ino);
    if (!dir) return res.status = to_nfsstat(dir.error());
    if (dir->type != vfs::FileType::dir) return res.status = NFS4ERR_NOTDIR;
    auto a = c.current.fs->lookup(c.cred, c.current.ino, args.name);
    if (!a) return res.status = to_nfsstat(a.error());
  }
  auth_sys_only(res);
  // RFC 8881 2.6.3.1.1.8: SECINFO consumes the current filehandle.
  if (c.minorversion >= 1) c.current.clear();
  return res.status = NFS4_OK;
}

nfsstat4 op_secinfo_no_name(Compound& c, const SECINFO_NO_NAME4args& args,
                            SECINFO_NO_NAME4res& res) {
  if (!c.current.set()) return res.status = NFS4ERR_NOFILEHANDLE;
  if (args != SECINFO_STYLE4_CURRENT_FH && args != SECINFO_STYLE4_PARENT)
    return res.status = NFS4ERR_INVAL;
  if (args == SECINFO_STYLE4_PARENT && c.current.is_pseudo()) return res.status = NFS4ERR_NOENT;
  auth_sys_only(res);
  // RFC 8881 18.45.3: the current filehandle is consumed.
  c.current.clear();
  return res.status = NFS4_OK;
}

}  // namespace efs::nfs4
