#include "metrics/cloudwatch.h"

#include <doctest/doctest.h>

#include <cmath>

#include "test_dir.h"

using namespace efs::metrics;
using nlohmann::json;

namespace {

const char* kFs = "fs-0123456789abcdef0";

struct Fixture {
  testing::TempDir dir;
  std::unique_ptr<MetricStore> store = std::move(MetricStore::open(dir.db()).value());
  efs::Clock clock;
  CloudWatch cw{*store, nullptr, clock};
  efs::RequestContext ctx;

  double now() const { return clock.now_epoch_seconds(); }
  int64_t minute() const { return static_cast<int64_t>(std::floor(now() / 60)); }
  // One point a minute for the `n` minutes ending with the current one.
  void balance(const std::vector<double>& values) {
    std::vector<Point> pts;
    const int64_t m = minute();
    for (std::size_t i = 0; i < values.size(); ++i) {
      Point p;
      p.metric = MetricId{kEfsNamespace, "BurstCreditBalance", {{"FileSystemId", kFs}}};
      p.unit = "Bytes";
      p.minute = m - static_cast<int64_t>(values.size() - 1 - i);
      p.value.add(values[i]);
      pts.push_back(p);
    }
    REQUIRE(store->put(pts, m).ok());
  }
  json stats_input(double start, double end, int64_t period) const {
    return {{"Namespace", "AWS/EFS"},
            {"MetricName", "BurstCreditBalance"},
            {"Dimensions", {{{"Name", "FileSystemId"}, {"Value", kFs}}}},
            {"StartTime", start},
            {"EndTime", end},
            {"Period", period},
            {"Statistics", {"Average", "Minimum", "Maximum", "Sum", "SampleCount"}}};
  }
  std::string error_of(const efs::ApiResult<json>& r) { return r.ok() ? "" : r.error().code; }
  void alarm(json extra) {
    json in = {{"AlarmName", "low"},
               {"Namespace", "AWS/EFS"},
               {"MetricName", "BurstCreditBalance"},
               {"Dimensions", {{{"Name", "FileSystemId"}, {"Value", kFs}}}},
               {"Statistic", "Minimum"},
               {"Period", 60},
               {"EvaluationPeriods", 1},
               {"Threshold", 100.0},
               {"ComparisonOperator", "LessThanThreshold"}};
    for (auto& [k, v] : extra.items()) in[k] = v;
    auto r = cw.put_metric_alarm(ctx, in);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  }
  json described() {
    auto r = cw.describe_alarms(ctx, json::object());
    REQUIRE(r.ok());
    REQUIRE(r->at("MetricAlarms").size() == 1);
    return r->at("MetricAlarms")[0];
  }
};

}  // namespace

TEST_CASE("GetMetricStatistics: periods of the points, each statistic") {
  Fixture f;
  f.balance({10, 20, 30, 40, 50, 60});
  const double end = static_cast<double>(f.minute() + 1) * 60;
  const double start = end - 360;
  auto r = f.cw.get_metric_statistics(f.ctx, f.stats_input(start, end, 180));
  REQUIRE(r.ok());
  CHECK(r->at("Label") == "BurstCreditBalance");
  const auto& dps = r->at("Datapoints");
  REQUIRE(dps.size() == 2);
  CHECK(dps[0]["Timestamp"] == start);
  CHECK(dps[0]["Average"] == 20);
  CHECK(dps[0]["Minimum"] == 10);
  CHECK(dps[0]["Maximum"] == 30);
  CHECK(dps[0]["Sum"] == 60);
  CHECK(dps[0]["SampleCount"] == 3);
  CHECK(dps[0]["Unit"] == "Bytes");
  CHECK(dps[1]["Average"] == 50);

  // Another unit than the metric's: no datapoints (as CloudWatch).
  auto in = f.stats_input(start, end, 60);
  in["Unit"] = "Seconds";
  CHECK(f.cw.get_metric_statistics(f.ctx, in)->at("Datapoints").empty());
  // Other dimensions: another metric.
  in = f.stats_input(start, end, 60);
  in["Dimensions"] = json::array();
  CHECK(f.cw.get_metric_statistics(f.ctx, in)->at("Datapoints").empty());
}

TEST_CASE("GetMetricStatistics: the model's errors") {
  Fixture f;
  const double now = f.now();
  auto in = f.stats_input(now - 600, now, 60);
  in.erase("Statistics");
  CHECK(f.error_of(f.cw.get_metric_statistics(f.ctx, in)) == "MissingParameter");
  in = f.stats_input(now - 600, now, 60);
  in["ExtendedStatistics"] = {"p99"};
  CHECK(f.error_of(f.cw.get_metric_statistics(f.ctx, in)) == "InvalidParameterCombination");
  CHECK(f.error_of(f.cw.get_metric_statistics(f.ctx, f.stats_input(now - 600, now, 90))) ==
        "InvalidParameterValue");
  CHECK(f.error_of(f.cw.get_metric_statistics(f.ctx, f.stats_input(now, now - 600, 60))) ==
        "InvalidParameterValue");
  auto big = f.cw.get_metric_statistics(f.ctx, f.stats_input(now - 2 * 86400, now, 60));
  CHECK(f.error_of(big) == "InvalidParameterCombination");
  CHECK(big.error().message.find("1,440") != std::string::npos);
}

TEST_CASE("GetMetricData: newest first, expressions refused, pages by MaxDatapoints") {
  Fixture f;
  f.balance({1, 2, 3, 4});
  const double end = static_cast<double>(f.minute() + 1) * 60;
  json q = {{"Id", "b"},
            {"MetricStat",
             {{"Metric",
               {{"Namespace", "AWS/EFS"},
                {"MetricName", "BurstCreditBalance"},
                {"Dimensions", {{{"Name", "FileSystemId"}, {"Value", kFs}}}}}},
              {"Period", 60},
              {"Stat", "Maximum"}}}};
  json in = {{"MetricDataQueries", {q}}, {"StartTime", end - 600}, {"EndTime", end}};
  auto r = f.cw.get_metric_data(f.ctx, in);
  REQUIRE(r.ok());
  const auto& res = r->at("MetricDataResults")[0];
  CHECK(res["Label"] == "BurstCreditBalance");
  CHECK(res["Values"] == json({4, 3, 2, 1}));
  CHECK(res["StatusCode"] == "Complete");
  CHECK(!r->contains("NextToken"));

  in["MaxDatapoints"] = 3;
  r = f.cw.get_metric_data(f.ctx, in);
  CHECK(r->at("MetricDataResults")[0]["Values"] == json({4, 3, 2}));
  REQUIRE(r->contains("NextToken"));
  in["NextToken"] = r->at("NextToken");
  r = f.cw.get_metric_data(f.ctx, in);
  CHECK(r->at("MetricDataResults")[0]["Values"] == json({1}));
  in["NextToken"] = "garbage";
  CHECK(f.error_of(f.cw.get_metric_data(f.ctx, in)) == "InvalidNextToken");

  json e = {{"MetricDataQueries", {{{"Id", "e"}, {"Expression", "SUM(METRICS())"}}}},
            {"StartTime", end - 600},
            {"EndTime", end}};
  CHECK(f.error_of(f.cw.get_metric_data(f.ctx, e)) == "InvalidParameterValue");
  json dup = {{"MetricDataQueries", {q, q}}, {"StartTime", end - 600}, {"EndTime", end}};
  CHECK(f.error_of(f.cw.get_metric_data(f.ctx, dup)) == "InvalidParameterValue");
}

TEST_CASE("ListMetrics filters by name and dimensions") {
  Fixture f;
  f.balance({1});
  Point p;
  p.metric = MetricId{kEfsNamespace, "StorageBytes",
                      sorted({{"FileSystemId", kFs}, {"StorageClass", "IA"}})};
  p.unit = "Bytes";
  p.minute = f.minute();
  p.value.add(0);
  REQUIRE(f.store->put({p}, f.minute()).ok());
  auto all = f.cw.list_metrics(f.ctx, {{"Namespace", "AWS/EFS"}});
  REQUIRE(all.ok());
  CHECK(all->at("Metrics").size() == 2);
  auto ia =
      f.cw.list_metrics(f.ctx, {{"Dimensions", {{{"Name", "StorageClass"}, {"Value", "IA"}}}}});
  REQUIRE(ia->at("Metrics").size() == 1);
  CHECK(ia->at("Metrics")[0]["MetricName"] == "StorageBytes");
  CHECK(ia->at("Metrics")[0]["Dimensions"].size() == 2);
  auto named = f.cw.list_metrics(f.ctx, {{"MetricName", "BurstCreditBalance"}});
  CHECK(named->at("Metrics").size() == 1);
  CHECK(f.cw.list_metrics(f.ctx, {{"Namespace", "AWS/EC2"}})->at("Metrics").empty());
}

TEST_CASE("an alarm goes OK -> ALARM -> OK with the balance") {
  Fixture f;
  f.balance({500});
  f.alarm(json::object());
  auto a = f.described();
  CHECK(a["StateValue"] == "OK");
  CHECK(a["AlarmArn"] == "arn:aws:cloudwatch:us-east-1:000000000000:alarm:low");
  CHECK(a["Threshold"] == 100.0);
  f.balance({50});
  f.cw.evaluate_alarms(f.now());
  a = f.described();
  CHECK(a["StateValue"] == "ALARM");
  CHECK(a["StateReason"].get<std::string>().find("Threshold Crossed") == 0);
  auto by_state = f.cw.describe_alarms(f.ctx, {{"StateValue", "OK"}});
  CHECK(by_state->at("MetricAlarms").empty());
  f.balance({150});
  f.cw.evaluate_alarms(f.now());
  CHECK(f.described()["StateValue"] == "OK");

  auto gone = f.cw.delete_alarms(f.ctx, {{"AlarmNames", {"low", "other"}}});
  CHECK(f.error_of(gone) == "ResourceNotFound");
  CHECK(gone.error().http_status == 404);
  REQUIRE(f.cw.delete_alarms(f.ctx, {{"AlarmNames", {"low"}}}).ok());
  CHECK(f.cw.describe_alarms(f.ctx, json::object())->at("MetricAlarms").empty());
}

TEST_CASE("alarms: missing data, M out of N, and refused configurations") {
  Fixture f;
  f.alarm(json::object());
  CHECK(f.described()["StateValue"] == "INSUFFICIENT_DATA");
  f.alarm({{"TreatMissingData", "breaching"}});
  f.cw.evaluate_alarms(f.now());
  CHECK(f.described()["StateValue"] == "ALARM");

  // Two of the last three minutes under the threshold.
  f.alarm({{"EvaluationPeriods", 3}, {"DatapointsToAlarm", 2}, {"TreatMissingData", "missing"}});
  f.balance({50, 500, 500});
  f.cw.evaluate_alarms(f.now());
  CHECK(f.described()["StateValue"] == "OK");
  f.balance({50, 50, 500});
  f.cw.evaluate_alarms(f.now());
  CHECK(f.described()["StateValue"] == "ALARM");

  auto bad = [&](json in) {
    json base = {{"AlarmName", "x"},
                 {"Namespace", "AWS/EFS"},
                 {"MetricName", "BurstCreditBalance"},
                 {"Statistic", "Minimum"},
                 {"Period", 60},
                 {"EvaluationPeriods", 1},
                 {"Threshold", 1.0},
                 {"ComparisonOperator", "LessThanThreshold"}};
    for (auto& [k, v] : in.items()) {
      if (v.is_null())
        base.erase(k);
      else
        base[k] = v;
    }
    return f.error_of(f.cw.put_metric_alarm(f.ctx, base));
  };
  CHECK(bad({{"Period", 45}}) == "InvalidParameterValue");
  CHECK(bad({{"DatapointsToAlarm", 2}}) == "InvalidParameterValue");
  CHECK(bad({{"ExtendedStatistic", "p99"}}) == "InvalidParameterCombination");
  CHECK(bad({{"Threshold", nullptr}}) == "MissingParameter");
  CHECK(bad({{"Metrics", json::array()}}) == "InvalidParameterValue");
  CHECK(bad({{"ComparisonOperator", "LessThanLowerOrGreaterThanUpperThreshold"}}) ==
        "InvalidParameterValue");
}
