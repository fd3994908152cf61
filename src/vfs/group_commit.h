// Group commit for namespace changes. Every completed metadata operation must
// be durable before it is answered (DESIGN.md, "Durability"). Each SQLite
// commit costs a write of the WAL (synchronous=NORMAL, src/meta/db.cc: durable
// across kill -9 of the process; FULL would add an fsync each). Operations
// that arrive while a commit is in flight are gathered and run, each inside
// its own savepoint, in the next transaction: one fsync for the whole batch,
// the same serial order and the same all-or-nothing result per operation.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

#include "common/disk.h"
#include "common/result.h"
#include "meta/db.h"

namespace efs::vfs {

class GroupCommit {
 public:
  // `disk`: told of each commit right before it (Disk::commit_point), so a
  // fault Disk can crash between the chunk syncs and the commit.
  explicit GroupCommit(meta::Db& db, Disk* disk = nullptr) : db_(db), disk_(disk) {}

  // Runs fn inside a write transaction, possibly shared with concurrent
  // callers. If fn fails, only its own changes are rolled back and its error
  // returned. Returns once the transaction holding fn's changes committed.
  // `synced`: fn's changes acknowledge stable data (FILE_SYNC, COMMIT), so
  // its batch commits fsynced (meta::Db::write_synced): durable across a
  // power loss, not only a process crash. docs/crash-consistency.md.
  Status<> run(const std::function<Status<>(meta::Conn&)>& fn, bool synced = false);

  // Transactions committed so far (for tests and metrics).
  uint64_t transactions() const { return transactions_.load(); }

 private:
  struct Request {
    const std::function<Status<>(meta::Conn&)>* fn;
    bool synced;
    Status<> result;
    bool done = false;
  };
  meta::Db& db_;
  Disk* disk_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Request*> queue_;
  bool leader_active_ = false;
  std::atomic<uint64_t> transactions_{0};
};

}  // namespace efs::vfs
