// The CloudWatch operations efs-local serves, over the MetricStore:
// GetMetricStatistics, GetMetricData (MetricStat queries; math expressions
// are refused), ListMetrics, PutMetricAlarm, DescribeAlarms, DeleteAlarms.
// Handlers take and return the model's shapes as JSON keyed by member name
// (timestamps as epoch seconds); src/api/cloudwatch.* carries them over the
// three protocols. Errors are named as the model's error codes
// (InvalidParameterValue, MissingParameter, InvalidParameterCombination,
// ResourceNotFound, InvalidNextToken), with the model's HTTP statuses.
//
// Alarms are evaluated after every sampler pass (metrics/sampler.h), so on
// the emulator clock: an alarm on BurstCreditBalance goes to ALARM in the
// pass that sees the balance under its threshold.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "efs/error.h"
#include "metrics/metric_store.h"
#include "metrics/sampler.h"

namespace efs::metrics {

// One period's statistic, as GetMetricStatistics names them.
std::optional<double> statistic(const Aggregate& a, const std::string& stat);

// The points of `metric` gathered into periods of `period` seconds from
// `start` (epoch seconds, a whole minute) up to `end` (exclusive): each
// period's start and its aggregate; periods without points are left out.
Result<std::vector<std::pair<double, Aggregate>>, Error> periods(MetricStore& store,
                                                                 const MetricId& metric,
                                                                 double start, double end,
                                                                 int64_t period);

class CloudWatch {
 public:
  // sampler may be null (unit tests drive the store directly).
  CloudWatch(MetricStore& store, Sampler* sampler, Clock& clock)
      : store_(store), sampler_(sampler), clock_(clock) {}

  // Operation name -> handler, for api::CloudWatchService.
  std::map<std::string, JsonOperation> operations();

  // Evaluates every alarm against the store at `now` (epoch seconds) and
  // stores the states that changed. Logged on each change.
  void evaluate_alarms(double now);

  ApiResult<nlohmann::json> get_metric_statistics(const RequestContext& ctx,
                                                  const nlohmann::json& in);
  ApiResult<nlohmann::json> get_metric_data(const RequestContext& ctx, const nlohmann::json& in);
  ApiResult<nlohmann::json> list_metrics(const RequestContext& ctx, const nlohmann::json& in);
  ApiResult<nlohmann::json> put_metric_alarm(const RequestContext& ctx, const nlohmann::json& in);
  ApiResult<nlohmann::json> describe_alarms(const RequestContext& ctx, const nlohmann::json& in);
  ApiResult<nlohmann::json> delete_alarms(const RequestContext& ctx, const nlohmann::json& in);

 private:
  // Brings the current minute up to date before a read.
  void refresh();

  MetricStore& store_;
  Sampler* sampler_;
  Clock& clock_;
  std::mutex eval_mu_;
};

}  // namespace efs::metrics
