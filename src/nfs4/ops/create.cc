// CREATE (non-regular objects) and READLINK (RFC 7530 16.4, 16.25; RFC 8881
// 18.4, 18.24).
#include "common/log.h"
#include "nfs4/attrs.h"
#include "nfs4/export.h"
#include "nfs4/ops/fs_ops.h"
#include "nfs4/server.h"

namespace efs::nfs4 {

nfsstat4 op_create(Compound& c, const CREATE4args& args, CREATE4res& res) {
  if (!c.current.set()) return res.status = NFS4ERR_NOFILEHANDLE;
  if (c.current.is_pseudo()) return res.status = NFS4ERR_ROFS;
  const nfs_ftype4 type = args.objtype.type;
  switch (type) {
    case NF4DIR:
    case NF4LNK:
    case NF4SOCK:
    case NF4FIFO:
      break;
    case NF4REG:
      // RFC 7530 16.4.5: regular files are made by OPEN.
      return res.status = NFS4ERR_BADTYPE;
    default:
      // EFS refuses block and character devices, attribute directories and
      // named attributes ("Unsupported NFSv4 features"; sockets and FIFOs
      // are supported). RFC 7530 16.4.5 / RFC 8881 18.4.4: BADTYPE.
      spdlog::info("nfs4: CREATE of type {} refused", static_cast<int>(type));
      return res.status = NFS4ERR_BADTYPE;
  }
  vfs::Attr dir;
  if (nfsstat4 st = need_fs_dir(c, &dir); st != NFS4_OK) return res.status = st;
  if (nfsstat4 st = check_component(args.objname); st != NFS4_OK) return res.status = st;
  auto attrs = decode_fattr(args.createattrs, c.minorversion);
  if (!attrs) return res.status = attrs.error();
  // No size for a directory, symlink, socket or FIFO.
  if (attrs->set.size) return res.status = NFS4ERR_INVAL;

  auto& fs = *c.current.fs;
  vfs::VResult<vfs::CreateResult> made = fail(vfs::Errc::serverfault);
  if (type == NF4DIR) {
    made = fs.mkdir(c.cred, c.current.ino, args.objname, attrs->set);
  } else if (type == NF4SOCK || type == NF4FIFO) {
    made = fs.mknod(c.cred, c.current.ino, args.objname,
                    type == NF4SOCK ? vfs::FileType::sock : vfs::FileType::fifo, attrs->set);
  } else {
    const std::string& target = args.objtype.linkdata;
    // RFC 8881 18.4.3: an empty link text is invalid.
    if (target.empty()) return res.status = NFS4ERR_INVAL;
    if (target.size() > vfs::kMaxSymlinkBytes) return res.status = NFS4ERR_NAMETOOLONG;
    made = fs.symlink(c.cred, c.current.ino, args.objname, target, attrs->set);
  }
  if (!made) return res.status = to_nfsstat(made.error());
  res.resok4.cinfo = to_cinfo(made->dir);
  res.resok4.attrset = attrs->attrsset;
  c.current = c.server.exports().child(c.current, made->attr.ino);
  c.has_current_stateid = false;
  return res.status = NFS4_OK;
}

nfsstat4 op_readlink(Compound& c, READLINK4res& res) {
  if (!c.current.set()) return res.status = NFS4ERR_NOFILEHANDLE;
  // RFC 7530 16.25.5: INVAL for anything not NF4LNK, a directory included
  // (pynfs RDLK2d); RFC 8881 18.24.3: WRONG_TYPE likewise.
  nfsstat4 wrong = c.minorversion >= 1 ? NFS4ERR_WRONG_TYPE : NFS4ERR_INVAL;
  if (c.current.is_pseudo()) return res.status = wrong;
  auto a = c.current.fs->getattr(c.current.ino);
  if (!a) return res.status = to_nfsstat(a.error());
  if (a->type != vfs::FileType::lnk) return res.status = wrong;
  auto target = c.current.fs->readlink(c.current.ino);
  if (!target) return res.status = to_nfsstat(target.error());
  res.resok4.link = std::move(*target);
  return res.status = NFS4_OK;
}

}  // namespace efs::nfs4
