// The one clock every rule reads: lease expiry, lifecycle ages, throughput
// credits, the 24-hour throughput-mode cooldown. Real time plus an offset that
// only moves forward (POST /_efs-local/clock), so tests can age a file system
// by days in a second.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace efs {

class Clock {
 public:
  using time_point = std::chrono::system_clock::time_point;
  using duration = std::chrono::system_clock::duration;

  // Wall time as the emulator sees it (real time + offset).
  time_point now() const {
    return std::chrono::system_clock::now() + duration(offset_.load(std::memory_order_relaxed));
  }
  // Seconds since the Unix epoch, as a double (the EFS API's timestamp form).
  double now_epoch_seconds() const;
  // Monotonic time plus the same offset, for timers and leases.
  std::chrono::steady_clock::time_point steady_now() const {
    return std::chrono::steady_clock::now() +
           std::chrono::duration_cast<std::chrono::steady_clock::duration>(
               duration(offset_.load(std::memory_order_relaxed)));
  }
  void advance(duration d) { offset_.fetch_add(d.count(), std::memory_order_relaxed); }
  duration offset() const { return duration(offset_.load(std::memory_order_relaxed)); }

  // The process-wide clock.
  static Clock& global();

 private:
  std::atomic<duration::rep> offset_{0};
};

// "2026-11-25T10:58:43Z"-style UTC formatting, used in API messages.
std::string format_utc(Clock::time_point t);

}  // namespace efs
