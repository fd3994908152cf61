// How efs::Service builds, publishes and reschedules the catalog (the
// declarations are in service.h; the snapshot's own indexes are in
// catalog_snapshot.cc, which the data plane links without the service).
//
// Every change the NFS server must see reaches it through publish_catalog():
//  - an API write that commits (in_write),
//  - a lifecycle transition: settle() commits it, runs the DataPlane hooks,
//    then publishes; the TransitionTimer calls settle() at the emulator-clock
//    time of the next transition, which each publish computes,
//  - a clock advance (clock_advanced(), from POST /_efs-local/clock).
// Nothing rebuilds the snapshot on a period.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

#include "efs/internal.h"
#include "efs/service.h"
#include "iam/policy.h"
#include "meta/db.h"

namespace efs {

// ---- Service: building and publishing ----

namespace {

// "AFTER_30_DAYS" -> 30 (values PutLifecycleConfiguration accepted).
std::optional<int> rule_days(const nlohmann::json& v) {
  if (!v.is_string()) return std::nullopt;
  int days = 0;
  for (char ch : v.get<std::string>())
    if (ch >= '0' && ch <= '9') days = days * 10 + (ch - '0');
  if (days <= 0) return std::nullopt;
  return days;
}

ExportedFileSystem exported(const Record& fs) {
  ExportedFileSystem e;
  e.id = fs.id;
  e.arn = detail::file_system_arn(fs.region, fs.account, fs.id);
  e.encrypted = fs.doc.value("Encrypted", false);
  e.kms_key_id = fs.doc.value("KmsKeyId", "");
  if (fs.doc.contains("Policy") && fs.doc["Policy"].is_string()) {
    // PutFileSystemPolicy checked the document; a stored one that no longer
    // compiles (an older build's) denies everything rather than nothing.
    auto p = iam::Policy::parse(fs.doc["Policy"].get<std::string>());
    if (!p) {
      spdlog::error(
          "efs: {}: the stored file system policy does not compile; denying all NFS access", fs.id);
      p = iam::Policy::parse(R"({"Statement":[]})");
    }
    e.policy = std::make_shared<const ExportPolicy>(ExportPolicy{std::move(*p), e.arn});
  }
  e.throughput_mode = fs.doc.value("ThroughputMode", "bursting");
  e.provisioned_mibps = fs.doc.value("ProvisionedThroughputInMibps", 0.0);
  e.read_only = fs.doc.value("ReplicationOverwriteProtection", "") == "REPLICATING";
  if (auto it = fs.doc.find("LifecyclePolicies"); it != fs.doc.end() && it->is_array()) {
    for (const auto& p : *it) {
      if (!p.is_object()) continue;
      if (p.contains("TransitionToIA")) e.transition_to_ia_days = rule_days(p["TransitionToIA"]);
      if (p.contains("TransitionToArchive"))
        e.transition_to_archive_days = rule_days(p["TransitionToArchive"]);
      if (p.value("TransitionToPrimaryStorageClass", "") == "AFTER_1_ACCESS")
        e.transition_to_primary_on_access = true;
    }
  }
  return e;
}

ExportedAccessPoint exported_ap(const Record& ap) {
  ExportedAccessPoint e;
  e.id = ap.id;
  e.arn = detail::access_point_arn(ap.region, ap.account, ap.id);
  e.fs_id = ap.parent_id;
  const auto& d = ap.doc;
  if (d.contains("PosixUser")) {
    PosixUser u;
    u.uid = d["PosixUser"].value("Uid", uint32_t{0});
    u.gid = d["PosixUser"].value("Gid", uint32_t{0});
    if (d["PosixUser"].contains("SecondaryGids"))
      for (const auto& g : d["PosixUser"]["SecondaryGids"]) u.secondary_gids.push_back(g);
    e.posix_user = u;
  }
  if (d.contains("RootDirectory")) {
    const auto& rd = d["RootDirectory"];
    e.root_path = rd.value("Path", "/");
    if (rd.contains("CreationInfo")) {
      CreationInfo ci;
      ci.owner_uid = rd["CreationInfo"].value("OwnerUid", uint32_t{0});
      ci.owner_gid = rd["CreationInfo"].value("OwnerGid", uint32_t{0});
      ci.permissions = static_cast<uint32_t>(
          std::stoul(rd["CreationInfo"].value("Permissions", std::string("755")), nullptr, 8));
      e.creation_info = ci;
    }
  }
  return e;
}

// Past the due time by this much before the timer fires: settle()'s query
// compares created_at <= now - delay, which may round the other way than
// created_at + delay <= now by an ulp.
constexpr double kDueSlackSeconds = 0.001;
// After a failed rebuild, retry this much later (emulator-clock seconds).
constexpr double kRetrySeconds = 1.0;

}  // namespace

Service::~Service() {
  std::unique_ptr<TransitionTimer> timer;
  {
    std::lock_guard lk(catalog_mu_);
    timer = std::move(timer_);
  }
  timer.reset();  // joins; its settle() finds timer_ empty and does not reschedule
}

std::shared_ptr<const CatalogSnapshot> Service::snapshot() const {
  return catalog_.get();
}

void Service::publish_catalog() {
  std::lock_guard lk(catalog_mu_);
  publish_catalog_locked();
}

void Service::publish_catalog_locked() {
  std::vector<ExportedFileSystem> file_systems;
  std::vector<ExportedAccessPoint> access_points;
  std::vector<MountTargetAddress> mount_targets;
  std::optional<double> next_due;
  auto r = in_read([&](meta::Conn& c) -> ApiResult<json> {
    // Every write rebuilds the snapshot, so only rows that may be exported
    // are read (SQL filters on the columns; state_of still decides).
    const double created_before = now() - delay_seconds();
    // "notified": the data plane has created the root before we export it.
    std::set<std::string> exported_fs;
    std::map<std::string, std::string> replicated;  // source -> destination
    for (const auto& rep : store::list_all(c, kind::kReplication))
      replicated[rep.id] = rep.parent_id;
    for (const auto& fs : store::exportable(c, kind::kFileSystem, created_before, true)) {
      if (usable(state_of(fs))) {
        file_systems.push_back(exported(fs));
        if (auto it = replicated.find(fs.id); it != replicated.end())
          file_systems.back().replication_destination = it->second;
        exported_fs.insert(fs.id);
      }
    }
    for (const auto& ap : store::exportable(c, kind::kAccessPoint, created_before, false))
      if (state_of(ap) == "available" && exported_fs.count(ap.parent_id))
        access_points.push_back(exported_ap(ap));
    for (const auto& mt : store::exportable(c, kind::kMountTarget, created_before, false)) {
      if (state_of(mt) != "available") continue;
      if (mt.doc.contains("IpAddress"))
        mount_targets.push_back({mt.id, mt.parent_id, mt.doc["IpAddress"].get<std::string>()});
      if (mt.doc.contains("Ipv6Address"))
        mount_targets.push_back({mt.id, mt.parent_id, mt.doc["Ipv6Address"].get<std::string>()});
    }
    // Every record not settled yet, whenever due: the earliest is when the
    // snapshot may next change without a write.
    if (auto at = store::earliest_unsettled(c)) next_due = *at + delay_seconds();
    return json();
  });
  if (!r.ok()) {
    // Readers keep the previous snapshot; try again soon.
    spdlog::error("efs: cannot rebuild the export catalog: {} ({})", r.error().code,
                  r.error().message);
    if (timer_) timer_->schedule(now() + kRetrySeconds);
    return;
  }
  catalog_.publish(
      std::make_shared<const CatalogSnapshot>(++catalog_generation_, std::move(file_systems),
                                              std::move(access_points), std::move(mount_targets)));
  if (timer_) {
    if (next_due) *next_due += kDueSlackSeconds;
    timer_->schedule(next_due);
  }
}

void Service::start_transition_timer() {
  std::lock_guard lk(catalog_mu_);
  if (timer_) return;
  timer_ = std::make_unique<TransitionTimer>(clock_, [this] {
    // Nothing committed (a transition settled by an operation meanwhile, or
    // rounding): republish anyway, which reschedules.
    if (!settle()) publish_catalog();
  });
  publish_catalog_locked();  // the first snapshot, and the first due time
}

void Service::clock_advanced() {
  if (!settle()) publish_catalog();
}

}  // namespace efs
