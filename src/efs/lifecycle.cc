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

ApiResult<nlohmann::json> Service::PutLifecycleConfiguration(const RequestContext& ctx,
                                                             const json& in) {
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto fs = require_available_file_system(c, ctx, in);
    if (!fs.ok()) return fail(fs.error());
    const json policies = in.value("LifecyclePolicies", json::array());
    if (!policies.is_array()) return bad_request("LifecyclePolicies must be a list.");
    std::map<std::string, std::string> seen;
    for (const auto& p : policies) {
      // EFS requires one transition per LifecyclePolicy object, and at most
      // one policy of each kind.
      if (!p.is_object() || p.size() != 1)
        return bad_request("Each LifecyclePolicy must contain exactly one transition.");
      auto [key, value] = *p.items().begin();
      if (seen.count(key)) return bad_request("Only one " + key + " policy is allowed.");
      seen[key] = value.get<std::string>();
    }
    if (seen.count("TransitionToArchive")) {
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
      if (seen.count("TransitionToIA") &&
          days_of(seen["TransitionToArchive"]) <= days_of(seen["TransitionToIA"]))
        return bad_request("TransitionToArchive must be later than TransitionToIA.");
    }
    fs->doc["LifecyclePolicies"] = policies;
    store::update(c, *fs);
    spdlog::info("efs: lifecycle of {}: {}", fs->id, policies.dump());
    return json{{"LifecyclePolicies", policies}};
  });
}

ApiResult<nlohmann::json> Service::DescribeLifecycleConfiguration(const RequestContext& ctx,
                                                                  const json& in) {
  return in_read([&](meta::Conn& c) -> ApiResult<json> {
    auto fs = require_file_system(c, ctx, in);
    if (!fs.ok()) return fail(fs.error());
    return json{{"LifecyclePolicies", fs->doc.value("LifecyclePolicies", json::array())}};
  });
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
