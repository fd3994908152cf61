// A key's settings: rotation (Enable/Disable/GetKeyRotationStatus), its key
// policy (Get/Put/ListKeyPolicies) and tags (Tag/Untag/ListResourceTags).
#include <spdlog/spdlog.h>

#include <set>

#include "kms/internal.h"
#include "kms/service.h"
#include "meta/db.h"

namespace efs::kms {

using namespace detail;

namespace detail {

// KMS checks that a policy is a JSON document with statements; it does not
// evaluate policies here (efs-local authorizes every caller).
Result<void, ServiceError> check_policy(const std::string& policy) {
  auto doc = json::parse(policy, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("Statement"))
    return kms_error("MalformedPolicyDocumentException",
                     "The new key policy is not a JSON policy document with a Statement.");
  return {};
}

// A key holds at most 50 tags; keys starting with "aws:" are reserved.
Result<void, ServiceError> merge_tags(json& tags, const json& add) {
  for (const auto& t : add) {
    std::string k = t.value("TagKey", "");
    if (k.rfind("aws:", 0) == 0)
      return kms_error("TagException", "Tag keys beginning with 'aws:' are reserved: " + k);
    bool replaced = false;
    for (auto& have : tags) {
      if (have.value("TagKey", "") == k) {
        have["TagValue"] = t.value("TagValue", "");
        replaced = true;
      }
    }
    if (!replaced) tags.push_back({{"TagKey", k}, {"TagValue", t.value("TagValue", "")}});
  }
  if (tags.size() > 50)
    return kms_error("LimitExceededException", "A KMS key can have at most 50 tags.");
  return {};
}

}  // namespace detail

ApiResult<nlohmann::json> Service::EnableKeyRotation(const RequestContext& ctx, const json& in) {
  int days = in.value("RotationPeriodInDays", 365);
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto k = find_key(c, ctx, in.at("KeyId").get<std::string>(), false);
    if (!k) return fail(k.error());
    if (auto ok = check_customer_managed(*k, "EnableKeyRotation"); !ok) return fail(ok.error());
    if (auto ok = check_usable(*k); !ok) return fail(ok.error());
    if (!k->rotation_enabled || k->rotation_days != days) k->rotation_since = clock_.now_epoch_seconds();
    k->rotation_enabled = true;
    k->rotation_days = days;
    store::update_key(c, *k);
    return json::object();
  });
}

ApiResult<nlohmann::json> Service::DisableKeyRotation(const RequestContext& ctx, const json& in) {
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto k = find_key(c, ctx, in.at("KeyId").get<std::string>(), false);
    if (!k) return fail(k.error());
    if (auto ok = check_customer_managed(*k, "DisableKeyRotation"); !ok) return fail(ok.error());
    if (auto ok = check_usable(*k); !ok) return fail(ok.error());
    k->rotation_enabled = false;
    store::update_key(c, *k);
    return json::object();
  });
}

ApiResult<nlohmann::json> Service::GetKeyRotationStatus(const RequestContext& ctx,
                                                        const json& in) {
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto k = find_key(c, ctx, in.at("KeyId").get<std::string>(), false);
    if (!k) return fail(k.error());
    json out = {{"KeyRotationEnabled", k->rotation_enabled}, {"KeyId", key_arn(*k)}};
    if (k->rotation_enabled) {
      out["RotationPeriodInDays"] = k->rotation_days;
      out["NextRotationDate"] = k->rotation_since + k->rotation_days * 86400.0;
    }
    return out;
  });
}

ApiResult<nlohmann::json> Service::GetKeyPolicy(const RequestContext& ctx, const json& in) {
  std::string name = in.value("PolicyName", "default");
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto k = find_key(c, ctx, in.at("KeyId").get<std::string>(), false);
    if (!k) return fail(k.error());
    if (name != "default") return not_found("No such policy exists");
    return json{{"Policy", k->policy}, {"PolicyName", "default"}};
  });
}

ApiResult<nlohmann::json> Service::PutKeyPolicy(const RequestContext& ctx, const json& in) {
  std::string name = in.value("PolicyName", "default");
  std::string policy = in.at("Policy").get<std::string>();
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto k = find_key(c, ctx, in.at("KeyId").get<std::string>(), false);
    if (!k) return fail(k.error());
    if (auto ok = check_customer_managed(*k, "PutKeyPolicy"); !ok) return fail(ok.error());
    if (auto ok = check_not_pending(*k); !ok) return fail(ok.error());
    if (name != "default") return not_found("No such policy exists");
    if (auto ok = check_policy(policy); !ok) return fail(ok.error());
    k->policy = policy;
    store::update_key(c, *k);
    return json::object();
  });
}

ApiResult<nlohmann::json> Service::ListKeyPolicies(const RequestContext& ctx, const json& in) {
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto k = find_key(c, ctx, in.at("KeyId").get<std::string>(), false);
    if (!k) return fail(k.error());
    auto page = paginate({0}, in, "ListKeyPolicies", 100, 1000);
    if (!page) return fail(page.error());
    json out = {{"PolicyNames", json::array()}};
    if (page->begin < page->end) out["PolicyNames"].push_back("default");
    page_result(out, *page);
    return out;
  });
}

ApiResult<nlohmann::json> Service::TagResource(const RequestContext& ctx, const json& in) {
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto k = find_key(c, ctx, in.at("KeyId").get<std::string>(), false);
    if (!k) return fail(k.error());
    if (auto ok = check_customer_managed(*k, "TagResource"); !ok) return fail(ok.error());
    if (auto ok = check_not_pending(*k); !ok) return fail(ok.error());
    if (auto ok = detail::merge_tags(k->tags, in.at("Tags")); !ok) return fail(ok.error());
    store::update_key(c, *k);
    return json::object();
  });
}

ApiResult<nlohmann::json> Service::UntagResource(const RequestContext& ctx, const json& in) {
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto k = find_key(c, ctx, in.at("KeyId").get<std::string>(), false);
    if (!k) return fail(k.error());
    if (auto ok = check_customer_managed(*k, "UntagResource"); !ok) return fail(ok.error());
    if (auto ok = check_not_pending(*k); !ok) return fail(ok.error());
    std::set<std::string> drop;
    for (const auto& key : in.at("TagKeys")) drop.insert(key.get<std::string>());
    json kept = json::array();
    for (const auto& t : k->tags)
      if (!drop.count(t.value("TagKey", ""))) kept.push_back(t);
    k->tags = kept;
    store::update_key(c, *k);
    return json::object();
  });
}

ApiResult<nlohmann::json> Service::ListResourceTags(const RequestContext& ctx, const json& in) {
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto k = find_key(c, ctx, in.at("KeyId").get<std::string>(), false);
    if (!k) return fail(k.error());
    std::vector<int64_t> pos;
    for (std::size_t i = 0; i < k->tags.size(); ++i) pos.push_back(static_cast<int64_t>(i));
    // ListResourceTags: Limit 1-50, default 50.
    auto page = paginate(pos, in, "ListResourceTags", 50, 50);
    if (!page) return fail(page.error());
    json out = {{"Tags", json::array()}};
    for (auto i = page->begin; i < page->end; ++i) out["Tags"].push_back(k->tags[i]);
    page_result(out, *page);
    return out;
  });
}

}  // namespace efs::kms
