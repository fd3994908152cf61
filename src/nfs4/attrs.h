// fattr4 (RFC 7530 5 / RFC 8881 5): encoding the attributes EFS reports from
// vfs::Attr, and decoding the ones a client may set (SETATTR, CREATE, OPEN).
// EFS's unsupported attributes (acl, archive, files_*, fs_locations, hidden,
// mimetype, quota_*, system, time_backup) are absent from supported_attrs.
#pragma once

#include <cstdint>
#include <optional>

#include "nfs4/compound.h"
#include "nfs4/export.h"
#include "vfs/vfs.h"

namespace efs::nfs4 {

// Attribute numbers (RFC 7530 5.7 / 5.8, RFC 8881 5.8).
enum AttrNum : uint32_t {
  A_supported_attrs = 0,
  A_type = 1,
  A_fh_expire_type = 2,
  A_change = 3,
  A_size = 4,
  A_link_support = 5,
  A_symlink_support = 6,
  A_named_attr = 7,
  A_fsid = 8,
  A_unique_handles = 9,
  A_lease_time = 10,
  A_rdattr_error = 11,
  A_acl = 12,
  A_aclsupport = 13,
  A_archive = 14,
  A_cansettime = 15,
  A_case_insensitive = 16,
  A_case_preserving = 17,
  A_chown_restricted = 18,
  A_filehandle = 19,
  A_fileid = 20,
  A_files_avail = 21,
  A_files_free = 22,
  A_files_total = 23,
  A_fs_locations = 24,
  A_hidden = 25,
  A_homogeneous = 26,
  A_maxfilesize = 27,
  A_maxlink = 28,
  A_maxname = 29,
  A_maxread = 30,
  A_maxwrite = 31,
  A_mimetype = 32,
  A_mode = 33,
  A_no_trunc = 34,
  A_numlinks = 35,
  A_owner = 36,
  A_owner_group = 37,
  A_quota_avail_hard = 38,
  A_quota_avail_soft = 39,
  A_quota_used = 40,
  A_rawdev = 41,
  A_space_avail = 42,
  A_space_free = 43,
  A_space_total = 44,
  A_space_used = 45,
  A_system = 46,
  A_time_access = 47,
  A_time_access_set = 48,
  A_time_backup = 49,
  A_time_create = 50,
  A_time_delta = 51,
  A_time_metadata = 52,
  A_time_modify = 53,
  A_time_modify_set = 54,
  A_mounted_on_fileid = 55,
  A_suppattr_exclcreat = 75,
};

inline constexpr uint32_t kMaxReadWrite = 1048576;

bool bitmap_test(const bitmap4& b, uint32_t n);
void bitmap_set(bitmap4& b, uint32_t n);

// True if `want` names a write-only attribute (time_access_set,
// time_modify_set): GETATTR, READDIR and VERIFY answer INVAL (RFC 8881 5.5,
// 18.7.3, 18.23.3).
bool asks_write_only(const bitmap4& want);

// Attributes this server reports for minor version `minor`.
bitmap4 supported_attrs(uint32_t minor);

// The attributes of a filehandle's object (the pseudo-root's are synthesized).
NResult<vfs::Attr> attr_of(Compound& c, const CurrentFh& fh);

// Encodes the attributes in `want` that are supported; others are omitted
// (RFC 8881 18.7.3). `rdattr_error` is reported as NFS4_OK.
fattr4 encode_fattr(Compound& c, const CurrentFh& fh, const vfs::Attr& a, const bitmap4& want);

// A decoded settable fattr4.
struct SetAttrs {
  vfs::SetAttr set;
  bitmap4 attrsset;  // which attributes were given (SETATTR's and CREATE's attrsset)
};
// ATTRNOTSUPP for an attribute EFS cannot set, INVAL for a read-only one,
// BADOWNER for a non-numeric owner, BADXDR for bad value encoding.
NResult<SetAttrs> decode_fattr(const fattr4& in, uint32_t minor);

// Owner strings are numeric ids ("1000"); "1000@domain" is accepted on input.
std::optional<uint32_t> parse_owner(std::string_view s);

}  // namespace efs::nfs4
