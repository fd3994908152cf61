// Storage lifecycle (PutLifecycleConfiguration, DescribeLifecycleConfiguration)
// and AWS Backup's automatic backups (PutBackupPolicy, DescribeBackupPolicy).
#include <spdlog/spdlog.h>

#include <map>

#include "efs/internal.h"
#include "efs/service.h"
#include "meta/db.h"

namespace efs {

using namespace detail;

namespace {

// "AFTER_30_DAYS" -> 30; "AFTER_1_DAY" -> 1.
int days_of(const std::string& rule) {
  int days = 0;
  for (char ch : rule)
    if (ch >= '0' && ch <= '9') days = days * 10 + (ch - '0');
  return days;
}

}  // namespace

ApiResult<shapes::LifecycleConfigurationDescription> Service::PutLifecycleConfiguration(
    const RequestContext& ctx, const shapes::PutLifecycleConfigurationRequest& in) {
  std::optional<shapes::LifecycleConfigurationDescription> out;
  auto done = in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto fs = require_file_system(c, ctx, in.FileSystemId);
    if (!fs.ok()) return fail(fs.error());
    if (auto st = state_of(*fs); !usable(st)) return incorrect_fs_state(fs->id, st);
    // EFS requires one transition per LifecyclePolicy object, and at most
    // one policy of each kind.
    std::optional<int> to_ia, to_archive;
    bool to_primary = false;
    for (const auto& p : in.LifecyclePolicies) {
      int set = int(p.TransitionToIA.has_value()) + int(p.TransitionToArchive.has_value()) +
                int(p.TransitionToPrimaryStorageClass.has_value());
      if (set != 1) return bad_request("Each LifecyclePolicy must contain exactly one transition.");
      if (p.TransitionToIA) {
        if (to_ia) return bad_request("Only one TransitionToIA policy is allowed.");
        to_ia = days_of(std::string(to_string(*p.TransitionToIA)));
      } else if (p.TransitionToArchive) {
        if (to_archive) return bad_request("Only one TransitionToArchive policy is allowed.");
        to_archive = days_of(std::string(to_string(*p.TransitionToArchive)));
      } else {
        if (to_primary)
          return bad_request("Only one TransitionToPrimaryStorageClass policy is allowed.");
        to_primary = true;
      }
    }
    if (to_archive) {
      // The Archive class needs Elastic throughput and General Purpose
      // (EFS API reference, PutLifecycleConfiguration).
      // EFS's words for the throughput case (as seen from AWS CDK's tests).
      if (fs->doc["ThroughputMode"] != "elastic")
        return bad_request(
            "The ThroughputMode value for the file system does not support TransitionToArchive. "
            "Either change the ThroughputMode value to Elastic or remove the TransitionToArchive "
            "parameter.");
      if (fs->doc["PerformanceMode"] != "generalPurpose")
        return bad_request(
            "The PerformanceMode value for the file system does not support "
            "TransitionToArchive. Remove the TransitionToArchive parameter.");
      // Files reach Archive only after IA: the archive age must be later.
      if (to_ia && *to_archive <= *to_ia)
        return bad_request("TransitionToArchive must be later than TransitionToIA.");
    }
    json policies = in.LifecyclePolicies;
    fs->doc["LifecyclePolicies"] = policies;
    store::update(c, *fs);
    spdlog::info("efs: lifecycle of {}: {}", fs->id, policies.dump());
    out.emplace();
    out->LifecyclePolicies = in.LifecyclePolicies;
    return json::object();
  });
  if (!done.ok()) return fail(done.error());
  return std::move(*out);
}

ApiResult<shapes::LifecycleConfigurationDescription> Service::DescribeLifecycleConfiguration(
    const RequestContext& ctx, const shapes::DescribeLifecycleConfigurationRequest& in) {
  shapes::LifecycleConfigurationDescription out;
  auto done = in_read([&](meta::Conn& c) -> ApiResult<json> {
    auto fs = require_file_system(c, ctx, in.FileSystemId);
    if (!fs.ok()) return fail(fs.error());
    // Stored by PutLifecycleConfiguration from the same shapes.
    out.LifecyclePolicies =
        fs->doc.value("LifecyclePolicies", json::array()).get<std::vector<shapes::LifecyclePolicy>>();
    return json::object();
  });
  if (!done.ok()) return fail(done.error());
  return out;
}

namespace {

// ENABLING and DISABLING last state_delay after a change, then settle.
std::string backup_status(const nlohmann::json& policy, double now, double delay) {
  std::string status = policy.value("Status", "DISABLED");
  double changed = policy.value("ChangedAt", 0.0);
  if (now < changed + delay) return status == "ENABLED" ? "ENABLING" : "DISABLING";
  return status;
}

// The typed answer of both backup policy operations.
shapes::BackupPolicyDescription backup_description(const std::string& status) {
  shapes::BackupPolicy policy;
  from_string(status, policy.Status);  // backup_status yields only Status values
  shapes::BackupPolicyDescription out;
  out.BackupPolicy = policy;
  return out;
}

}  // namespace

ApiResult<shapes::BackupPolicyDescription> Service::PutBackupPolicy(
    const RequestContext& ctx, const shapes::PutBackupPolicyRequest& in) {
  std::string status;
  auto done = in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto fs = require_file_system(c, ctx, in.FileSystemId);
    if (!fs.ok()) return fail(fs.error());
    if (auto s = state_of(*fs); !usable(s)) return incorrect_fs_state(fs->id, s);
    const shapes::Status given = in.BackupPolicy.Status;
    if (given != shapes::Status::ENABLED && given != shapes::Status::DISABLED)
      return validation("BackupPolicy Status must be ENABLED or DISABLED.");
    std::string want(to_string(given));
    auto& policy = fs->doc["BackupPolicy"];
    if (policy.value("Status", "DISABLED") != want) {
      policy["Status"] = want;
      policy["ChangedAt"] = now();
      store::update(c, *fs);
    }
    status = backup_status(policy, now(), delay_seconds());
    return json::object();
  });
  if (!done.ok()) return fail(done.error());
  return backup_description(status);
}

ApiResult<shapes::BackupPolicyDescription> Service::DescribeBackupPolicy(
    const RequestContext& ctx, const shapes::DescribeBackupPolicyRequest& in) {
  std::string status;
  auto done = in_read([&](meta::Conn& c) -> ApiResult<json> {
    auto fs = require_file_system(c, ctx, in.FileSystemId);
    if (!fs.ok()) return fail(fs.error());
    const auto policy = fs->doc.value("BackupPolicy", json::object());
    status = backup_status(policy, now(), delay_seconds());
    return json::object();
  });
  if (!done.ok()) return fail(done.error());
  return backup_description(status);
}

}  // namespace efs
