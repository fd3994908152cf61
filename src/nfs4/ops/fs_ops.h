// The file-system ops (RFC 7530 16 / RFC 8881 18), one handler per op with the
// convention of compound.h. Families live in one .cc each under ops/.
#pragma once

#include <span>

#include "nfs4/compound.h"

namespace efs::nfs4 {

// ops/check_stateid.cc: the stateid of READ, WRITE and SETATTR(size) (RFC
// 8881 8.2, RFC 7530 9.1.4): resolves the 4.1 current stateid, lets special
// stateids through when the caller may access the file, and otherwise asks
// the state layer whether the stateid is this file's and current.
nfsstat4 check_stateid(Compound& c, const stateid4& sid, const vfs::FileSystem& fs, uint64_t ino,
                       bool for_write);

// ops/fh.cc: the current and saved filehandle.
nfsstat4 op_putfh(Compound& c, const PUTFH4args& args, PUTFH4res& res);
nfsstat4 op_putrootfh(Compound& c, PUTROOTFH4res& res);
nfsstat4 op_putpubfh(Compound& c, PUTPUBFH4res& res);
nfsstat4 op_getfh(Compound& c, GETFH4res& res);
nfsstat4 op_savefh(Compound& c, SAVEFH4res& res);
nfsstat4 op_restorefh(Compound& c, RESTOREFH4res& res);

// ops/lookup.cc
nfsstat4 op_lookup(Compound& c, const LOOKUP4args& args, LOOKUP4res& res);
nfsstat4 op_lookupp(Compound& c, LOOKUPP4res& res);

// ops/getattr.cc
nfsstat4 op_getattr(Compound& c, const GETATTR4args& args, GETATTR4res& res);
nfsstat4 op_verify(Compound& c, const VERIFY4args& args, VERIFY4res& res);
nfsstat4 op_nverify(Compound& c, const NVERIFY4args& args, NVERIFY4res& res);
nfsstat4 op_access(Compound& c, const ACCESS4args& args, ACCESS4res& res);
nfsstat4 op_setattr(Compound& c, const SETATTR4args& args, SETATTR4res& res);

// ops/create.cc
nfsstat4 op_create(Compound& c, const CREATE4args& args, CREATE4res& res);
nfsstat4 op_readlink(Compound& c, READLINK4res& res);

// ops/remove_rename_link.cc
nfsstat4 op_remove(Compound& c, const REMOVE4args& args, REMOVE4res& res);
nfsstat4 op_rename(Compound& c, const RENAME4args& args, RENAME4res& res);
nfsstat4 op_link(Compound& c, const LINK4args& args, LINK4res& res);

// ops/read_write.cc
// READ, encoding its own result: the data is read straight into the reply
// record `w` writes to (the loop's zero-copy path; read_write.cc).
nfsstat4 read_data(Compound& c, const READ4args& args, xdr::Writer& w);
nfsstat4 op_write(Compound& c, const WRITE4args& args, WRITE4res& res);
// WRITE with its data still in the received record (the loop's zero-copy path).
nfsstat4 write_data(Compound& c, const stateid4& stateid, uint64_t offset, stable_how4 stable,
                    std::span<const uint8_t> data, WRITE4res& res);
nfsstat4 op_commit(Compound& c, const COMMIT4args& args, COMMIT4res& res);

// ops/readdir.cc
nfsstat4 op_readdir(Compound& c, const READDIR4args& args, READDIR4res& res);

// ops/secinfo.cc
nfsstat4 op_secinfo(Compound& c, const SECINFO4args& args, SECINFO4res& res);
nfsstat4 op_secinfo_no_name(Compound& c, const SECINFO_NO_NAME4args& args,
                            SECINFO_NO_NAME4res& res);

// Shared checks (ops/fh.cc).
// NOFILEHANDLE without a current filehandle.
nfsstat4 need_fh(const Compound& c);
// The current filehandle must be a directory inside a file system (the
// pseudo-root is read-only: ROFS for changes, per RFC 7530 7.3).
nfsstat4 need_fs_dir(Compound& c, vfs::Attr* attr = nullptr);
// RFC 7530 4.2.3 / RFC 8881 18.x: a component must be non-empty ("INVAL"),
// not "." or ".." (BADNAME), at most 255 bytes (NAMETOOLONG), UTF-8 (INVAL).
nfsstat4 check_component(const std::string& name);
// The nfs_ftype4 a vfs file type maps to.
inline nfs_ftype4 ftype(vfs::FileType t) {
  return static_cast<nfs_ftype4>(t);
}
change_info4 to_cinfo(const vfs::ChangeInfo& ci);

}  // namespace efs::nfs4
