#include "vfs/group_commit.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <vector>

namespace efs::vfs {

namespace {

// SAVEPOINT, ROLLBACK TO and RELEASE run three times per operation: from
// the connection's statement cache, not parsed again by sqlite3_exec each
// time (that parse was about a tenth of a REMOVE's transaction in profiles).
Status<> run_cached(meta::Conn& c, const std::string& sql) {
  auto& st = c.stmt(sql);
  if (!st.run()) return fail(Error{st.error(), st.code()});
  return {};
}

const std::string kSavepoint = "SAVEPOINT vfs_op";
const std::string kRollbackTo = "ROLLBACK TO vfs_op";
const std::string kRelease = "RELEASE vfs_op";

}  // namespace

Status<> GroupCommit::run(const std::function<Status<>(meta::Conn&)>& fn, bool synced) {
  Request me{&fn, synced, {}, false};
  std::unique_lock lk(mu_);
  queue_.push_back(&me);
  while (!me.done) {
    if (leader_active_) {
      cv_.wait(lk);
      continue;
    }
    // Lead one batch: everything queued so far, this request included unless
    // an earlier leader already took it.
    leader_active_ = true;
    std::vector<Request*> batch(queue_.begin(), queue_.end());
    queue_.clear();
    lk.unlock();
    bool saw_full = false;
    bool synced_batch = false;
    for (Request* r : batch) synced_batch = synced_batch || r->synced;
    auto body = [&](meta::Conn& c) -> Status<> {
      const uint64_t full_before = c.disk_full_errors();
      // SQLITE_FULL inside a statement may roll back the whole transaction
      // (the savepoint is then gone): the batch's error must still say why.
      struct Watch {
        meta::Conn& c;
        uint64_t before;
        bool& out;
        ~Watch() { out = c.disk_full_errors() != before; }
      } watch{c, full_before, saw_full};
      for (Request* r : batch) {
        if (auto sp = run_cached(c, kSavepoint); !sp) return sp;
        r->result = (*r->fn)(c);
        if (!r->result.ok()) {
          if (auto rb = run_cached(c, kRollbackTo); !rb) return rb;
        }
        if (auto rel = run_cached(c, kRelease); !rel) return rel;
      }
      // SQLite's files stay on the host, not behind the Disk (why:
      // docs/crash-consistency.md); the commit is still a point where a test
      // crashes the process. An error here rolls the batch back.
      if (disk_) {
        if (auto cp = disk_->commit_point(); !cp) return cp;
      }
      return {};
    };
    auto s = synced_batch ? db_.write_synced(body) : db_.write(body);
    transactions_.fetch_add(1);
    if (!s && saw_full && s.error().code == 0) s = fail(Error{s.error().message, ENOSPC});
    if (!s) {
      spdlog::error("vfs: batch of {} operations failed to commit: {}", batch.size(),
                    s.error().message);
      for (Request* r : batch) {
        if (r->result.ok()) r->result = s;
      }
    }
    lk.lock();
    for (Request* r : batch) r->done = true;
    leader_active_ = false;
    cv_.notify_all();
  }
  return std::move(me.result);
}

}  // namespace efs::vfs
