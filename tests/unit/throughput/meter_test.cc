// FileSystemMeter and Throttle with explicit times: the pacing each mode
// gives, credits running out and coming back, and the independence of file
// systems and clients.
#include "throughput/meter.h"

#include <doctest/doctest.h>

#include "throughput/throttle.h"

using namespace efs::throughput;

namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1000 * kSecond;

Tally write_of(uint64_t n) {
  Tally t;
  t.add_write(n);
  return t;
}
Tally read_of(uint64_t n) {
  Tally t;
  t.add_read(n);
  return t;
}

double seconds(int64_t ns) {
  return static_cast<double>(ns) / kSecond;
}

}  // namespace

TEST_CASE("a bursting file system without credits runs at its baseline") {
  FileSystemMeter m("fs-1", kT0);
  m.configure(Settings{Mode::bursting, 0, 0}, 1.0, kT0);
  m.set_balance(0, kT0);
  CHECK(m.stats(kT0).permitted_throughput == 1 * kMiB);
  // 16 WRITEs of 1 MiB arriving together: the last reply waits ~16 s.
  int64_t last = 0;
  for (int i = 0; i < 16; ++i) last = m.charge(write_of(1 << 20), 7, kT0, true);
  CHECK(seconds(last) == doctest::Approx(16).epsilon(0.01));
}

TEST_CASE("credits spent by requests still held back are a debt, not forgiven") {
  FileSystemMeter m("fs-1", kT0);
  m.configure(Settings{Mode::bursting, 0, 0}, 1.0, kT0);
  m.set_balance(0, kT0);
  // 16 MiB metered at once, replies spread over 16 s: the baseline earns
  // them back over those 16 s, so nothing is left to burst with at 10 s.
  for (int i = 0; i < 16; ++i) m.charge(write_of(1 << 20), 7, kT0, true);
  auto s = m.stats(kT0 + 10 * kSecond);
  CHECK(s.burst_credit_balance == 0);
  CHECK(s.permitted_throughput == 1 * kMiB);
  s = m.stats(kT0 + 20 * kSecond);
  CHECK(s.burst_credit_balance == doctest::Approx(4 * kMiB).epsilon(0.01));
  CHECK(s.permitted_throughput == 100 * kMiB);
}

TEST_CASE("a bursting file system with credits bursts until they run out") {
  FileSystemMeter m("fs-1", kT0);
  m.configure(Settings{Mode::bursting, 0, 0}, 1.0, kT0);
  m.set_balance(10 * kMiB, kT0);
  CHECK(m.stats(kT0).permitted_throughput == 100 * kMiB);
  // 10 MiB at 100 MiB/s: about 0.1 s (less the tolerance).
  int64_t wait = 0;
  for (int i = 0; i < 10; ++i) wait = m.charge(write_of(1 << 20), 7, kT0, true);
  CHECK(seconds(wait) < 0.11);
  // The credits are spent: the very next MiB is paced at the baseline.
  auto s = m.stats(kT0);
  CHECK(s.burst_credit_balance == 0);
  CHECK(s.permitted_throughput == 1 * kMiB);
  int64_t next = m.charge(write_of(1 << 20), 7, kT0, true);
  CHECK(seconds(next) > 1.0);
}

TEST_CASE("credits come back as the clock moves") {
  FileSystemMeter m("fs-1", kT0);
  m.configure(Settings{Mode::bursting, 0, 0}, 1.0, kT0);
  m.set_balance(0, kT0);
  const int64_t day = 86400 * kSecond;
  m.clock_jumped(kT0 + day);
  auto s = m.stats(kT0 + day);
  CHECK(s.burst_credit_balance == doctest::Approx(86400 * kMiB));  // 1 MiB/s for a day
  CHECK(s.permitted_throughput == 100 * kMiB);
  CHECK(m.charge(write_of(16 << 20), 7, kT0 + day, true) < kSecond / 5);
}

TEST_CASE("reads meter at one third on bursting: three times the data per credit") {
  FileSystemMeter m("fs-1", kT0);
  m.configure(Settings{Mode::bursting, 0, 0}, 1.0, kT0);
  m.set_balance(0, kT0);
  // 3 MiB read at a 1 MiB/s baseline costs 1 s of metered throughput.
  int64_t wait = m.charge(read_of(3 << 20), 7, kT0, true);
  CHECK(seconds(wait) == doctest::Approx(0.95).epsilon(0.01));
  auto s = m.stats(kT0);
  CHECK(s.data_read_io_bytes == (3u << 20));
  CHECK(s.metered_io_bytes == (1u << 20));
  CHECK(s.total_io_bytes == (3u << 20));
}

TEST_CASE("small requests and metadata count as 4 KiB") {
  FileSystemMeter m("fs-1", kT0);
  m.charge(write_of(10), 7, kT0, true);
  Tally md;
  md.metadata_ops = 1;
  m.charge(md, 7, kT0, true);
  auto s = m.stats(kT0);
  CHECK(s.data_write_io_bytes == 10);
  CHECK(s.metadata_io_bytes == 4096);
  CHECK(s.metered_io_bytes == 8192);
  CHECK(s.total_io_bytes == 4106);
}

TEST_CASE("provisioned: the provisioned rate whatever the credits") {
  FileSystemMeter m("fs-1", kT0);
  m.configure(Settings{Mode::provisioned, 2, 0}, 1.0, kT0);
  CHECK(m.stats(kT0).burst_credit_balance == doctest::Approx(kInitialCredits));
  int64_t wait = 0;
  for (int i = 0; i < 8; ++i) wait = m.charge(write_of(1 << 20), 7, kT0, true);
  CHECK(seconds(wait) == doctest::Approx(4).epsilon(0.02));
}

TEST_CASE("--throughput-scale multiplies the limits") {
  FileSystemMeter m("fs-1", kT0);
  m.configure(Settings{Mode::provisioned, 2, 0}, 0.5, kT0);
  CHECK(m.stats(kT0).permitted_throughput == 1 * kMiB);
  int64_t wait = 0;
  for (int i = 0; i < 4; ++i) wait = m.charge(write_of(1 << 20), 7, kT0, true);
  CHECK(seconds(wait) == doctest::Approx(4).epsilon(0.02));
}

TEST_CASE("elastic: no wait below the limits, the per-client ceiling above") {
  FileSystemMeter m("fs-1", kT0);
  m.configure(Settings{Mode::elastic, 0, 0}, 1.0, kT0);
  // 100 MiB at once from one client: far below 1,500 MiB/s for 50 ms.
  CHECK(m.charge(read_of(50 << 20), 7, kT0, true) == 0);
  // 3,000 MiB of reads at once from one client: 2 s at 1,500 MiB/s.
  int64_t wait = m.charge(read_of(uint64_t{3000} << 20), 8, kT0, true);
  CHECK(seconds(wait) == doctest::Approx(2 - 0.05).epsilon(0.01));
  // Another client of the same file system is not held back by that
  // client's ceiling, only by the file system's 20 GiB/s (0.15 s for 3 GiB).
  CHECK(seconds(m.charge(read_of(1 << 20), 9, kT0, true)) < 0.15);
  CHECK(m.stats(kT0).client_connections == 3);
  m.connection_closed(8);
  CHECK(m.stats(kT0).client_connections == 2);
}

TEST_CASE("a bursting client is capped at 500 MiB/s even with credits to spare") {
  FileSystemMeter m("fs-1", kT0);
  m.configure(Settings{Mode::bursting, 0, static_cast<uint64_t>(20 * kTiB)}, 1.0, kT0);
  CHECK(m.stats(kT0).permitted_throughput == doctest::Approx(2000 * kMiB));
  int64_t wait = m.charge(write_of(uint64_t{1000} << 20), 7, kT0, true);
  CHECK(seconds(wait) == doctest::Approx(2 - 0.05).epsilon(0.01));
}

TEST_CASE("without enforcement nothing waits but the metering goes on") {
  FileSystemMeter m("fs-1", kT0);
  m.set_balance(0, kT0);
  for (int i = 0; i < 16; ++i) CHECK(m.charge(write_of(1 << 20), 7, kT0, false) == 0);
  CHECK(m.stats(kT0).data_write_io_bytes == (16u << 20));
  CHECK(m.stats(kT0).client_connections == 1);
}

TEST_CASE("the throttle keeps one meter per file system, independent of each other") {
  efs::Clock clock;
  Throttle t(clock, Options{}, [](const std::string& id, bool) -> std::optional<Settings> {
    if (id == "fs-gone") return std::nullopt;
    if (id == "fs-slow") return Settings{Mode::provisioned, 1, 0};
    return Settings{Mode::bursting, 0, 0};
  });
  auto* slow = t.meter("fs-slow");
  auto* fast = t.meter("fs-fast");
  REQUIRE(slow);
  REQUIRE(fast);
  CHECK(slow != fast);
  CHECK(t.meter("fs-slow") == slow);
  std::chrono::nanoseconds w{0};
  for (int i = 0; i < 8; ++i) w = t.charge(*slow, 1, write_of(1 << 20));
  CHECK(w > std::chrono::seconds(7));
  // The other file system's client is not held back.
  CHECK(t.charge(*fast, 2, write_of(1 << 20)) == std::chrono::nanoseconds(0));
  CHECK(t.set_burst_credits("fs-gone", 0) == std::nullopt);
  CHECK(t.set_burst_credits("fs-fast", -5) == 0.0);
  CHECK(t.stats("fs-fast")->burst_credit_balance < 1 * kMiB);  // earned since, in real time
  CHECK(t.stats("fs-gone") == std::nullopt);
  CHECK(t.stats("fs-new")->burst_credit_balance == doctest::Approx(kInitialCredits));
  // Many file systems: each its own meter.
  for (int i = 0; i < 2000; ++i) REQUIRE(t.meter("fs-" + std::to_string(i)));
  CHECK(t.meter("fs-1234")->id() == "fs-1234");
  CHECK(t.file_systems().size() == 2003);
}
