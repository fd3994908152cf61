// Emulator endpoints of storage classes and the Prometheus page:
//   POST /_efs-local/lifecycle/run  [{"FileSystemId": "fs-…"}]
//     runs the lifecycle mover now and answers
//     {"moved": [{"FileSystemId", "inode", "path", "from", "to", "bytes"}]};
//   GET /_efs-local/metrics (Prometheus text, version 0.0.4).
#pragma once

#include <functional>
#include <string>

#include "efs/catalog.h"
#include "http/message.h"
#include "metrics/prometheus.h"
#include "server/lifecycle_runner.h"
#include "vfs/vfs.h"

namespace efs::server {

http::Response handle_lifecycle_run(const http::Request& req, LifecycleRunner& runner);

struct MetricsSources {
  vfs::Vfs& vfs;
  const Catalog& catalog;
  const LifecycleRunner& lifecycle;
  std::function<std::size_t()> nfs_connections;
  std::function<std::size_t()> http_connections;
  // More families from other parts of the server (the AWS/EFS figures of
  // server/cloudwatch_metrics.h, replication lag).
  std::function<std::vector<metrics::Family>()> more = nullptr;
};
// The whole page: NFS and API latency histograms (metrics/prometheus.h),
// storage bytes per file system and class (SizeInBytes' arithmetic),
// transitions done, open connections.
http::Response metrics_page(const MetricsSources& m);

}  // namespace efs::server
