// File system resource policies: PutFileSystemPolicy,
// DescribeFileSystemPolicy, DeleteFileSystemPolicy. The policy is checked as
// an IAM policy document (IAM JSON policy element reference) and stored as
// the caller wrote it.
#include <spdlog/spdlog.h>

#include "efs/internal.h"
#include "efs/service.h"
#include "meta/db.h"

namespace efs {

using namespace detail;

namespace {

Unexpected<ServiceError> invalid_policy(const std::string& why) {
  spdlog::info("efs: InvalidPolicyException: {}", why);
  return service_error("InvalidPolicyException", 400, "Invalid policy: " + why);
}

bool string_or_strings(const nlohmann::json& j) {
  if (j.is_string()) return !j.get<std::string>().empty();
  if (!j.is_array() || j.empty()) return false;
  for (const auto& e : j)
    if (!e.is_string()) return false;
  return true;
}

// Principal: "*" or {"AWS"|"Service"|"Federated"|"CanonicalUser": string or list}.
bool valid_principal(const nlohmann::json& j) {
  if (j.is_string()) return j == "*";
  if (!j.is_object() || j.empty()) return false;
  for (const auto& [k, v] : j.items()) {
    if (k != "AWS" && k != "Service" && k != "Federated" && k != "CanonicalUser") return false;
    if (!string_or_strings(v)) return false;
  }
  return true;
}

Result<bool, ServiceError> check_statement(const nlohmann::json& s) {
  if (!s.is_object()) return invalid_policy("each Statement must be an object.");
  for (const auto& [k, v] : s.items()) {
    (void)v;
    if (k != "Sid" && k != "Effect" && k != "Principal" && k != "NotPrincipal" && k != "Action" &&
        k != "NotAction" && k != "Resource" && k != "NotResource" && k != "Condition")
      return invalid_policy("unknown statement element '" + k + "'.");
  }
  if (s.contains("Sid") && !s["Sid"].is_string()) return invalid_policy("Sid must be a string.");
  if (!s.contains("Effect") || (s["Effect"] != "Allow" && s["Effect"] != "Deny"))
    return invalid_policy("Effect must be \"Allow\" or \"Deny\".");
  // A resource policy names who it applies to.
  if (s.contains("Principal") == s.contains("NotPrincipal"))
    return invalid_policy("a statement needs exactly one of Principal or NotPrincipal.");
  if (!valid_principal(s.contains("Principal") ? s["Principal"] : s["NotPrincipal"]))
    return invalid_policy("Principal must be \"*\" or a map of principal types.");
  if (s.contains("Action") == s.contains("NotAction"))
    return invalid_policy("a statement needs exactly one of Action or NotAction.");
  if (!string_or_strings(s.contains("Action") ? s["Action"] : s["NotAction"]))
    return invalid_policy("Action must be a string or a list of strings.");
  if (s.contains("Resource") && s.contains("NotResource"))
    return invalid_policy("Resource and NotResource cannot both be present.");
  for (const char* r : {"Resource", "NotResource"})
    if (s.contains(r) && !string_or_strings(s[r]))
      return invalid_policy(std::string(r) + " must be a string or a list of strings.");
  if (s.contains("Condition") && !s["Condition"].is_object())
    return invalid_policy("Condition must be an object.");
  return true;
}

}  // namespace

static Result<bool, ServiceError> check_policy(const std::string& text) {
  auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return invalid_policy("the policy is not valid JSON.");
  if (!doc.is_object()) return invalid_policy("the policy must be a JSON object.");
  for (const auto& [k, v] : doc.items()) {
    (void)v;
    if (k != "Version" && k != "Id" && k != "Statement")
      return invalid_policy("unknown policy element '" + k + "'.");
  }
  if (doc.contains("Version") && doc["Version"] != "2012-10-17" && doc["Version"] != "2008-10-17")
    return invalid_policy("Version must be \"2012-10-17\" or \"2008-10-17\".");
  if (!doc.contains("Statement")) return invalid_policy("the policy has no Statement.");
  const auto& st = doc["Statement"];
  if (st.is_object()) return check_statement(st);
  if (!st.is_array() || st.empty())
    return invalid_policy("Statement must be an object or a non-empty list.");
  for (const auto& s : st) {
    auto r = check_statement(s);
    if (!r.ok()) return r;
  }
  return true;
}

ApiResult<nlohmann::json> Service::PutFileSystemPolicy(const RequestContext& ctx, const json& in) {
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto fs = require_available_file_system(c, ctx, in);
    if (!fs.ok()) return fail(fs.error());
    std::string policy = in.value("Policy", "");
    auto ok = check_policy(policy);
    if (!ok.ok()) return fail(ok.error());
    // BypassPolicyLockoutSafetyCheck is accepted; this emulator does not
    // evaluate policies against callers, so there is nothing to lock out.
    fs->doc["Policy"] = policy;
    store::update(c, *fs);
    return json{{"FileSystemId", fs->id}, {"Policy", policy}};
  });
}

ApiResult<nlohmann::json> Service::DescribeFileSystemPolicy(const RequestContext& ctx,
                                                            const json& in) {
  return in_read([&](meta::Conn& c) -> ApiResult<json> {
    auto fs = require_file_system(c, ctx, in);
    if (!fs.ok()) return fail(fs.error());
    if (!fs->doc.contains("Policy"))
      return service_error("PolicyNotFound", 404,
                           "File system '" + fs->id + "' has no file system policy.");
    return json{{"FileSystemId", fs->id}, {"Policy", fs->doc["Policy"]}};
  });
}

ApiResult<nlohmann::json> Service::DeleteFileSystemPolicy(const RequestContext& ctx,
                                                          const json& in) {
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto fs = require_available_file_system(c, ctx, in);
    if (!fs.ok()) return fail(fs.error());
    // Deleting an absent policy succeeds: the result is the same.
    if (fs->doc.contains("Policy")) {
      fs->doc.erase("Policy");
      store::update(c, *fs);
    }
    return json::object();
  });
}

}  // namespace efs
