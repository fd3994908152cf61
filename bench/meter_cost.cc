// meter_cost: what throughput metering adds to one COMPOUND, in nanoseconds:
// Throttle::charge for a 4 KiB READ with pacing off (--no-throttle) and on
// with limits far away, from 1 and from 2 threads on one file system (the
// contended case: the same atomics), and 2 threads on two file systems.
// Compare with a COMPOUND's own cost (a 4 KiB READ at queue depth 1 is tens
// of microseconds; README, Benchmark).
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "throughput/throttle.h"

namespace tp = efs::throughput;

namespace {

double ns_per_charge(tp::Throttle& t, std::vector<const char*> fs_per_thread, int n) {
  std::vector<std::thread> threads;
  auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < fs_per_thread.size(); ++i) {
    threads.emplace_back([&, i] {
      auto* m = t.meter(fs_per_thread[i]);
      tp::Tally tally;
      tally.add_read(4096);
      for (int k = 0; k < n; ++k) t.charge(*m, 1 + i, tally);
    });
  }
  for (auto& th : threads) th.join();
  auto d = std::chrono::steady_clock::now() - start;
  return std::chrono::duration<double, std::nano>(d).count() / n;
}

}  // namespace

int main() {
  constexpr int kN = 2'000'000;
  auto source = [](const std::string&, bool) -> std::optional<tp::Settings> {
    return tp::Settings{tp::Mode::elastic, 0, 0};
  };
  for (bool enforce : {false, true}) {
    tp::Options o;
    o.enforce = enforce;
    o.scale = 1e6;  // limits far away: nothing ever waits
    tp::Throttle t(efs::Clock::global(), o, source);
    std::printf("%-12s 1 thread, 1 fs: %6.1f ns/COMPOUND\n", enforce ? "paced" : "no-throttle",
                ns_per_charge(t, {"fs-a"}, kN));
    std::printf("%-12s 2 threads, 1 fs: %6.1f ns/COMPOUND (wall, per thread)\n",
                enforce ? "paced" : "no-throttle", ns_per_charge(t, {"fs-a", "fs-a"}, kN));
    std::printf("%-12s 2 threads, 2 fs: %6.1f ns/COMPOUND (wall, per thread)\n",
                enforce ? "paced" : "no-throttle", ns_per_charge(t, {"fs-a", "fs-b"}, kN));
  }
}
