// The lifecycle mover's schedule: runs vfs::FileSystem::run_lifecycle for
// every exported file system with its lifecycle configuration (from the
// catalog snapshot), on its own thread, off the NFS I/O threads:
//  - every `interval` of the emulator clock (--lifecycle-interval, default
//    one emulated hour), and at once when a clock advance made it due
//    (run_due, from POST /_efs-local/clock, before that request answers);
//  - soon after a READ or WRITE touched a file outside Standard (recalls:
//    AFTER_1_ACCESS, and writes), so a file read comes back within
//    milliseconds rather than at the next pass;
//  - on demand (run_now: POST /_efs-local/lifecycle/run).
// Every pass runs on that thread, at a lower priority than NFS's threads
// (common/background.h); a request that asks for one waits for it.
// Every few seconds of real time it also writes the READ/WRITE lifecycle
// timers noted in memory to SQLite (FileSystem::flush_access_times).
// Passes never overlap. Each move is logged.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "efs/catalog.h"
#include "vfs/vfs.h"

namespace efs::server {

class LifecycleRunner {
 public:
  // interval_seconds: emulator-clock seconds between passes (> 0).
  LifecycleRunner(vfs::Vfs& vfs, const Catalog& catalog, Clock& clock, double interval_seconds);
  ~LifecycleRunner();  // stops and joins the thread
  LifecycleRunner(const LifecycleRunner&) = delete;
  LifecycleRunner& operator=(const LifecycleRunner&) = delete;

  // Starts the thread (and registers the vfs's recall hook).
  void start();
  // A pass now over every exported file system, or only fs_id; the files
  // moved. Error "FileSystemNotFound" if fs_id is not exported.
  Result<std::vector<vfs::ClassMove>, Error> run_now(const std::optional<std::string>& fs_id);
  // A pass if the interval has passed on the emulator clock (after a clock
  // advance), before returning.
  void run_due();

  // For /_efs-local/metrics: moves done since start, by (from, to).
  uint64_t transitions(vfs::StorageClass from, vfs::StorageClass to) const;
  uint64_t bytes_moved() const { return bytes_moved_.load(std::memory_order_relaxed); }

 private:
  void loop();
  // Runs f on the mover's thread and waits for it (inline before start()).
  template <class F>
  auto on_mover_thread(F f) -> decltype(f());
  // One pass (run_mu_ held by the caller).
  std::vector<vfs::ClassMove> pass(const std::optional<std::string>& fs_id, bool recalls_only);
  void flush_all();

  vfs::Vfs& vfs_;
  const Catalog& catalog_;
  Clock& clock_;
  const double interval_;
  std::mutex run_mu_;  // one pass at a time
  std::mutex mu_;      // guards the four below
  std::condition_variable cv_;
  bool stop_ = false;
  bool recall_ = false;
  std::deque<std::function<void()>> jobs_;  // passes requests wait for
  double next_due_ = 0;  // emulator epoch seconds
  std::array<std::atomic<uint64_t>, 9> transitions_{};
  std::atomic<uint64_t> bytes_moved_{0};
  std::thread thread_;
};

}  // namespace efs::server
