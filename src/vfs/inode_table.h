// The namespace tables of all file systems (docs/schema-vfs.md): one row per
// inode in vfs_inodes, one per directory entry in vfs_dirents. Plain row
// access on a meta::Conn; callers own transactions and rules.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "meta/db.h"
#include "vfs/vfs.h"

namespace efs::vfs {

// The root directory of every file system has this inode number; numbers
// above it are handed out in order and never reused, so a handle to a
// deleted inode can only ever be stale.
inline constexpr Ino kRootIno = 1;

// The migrations that create and upgrade the vfs tables.
const std::vector<std::string>& schema_migrations();

// One inode row.
struct Inode {
  Ino ino = 0;
  FileType type = FileType::reg;
  uint32_t mode = 0;
  uint32_t nlink = 1;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  Time atime, mtime, ctime, btime;
  uint64_t change = 1;
  std::string target;     // symlink target
  uint64_t verifier = 0;  // EXCLUSIVE create verifier
  uint32_t generation = 0;
  Ino parent = 0;            // directories: the directory holding it (root: itself)
  uint64_t next_cookie = 3;  // directories: the next READDIR cookie to assign
};

// The time `clock` says, as an NFS time (the vfs reads the clock it was
// opened with, never Clock::global(), so tests can move their own).
Time now_time(const Clock& clock);

// Attributes as NFS sees them (space_used as EFS meters it).
Attr to_attr(const Inode& n);

struct DirentRow {
  std::string name;
  Ino child = 0;
  uint64_t cookie = 0;
};

class InodeTable {
 public:
  explicit InodeTable(int64_t fs_num) : fs_(fs_num) {}

  // Errors are SQL failures; absence is an empty optional.
  Status<std::optional<Inode>> get(meta::Conn& c, Ino ino) const;
  Status<> put(meta::Conn& c, const Inode& n) const;  // insert or replace
  Status<> erase(meta::Conn& c, Ino ino) const;
  // vfs_orphans: inodes with nlink 0 kept while open (FileSystem::hold).
  Status<> add_orphan(meta::Conn& c, Ino ino) const;
  Status<> remove_orphan(meta::Conn& c, Ino ino) const;
  // The directories directly inside dir.
  Status<std::vector<Ino>> subdirs(meta::Conn& c, Ino dir) const;
  // A fresh inode number (persisted in the same transaction).
  Status<Ino> allocate(meta::Conn& c) const;

  Status<std::optional<DirentRow>> find(meta::Conn& c, Ino dir, std::string_view name) const;
  // Adds name -> child with the directory's next cookie (dir.next_cookie is
  // advanced; the caller stores dir).
  Status<> link(meta::Conn& c, Inode& dir, std::string_view name, Ino child) const;
  Status<> unlink(meta::Conn& c, Ino dir, std::string_view name) const;
  Status<bool> has_entries(meta::Conn& c, Ino dir) const;
  // Up to limit entries with cookie > after, in cookie order.
  Status<std::vector<DirentRow>> list(meta::Conn& c, Ino dir, uint64_t after, uint32_t limit) const;
  // The same entries with their inodes, in one joined query (READDIR asks for
  // attributes of every entry). An entry whose inode row is missing is
  // reported with a default Inode whose ino is 0.
  Status<std::vector<std::pair<DirentRow, Inode>>> list_with_inodes(meta::Conn& c, Ino dir,
                                                                    uint64_t after,
                                                                    uint32_t limit) const;

  int64_t fs_num() const { return fs_; }

 private:
  int64_t fs_;
};

}  // namespace efs::vfs
