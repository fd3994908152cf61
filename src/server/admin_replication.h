// Emulator endpoint of replication:
//   POST /_efs-local/replication/run  [{"SourceFileSystemId": "fs-…"}]
//     syncs every replication now (or the one of that source) and answers
//     {"replications": [{"SourceFileSystemId", "DestinationFileSystemId",
//     "Status", "StatusMessage", "LastReplicatedTimestamp", "Synced",
//     "Full", "Created", "Updated", "Linked", "Removed", "BytesCopied"}]};
// and the Prometheus gauge efs_local_replication_seconds_since_last_sync.
#pragma once

#include "http/message.h"
#include "metrics/prometheus.h"
#include "server/replication_runner.h"

namespace efs::server {

http::Response handle_replication_run(const http::Request& req, ReplicationRunner& runner);

// efs_local_replication_seconds_since_last_sync{file_system_id,
// destination_file_system_id}: ReplicationRunner::lags().
metrics::Family replication_lag_family(const ReplicationRunner& runner);

}  // namespace efs::server
