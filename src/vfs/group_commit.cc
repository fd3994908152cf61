#include "vfs/group_commit.h"

#include <spdlog/spdlog.h>

#include <vector>

namespace efs::vfs {

Status<> GroupCommit::run(const std::function<Status<>(meta::Conn&)>& fn) {
  Request me{&fn, {}, false};
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
    auto s = db_.write([&](meta::Conn& c) -> Status<> {
      for (Request* r : batch) {
        if (auto sp = c.exec("SAVEPOINT vfs_op"); !sp) return sp;
        r->result = (*r->fn)(c);
        if (!r->result.ok()) {
          if (auto rb = c.exec("ROLLBACK TO vfs_op"); !rb) return rb;
        }
        if (auto rel = c.exec("RELEASE vfs_op"); !rel) return rel;
      }
      return {};
    });
    transactions_.fetch_add(1);
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
