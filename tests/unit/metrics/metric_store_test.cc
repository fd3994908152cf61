#include "metrics/metric_store.h"

#include <doctest/doctest.h>

#include "test_dir.h"

using namespace efs::metrics;

namespace {

MetricId balance(const std::string& fs) {
  return MetricId{"AWS/EFS", "BurstCreditBalance", {{"FileSystemId", fs}}};
}

Point point(const MetricId& m, int64_t minute, double v) {
  Point p;
  p.metric = m;
  p.unit = "Bytes";
  p.minute = minute;
  p.value.add(v);
  return p;
}

}  // namespace

TEST_CASE("aggregates merge as CloudWatch statistics do") {
  Aggregate a;
  CHECK(a.empty());
  a.add(5);
  a.add(1);
  Aggregate b;
  b.add(9);
  a.merge(b);
  CHECK(a.count == 3);
  CHECK(a.sum == 15);
  CHECK(a.min == 1);
  CHECK(a.max == 9);
  CHECK(a.average() == 5);
  Aggregate empty;
  a.merge(empty);
  CHECK(a.count == 3);
}

TEST_CASE("points are stored by metric and minute, the latest write of a minute wins") {
  testing::TempDir dir;
  auto store = MetricStore::open(dir.db());
  REQUIRE(store.ok());
  const int64_t now = 29'000'000;
  REQUIRE((*store)
              ->put({point(balance("fs-a"), now - 2, 10), point(balance("fs-a"), now - 1, 20),
                     point(balance("fs-b"), now - 1, 99)},
                    now)
              .ok());
  REQUIRE((*store)->put({point(balance("fs-a"), now - 1, 30)}, now).ok());
  auto pts = (*store)->points(balance("fs-a"), now - 10, now);
  REQUIRE(pts.ok());
  REQUIRE(pts->size() == 2);
  CHECK((*pts)[0].first == now - 2);
  CHECK((*pts)[0].second.sum == 10);
  CHECK((*pts)[1].second.sum == 30);
  CHECK((*pts)[1].second.count == 1);

  auto series = (*store)->series("AWS/EFS", "", 0);
  REQUIRE(series.ok());
  REQUIRE(series->size() == 2);
  CHECK(series->at(0).metric.dims == Dimensions{{"FileSystemId", "fs-a"}});
  CHECK(series->at(0).unit == "Bytes");
  CHECK(series->at(0).last_minute == now - 1);
  CHECK((*store)->series("AWS/EFS", "", now)->empty());  // none newer than now
  CHECK((*store)->series("AWS/Other", "", 0)->empty());
}

TEST_CASE("points older than the retention window are dropped") {
  testing::TempDir dir;
  auto store = MetricStore::open(dir.db());
  REQUIRE(store.ok());
  const int64_t now = 29'000'000;
  REQUIRE((*store)
              ->put({point(balance("fs-a"), now - kRetentionMinutes - 1, 1),
                     point(balance("fs-a"), now - kRetentionMinutes, 2)},
                    now)
              .ok());
  auto pts = (*store)->points(balance("fs-a"), 0, now);
  REQUIRE(pts.ok());
  REQUIRE(pts->size() == 1);
  CHECK(pts->at(0).second.sum == 2);
  CHECK(kRetentionMinutes >= 15 * 24 * 60);  // CloudWatch's 15 days of one-minute data
}

TEST_CASE("dimension sets are compared as sets") {
  CHECK(sorted({{"StorageClass", "IA"}, {"FileSystemId", "fs-1"}}) ==
        Dimensions{{"FileSystemId", "fs-1"}, {"StorageClass", "IA"}});
  Dimensions d{{"A", "x\"y"}, {"B", ""}};
  CHECK(dimensions_from_key(dimensions_key(d)) == d);
  CHECK(dimensions_from_key("not json").empty());
}

TEST_CASE("alarms: stored per account and Region, deleted all or none") {
  testing::TempDir dir;
  auto store = MetricStore::open(dir.db());
  REQUIRE(store.ok());
  AlarmRecord a;
  a.account = "111111111111";
  a.region = "us-east-1";
  a.name = "low";
  a.doc = R"({"Threshold": 1})";
  REQUIRE((*store)->put_alarm(a).ok());
  a.region = "eu-west-1";
  REQUIRE((*store)->put_alarm(a).ok());
  CHECK((*store)->alarms("111111111111", "us-east-1")->size() == 1);
  CHECK((*store)->all_alarms()->size() == 2);

  auto missing = (*store)->delete_alarms("111111111111", "us-east-1", {"low", "nope"});
  REQUIRE(missing.ok());
  CHECK(*missing == std::vector<std::string>{"nope"});
  CHECK((*store)->alarms("111111111111", "us-east-1")->size() == 1);  // none deleted
  missing = (*store)->delete_alarms("111111111111", "us-east-1", {"low"});
  REQUIRE(missing.ok());
  CHECK(missing->empty());
  CHECK((*store)->alarms("111111111111", "us-east-1")->empty());

  a.state = "ALARM";
  a.state_reason = "Threshold Crossed";
  REQUIRE((*store)->set_alarm_state(a).ok());
  auto left = (*store)->alarms("111111111111", "eu-west-1");
  REQUIRE(left->size() == 1);
  CHECK(left->at(0).state == "ALARM");
}

TEST_CASE("the store reopens with its points") {
  testing::TempDir dir;
  {
    auto store = MetricStore::open(dir.db());
    REQUIRE(store.ok());
    REQUIRE((*store)->put({point(balance("fs-a"), 100, 7)}, 100).ok());
  }
  auto store = MetricStore::open(dir.db());
  REQUIRE(store.ok());
  auto pts = (*store)->points(balance("fs-a"), 0, 200);
  REQUIRE(pts->size() == 1);
  CHECK(pts->at(0).second.max == 7);
}
