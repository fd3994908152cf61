#include "server/admin.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "server/admin_ui.h"

namespace efs::server {

using nlohmann::json;

namespace {

json clock_state() {
  auto& c = Clock::global();
  return {{"now", format_utc(c.now())},
          {"now_epoch_seconds", c.now_epoch_seconds()},
          {"offset_seconds",
           std::chrono::duration_cast<std::chrono::duration<double>>(c.offset()).count()}};
}

}  // namespace

http::Response admin_json(int status, const json& body) {
  http::Response r;
  r.status = status;
  r.set_header("Content-Type", "application/json");
  // Messages quote the request path, which is any bytes after percent-
  // decoding: invalid UTF-8 becomes U+FFFD instead of a dump() exception
  // (quotes, backslashes and control bytes are escaped by dump() itself).
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

http::Response admin_error(int status, const std::string& code, const std::string& message) {
  return admin_json(status, {{"ErrorCode", code}, {"Message", message}});
}

bool is_admin_request(const http::Request& req) {
  return req.path.rfind("/_efs-local/", 0) == 0;
}

http::Response handle_admin(const http::Request& req, const AdminInfo& info) {
  const std::string what = req.path.substr(std::string("/_efs-local/").size());
  if (what == "health") {
    if (req.method != "GET" && req.method != "HEAD")
      return admin_error(405, "MethodNotAllowed", "use GET");
    auto up = std::chrono::steady_clock::now() - info.started;
    return admin_json(200, {{"status", "ok"},
                            {"version", info.version},
                            {"data_dir", info.data_dir},
                            {"api_port", info.api_port},
                            {"nfs_port", info.nfs_port},
                            {"uptime_seconds", std::chrono::duration<double>(up).count()}});
  }
  if (what == "clock") {
    if (req.method == "GET") return admin_json(200, clock_state());
    if (req.method != "POST") return admin_error(405, "MethodNotAllowed", "use GET or POST");
    // POST {"advance_seconds": N}: moves the emulator's clock forward by N
    // seconds (N >= 0). The clock never goes back: leases, lifecycle ages and
    // throughput cooldowns only ever see time pass.
    json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object())
      return admin_error(400, "BadRequest", "body must be a JSON object");
    auto it = body.find("advance_seconds");
    if (it == body.end() || !it->is_number() || it->get<double>() < 0 ||
        it->get<double>() > 100.0 * 365 * 86400)
      return admin_error(400, "BadRequest",
                         "advance_seconds must be a number between 0 and 3153600000");
    auto d = std::chrono::duration<double>(it->get<double>());
    if (info.clock_advancing) info.clock_advancing();
    Clock::global().advance(std::chrono::duration_cast<Clock::duration>(d));
    if (info.clock_advanced) info.clock_advanced();
    spdlog::info("clock advanced by {} s, now {}", it->get<double>(),
                 format_utc(Clock::global().now()));
    return admin_json(200, clock_state());
  }
  if (what == "metrics") {
    if (req.method != "GET") return admin_error(405, "MethodNotAllowed", "use GET");
    if (info.metrics_page) return info.metrics_page();
    return admin_error(503, "ServiceUnavailable", "metrics are not available");
  }
  if (what == "lifecycle/run") {
    if (info.lifecycle_run) return info.lifecycle_run(req);
    return admin_error(503, "ServiceUnavailable", "the lifecycle mover is not running");
  }
  if (what == "replication/run") {
    if (info.replication_run) return info.replication_run(req);
    return admin_error(503, "ServiceUnavailable", "the replicator is not running");
  }
  if (what == "status") {
    // What /_efs-local/metrics served before it became Prometheus text.
    if (req.method != "GET") return admin_error(405, "MethodNotAllowed", "use GET");
    json m = json::object();
    if (info.metrics_json) {
      auto extra = json::parse(info.metrics_json(), nullptr, false);
      if (extra.is_object()) m = extra;
    }
    m["clock"] = clock_state();
    return admin_json(200, m);
  }
  if (auto r = handle_throughput_admin(req, what, info.throttle)) return std::move(*r);
  if (auto r = handle_ui(req, what)) return std::move(*r);  // the dashboard (admin_ui.h)
  return admin_error(404, "NotFound", "unknown emulator endpoint " + req.path);
}

}  // namespace efs::server
