// Disk: the one seam through which efs-local's own files reach the host (the
// chunk store's data files, their directories). Tests put a fault-injecting
// Disk here (common/fault_disk.h) to fail the Nth call with ENOSPC or EIO,
// make a write short, or drop everything not yet fdatasync'ed as a power loss
// would: leveldb's Env / FaultInjectionTestEnv idea.
//
// SQLite's files do not go through a Disk: SQLite stays on the host file
// system, and each SQLite commit is announced here through commit_point() so
// that a fault Disk can crash right before it. Why: docs/crash-consistency.md
// ("Where faults are injected").
//
// Errors are values: Error::code is the errno of the host call (ENOENT,
// ENOSPC, EIO, ...), which vfs::errc_of_errno maps to an nfsstat4.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace efs {

class Disk {
 public:
  virtual ~Disk() = default;

  // Opens path read-write; with create, makes it (mode 0600) if missing.
  // Fails with code ENOENT if missing and !create. The returned descriptor
  // is only meaningful to this Disk.
  virtual Status<int> open(const std::string& path, bool create) = 0;
  // Reads up to out.size() bytes at offset; 0 at or past the end. May read
  // fewer bytes than asked (the caller loops).
  virtual Status<std::size_t> pread(int fd, std::span<uint8_t> out, uint64_t offset) = 0;
  // Writes up to data.size() bytes at offset; may write fewer (a short
  // write: the caller loops, and the next call then reports why).
  virtual Status<std::size_t> pwrite(int fd, std::span<const uint8_t> data, uint64_t offset) = 0;
  // Makes the file's data and size durable (not its directory entry).
  virtual Status<> fdatasync(int fd) = 0;
  virtual Status<> ftruncate(int fd, uint64_t size) = 0;
  virtual void close(int fd) = 0;

  // Directory entries: not durable until sync_dir() of their directory.
  virtual Status<> unlink(const std::string& path) = 0;
  virtual Status<> rename(const std::string& from, const std::string& to) = 0;
  // Fails with EEXIST if path exists.
  virtual Status<> mkdir(const std::string& path) = 0;
  virtual Status<> sync_dir(const std::string& path) = 0;
  // Removes path and everything below it; a missing path is not an error.
  virtual Status<> remove_all(const std::string& path) = 0;
  // True if path exists (false on any error).
  virtual bool exists(const std::string& path) = 0;
  // Bytes the host allocated for path (st_blocks * 512); ENOENT if missing.
  virtual Status<uint64_t> allocated_bytes(const std::string& path) = 0;

  // Called right before a SQLite transaction commits (vfs::GroupCommit): the
  // commit is a durable step that does not pass through this seam. An error
  // rolls the transaction back, as a crash before COMMIT would leave it.
  virtual Status<> commit_point() { return {}; }
};

// The host's disk (POSIX calls), shared by the whole process.
Disk& host_disk();

// mkdir -p through a Disk. `made` receives each directory created, parents
// first, so the caller can sync their parents.
Status<> make_dirs(Disk& disk, const std::string& path, std::vector<std::string>* made = nullptr);

}  // namespace efs
