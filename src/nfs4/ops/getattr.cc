// GETATTR, VERIFY, NVERIFY, ACCESS, SETATTR (RFC 7530 16.7, 16.35, 16.15,
// 16.1, 16.32; RFC 8881 18.7, 18.31, 18.15, 18.1, 18.30).
#include "common/log.h"
#include "nfs4/attrs.h"
#include "nfs4/export.h"
#include "nfs4/ops/fs_ops.h"
#include "nfs4/server.h"
#include "nfs4/state/state_manager.h"

namespace efs::nfs4 {

namespace {

// VERIFY and NVERIFY: NFS4_OK when the given attributes equal the object's,
// NOT_SAME when they differ, or an error.
nfsstat4 compare_attrs(Compound& c, const fattr4& given) {
  if (!c.current.set()) return NFS4ERR_NOFILEHANDLE;
  // RFC 8881 18.31.3: rdattr_error may not be verified; write-only ones cannot be read.
  if (bitmap_test(given.attrmask, A_rdattr_error) || asks_write_only(given.attrmask))
    return NFS4ERR_INVAL;
  auto a = attr_of(c, c.current);
  if (!a) return a.error();
  fattr4 mine = encode_fattr(c, c.current, *a, given.attrmask);
  // Any requested attribute we did not encode is one we do not support.
  for (uint32_t n = 0; n < given.attrmask.size() * 32; ++n)
    if (bitmap_test(given.attrmask, n) && !bitmap_test(mine.attrmask, n))
      return NFS4ERR_ATTRNOTSUPP;
  return mine.attr_vals == given.attr_vals ? NFS4_OK : NFS4ERR_NOT_SAME;
}

}  // namespace

nfsstat4 op_getattr(Compound& c, const GETATTR4args& args, GETATTR4res& res) {
  if (!c.current.set()) return res.status = NFS4ERR_NOFILEHANDLE;
  // RFC 7530 16.7.5 / RFC 8881 18.7.3: asking for a write-only attribute
  // (time_access_set, time_modify_set) is INVAL.
  if (asks_write_only(args.attr_request)) return res.status = NFS4ERR_INVAL;
  auto a = attr_of(c, c.current);
  if (!a) return res.status = a.error();
  res.resok4.obj_attributes = encode_fattr(c, c.current, *a, args.attr_request);
  return res.status = NFS4_OK;
}

nfsstat4 op_verify(Compound& c, const VERIFY4args& args, VERIFY4res& res) {
  return res.status = compare_attrs(c, args.obj_attributes);
}

nfsstat4 op_nverify(Compound& c, const NVERIFY4args& args, NVERIFY4res& res) {
  nfsstat4 st = compare_attrs(c, args.obj_attributes);
  if (st == NFS4_OK) return res.status = NFS4ERR_SAME;
  if (st == NFS4ERR_NOT_SAME) return res.status = NFS4_OK;
  return res.status = st;
}

nfsstat4 op_access(Compound& c, const ACCESS4args& args, ACCESS4res& res) {
  if (!c.current.set()) return res.status = NFS4ERR_NOFILEHANDLE;
  constexpr uint32_t kAll = vfs::kAccessRead | vfs::kAccessLookup | vfs::kAccessModify |
                            vfs::kAccessExtend | vfs::kAccessDelete | vfs::kAccessExecute;
  // RFC 8881 18.1.3: bits outside the defined ones are an error.
  if (args.access & ~kAll) return res.status = NFS4ERR_INVAL;
  // RFC 8881 18.1.3: `supported` holds the requested bits the server can
  // answer for this object. LOOKUP and DELETE mean something only for a
  // directory, EXECUTE only for a non-directory (as Linux nfsd's access maps),
  // so they are left out of `supported` (and `access`) elsewhere.
  constexpr uint32_t kDirBits = vfs::kAccessRead | vfs::kAccessLookup | vfs::kAccessModify |
                                vfs::kAccessExtend | vfs::kAccessDelete;
  constexpr uint32_t kFileBits =
      vfs::kAccessRead | vfs::kAccessModify | vfs::kAccessExtend | vfs::kAccessExecute;
  uint32_t supported, granted;
  if (c.current.is_pseudo()) {
    // The pseudo-root is a read-only directory everyone may list and search.
    supported = args.access & kDirBits;
    granted = supported & (vfs::kAccessRead | vfs::kAccessLookup);
  } else {
    auto a = c.current.fs->getattr(c.current.ino);
    if (!a) return res.status = to_nfsstat(a.error());
    supported = args.access & (a->type == vfs::FileType::dir ? kDirBits : kFileBits);
    granted = 0;
    if (supported) {
      auto g = c.current.fs->access(c.cred, c.current.ino, supported);
      if (!g) return res.status = to_nfsstat(g.error());
      granted = *g & supported;
    }
  }
  res.resok4.supported = supported;
  res.resok4.access = granted;
  return res.status = NFS4_OK;
}

nfsstat4 op_setattr(Compound& c, const SETATTR4args& args, SETATTR4res& res) {
  if (!c.current.set()) return res.status = NFS4ERR_NOFILEHANDLE;
  auto decoded = decode_fattr(args.obj_attributes, c.minorversion);
  if (!decoded) return res.status = decoded.error();
  if (c.current.is_pseudo()) return res.status = NFS4ERR_ROFS;
  auto& fs = *c.current.fs;
  if (decoded->set.size) {
    auto a = fs.getattr(c.current.ino);
    if (!a) return res.status = to_nfsstat(a.error());
    if (a->type == vfs::FileType::dir) return res.status = NFS4ERR_ISDIR;
    if (a->type != vfs::FileType::reg) return res.status = NFS4ERR_INVAL;
    if (*decoded->set.size > vfs::kMaxFileSize) return res.status = NFS4ERR_FBIG;
    // RFC 8881 18.30.3: a size change is I/O, checked against the stateid.
    nfsstat4 st = check_stateid(c, args.stateid, fs, c.current.ino, true);
    if (st != NFS4_OK) return res.status = st;
  }
  if (!decoded->set.empty()) {
    auto r = fs.setattr(c.cred, c.current.ino, decoded->set);
    if (!r) return res.status = to_nfsstat(r.error());
  }
  res.attrsset = decoded->attrsset;
  return res.status = NFS4_OK;
}

}  // namespace efs::nfs4
