#include "metrics/cloudwatch.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>

namespace efs::metrics {

using nlohmann::json;

namespace {

// CloudWatch's limits (GetMetricStatistics, GetMetricData, ListMetrics,
// DescribeAlarms in the CloudWatch API Reference).
constexpr int64_t kMaxStatisticsDatapoints = 1440;
constexpr int64_t kDefaultMaxDatapoints = 100800;
constexpr std::size_t kListMetricsPage = 500;
constexpr int kDefaultAlarmRecords = 50;
// ListMetrics shows metrics with a point in the last two weeks; RecentlyActive PT3H, three hours.
constexpr int64_t kListWindowMinutes = 14 * 24 * 60;
constexpr int64_t kRecentlyActiveMinutes = 3 * 60;

Unexpected<ServiceError> invalid(std::string message) {
  return unmodeled_error("InvalidParameterValue", 400, std::move(message));
}
Unexpected<ServiceError> missing(std::string message) {
  return unmodeled_error("MissingParameter", 400, std::move(message));
}
Unexpected<ServiceError> combination(std::string message) {
  return unmodeled_error("InvalidParameterCombination", 400, std::move(message));
}
Unexpected<ServiceError> internal(const Error& e) {
  spdlog::error("cloudwatch: {}", e.message);
  return unmodeled_error("InternalServiceError", 500, "internal error: " + e.message);
}

const std::set<std::string> kStatistics = {"SampleCount", "Average", "Sum", "Minimum", "Maximum"};

Dimensions dimensions_of(const json& in, const char* member = "Dimensions") {
  Dimensions d;
  if (auto it = in.find(member); it != in.end() && it->is_array())
    for (const auto& e : *it) d.emplace_back(e.value("Name", ""), e.value("Value", ""));
  return sorted(std::move(d));
}

json dimensions_json(const Dimensions& d) {
  json out = json::array();
  for (const auto& [n, v] : d) out.push_back({{"Name", n}, {"Value", v}});
  return out;
}

// CloudWatch rounds StartTime down: to the minute within 15 days, to five
// minutes within 63 days, to the hour before that.
double round_start(double start, double now) {
  const double age = now - start;
  double unit = 60;
  if (age > 63 * 86400.0)
    unit = 3600;
  else if (age > 15 * 86400.0)
    unit = 300;
  return std::floor(start / unit) * unit;
}

std::string unit_of(MetricStore& store, const MetricId& metric) {
  auto all = store.series(metric.ns, metric.name, 0);
  if (!all) return "";
  for (const auto& s : *all)
    if (s.metric.dims == metric.dims) return s.unit;
  return "";
}

std::string period_problem(int64_t period) {
  if (period <= 0) return "The parameter Period must be greater than 0.";
  if (period % 60 != 0)
    return "The parameter Period must be a multiple of 60: efs-local keeps one-minute "
           "(standard resolution) data.";
  return "";
}

bool compare(const std::string& op, double v, double threshold) {
  if (op == "GreaterThanOrEqualToThreshold") return v >= threshold;
  if (op == "GreaterThanThreshold") return v > threshold;
  if (op == "LessThanThreshold") return v < threshold;
  if (op == "LessThanOrEqualToThreshold") return v <= threshold;
  return false;
}

std::string comparison_words(const std::string& op) {
  if (op == "GreaterThanOrEqualToThreshold") return "greater than or equal to";
  if (op == "GreaterThanThreshold") return "greater than";
  if (op == "LessThanThreshold") return "less than";
  return "less than or equal to";
}

std::string iso(double t) {
  return format_utc(Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(t))));
}

// 1.073741824E9, as CloudWatch writes numbers in state reasons.
std::string number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.10G", v);
  return buf;
}

std::string alarm_arn(const AlarmRecord& a) {
  return "arn:aws:cloudwatch:" + a.region + ":" + a.account + ":alarm:" + a.name;
}

json alarm_json(const AlarmRecord& a) {
  json doc = json::parse(a.doc, nullptr, false);
  if (!doc.is_object()) doc = json::object();
  json out = json::object();
  out["AlarmName"] = a.name;
  out["AlarmArn"] = alarm_arn(a);
  for (const char* m :
       {"AlarmDescription", "OKActions", "AlarmActions", "InsufficientDataActions", "MetricName",
        "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit",
        "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator",
        "TreatMissingData", "EvaluateLowSampleCountPercentile"})
    if (doc.contains(m)) out[m] = doc[m];
  out["ActionsEnabled"] = doc.value("ActionsEnabled", true);
  for (const char* list : {"OKActions", "AlarmActions", "InsufficientDataActions", "Dimensions"})
    if (!out.contains(list)) out[list] = json::array();
  out["AlarmConfigurationUpdatedTimestamp"] = a.config_updated;
  out["StateValue"] = a.state;
  out["StateReason"] = a.state_reason;
  if (!a.state_reason_data.empty()) out["StateReasonData"] = a.state_reason_data;
  out["StateUpdatedTimestamp"] = a.state_updated;
  out["StateTransitionedTimestamp"] = a.state_transitioned;
  return out;
}

// How many items of a paginated list were already returned; the token is
// that count in decimal, as efs-local writes it.
bool parse_token(const json& in, std::size_t& offset) {
  offset = 0;
  auto it = in.find("NextToken");
  if (it == in.end() || !it->is_string()) return true;
  const std::string& t = it->get_ref<const std::string&>();
  if (t.empty() || t.size() > 12 || !std::all_of(t.begin(), t.end(), ::isdigit)) return false;
  offset = std::stoull(t);
  return true;
}

}  // namespace

std::optional<double> statistic(const Aggregate& a, const std::string& stat) {
  if (a.empty()) return std::nullopt;
  if (stat == "SampleCount") return a.count;
  if (stat == "Average") return a.average();
  if (stat == "Sum") return a.sum;
  if (stat == "Minimum") return a.min;
  if (stat == "Maximum") return a.max;
  return std::nullopt;
}

Result<std::vector<std::pair<double, Aggregate>>, Error> periods(MetricStore& store,
                                                                 const MetricId& metric,
                                                                 double start, double end,
                                                                 int64_t period) {
  std::vector<std::pair<double, Aggregate>> out;
  if (end <= start || period <= 0) return out;
  const int64_t first = static_cast<int64_t>(std::floor(start / 60));
  const int64_t last = static_cast<int64_t>(std::ceil(end / 60)) - 1;
  auto pts = store.points(metric, first, last);
  if (!pts) return fail(pts.error());
  for (const auto& [minute, agg] : *pts) {
    const double t = static_cast<double>(minute) * 60;
    if (t < start || t >= end) continue;
    const double bucket =
        start + std::floor((t - start) / static_cast<double>(period)) * static_cast<double>(period);
    if (out.empty() || out.back().first != bucket) out.emplace_back(bucket, Aggregate{});
    out.back().second.merge(agg);
  }
  return out;
}

void CloudWatch::refresh() {
  if (sampler_) sampler_->sample();
}

std::map<std::string, JsonOperation> CloudWatch::operations() {
  using Method = ApiResult<json> (CloudWatch::*)(const RequestContext&, const json&);
  const std::pair<const char*, Method> ops[] = {
      {"GetMetricStatistics", &CloudWatch::get_metric_statistics},
      {"GetMetricData", &CloudWatch::get_metric_data},
      {"ListMetrics", &CloudWatch::list_metrics},
      {"PutMetricAlarm", &CloudWatch::put_metric_alarm},
      {"DescribeAlarms", &CloudWatch::describe_alarms},
      {"DeleteAlarms", &CloudWatch::delete_alarms},
  };
  std::map<std::string, JsonOperation> out;
  // (clang 14 cannot capture a structured binding, hence the pair.)
  for (const auto& op : ops)
    out[op.first] = [this, m = op.second](const RequestContext& ctx, const json& in) {
      return (this->*m)(ctx, in);
    };
  return out;
}

ApiResult<json> CloudWatch::get_metric_statistics(const RequestContext&, const json& in) {
  const bool has_stats = in.contains("Statistics") && !in["Statistics"].empty();
  const bool has_ext = in.contains("ExtendedStatistics") && !in["ExtendedStatistics"].empty();
  if (!has_stats && !has_ext)
    return missing("The parameter Statistics or ExtendedStatistics is required.");
  if (has_stats && has_ext)
    return combination("The parameters Statistics and ExtendedStatistics are mutually exclusive.");
  if (has_ext)
    return invalid(
        "efs-local does not compute percentiles: ExtendedStatistics is not supported, use "
        "Statistics (SampleCount, Average, Sum, Minimum, Maximum).");
  int64_t period = in.value("Period", int64_t{0});
  if (auto p = period_problem(period); !p.empty()) return invalid(p);
  const double now = clock_.now_epoch_seconds();
  const double start = round_start(in.value("StartTime", 0.0), now);
  const double end = in.value("EndTime", 0.0);
  if (end <= start)
    return invalid("The parameter StartTime must be less than the parameter EndTime.");
  const double wanted = std::ceil((end - start) / static_cast<double>(period));
  if (wanted > kMaxStatisticsDatapoints)
    return combination("You have requested up to " + std::to_string(static_cast<int64_t>(wanted)) +
                       " datapoints, which exceeds the limit of 1,440. You may reduce the "
                       "datapoints requested by increasing Period, or decreasing the time range.");

  refresh();
  MetricId metric{in.value("Namespace", ""), in.value("MetricName", ""), dimensions_of(in)};
  json out = {{"Label", metric.name}, {"Datapoints", json::array()}};
  const std::string unit = unit_of(store_, metric);
  if (in.contains("Unit") && in["Unit"] != unit) return out;  // no data in that unit
  auto buckets = periods(store_, metric, start, end, period);
  if (!buckets) return internal(buckets.error());
  for (const auto& [t, agg] : *buckets) {
    json dp = {{"Timestamp", t}, {"Unit", unit.empty() ? "None" : unit}};
    for (const auto& s : in["Statistics"]) {
      const std::string name = s.get<std::string>();
      if (auto v = statistic(agg, name)) dp[name] = *v;
    }
    out["Datapoints"].push_back(std::move(dp));
  }
  return out;
}

ApiResult<json> CloudWatch::get_metric_data(const RequestContext&, const json& in) {
  const double now = clock_.now_epoch_seconds();
  const double start = round_start(in.value("StartTime", 0.0), now);
  const double end = in.value("EndTime", 0.0);
  if (end <= start)
    return invalid("The parameter StartTime must be less than the parameter EndTime.");
  const int64_t max_points = in.value("MaxDatapoints", kDefaultMaxDatapoints);
  const bool ascending = in.value("ScanBy", "TimestampDescending") == "TimestampAscending";
  std::size_t offset = 0;
  if (!parse_token(in, offset))
    return unmodeled_error("InvalidNextToken", 400, "The NextToken is not one efs-local issued.");

  std::set<std::string> ids;
  for (const auto& q : in["MetricDataQueries"]) {
    const std::string id = q.value("Id", "");
    if (!ids.insert(id).second)
      return invalid("The value " + id + " for parameter MetricDataQueries.Id is not unique.");
    if (q.contains("Expression"))
      return invalid(
          "efs-local does not evaluate metric math or Metrics Insights expressions "
          "(query '" +
          id + "'): use MetricStat queries.");
    if (!q.contains("MetricStat"))
      return missing("The parameter MetricDataQueries.member.MetricStat is required (query '" + id +
                     "').");
    const json& ms = q["MetricStat"];
    if (auto p = period_problem(ms.value("Period", int64_t{0})); !p.empty()) return invalid(p);
    const std::string stat = ms.value("Stat", "");
    if (!kStatistics.count(stat))
      return invalid("The value " + stat +
                     " for parameter MetricDataQueries.member.MetricStat.Stat "
                     "is not supported: efs-local computes SampleCount, Average, Sum, Minimum, "
                     "Maximum.");
  }

  refresh();
  json results = json::array();
  std::size_t seen = 0, returned = 0;
  bool truncated = false;
  for (const auto& q : in["MetricDataQueries"]) {
    if (!q.value("ReturnData", true)) continue;
    const json& ms = q["MetricStat"];
    const json& m = ms["Metric"];
    MetricId metric{m.value("Namespace", ""), m.value("MetricName", ""), dimensions_of(m)};
    json r = {{"Id", q.value("Id", "")},
              {"Label", q.value("Label", metric.name)},
              {"Timestamps", json::array()},
              {"Values", json::array()},
              {"StatusCode", "Complete"}};
    const std::string unit = unit_of(store_, metric);
    if (!ms.contains("Unit") || ms["Unit"] == unit) {
      auto buckets = periods(store_, metric, start, end, ms.value("Period", int64_t{60}));
      if (!buckets) return internal(buckets.error());
      if (!ascending) std::reverse(buckets->begin(), buckets->end());
      for (const auto& [t, agg] : *buckets) {
        auto v = statistic(agg, ms.value("Stat", ""));
        if (!v) continue;
        if (seen++ < offset) continue;
        if (static_cast<int64_t>(returned) >= max_points) {
          truncated = true;
          r["StatusCode"] = "PartialData";
          break;
        }
        r["Timestamps"].push_back(t);
        r["Values"].push_back(*v);
        ++returned;
      }
    }
    results.push_back(std::move(r));
  }
  json out = {{"MetricDataResults", std::move(results)}, {"Messages", json::array()}};
  if (truncated) out["NextToken"] = std::to_string(offset + returned);
  return out;
}

ApiResult<json> CloudWatch::list_metrics(const RequestContext&, const json& in) {
  std::size_t offset = 0;
  if (!parse_token(in, offset))
    return unmodeled_error("InvalidNextToken", 400, "The NextToken is not one efs-local issued.");
  refresh();
  const int64_t now_minute = static_cast<int64_t>(std::floor(clock_.now_epoch_seconds() / 60));
  const bool recent = in.value("RecentlyActive", "") == "PT3H";
  auto all = store_.series(in.value("Namespace", ""), in.value("MetricName", ""),
                           now_minute - (recent ? kRecentlyActiveMinutes : kListWindowMinutes));
  if (!all) return internal(all.error());
  std::vector<const SeriesInfo*> match;
  for (const auto& s : *all) {
    bool ok = true;
    if (auto it = in.find("Dimensions"); it != in.end())
      for (const auto& f : *it) {
        const std::string name = f.value("Name", "");
        auto d = std::find_if(s.metric.dims.begin(), s.metric.dims.end(),
                              [&](const auto& p) { return p.first == name; });
        if (d == s.metric.dims.end() || (f.contains("Value") && f["Value"] != d->second))
          ok = false;
      }
    if (ok) match.push_back(&s);
  }
  json metrics = json::array();
  for (std::size_t i = offset; i < match.size() && metrics.size() < kListMetricsPage; ++i)
    metrics.push_back({{"Namespace", match[i]->metric.ns},
                       {"MetricName", match[i]->metric.name},
                       {"Dimensions", dimensions_json(match[i]->metric.dims)}});
  json out = {{"Metrics", metrics}};
  if (offset + metrics.size() < match.size())
    out["NextToken"] = std::to_string(offset + metrics.size());
  return out;
}

ApiResult<json> CloudWatch::put_metric_alarm(const RequestContext& ctx, const json& in) {
  if (in.contains("Metrics") || in.contains("ThresholdMetricId"))
    return invalid(
        "efs-local evaluates alarms on one metric (Namespace, MetricName, Statistic): "
        "alarms on metric math (Metrics, ThresholdMetricId) are not supported.");
  for (const char* m : {"Namespace", "MetricName", "Period", "Threshold"})
    if (!in.contains(m)) return missing(std::string("The parameter ") + m + " is required.");
  if (in.contains("Statistic") == in.contains("ExtendedStatistic"))
    return combination(
        "Exactly one of the parameters Statistic and ExtendedStatistic is required.");
  if (in.contains("ExtendedStatistic"))
    return invalid("efs-local does not compute percentiles: use Statistic, not ExtendedStatistic.");
  const int64_t period = in.value("Period", int64_t{0});
  if (auto p = period_problem(period); !p.empty()) return invalid(p);
  const int64_t evaluations = in.value("EvaluationPeriods", int64_t{0});
  const int64_t to_alarm = in.value("DatapointsToAlarm", evaluations);
  if (to_alarm < 1 || to_alarm > evaluations)
    return invalid("DatapointsToAlarm must be between 1 and EvaluationPeriods (" +
                   std::to_string(evaluations) + ").");
  if (period * evaluations > 7 * 86400)
    return invalid(
        "The evaluation interval (Period times EvaluationPeriods) must not exceed 7 days.");
  const std::string op = in.value("ComparisonOperator", "");
  if (op.find("Threshold") != std::string::npos && op.find("Lower") != std::string::npos)
    return invalid("The comparison operator " + op +
                   " is for anomaly detection bands, which efs-local does not model.");

  AlarmRecord a;
  a.account = ctx.account_id;
  a.region = ctx.region;
  a.name = in.value("AlarmName", "");
  const double now = clock_.now_epoch_seconds();
  auto existing = store_.alarms(a.account, a.region);
  if (!existing) return internal(existing.error());
  bool found = false;
  for (const auto& e : *existing)
    if (e.name == a.name) {
      a = e;  // an update keeps the state (PutMetricAlarm)
      found = true;
    }
  if (!found) {
    a.state_updated = now;
    a.state_transitioned = now;
  }
  json doc = in;
  doc.erase("AlarmName");
  doc.erase("Tags");
  a.doc = doc.dump(-1, ' ', false, json::error_handler_t::replace);
  a.config_updated = now;
  if (auto s = store_.put_alarm(a); !s) return internal(s.error());
  spdlog::info("cloudwatch: alarm {} {} on {} {} {} {}", a.name, found ? "updated" : "created",
               in.value("Namespace", ""), in.value("MetricName", ""), op,
               in.value("Threshold", 0.0));
  refresh();  // evaluates it (the sampler's pass ends with evaluate_alarms)
  if (!sampler_) evaluate_alarms(now);
  return json::object();
}

ApiResult<json> CloudWatch::describe_alarms(const RequestContext& ctx, const json& in) {
  if (in.contains("AlarmNames") && in.contains("AlarmNamePrefix"))
    return combination("The parameters AlarmNames and AlarmNamePrefix are mutually exclusive.");
  std::size_t offset = 0;
  if (!parse_token(in, offset))
    return unmodeled_error("InvalidNextToken", 400, "The NextToken is not one efs-local issued.");
  refresh();
  auto all = store_.alarms(ctx.account_id, ctx.region);
  if (!all) return internal(all.error());
  std::set<std::string> names;
  if (auto it = in.find("AlarmNames"); it != in.end())
    for (const auto& n : *it) names.insert(n.get<std::string>());
  const std::string prefix = in.value("AlarmNamePrefix", "");
  const std::string state = in.value("StateValue", "");
  const std::string action = in.value("ActionPrefix", "");
  bool metric_alarms = true;
  if (auto it = in.find("AlarmTypes"); it != in.end()) {
    metric_alarms = false;
    for (const auto& t : *it)
      if (t == "MetricAlarm") metric_alarms = true;
  }
  const std::size_t page = static_cast<std::size_t>(in.value("MaxRecords", kDefaultAlarmRecords));
  std::vector<json> match;
  for (const auto& a : *all) {
    if (!metric_alarms) break;
    if (!names.empty() && !names.count(a.name)) continue;
    if (!prefix.empty() && a.name.rfind(prefix, 0) != 0) continue;
    if (!state.empty() && a.state != state) continue;
    json j = alarm_json(a);
    if (!action.empty()) {
      bool any = false;
      for (const char* list : {"OKActions", "AlarmActions", "InsufficientDataActions"})
        for (const auto& x : j[list])
          if (x.is_string() && x.get<std::string>().rfind(action, 0) == 0) any = true;
      if (!any) continue;
    }
    match.push_back(std::move(j));
  }
  json out = {{"MetricAlarms", json::array()}, {"CompositeAlarms", json::array()}};
  for (std::size_t i = offset; i < match.size() && out["MetricAlarms"].size() < page; ++i)
    out["MetricAlarms"].push_back(match[i]);
  if (offset + out["MetricAlarms"].size() < match.size())
    out["NextToken"] = std::to_string(offset + out["MetricAlarms"].size());
  return out;
}

ApiResult<json> CloudWatch::delete_alarms(const RequestContext& ctx, const json& in) {
  std::vector<std::string> names;
  for (const auto& n : in.value("AlarmNames", json::array())) names.push_back(n.get<std::string>());
  auto missing_names = store_.delete_alarms(ctx.account_id, ctx.region, names);
  if (!missing_names) return internal(missing_names.error());
  if (!missing_names->empty()) {
    std::string list;
    for (const auto& n : *missing_names) list += (list.empty() ? "" : ", ") + n;
    return unmodeled_error("ResourceNotFound", 404,
                           std::to_string(missing_names->size()) + " of " +
                               std::to_string(names.size()) + " alarms were not found: " + list);
  }
  for (const auto& n : names) spdlog::info("cloudwatch: alarm {} deleted", n);
  return json::object();
}

void CloudWatch::evaluate_alarms(double now) {
  std::lock_guard lk(eval_mu_);
  auto all = store_.all_alarms();
  if (!all) {
    spdlog::error("cloudwatch: cannot read alarms: {}", all.error().message);
    return;
  }
  for (auto a : *all) {
    json doc = json::parse(a.doc, nullptr, false);
    if (!doc.is_object()) continue;
    const int64_t period = std::max<int64_t>(60, doc.value("Period", int64_t{60}));
    const int64_t n = std::max<int64_t>(1, doc.value("EvaluationPeriods", int64_t{1}));
    const int64_t m = doc.value("DatapointsToAlarm", n);
    const double threshold = doc.value("Threshold", 0.0);
    const std::string op = doc.value("ComparisonOperator", "");
    const std::string stat = doc.value("Statistic", "Average");
    const std::string missing_as = doc.value("TreatMissingData", "missing");
    MetricId metric{doc.value("Namespace", ""), doc.value("MetricName", ""), dimensions_of(doc)};
    // The newest N periods, aligned to the period, the current one included
    // (efs-local's points of the current minute are already its latest values).
    const double p = static_cast<double>(period);
    const double end = (std::floor(now / p) + 1) * p;
    const double start = end - static_cast<double>(n) * p;
    auto buckets = periods(store_, metric, start, end, period);
    if (!buckets) {
      spdlog::error("cloudwatch: alarm {}: {}", a.name, buckets.error().message);
      continue;
    }
    if (doc.contains("Unit") && doc["Unit"] != unit_of(store_, metric)) buckets->clear();
    int64_t breaching = 0, present = 0;
    std::vector<std::string> shown;
    for (const auto& [t, agg] : *buckets) {
      auto v = statistic(agg, stat);
      if (!v) continue;
      ++present;
      if (compare(op, *v, threshold)) {
        ++breaching;
        shown.push_back(number(*v) + " (" + iso(t) + ")");
      }
    }
    const int64_t absent = n - present;
    if (missing_as == "breaching") breaching += absent;
    std::string state, reason;
    if (present == 0 && missing_as != "breaching" && missing_as != "notBreaching") {
      if (missing_as == "ignore") continue;
      state = "INSUFFICIENT_DATA";
      reason = "Insufficient Data: " + std::to_string(n) + " datapoint" +
               (n == 1 ? " was" : "s were") + " unknown.";
    } else if (breaching >= m) {
      state = "ALARM";
      std::string list;
      for (const auto& s : shown) list += (list.empty() ? "" : ", ") + s;
      reason = "Threshold Crossed: " + std::to_string(breaching) + " out of the last " +
               std::to_string(n) + " datapoints [" + list + "] " +
               (breaching == 1 ? "was " : "were ") + comparison_words(op) + " the threshold (" +
               number(threshold) + ") (minimum " + std::to_string(m) + " datapoint" +
               (m == 1 ? "" : "s") + " for OK -> ALARM transition).";
    } else {
      state = "OK";
      reason = "Threshold Crossed: " +
               std::to_string(present - breaching + (missing_as == "notBreaching" ? absent : 0)) +
               " out of the last " + std::to_string(n) + " datapoints were not " +
               comparison_words(op) + " the threshold (" + number(threshold) + ") (minimum " +
               std::to_string(m) + " datapoint" + (m == 1 ? "" : "s") +
               " for ALARM -> OK transition).";
    }
    if (state == a.state) continue;
    spdlog::info("cloudwatch: alarm {} ({} {} {}) {} -> {}: {}", a.name, metric.name, stat, op,
                 a.state, state, reason);
    json data = {{"version", "1.0"}, {"queryDate", iso(now)},  {"statistic", stat},
                 {"period", period}, {"threshold", threshold}, {"evaluatedDatapoints", present}};
    a.state = state;
    a.state_reason = reason;
    a.state_reason_data = data.dump();
    a.state_updated = now;
    a.state_transitioned = now;
    if (auto s = store_.set_alarm_state(a); !s)
      spdlog::error("cloudwatch: alarm {}: {}", a.name, s.error().message);
  }
}

}  // namespace efs::metrics
