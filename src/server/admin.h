// Emulator-only endpoints under /_efs-local/: health, clock, metrics.
#pragma once

#include <chrono>
#include <functional>
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
  // Extra JSON members for /_efs-local/metrics (filled by the server).
  std::function<std::string()> metrics_json;
  // Runs after POST /_efs-local/clock moved the clock, before the reply: the
  // EFS model settles what became due and republishes its catalog.
  std::function<void()> clock_advanced;
  // Throughput metering (admin_throughput.cc: burst-credits, throughput).
  throughput::Throttle* throttle = nullptr;
};

// True if the request is for /_efs-local/.
bool is_admin_request(const http::Request& req);
http::Response handle_admin(const http::Request& req, const AdminInfo& info);
// /_efs-local/file-systems/{FileSystemId}/burst-credits and .../throughput
// (admin_throughput.cc); nullopt for any other path.
std::optional<http::Response> handle_throughput_admin(const http::Request& req,
                                                      const std::string& what,
                                                      throughput::Throttle* throttle);

}  // namespace efs::server
