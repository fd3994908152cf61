#include "server/lifecycle_runner.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>

#include "common/background.h"

namespace efs::server {

namespace {

// Real seconds between writes of the in-memory lifecycle timers.
constexpr double kFlushSeconds = 5.0;

std::size_t class_index(vfs::StorageClass c) {
  switch (c) {
    case vfs::StorageClass::ia:
      return 1;
    case vfs::StorageClass::archive:
      return 2;
    case vfs::StorageClass::standard:
      break;
  }
  return 0;
}

vfs::LifecyclePolicy policy_of(const ExportedFileSystem& f) {
  vfs::LifecyclePolicy p;
  p.ia_days = f.transition_to_ia_days;
  p.archive_days = f.transition_to_archive_days;
  p.to_primary_on_access = f.transition_to_primary_on_access;
  return p;
}

}  // namespace

LifecycleRunner::LifecycleRunner(vfs::Vfs& vfs, const Catalog& catalog, Clock& clock,
                                 double interval_seconds)
    : vfs_(vfs),
      catalog_(catalog),
      clock_(clock),
      interval_(interval_seconds),
      next_due_(clock.now_epoch_seconds() + interval_seconds) {}

LifecycleRunner::~LifecycleRunner() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  vfs_.on_recall(nullptr);
}

void LifecycleRunner::start() {
  // Called on a READ/WRITE thread: only flags and notifies.
  vfs_.on_recall([this] {
    {
      std::lock_guard lk(mu_);
      if (recall_) return;
      recall_ = true;
    }
    cv_.notify_all();
  });
  thread_ = std::thread([this] { loop(); });
}

template <class F>
auto LifecycleRunner::on_mover_thread(F f) -> decltype(f()) {
  // Before start() (unit tests) or on the mover thread itself: inline.
  if (!thread_.joinable() || std::this_thread::get_id() == thread_.get_id()) return f();
  std::packaged_task<decltype(f())()> task(f);
  auto done = task.get_future();
  bool queued = false;
  {
    std::lock_guard lk(mu_);
    // Stopping: the thread may already be gone, so run it here.
    if (!stop_) {
      jobs_.emplace_back([&task] { task(); });
      queued = true;
    }
  }
  if (!queued) return f();
  cv_.notify_all();
  return done.get();
}

void LifecycleRunner::loop() {
  // Every pass runs here, also those a request asks for (a clock advance,
  // lifecycle/run: the request waits for it), so moves always run below the
  // NFS I/O threads' priority.
  become_background_thread("lifecycle");
  std::unique_lock lk(mu_);
  auto last_flush = std::chrono::steady_clock::now();
  for (;;) {
    // Jobs first, also after stop: their callers are waiting.
    while (!jobs_.empty()) {
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lk.unlock();
      job();
      lk.lock();
    }
    if (stop_) break;
    // The emulator clock runs at real speed between advances, which call
    // run_due themselves: sleeping until the due time in real seconds is
    // enough.
    const double until_due = next_due_ - clock_.now_epoch_seconds();
    const double wait = std::clamp(std::min(until_due, kFlushSeconds), 0.01, kFlushSeconds);
    cv_.wait_for(lk, std::chrono::duration<double>(wait),
                 [&] { return stop_ || recall_ || !jobs_.empty(); });
    if (!jobs_.empty()) continue;
    if (stop_) break;
    const bool recall = std::exchange(recall_, false);
    const bool due = clock_.now_epoch_seconds() >= next_due_;
    lk.unlock();
    if (due) {
      run_due();
    } else if (recall) {
      std::lock_guard run(run_mu_);
      (void)pass(std::nullopt, true);
    }
    if (std::chrono::steady_clock::now() - last_flush >=
        std::chrono::duration<double>(kFlushSeconds)) {
      flush_all();
      last_flush = std::chrono::steady_clock::now();
    }
    lk.lock();
  }
}

void LifecycleRunner::run_due() {
  on_mover_thread([this] {
    std::lock_guard run(run_mu_);
    const double now = clock_.now_epoch_seconds();
    {
      std::lock_guard lk(mu_);
      if (now < next_due_) return;
      next_due_ = now + interval_;
    }
    (void)pass(std::nullopt, false);
  });
}

Result<std::vector<vfs::ClassMove>, Error> LifecycleRunner::run_now(
    const std::optional<std::string>& fs_id) {
  if (fs_id && !catalog_.snapshot()->file_system(*fs_id)) return fail(Error{"FileSystemNotFound"});
  return on_mover_thread([&]() -> Result<std::vector<vfs::ClassMove>, Error> {
    std::lock_guard run(run_mu_);
    if (!fs_id) {
      std::lock_guard lk(mu_);
      next_due_ = clock_.now_epoch_seconds() + interval_;
    }
    return pass(fs_id, false);
  });
}

std::vector<vfs::ClassMove> LifecycleRunner::pass(const std::optional<std::string>& fs_id,
                                                  bool recalls_only) {
  std::vector<vfs::ClassMove> all;
  auto snap = catalog_.snapshot();
  for (const auto& f : snap->file_systems()) {
    if (fs_id && f.id != *fs_id) continue;
    auto fs = vfs_.file_system(f.id);
    if (!fs) continue;
    if (recalls_only && !fs->recalls_waiting()) continue;
    auto moved = fs->run_lifecycle(policy_of(f), recalls_only);
    if (!moved) {
      spdlog::error("lifecycle: pass over {} failed (nfsstat4 {})", f.id,
                    static_cast<uint32_t>(moved.error()));
      continue;
    }
    for (auto& m : *moved) {
      spdlog::info("lifecycle: {} inode {} {}: {} -> {} ({} bytes)", m.fs_id, m.ino,
                   m.path.empty() ? "(no name)" : m.path, chunk::storage_class_name(m.from),
                   chunk::storage_class_name(m.to), m.bytes);
      transitions_[class_index(m.from) * 3 + class_index(m.to)].fetch_add(
          1, std::memory_order_relaxed);
      bytes_moved_.fetch_add(m.bytes, std::memory_order_relaxed);
      all.push_back(std::move(m));
    }
  }
  return all;
}

void LifecycleRunner::flush_all() {
  auto snap = catalog_.snapshot();
  for (const auto& f : snap->file_systems()) {
    auto fs = vfs_.file_system(f.id);
    if (!fs) continue;
    if (auto s = fs->flush_access_times(); !s) spdlog::warn("lifecycle: {}", s.error().message);
  }
}

uint64_t LifecycleRunner::transitions(vfs::StorageClass from, vfs::StorageClass to) const {
  return transitions_[class_index(from) * 3 + class_index(to)].load(std::memory_order_relaxed);
}

}  // namespace efs::server
