// A token bucket kept as one atomic "theoretical arrival time" (the generic
// cell rate algorithm): each request moves the time by bytes / rate, and the
// request waits until that time, less a small tolerance that lets a short
// burst through unhindered. One compare-and-swap per request, no lock, and
// concurrent requests are served in the order they reserved, so the rate
// holds however many calls run at once.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace efs::throughput {

class Bucket {
 public:
  // Reserves `bytes` at `rate` bytes/second at time `now_ns`; returns the
  // nanoseconds the caller waits (0 within `tolerance_ns` of the rate).
  // A rate <= 0 means unlimited.
  int64_t reserve(int64_t now_ns, double bytes, double rate, int64_t tolerance_ns) {
    if (rate <= 0 || bytes <= 0) return 0;
    const auto cost = static_cast<int64_t>(bytes / rate * 1e9);
    int64_t old = tat_.load(std::memory_order_relaxed);
    int64_t next;
    do {
      next = std::max(old, now_ns) + cost;
    } while (!tat_.compare_exchange_weak(old, next, std::memory_order_relaxed));
    return std::max<int64_t>(0, next - now_ns - tolerance_ns);
  }
  // Forgets reservations (after the clock jumped, or a limit was lifted).
  void reset() { tat_.store(0, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> tat_{0};
};

}  // namespace efs::throughput
