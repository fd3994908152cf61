#include "metrics/sampler.h"

#include <doctest/doctest.h>

#include <cmath>

#include "test_dir.h"
#include "throughput/credits.h"

using namespace efs::metrics;
using efs::throughput::kMiB;

namespace {

struct Fixture {
  testing::TempDir dir;
  std::unique_ptr<MetricStore> store;
  efs::Clock clock;
  FileSystemFigures fs;
  std::unique_ptr<Sampler> sampler;

  Fixture() {
    store = std::move(MetricStore::open(dir.db()).value());
    fs.id = "fs-0123456789abcdef0";
    fs.stats.burst_credit_balance = 1000 * kMiB;
    fs.stats.permitted_throughput = 100 * kMiB;
    fs.stats.client_connections = 2;
    fs.total_bytes = fs.standard_bytes = 6144;
    sampler = std::make_unique<Sampler>(*store, clock,
                                        [this] { return std::vector<FileSystemFigures>{fs}; });
  }
  int64_t minute() const {
    return static_cast<int64_t>(std::floor(clock.now_epoch_seconds() / 60));
  }
  std::vector<std::pair<int64_t, Aggregate>> points(const std::string& name, int64_t first,
                                                    int64_t last, Dimensions extra = {}) {
    Dimensions d{{"FileSystemId", fs.id}};
    for (auto& e : extra) d.push_back(e);
    return store->points(MetricId{kEfsNamespace, name, sorted(d)}, first, last).value();
  }
};

}  // namespace

TEST_CASE("a pass writes the current minute's gauges; I/O only when there was some") {
  Fixture f;
  f.sampler->sample();
  const int64_t m = f.minute();
  auto b = f.points("BurstCreditBalance", m - 1, m + 1);
  REQUIRE(b.size() == 1);
  CHECK(b[0].second.max == 1000 * kMiB);
  CHECK(b[0].second.count == 1);
  CHECK(f.points("PermittedThroughput", m - 1, m + 1).at(0).second.sum == 100 * kMiB);
  CHECK(f.points("ClientConnections", m - 1, m + 1).at(0).second.sum == 2);
  CHECK(f.points("MeteredIOBytes", m - 1, m + 1).empty());

  // A write of 8 MiB: its bytes count in the minute; the balance the pass
  // saw replaces the minute's gauge.
  f.fs.stats.metered_io_bytes += 8 * 1048576;
  f.fs.stats.total_io_bytes += 8 * 1048576;
  f.fs.stats.data_write_io_bytes += 8 * 1048576;
  f.fs.stats.burst_credit_balance -= 8 * kMiB;
  f.sampler->sample();
  const int64_t m2 = f.minute();
  auto w = f.points("DataWriteIOBytes", m - 1, m2 + 1);
  REQUIRE(w.size() == 1);
  CHECK(w[0].second.sum == 8 * kMiB);
  CHECK(f.points("DataReadIOBytes", m - 1, m2 + 1).empty());
  CHECK(f.points("BurstCreditBalance", m2, m2).at(0).second.min == 992 * kMiB);
  auto pct = f.points("PercentIOLimit", m2, m2);
  REQUIRE(pct.size() == 1);
  CHECK(pct[0].second.max == doctest::Approx(percent_io_limit(8 * kMiB, 60)));
}

TEST_CASE("minutes the clock jumped over are computed from the credit arithmetic") {
  Fixture f;
  f.fs.stats.burst_credit_balance = 0;
  f.fs.stats.permitted_throughput = 1 * kMiB;
  // The clock runs on in real time: the sample is taken somewhere in
  // [t_before, t0] (ASan makes that window a millisecond or more).
  const double t_before = f.clock.now_epoch_seconds();
  f.sampler->sample();
  const double t0 = f.clock.now_epoch_seconds();
  const int64_t m0 = f.minute();
  f.clock.advance(std::chrono::hours(1));
  // The meter, settled after the jump, has earned an hour of baseline.
  f.fs.stats.burst_credit_balance = 3600 * kMiB;
  f.fs.stats.permitted_throughput = 100 * kMiB;
  f.sampler->sample();
  const int64_t m1 = f.minute();
  CHECK(m1 - m0 >= 60);
  auto b = f.points("BurstCreditBalance", m0, m1);
  REQUIRE(b.size() == static_cast<std::size_t>(m1 - m0 + 1));
  // Each minute in between: the baseline (1 MiB/s for a small file system)
  // from the last sample to the end of that minute.
  for (std::size_t i = 1; i + 1 < b.size(); ++i) {
    const double end = static_cast<double>(b[i].first + 1) * 60;
    CHECK(b[i].second.max >= doctest::Approx((end - t0) * kMiB));
    CHECK(b[i].second.max <= doctest::Approx((end - t_before) * kMiB));
    CHECK(b[i].second.max - b[i - 1].second.max >= 0);
  }
  // Once credits are back, the burst rate is permitted.
  CHECK(f.points("PermittedThroughput", m0 + 2, m0 + 2).at(0).second.max == 100 * kMiB);
  // No I/O happened in the jump: no I/O points.
  CHECK(f.points("TotalIOBytes", m0, m1).empty());
  // StorageBytes every quarter hour, by class.
  auto total = f.points("StorageBytes", m0 + 1, m1 - 1, {{"StorageClass", "Total"}});
  CHECK(total.size() >= 3);
  CHECK(total.size() <= 4);
  for (const auto& [m, a] : total) {
    CHECK(m % 15 == 0);
    CHECK(a.max == 6144);
  }
  CHECK(f.points("StorageBytes", m0 + 1, m1 - 1, {{"StorageClass", "IA"}}).size() == total.size());
}

TEST_CASE("a jump of months fills only the retention window") {
  Fixture f;
  f.sampler->sample();
  f.clock.advance(std::chrono::hours(24 * 60));
  f.sampler->sample();
  const int64_t m = f.minute();
  auto b = f.points("BurstCreditBalance", 0, m);
  CHECK(b.size() <= static_cast<std::size_t>(kRetentionMinutes + 1));
  CHECK(b.size() >= static_cast<std::size_t>(kRetentionMinutes - 1));
  // Never above the cap.
  for (const auto& [_, a] : b) CHECK(a.max <= efs::throughput::credit_cap(6144) + 1);
}

TEST_CASE("other modules publish per-minute values with their own dimensions") {
  Fixture f;
  f.sampler->add_source([](double) {
    Datum d;
    d.metric = MetricId{kEfsNamespace,
                        "TimeSinceLastSync",
                        {{"FileSystemId", "fs-0123456789abcdef0"},
                         {"DestinationFileSystemId", "fs-00000000000000001"}}};
    d.unit = "Seconds";
    d.value = 42;
    return std::vector<Datum>{d};
  });
  int passes = 0;
  f.sampler->on_pass([&](double) { ++passes; });
  f.sampler->sample();
  CHECK(passes == 1);
  const int64_t m = f.minute();
  auto p = f.points("TimeSinceLastSync", m - 1, m + 1,
                    {{"DestinationFileSystemId", "fs-00000000000000001"}});
  REQUIRE(p.size() == 1);
  CHECK(p[0].second.max == 42);
  auto series = f.store->series(kEfsNamespace, "TimeSinceLastSync", 0).value();
  REQUIRE(series.size() == 1);
  CHECK(series[0].unit == "Seconds");
}

TEST_CASE("PercentIOLimit relates 4 KiB operations to 35,000 a second") {
  CHECK(percent_io_limit(0, 60) == 0);
  CHECK(percent_io_limit(35000.0 * 4096 * 60, 60) == doctest::Approx(100));
  CHECK(percent_io_limit(1e18, 60) == 100);
  CHECK(percent_io_limit(4096, 0) == 0);
}
