// Emulator-only endpoints under /_efs-local/: health, clock, status,
// metrics (Prometheus text), lifecycle/run (server/admin_lifecycle.h).
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "http/message.h"

namespace efs::throughput {
class Throttle;
}

namespace efs::server {

struct AdminInfo {
  std::string version;
  std::string data_dir;
  uint16_t api_port = 0;
  uint16_t nfs_port = 0;
  std::chrono::steady_clock::time_point started;
  // Extra JSON members for /_efs-local/status (filled by the server).
  std::function<std::string()> metrics_json;
  // GET /_efs-local/metrics and POST /_efs-local/lifecycle/run.
  std::function<http::Response()> metrics_page;
  std::function<http::Response(const http::Request&)> lifecycle_run;
  // POST /_efs-local/replication/run (server/admin_replication.h).
  std::function<http::Response(const http::Request&)> replication_run;
  // Runs after POST /_efs-local/clock moved the clock, before the reply: the
  // EFS model settles what became due and republishes its catalog.
  std::function<void()> clock_advanced;
  // Runs before POST /_efs-local/clock moves the clock: the CloudWatch
  // sampler takes the figures as they stand before the jump.
  std::function<void()> clock_advancing;
  // Throughput metering (admin_throughput.cc: burst-credits, throughput).
  throughput::Throttle* throttle = nullptr;
};

// The JSON answers every /_efs-local/ endpoint gives (admin.cc,
// admin_lifecycle.cc, admin_throughput.cc): a body, and an error as
// {"ErrorCode", "Message"}.
http::Response admin_json(int status, const nlohmann::json& body);
http::Response admin_error(int status, const std::string& code, const std::string& message);

// True if the request is for /_efs-local/.
bool is_admin_request(const http::Request& req);
http::Response handle_admin(const http::Request& req, const AdminInfo& info);
// /_efs-local/file-systems/{FileSystemId}/burst-credits and .../throughput
// (admin_throughput.cc); nullopt for any other path.
std::optional<http::Response> handle_throughput_admin(const http::Request& req,
                                                      const std::string& what,
                                                      throughput::Throttle* throttle);

}  // namespace efs::server
