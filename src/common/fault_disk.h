// FaultDisk: a Disk for tests that passes calls to another Disk (the host's)
// and injects the failures a real disk shows, after leveldb's
// FaultInjectionTestEnv:
//  - the Nth call (of one kind, or of any kind) fails with an errno (ENOSPC,
//    EIO, ...), once or until cleared (a full disk);
//  - a pwrite writes only part of its bytes (a short write), and the next
//    one fails (a disk that filled up in the middle);
//  - a process crash at the Nth call: that call and every later one fail
//    with EIO, so nothing after that point reaches the disk;
//  - a power loss (lose_unsynced): every file goes back to its content at its
//    last fdatasync, and every entry created, removed or renamed since its
//    directory's last sync_dir is undone.
// commit_point() (the SQLite commit, see disk.h) counts as a call of kind
// `commit`, so a crash can land between the chunk sync and the commit.
//
// Content is kept in memory to undo writes: meant for small test files.
#pragma once

#include <array>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/disk.h"

namespace efs {

class FaultDisk final : public Disk {
 public:
  enum class Op {
    open,
    pread,
    pwrite,
    fdatasync,
    ftruncate,
    unlink,
    rename,
    mkdir,
    sync_dir,
    remove_all,
    commit,
    any,
  };
  static constexpr std::size_t kOps = static_cast<std::size_t>(Op::any) + 1;

  explicit FaultDisk(Disk& base = host_disk()) : base_(base) {}

  // The nth call of `op` from now (1: the next one) fails with err, once.
  void fail_nth(Op op, uint64_t n, int err);
  // Every call of `op` fails with err until clear() (ENOSPC: a full disk).
  void fail_always(Op op, int err);
  // The nth pwrite from now stores only `keep` bytes and says so; the pwrite
  // after it fails with then_err (0: succeeds).
  void short_write_nth(uint64_t n, std::size_t keep, int then_err = ENOSPC);
  // The nth call from now, of any kind, and every call after it fail with
  // EIO: the process died there.
  void crash_at(uint64_t n);
  bool crashed() const;
  // Ends every injected fault and the crash (the disk has room again).
  void clear();
  // Calls so far of `op` (any: of every kind), failed ones included.
  uint64_t calls(Op op = Op::any) const;

  // Power loss: reverts what was not made durable (see above), then forgets
  // all tracking and faults. Descriptors must be closed first.
  Status<> lose_unsynced();

  Status<int> open(const std::string& path, bool create) override;
  Status<std::size_t> pread(int fd, std::span<uint8_t> out, uint64_t offset) override;
  Status<std::size_t> pwrite(int fd, std::span<const uint8_t> data, uint64_t offset) override;
  Status<> fdatasync(int fd) override;
  Status<> ftruncate(int fd, uint64_t size) override;
  void close(int fd) override;
  Status<> unlink(const std::string& path) override;
  Status<> rename(const std::string& from, const std::string& to) override;
  Status<> mkdir(const std::string& path) override;
  Status<> sync_dir(const std::string& path) override;
  Status<> remove_all(const std::string& path) override;
  bool exists(const std::string& path) override { return base_.exists(path); }
  Status<uint64_t> allocated_bytes(const std::string& path) override {
    return base_.allocated_bytes(path);
  }
  Status<> commit_point() override;

 private:
  // One change of a directory entry not yet made durable by sync_dir.
  struct EntryChange {
    enum Kind { created_file, created_dir, removed_file, removed_dir, renamed } kind;
    std::string path;                  // renamed: the old name
    std::string to;                    // renamed: the new name
    std::optional<std::string> saved;  // removed_file / renamed over: durable content
    bool from_synced = false, to_synced = false;
  };
  // Counts the call and answers the injected fault, if any. Locked.
  Status<> enter(Op op, const std::string& what);
  // The file's current content, through base_ (locked).
  std::string read_all(const std::string& path);
  // Remembers the durable content of path before its first change since
  // the last fdatasync (locked).
  void remember(const std::string& path);
  Status<> write_all(const std::string& path, const std::string& content);

  Disk& base_;
  mutable std::mutex mu_;
  std::array<uint64_t, kOps> calls_{};
  struct Fault {
    Op op;
    uint64_t at;  // value of calls_[op] that fails; 0: every call
    int err;
  };
  std::vector<Fault> faults_;
  uint64_t short_at_ = 0;
  std::size_t short_keep_ = 0;
  int short_then_err_ = 0;
  uint64_t crash_at_ = 0;
  bool crashed_ = false;
  std::map<int, std::string> fds_;
  std::map<std::string, std::string> durable_;  // path -> content at last fdatasync
  std::vector<EntryChange> entries_;
};

}  // namespace efs
