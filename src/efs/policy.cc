// File system resource policies: PutFileSystemPolicy,
// DescribeFileSystemPolicy, DeleteFileSystemPolicy. The policy is checked as
// an IAM policy document (IAM JSON policy element reference) and stored as
// the caller wrote it.
#include <spdlog/spdlog.h>

#include <cctype>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "iam/policy.h"
#include "efs/internal.h"
#include "efs/regions.h"
#include "efs/service.h"
#include "meta/db.h"

namespace efs {

using namespace detail;

namespace {

Unexpected<ServiceError> invalid_policy(const std::string& why) {
  spdlog::info("efs: InvalidPolicyException: {}", why);
  return service_error(ErrorCode::InvalidPolicyException, "Invalid policy: " + why);
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

// ---- the lockout safety check ----
//
// PutFileSystemPolicy (API reference): "The lockout safety check determines
// whether the policy in the request will lock out, or prevent, the IAM
// principal that is making the request from making future
// PutFileSystemPolicy requests on this file system."
//
// Our interpretation: the caller is the account's root user (the access key
// names the account, request_context.h) in the file system's own account.
// Within one account an action is allowed when an identity policy or the
// resource policy allows it and nothing denies it explicitly (IAM policy
// evaluation logic); the root user needs no identity policy. So a file
// system policy locks the caller out exactly when one of its Deny
// statements applies to principal arn:<partition>:iam::<account>:root,
// action elasticfilesystem:PutFileSystemPolicy and the file system's ARN
// under the request's own context. A policy that merely grants nothing to
// the caller does not lock it out (EFS accepts the everyday "allow
// ClientMount to *" policies without the bypass). Conditions are evaluated
// for the keys a caller's request defines here (aws:SecureTransport true,
// as every AWS API call is HTTPS; aws:PrincipalAccount, aws:PrincipalArn,
// aws:PrincipalType "Account", aws:RequestedRegion); a Deny conditioned on
// any other key cannot be shown to apply and does not count.

// Only a Deny that surely applies counts: a condition on a key this request
// does not define (iam::Unknowns::skip_statement) cannot be shown to apply.
bool locks_out(const std::string& text, const RequestContext& ctx, const std::string& fs_arn) {
  auto policy = iam::Policy::parse(text);
  if (!policy) return false;
  iam::Request caller;
  caller.principal_account = ctx.account_id;
  caller.principal_arn = "arn:" + arn_partition(ctx.region) + ":iam::" + ctx.account_id + ":root";
  caller.action = "elasticfilesystem:PutFileSystemPolicy";
  caller.resource = fs_arn;
  caller.context = {
      {"aws:securetransport", "true"},
      {"aws:principalaccount", caller.principal_account},
      {"aws:principalarn", caller.principal_arn},
      {"aws:principaltype", "Account"},
      {"aws:requestedregion", ctx.region},
  };
  auto d = policy->evaluate(caller, iam::Unknowns::skip_statement);
  if (d.effect != iam::Effect::deny) return false;
  spdlog::info("efs: PutFileSystemPolicy: statement {} would deny {} future policy changes",
               d.statement, caller.principal_arn);
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

ApiResult<shapes::FileSystemPolicyDescription> Service::PutFileSystemPolicy(
    const RequestContext& ctx, const shapes::PutFileSystemPolicyRequest& in) {
  shapes::FileSystemPolicyDescription out;
  auto done = in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto fs = require_file_system(c, ctx, in.FileSystemId);
    if (!fs.ok()) return fail(fs.error());
    if (auto st = state_of(*fs); !usable(st)) return detail::incorrect_fs_state(fs->id, st);
    const std::string& policy = in.Policy;
    auto ok = check_policy(policy);
    if (!ok.ok()) return fail(ok.error());
    if (!in.BypassPolicyLockoutSafetyCheck.value_or(false)) {
      if (locks_out(policy, ctx, file_system_arn(fs->region, fs->account, fs->id))) {
        spdlog::info("efs: PutFileSystemPolicy {}: the policy would lock out the caller", fs->id);
        return service_error(
            ErrorCode::InvalidPolicyException,
            "This policy would prevent future FileSystemPolicy updates. Retry the request with "
            "the BypassPolicyLockoutSafetyCheck parameter to apply this policy.");
      }
    }
    fs->doc["Policy"] = policy;
    store::update(c, *fs);
    out.FileSystemId = fs->id;
    out.Policy = policy;
    return json::object();
  });
  if (!done.ok()) return fail(done.error());
  return out;
}

ApiResult<shapes::FileSystemPolicyDescription> Service::DescribeFileSystemPolicy(
    const RequestContext& ctx, const shapes::DescribeFileSystemPolicyRequest& in) {
  shapes::FileSystemPolicyDescription out;
  auto done = in_read([&](meta::Conn& c) -> ApiResult<json> {
    auto fs = require_file_system(c, ctx, in.FileSystemId);
    if (!fs.ok()) return fail(fs.error());
    if (!fs->doc.contains("Policy"))
      return service_error(ErrorCode::PolicyNotFound,
                           "File system '" + fs->id + "' has no file system policy.");
    out.FileSystemId = fs->id;
    out.Policy = fs->doc["Policy"].get<std::string>();
    return json::object();
  });
  if (!done.ok()) return fail(done.error());
  return out;
}

ApiResult<nlohmann::json> Service::DeleteFileSystemPolicy(
    const RequestContext& ctx, const shapes::DeleteFileSystemPolicyRequest& in) {
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto fs = require_file_system(c, ctx, in.FileSystemId);
    if (!fs.ok()) return fail(fs.error());
    if (auto st = state_of(*fs); !usable(st)) return detail::incorrect_fs_state(fs->id, st);
    // Deleting an absent policy succeeds: the result is the same.
    if (fs->doc.contains("Policy")) {
      fs->doc.erase("Policy");
      store::update(c, *fs);
    }
    return json::object();
  });
}

}  // namespace efs
