// The one place host and SQLite failures become vfs::Errc (nfsstat4).
// SQLite's cause arrives as Error::code (meta::error_code_of), the chunk
// store's as ChunkError::err; both are errno values. Why each maps as it
// does: docs/full-disk.md.
#pragma once

#include <cerrno>

#include "common/result.h"
#include "vfs/vfs.h"

namespace efs::vfs {

constexpr Errc errc_of_errno(int e) {
  switch (e) {
    // EFS has no quotas, so a host quota on the data dir is, to the client,
    // the same as a full disk: NFS4ERR_NOSPC (Linux: "No space left on
    // device"), never NFS4ERR_DQUOT, which EFS never sends.
    case ENOSPC:
    case EDQUOT:
      return Errc::nospc;
    case EFBIG:
      return Errc::fbig;
    default:
      return Errc::io;  // NFS4ERR_IO: a fault of the host, logged where it happened
  }
}

inline Errc errc_of(const Error& e) { return errc_of_errno(e.code); }

}  // namespace efs::vfs
