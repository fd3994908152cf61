#include "server/admin_lifecycle.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "server/admin.h"
#include "metrics/prometheus.h"

namespace efs::server {

using nlohmann::json;

namespace {

http::Response error(int status, const std::string& code, const std::string& message) {
  spdlog::info("/_efs-local/lifecycle/run: {}: {}", code, message);
  return admin_error(status, code, message);
}

constexpr vfs::StorageClass kClasses[] = {vfs::StorageClass::standard, vfs::StorageClass::ia,
                                          vfs::StorageClass::archive};

}  // namespace

http::Response handle_lifecycle_run(const http::Request& req, LifecycleRunner& runner) {
  if (req.method != "POST") return error(405, "MethodNotAllowed", "use POST");
  std::optional<std::string> fs_id;
  if (!req.body.empty()) {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object())
      return error(400, "BadRequest", "body must be a JSON object");
    for (auto it = body.begin(); it != body.end(); ++it)
      if (it.key() != "FileSystemId")
        return error(400, "BadRequest", "unknown member " + it.key() + " (only FileSystemId)");
    if (body.contains("FileSystemId")) {
      if (!body["FileSystemId"].is_string() ||
          !is_id(body["FileSystemId"].get<std::string>(), "fs"))
        return error(400, "BadRequest", "FileSystemId must be a file system id (fs-...)");
      fs_id = body["FileSystemId"].get<std::string>();
    }
  }
  auto moved = runner.run_now(fs_id);
  if (!moved)
    return error(404, "FileSystemNotFound", "File system '" + *fs_id + "' does not exist.");
  json out = {{"moved", json::array()}};
  for (const auto& m : *moved)
    out["moved"].push_back({{"FileSystemId", m.fs_id},
                            {"inode", m.ino},
                            {"path", m.path},
                            {"from", chunk::storage_class_name(m.from)},
                            {"to", chunk::storage_class_name(m.to)},
                            {"bytes", m.bytes}});
  return admin_json(200, out);
}

http::Response metrics_page(const MetricsSources& m) {
  using metrics::Family;
  std::vector<Family> extra;
  Family storage{"efs_local_storage_bytes",
                 "gauge",
                 "Metered size (SizeInBytes) of each file system, by storage class.",
                 {}};
  Family files{"efs_local_file_systems", "gauge", "File systems exported over NFS.", {}};
  auto snap = m.catalog.snapshot();
  files.samples.push_back({"", static_cast<double>(snap->file_systems().size())});
  for (const auto& f : snap->file_systems()) {
    auto fs = m.vfs.file_system(f.id);
    if (!fs) continue;
    MeteredSize size = fs->metered_size();
    const std::string fsl = "file_system_id=\"" + metrics::label_value(f.id) + "\"";
    storage.samples.push_back({fsl + ",storage_class=\"standard\"", double(size.standard)});
    storage.samples.push_back({fsl + ",storage_class=\"ia\"", double(size.ia)});
    storage.samples.push_back({fsl + ",storage_class=\"archive\"", double(size.archive)});
  }
  Family moves{"efs_local_lifecycle_transitions_total",
               "counter",
               "Files the lifecycle mover moved, by source and destination class.",
               {}};
  for (auto from : kClasses)
    for (auto to : kClasses)
      if (from != to)
        moves.samples.push_back({std::string("from=\"") + chunk::storage_class_name(from) +
                                     "\",to=\"" + chunk::storage_class_name(to) + "\"",
                                 double(m.lifecycle.transitions(from, to))});
  Family moved_bytes{"efs_local_lifecycle_moved_bytes_total",
                     "counter",
                     "Bytes the lifecycle mover copied between classes.",
                     {{"", double(m.lifecycle.bytes_moved())}}};
  Family conns{"efs_local_open_connections", "gauge", "Open client connections, by protocol.", {}};
  if (m.nfs_connections) conns.samples.push_back({"protocol=\"nfs\"", double(m.nfs_connections())});
  if (m.http_connections)
    conns.samples.push_back({"protocol=\"http\"", double(m.http_connections())});
  extra.push_back(std::move(storage));
  extra.push_back(std::move(files));
  extra.push_back(std::move(moves));
  extra.push_back(std::move(moved_bytes));
  extra.push_back(std::move(conns));
  if (m.more)
    for (auto& f : m.more()) extra.push_back(std::move(f));
  http::Response r;
  r.status = 200;
  r.set_header("Content-Type", metrics::kContentType);
  r.body = metrics::Registry::global().render(extra);
  return r;
}

}  // namespace efs::server
