// A preallocated file in the data dir that keeps disk space back for the
// operations that free space, so a user can always delete files on a full
// disk. Why it is needed and how big it is: docs/full-disk.md.
//
// SQLite in WAL mode appends to the WAL even to delete rows, so on a disk
// filled to the last block by file data, REMOVE and truncation would fail
// like every other change. The reserve's blocks are given back (the file is
// truncated) when such an operation fails for lack of space, the operation is
// retried, and the reserve is allocated again once the disk has room.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "common/result.h"

namespace efs::meta {

// Default size of the reserve. A REMOVE needs a few WAL frames (about 20 KiB,
// measured in docs/full-disk.md); 16 MiB lets hundreds of freeing operations
// through and still costs little next to any disk a developer runs on.
inline constexpr uint64_t kSpaceReserveBytes = uint64_t{16} << 20;
// The reserve never takes more than this fraction of the host file system
// (1/8: 8 MiB of a 64 MiB tmpfs), so a small test disk stays usable.
inline constexpr uint64_t kSpaceReserveFraction = 8;
// What one failed freeing operation takes from the reserve before it is
// retried (more slices if the retry fails again): about 15 REMOVEs' worth of
// WAL, so a small deletion does not hand the whole reserve to other writers.
inline constexpr uint64_t kSpaceReserveSliceBytes = uint64_t{256} << 10;
// Space a start-up on a full disk takes from the reserve, for SQLite's shared
// memory file (32 KiB) and a few WAL frames; small, so a full disk stays full
// to clients until they free space.
inline constexpr uint64_t kStartupHeadroomBytes = uint64_t{256} << 10;

class SpaceReserve {
 public:
  // `bytes` 0 means kSpaceReserveBytes capped at 1/kSpaceReserveFraction of
  // the file system holding `path`. Nothing is allocated until restore().
  SpaceReserve(std::string path, uint64_t bytes = 0);

  // Bytes the reserve holds now, and what it holds when whole.
  uint64_t held();
  uint64_t target() const { return target_; }
  bool whole() { return held() >= target_; }

  // Gives back up to `bytes` of the reserve (all of it by default). Returns
  // the bytes released (0: nothing was held).
  uint64_t release(uint64_t bytes = UINT64_MAX);
  // Allocates the reserve up to its target if the disk has that much free
  // plus `spare` bytes left over for the user. True when whole afterwards.
  bool restore(uint64_t spare = kStartupHeadroomBytes);

  // Free bytes on the file system holding the reserve (for callers with
  // unprivileged writes: f_bavail), or an error.
  Status<uint64_t> free_bytes() const;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  uint64_t target_;
  std::mutex mu_;
  uint64_t held_locked();
};

}  // namespace efs::meta
