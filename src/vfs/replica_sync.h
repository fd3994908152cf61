// Replication's copy: makes one file system (the destination) hold what
// another (the source) held when a sync began: files, directories,
// symlinks, FIFOs and sockets, hard links, owners, modes, atime and mtime
// (ctime and birth time are the destination's own, as on any copy).
//
// Everything goes through the vfs::FileSystem calls of both ends, so the
// destination's data is written under its own data key (an encrypted
// source replicates into the destination's key), its metering and limits
// apply, and the source's lifecycle timers are not touched (read_for_copy).
//
// Incremental: the source's change log (FileSystem::set_change_log) names
// the inodes changed since the last completed sync. A changed directory is
// compared entry by entry with its copy; a changed file is copied again if
// its change attribute moved since its last copy. A map from source to
// destination inodes (vfs_replica_inodes) keeps hard links linked, and
// makes a rename a rename on the destination rather than a new copy. The
// first sync of a pairing compares the whole tree and replaces what the
// destination held before (EFS replicating into an existing file system).
//
// Crash safety (kill -9 at any point): the pairing's state (vfs_replicas)
// says which change-log position the last *completed* sync reached, and it
// moves only after every copy of the sync is durable. An interrupted sync
// leaves the destination part-way; the next one works from the same
// position and converges, because every step is checked against the
// destination's present state rather than assumed: a mapped inode that is
// gone is copied anew, a destination entry no map entry explains is
// replaced, a file whose map entry still has an old change is copied again.
// tests/unit/vfs/replica_test.cc crashes at every disk call.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "common/disk.h"
#include "common/result.h"
#include "meta/db.h"
#include "vfs/vfs.h"

namespace efs::vfs {

struct ReplicaSyncStats {
  bool full = false;          // the whole tree was compared (first sync of a pairing)
  uint64_t created = 0;       // objects made on the destination
  uint64_t updated = 0;       // files copied again / attributes set
  uint64_t linked = 0;        // hard links and renames done in place
  uint64_t removed = 0;       // destination entries removed
  uint64_t bytes = 0;         // file data copied
  uint64_t changes_read = 0;  // change-log entries looked at
};

struct ReplicaSyncError {
  Errc errc = Errc::io;
  // Which end failed: false for the source (e.g. its key is unusable:
  // io), true for the destination (full, its key unusable).
  bool destination = false;
  std::string message;
};

class ReplicaSync {
 public:
  // `disk`: told of each of its own SQLite commits (Disk::commit_point), as
  // the vfs's are, so a fault Disk can crash right before them.
  explicit ReplicaSync(meta::Db& db, Disk* disk = nullptr) : db_(db), disk_(disk) {}

  // Pairs dest with src: src's change log goes on, and unless dest is
  // already src's replica, its map is cleared so that the next sync is a
  // first one (the whole tree; dest's old contents replaced). Idempotent.
  Status<> attach(FileSystem& src, FileSystem& dest);
  // One sync of an attached pair. On success every change src had
  // committed when it began is on dest. On failure the pair's position is
  // unchanged: the next sync redoes the work. `cancel`, when it becomes
  // true, cuts the sync short at its next step (error delay).
  Result<ReplicaSyncStats, ReplicaSyncError> sync(FileSystem& src, FileSystem& dest,
                                                  const std::atomic<bool>* cancel = nullptr);
  // The replication is gone: dest is nobody's replica any more (its map
  // goes) and src's change log goes off (src may be null when it no longer
  // exists). dest keeps its contents.
  Status<> detach(FileSystem* src, FileSystem& dest);
  // True if dest is attached to src and has completed a sync.
  Result<bool, Error> synced_once(FileSystem& src, FileSystem& dest);

 private:
  meta::Db& db_;
  Disk* disk_;
};

}  // namespace efs::vfs
