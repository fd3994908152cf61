// POSIX permission checks as EFS applies them: owner / group / other mode
// bits against the caller's AUTH_SYS credential. EFS does not squash root by
// default, so uid 0 passes read and write checks, and passes execute only when
// some x bit is set (directories are always searchable by root).
#pragma once

#include <cstdint>

#include "vfs/inode_table.h"
#include "vfs/vfs.h"

namespace efs::vfs {

inline constexpr uint32_t kMayRead = 4, kMayWrite = 2, kMayExec = 1;

bool in_group(const Cred& cred, uint32_t gid);
// True if cred has every bit of `need` (kMay*) on n.
bool may(const Cred& cred, const Inode& n, uint32_t need);
// ACCESS4 bits of `want` that cred is granted on n (RFC 8881 18.1.3: bits
// that do not apply to the object's type are never granted).
uint32_t granted_access(const Cred& cred, const Inode& n, uint32_t want);
// The sticky-bit rule: in a sticky directory only the owner of the entry, the
// owner of the directory or root may remove or rename it.
bool may_delete_in_sticky(const Cred& cred, const Inode& dir, const Inode& victim);

}  // namespace efs::vfs
