// The server's CloudWatch: the metric store (<data dir>/metrics.db), the
// AWS/EFS sampler fed by the throughput meters, the vfs's metered sizes and
// the catalog, the alarm evaluator, and the same figures for the
// Prometheus page. The sampler's thread passes every few seconds; a clock
// advance passes at once (clock_advanced), before the clock request answers.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "efs/catalog.h"
#include "meta/db.h"
#include "metrics/cloudwatch.h"
#include "metrics/prometheus.h"
#include "metrics/sampler.h"
#include "throughput/throttle.h"
#include "vfs/vfs.h"

namespace efs::server {

class CloudWatchMetrics {
 public:
  static Result<std::unique_ptr<CloudWatchMetrics>, Error> open(
      const std::string& data_dir, Clock& clock, throughput::Throttle& throttle, vfs::Vfs& vfs,
      const Catalog& catalog, meta::Db& meta_db);

  metrics::CloudWatch& cloudwatch() { return *cloudwatch_; }
  // For another module's per-minute values (replication's TimeSinceLastSync).
  metrics::Sampler& sampler() { return *sampler_; }
  void start() { sampler_->start(); }
  // Before the clock moves: a pass, so the jump starts from the figures of
  // the moment. After: a pass on the sampler's thread (Sampler::wake).
  void clock_advancing() { sampler_->sample(); }
  void clock_advanced() { sampler_->wake(); }
  // The AWS/EFS figures as they stand, for GET /_efs-local/metrics.
  std::vector<metrics::Family> prometheus_families();

 private:
  CloudWatchMetrics(throughput::Throttle& t, vfs::Vfs& v, const Catalog& c, meta::Db& db)
      : throttle_(t), vfs_(v), catalog_(c), meta_db_(db) {}
  std::vector<metrics::FileSystemFigures> figures();
  bool general_purpose(const std::string& fs_id);

  throughput::Throttle& throttle_;
  vfs::Vfs& vfs_;
  const Catalog& catalog_;
  meta::Db& meta_db_;
  std::unique_ptr<metrics::MetricStore> store_;
  std::unique_ptr<metrics::Sampler> sampler_;
  std::unique_ptr<metrics::CloudWatch> cloudwatch_;
  std::mutex mode_mu_;
  std::map<std::string, bool> general_purpose_;  // PerformanceMode never changes
};

}  // namespace efs::server
