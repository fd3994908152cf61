#include "vfs/permission.h"

#include <algorithm>

namespace efs::vfs {

bool in_group(const Cred& cred, uint32_t gid) {
  return cred.gid == gid || std::find(cred.gids.begin(), cred.gids.end(), gid) != cred.gids.end();
}

static uint32_t mode_bits(const Cred& cred, const Inode& n) {
  if (cred.uid == n.uid) return (n.mode >> 6) & 7;
  if (in_group(cred, n.gid)) return (n.mode >> 3) & 7;
  return n.mode & 7;
}

bool may(const Cred& cred, const Inode& n, uint32_t need) {
  if (cred.uid == 0) {
    if (!(need & kMayExec)) return true;
    return n.type == FileType::dir || (n.mode & 0111) != 0;
  }
  return (mode_bits(cred, n) & need) == need;
}

uint32_t granted_access(const Cred& cred, const Inode& n, uint32_t want) {
  uint32_t got = 0;
  bool dir = n.type == FileType::dir;
  if ((want & kAccessRead) && may(cred, n, kMayRead)) got |= kAccessRead;
  if ((want & kAccessModify) && may(cred, n, kMayWrite)) got |= kAccessModify;
  if ((want & kAccessExtend) && may(cred, n, kMayWrite)) got |= kAccessExtend;
  if (dir) {
    if ((want & kAccessLookup) && may(cred, n, kMayExec)) got |= kAccessLookup;
    // Deleting an entry needs write and search permission on the directory.
    if ((want & kAccessDelete) && may(cred, n, kMayWrite | kMayExec)) got |= kAccessDelete;
  } else {
    if ((want & kAccessExecute) && may(cred, n, kMayExec)) got |= kAccessExecute;
  }
  return got;
}

bool may_delete_in_sticky(const Cred& cred, const Inode& dir, const Inode& victim) {
  if (!(dir.mode & 01000)) return true;
  return cred.uid == 0 || cred.uid == dir.uid || cred.uid == victim.uid;
}

}  // namespace efs::vfs
