#include "server/admin_replication.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/ids.h"
#include "server/admin.h"

namespace efs::server {

using nlohmann::json;

namespace {

http::Response error(int status, const std::string& code, const std::string& message) {
  spdlog::info("/_efs-local/replication/run: {}: {}", code, message);
  return admin_error(status, code, message);
}

std::string iso_time(double epoch_seconds) {
  return format_utc(Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(epoch_seconds))));
}

}  // namespace

http::Response handle_replication_run(const http::Request& req, ReplicationRunner& runner) {
  if (req.method != "POST") return error(405, "MethodNotAllowed", "use POST");
  std::optional<std::string> source;
  if (!req.body.empty()) {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object())
      return error(400, "BadRequest", "body must be a JSON object");
    for (auto it = body.begin(); it != body.end(); ++it)
      if (it.key() != "SourceFileSystemId")
        return error(400, "BadRequest",
                     "unknown member " + it.key() + " (only SourceFileSystemId)");
    if (body.contains("SourceFileSystemId")) {
      if (!body["SourceFileSystemId"].is_string() ||
          !is_id(body["SourceFileSystemId"].get<std::string>(), "fs"))
        return error(400, "BadRequest", "SourceFileSystemId must be a file system id (fs-...)");
      source = body["SourceFileSystemId"].get<std::string>();
    }
  }
  auto reports = runner.run_now(source);
  if (!reports) {
    if (reports.error().message == "ReplicationNotFound")
      return error(404, "ReplicationNotFound",
                   "File system '" + *source + "' is not the source of a replication.");
    return error(500, "InternalError", reports.error().message);
  }
  json out = {{"replications", json::array()}};
  for (const auto& r : *reports) {
    json j = {{"SourceFileSystemId", r.source},
              {"DestinationFileSystemId", r.destination},
              {"Status", r.status},
              {"Synced", r.synced},
              {"Full", r.stats.full},
              {"Created", r.stats.created},
              {"Updated", r.stats.updated},
              {"Linked", r.stats.linked},
              {"Removed", r.stats.removed},
              {"BytesCopied", r.stats.bytes}};
    if (!r.message.empty()) j["StatusMessage"] = r.message;
    if (r.last_replicated) {
      j["LastReplicatedTimestamp"] = *r.last_replicated;
      j["LastReplicated"] = iso_time(*r.last_replicated);
    }
    out["replications"].push_back(std::move(j));
  }
  return admin_json(200, out);
}

metrics::Family replication_lag_family(const ReplicationRunner& runner) {
  metrics::Family f{"efs_local_replication_seconds_since_last_sync",
                    "gauge",
                    "Emulator-clock seconds since the last completed sync of each replication "
                    "began (CloudWatch TimeSinceLastSync).",
                    {}};
  for (const auto& l : runner.lags())
    f.samples.push_back({"file_system_id=\"" + metrics::label_value(l.source) +
                             "\",destination_file_system_id=\"" +
                             metrics::label_value(l.destination) + "\"",
                         l.seconds_since_last_sync});
  return f;
}

}  // namespace efs::server
