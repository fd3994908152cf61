// The CloudWatch metric store: one-minute aggregates of every metric the
// emulator publishes (namespace AWS/EFS and any other a module adds), and
// the metric alarms, in their own SQLite database (<data dir>/metrics.db,
// docs/schema-metrics.md). A file of its own: the sampler writes every few
// seconds, and those writes never queue behind the NFS metadata writer of
// meta.db.
//
// A metric is (namespace, name, dimension set); a point is one minute of
// it: Sum, Minimum, Maximum and SampleCount, from which every statistic
// GetMetricStatistics offers is derived. One-minute points are kept for
// kRetentionMinutes of the emulator clock (CloudWatch keeps one-minute data
// for 15 days).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "meta/db.h"

namespace efs::metrics {

inline constexpr int64_t kRetentionMinutes = 15 * 24 * 60;

// (Name, Value) pairs, kept sorted by name: CloudWatch compares dimension
// sets as sets.
using Dimensions = std::vector<std::pair<std::string, std::string>>;
Dimensions sorted(Dimensions d);

struct MetricId {
  std::string ns;    // "AWS/EFS"
  std::string name;  // "BurstCreditBalance"
  Dimensions dims;   // sorted
  bool operator<(const MetricId& o) const;
  bool operator==(const MetricId& o) const = default;
};

// What a minute (or a period) holds.
struct Aggregate {
  double sum = 0, min = 0, max = 0, count = 0;
  void add(double v);
  void merge(const Aggregate& a);
  bool empty() const { return count == 0; }
  double average() const { return count == 0 ? 0 : sum / count; }
};

struct Point {
  MetricId metric;
  std::string unit;    // CloudWatch StandardUnit: "Bytes", "Bytes/Second", "Percent", ...
  int64_t minute = 0;  // epoch seconds / 60 of the emulator clock
  Aggregate value;
};

struct SeriesInfo {
  MetricId metric;
  std::string unit;
  int64_t last_minute = 0;  // the newest point's minute
};

// A stored metric alarm: the PutMetricAlarm input as the API gave it
// (member names, timestamps as epoch seconds) and its evaluated state.
struct AlarmRecord {
  std::string account, region, name;
  std::string doc;  // JSON of the PutMetricAlarm input
  std::string state = "INSUFFICIENT_DATA";
  std::string state_reason = "Unchecked: Initial alarm creation";
  std::string state_reason_data;
  double state_updated = 0;       // epoch seconds (emulator clock)
  double state_transitioned = 0;  // last change of state
  double config_updated = 0;
};

class MetricStore {
 public:
  static Result<std::unique_ptr<MetricStore>, Error> open(const std::string& path);

  // Writes points, each replacing the metric's point of that minute, in one
  // transaction; then drops points older than kRetentionMinutes before
  // now_minute.
  Status<> put(const std::vector<Point>& points, int64_t now_minute);
  // The points of one metric with first <= minute <= last, oldest first.
  Result<std::vector<std::pair<int64_t, Aggregate>>, Error> points(const MetricId& metric,
                                                                   int64_t first, int64_t last);
  // Every metric in namespace ns (empty: any) named name (empty: any) whose
  // newest point is at or after since_minute, ordered by (ns, name, dims).
  Result<std::vector<SeriesInfo>, Error> series(const std::string& ns, const std::string& name,
                                                int64_t since_minute);

  Status<> put_alarm(const AlarmRecord& a);
  Result<std::vector<AlarmRecord>, Error> alarms(const std::string& account,
                                                 const std::string& region);
  // Every alarm of every account (the evaluator).
  Result<std::vector<AlarmRecord>, Error> all_alarms();
  // Deletes the named alarms and returns the names that do not exist; if
  // any does not, none is deleted (DeleteAlarms answers ResourceNotFound).
  Result<std::vector<std::string>, Error> delete_alarms(const std::string& account,
                                                        const std::string& region,
                                                        const std::vector<std::string>& names);
  // Sets the evaluated state of an alarm that still exists.
  Status<> set_alarm_state(const AlarmRecord& a);

 private:
  explicit MetricStore(std::unique_ptr<meta::Db> db) : db_(std::move(db)) {}
  std::unique_ptr<meta::Db> db_;
  // metric_series ids by (namespace, name, dimensions key), filled once a
  // write that made or found them committed: a clock advance writes
  // thousands of points per metric, and each would otherwise upsert its series.
  std::mutex ids_mu_;
  std::map<std::string, int64_t> ids_;
};

// The canonical text of a dimension set in the store: JSON [[name, value], ...].
std::string dimensions_key(const Dimensions& d);
Dimensions dimensions_from_key(const std::string& key);

}  // namespace efs::metrics
