#include "server/cloudwatch_metrics.h"

#include <spdlog/spdlog.h>

#include "efs/record.h"

namespace efs::server {

Result<std::unique_ptr<CloudWatchMetrics>, Error> CloudWatchMetrics::open(
    const std::string& data_dir, Clock& clock, throughput::Throttle& throttle, vfs::Vfs& vfs,
    const Catalog& catalog, meta::Db& meta_db) {
  auto store = metrics::MetricStore::open(data_dir + "/metrics.db");
  if (!store) return fail(store.error());
  std::unique_ptr<CloudWatchMetrics> m(new CloudWatchMetrics(throttle, vfs, catalog, meta_db));
  m->store_ = std::move(*store);
  auto* self = m.get();
  m->sampler_ =
      std::make_unique<metrics::Sampler>(*m->store_, clock, [self] { return self->figures(); });
  m->cloudwatch_ = std::make_unique<metrics::CloudWatch>(*m->store_, m->sampler_.get(), clock);
  m->sampler_->on_pass([self](double now) { self->cloudwatch_->evaluate_alarms(now); });
  return m;
}

bool CloudWatchMetrics::general_purpose(const std::string& fs_id) {
  {
    std::lock_guard lk(mode_mu_);
    if (auto it = general_purpose_.find(fs_id); it != general_purpose_.end()) return it->second;
  }
  std::string mode = "generalPurpose";
  auto r = meta_db_.read([&](meta::Conn& c) -> Status<> {
    try {
      if (auto rec = store::get(c, kind::kFileSystem, fs_id))
        mode = rec->doc.value("PerformanceMode", "generalPurpose");
    } catch (const efs::StoreFailure& e) {
      return fail(Error{e.what()});
    }
    return {};
  });
  if (!r) return true;  // asked again at the next pass
  std::lock_guard lk(mode_mu_);
  return general_purpose_[fs_id] = mode == "generalPurpose";
}

std::vector<metrics::FileSystemFigures> CloudWatchMetrics::figures() {
  std::vector<metrics::FileSystemFigures> out;
  auto snap = catalog_.snapshot();
  for (const auto& f : snap->file_systems()) {
    // A file system no client used yet is metered from now on (EFS
    // publishes its balance from creation).
    if (throttle_.meter(f.id) == nullptr) continue;
    auto stats = throttle_.stats(f.id);
    if (!stats) continue;
    metrics::FileSystemFigures fig;
    fig.id = f.id;
    fig.stats = *stats;
    if (auto fs = vfs_.file_system(f.id)) {
      MeteredSize size = fs->metered_size();
      fig.total_bytes = size.total;
      fig.standard_bytes = size.standard;
      fig.ia_bytes = size.ia;
      fig.archive_bytes = size.archive;
    }
    fig.general_purpose = general_purpose(f.id);
    out.push_back(std::move(fig));
  }
  return out;
}

std::vector<metrics::Family> CloudWatchMetrics::prometheus_families() {
  using metrics::Family;
  Family balance{"efs_local_burst_credit_balance_bytes",
                 "gauge",
                 "BurstCreditBalance (AWS/EFS): burst credits of each file system.",
                 {}};
  Family permitted{"efs_local_permitted_throughput_bytes_per_second",
                   "gauge",
                   "PermittedThroughput (AWS/EFS): the metered throughput allowed now.",
                   {}};
  Family io{"efs_local_io_bytes_total",
            "counter",
            "MeteredIOBytes, TotalIOBytes, DataReadIOBytes, DataWriteIOBytes, MetadataIOBytes "
            "(AWS/EFS) since the server started, by kind.",
            {}};
  Family clients{"efs_local_client_connections",
                 "gauge",
                 "ClientConnections (AWS/EFS): connections that used each file system.",
                 {}};
  auto snap = catalog_.snapshot();
  for (const auto& f : snap->file_systems()) {
    auto s = throttle_.stats(f.id);
    if (!s) continue;
    const std::string fsl = "file_system_id=\"" + metrics::label_value(f.id) + "\"";
    balance.samples.push_back({fsl, s->burst_credit_balance});
    permitted.samples.push_back({fsl, s->permitted_throughput});
    clients.samples.push_back({fsl, static_cast<double>(s->client_connections)});
    const std::pair<const char*, uint64_t> kinds[] = {{"metered", s->metered_io_bytes},
                                                      {"total", s->total_io_bytes},
                                                      {"data_read", s->data_read_io_bytes},
                                                      {"data_write", s->data_write_io_bytes},
                                                      {"metadata", s->metadata_io_bytes}};
    for (const auto& [k, v] : kinds)
      io.samples.push_back({fsl + ",kind=\"" + k + "\"", static_cast<double>(v)});
  }
  return {std::move(balance), std::move(permitted), std::move(io), std::move(clients)};
}

}  // namespace efs::server
