// The emulator's throughput controls, under /_efs-local/file-systems/{id}/:
//   PUT  burst-credits  {"bytes": N}  sets the burst credit balance (so a test
//                                     can watch a bursting file system run
//                                     out of credits without writing TiBs);
//   GET  burst-credits                the balance;
//   GET  throughput                   every figure the throttle keeps (the
//                                     counters CloudWatch's AWS/EFS metrics
//                                     are made of).
#include <spdlog/spdlog.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "server/admin.h"
#include "throughput/throttle.h"

namespace efs::server {

using nlohmann::json;

namespace {

json stats_json(const std::string& id, const throughput::Stats& s) {
  return {{"FileSystemId", id},
          {"ThroughputMode", std::string(throughput::to_string(s.mode))},
          {"BurstCreditBalance", s.burst_credit_balance},
          {"PermittedThroughput", s.permitted_throughput},
          {"MeteredIOBytes", s.metered_io_bytes},
          {"TotalIOBytes", s.total_io_bytes},
          {"DataReadIOBytes", s.data_read_io_bytes},
          {"DataWriteIOBytes", s.data_write_io_bytes},
          {"MetadataIOBytes", s.metadata_io_bytes},
          {"ClientConnections", s.client_connections}};
}

}  // namespace

std::optional<http::Response> handle_throughput_admin(const http::Request& req,
                                                      const std::string& what,
                                                      throughput::Throttle* throttle) {
  static const std::string kPrefix = "file-systems/";
  if (what.rfind(kPrefix, 0) != 0) return std::nullopt;
  auto slash = what.find('/', kPrefix.size());
  if (slash == std::string::npos) return std::nullopt;
  const std::string fs_id = what.substr(kPrefix.size(), slash - kPrefix.size());
  const std::string leaf = what.substr(slash + 1);
  if (leaf != "burst-credits" && leaf != "throughput") return std::nullopt;
  if (!throttle) return admin_error(503, "ServiceUnavailable", "throughput metering is not running");

  if (leaf == "throughput" || req.method == "GET") {
    if (req.method != "GET") return admin_error(405, "MethodNotAllowed", "use GET");
    auto s = throttle->stats(fs_id);
    if (!s) return admin_error(404, "FileSystemNotFound", "File system '" + fs_id + "' does not exist.");
    return admin_json(200, stats_json(fs_id, *s));
  }
  if (req.method != "PUT") return admin_error(405, "MethodNotAllowed", "use GET or PUT");
  json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return admin_error(400, "BadRequest", "body must be a JSON object");
  auto it = body.find("bytes");
  if (it == body.end() || !it->is_number() || !std::isfinite(it->get<double>()) ||
      it->get<double>() < 0)
    return admin_error(400, "BadRequest", "bytes must be a number of bytes, 0 or more");
  auto set = throttle->set_burst_credits(fs_id, it->get<double>());
  if (!set) return admin_error(404, "FileSystemNotFound", "File system '" + fs_id + "' does not exist.");
  spdlog::info("throughput: burst credit balance of {} set to {} bytes", fs_id, *set);
  auto s = throttle->stats(fs_id);
  return admin_json(200, stats_json(fs_id, *s));
}

}  // namespace efs::server
