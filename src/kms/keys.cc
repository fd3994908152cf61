// Key lifecycle: CreateKey, DescribeKey, ListKeys, UpdateKeyDescription,
// EnableKey/DisableKey, ScheduleKeyDeletion/CancelKeyDeletion.
#include <spdlog/spdlog.h>

#include "kms/internal.h"
#include "kms/service.h"
#include "meta/db.h"

namespace efs::kms {

using namespace detail;

namespace {

constexpr double kDay = 86400;

std::string str(const nlohmann::json& in, const char* member, const std::string& def = "") {
  auto it = in.find(member);
  return it != in.end() && it->is_string() ? it->get<std::string>() : def;
}

}  // namespace

// Defined in key_settings.cc: policy and tag checks CreateKey shares.
namespace detail {
Result<void, ServiceError> check_policy(const std::string& policy);
Result<void, ServiceError> merge_tags(json& tags, const json& add);
}  // namespace detail

ApiResult<nlohmann::json> Service::CreateKey(const RequestContext& ctx, const json& in) {
  // efs-local keeps symmetric encryption keys only: what EFS uses.
  std::string spec = str(in, "KeySpec", str(in, "CustomerMasterKeySpec", "SYMMETRIC_DEFAULT"));
  if (spec != "SYMMETRIC_DEFAULT")
    return kms_error("UnsupportedOperationException",
                     "efs-local supports only SYMMETRIC_DEFAULT keys, not " + spec + ".");
  if (std::string usage = str(in, "KeyUsage", "ENCRYPT_DECRYPT"); usage != "ENCRYPT_DECRYPT")
    return kms_error("ValidationException",
                     "KeyUsage " + usage + " is not compatible with KeySpec SYMMETRIC_DEFAULT");
  if (std::string origin = str(in, "Origin", "AWS_KMS"); origin != "AWS_KMS")
    return kms_error("UnsupportedOperationException",
                     "efs-local supports only Origin AWS_KMS, not " + origin + ".");
  if (in.contains("CustomKeyStoreId") || in.contains("XksKeyId"))
    return kms_error("UnsupportedOperationException", "efs-local has no custom key stores.");
  if (in.value("MultiRegion", false))
    return kms_error("UnsupportedOperationException",
                     "efs-local supports only single-Region keys (MultiRegion false).");
  std::string policy = str(in, "Policy");
  if (!policy.empty()) {
    if (auto ok = check_policy(policy); !ok) return fail(ok.error());
  }
  json tags = json::array();
  if (in.contains("Tags")) {
    if (auto ok = detail::merge_tags(tags, in["Tags"]); !ok) return fail(ok.error());
  }
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    KeyRecord k = new_key(ctx.region, ctx.account_id, "CUSTOMER", str(in, "Description"), policy);
    k.tags = tags;
    store::insert_key(c, k);
    spdlog::info("kms: created key {} in {} {}", k.key_id, k.account, k.region);
    return json{{"KeyMetadata", metadata(k)}};
  });
}

ApiResult<nlohmann::json> Service::DescribeKey(const RequestContext& ctx, const json& in) {
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto k = find_key(c, ctx, in.at("KeyId").get<std::string>());
    if (!k) return fail(k.error());
    return json{{"KeyMetadata", metadata(*k)}};
  });
}

ApiResult<nlohmann::json> Service::ListKeys(const RequestContext& ctx, const json& in) {
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto keys = store::keys(c, ctx.account_id, ctx.region);
    std::vector<int64_t> pos;
    for (const auto& k : keys) pos.push_back(k.seq);
    // ListKeys: Limit 1-1000, default 100 (the API reference).
    auto page = paginate(pos, in, "ListKeys", 100, 1000);
    if (!page) return fail(page.error());
    json out = {{"Keys", json::array()}};
    for (auto i = page->begin; i < page->end; ++i)
      out["Keys"].push_back({{"KeyId", keys[i].key_id}, {"KeyArn", key_arn(keys[i])}});
    page_result(out, *page);
    return out;
  });
}

ApiResult<nlohmann::json> Service::UpdateKeyDescription(const RequestContext& ctx,
                                                        const json& in) {
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto k = find_key(c, ctx, in.at("KeyId").get<std::string>(), false);
    if (!k) return fail(k.error());
    if (auto ok = check_customer_managed(*k, "UpdateKeyDescription"); !ok) return fail(ok.error());
    if (auto ok = check_not_pending(*k); !ok) return fail(ok.error());
    k->description = in.at("Description").get<std::string>();
    store::update_key(c, *k);
    return json::object();
  });
}

ApiResult<nlohmann::json> Service::set_state(const RequestContext& ctx, const json& in,
                                             bool enable) {
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto k = find_key(c, ctx, in.at("KeyId").get<std::string>(), false);
    if (!k) return fail(k.error());
    if (auto ok = check_customer_managed(*k, enable ? "EnableKey" : "DisableKey"); !ok)
      return fail(ok.error());
    if (auto ok = check_not_pending(*k); !ok) return fail(ok.error());
    k->state = enable ? kEnabled : kDisabled;
    store::update_key(c, *k);
    state_changed_ = true;
    spdlog::info("kms: key {} {}", k->key_id, enable ? "enabled" : "disabled");
    return json::object();
  });
}

ApiResult<nlohmann::json> Service::EnableKey(const RequestContext& ctx, const json& in) {
  return set_state(ctx, in, true);
}
ApiResult<nlohmann::json> Service::DisableKey(const RequestContext& ctx, const json& in) {
  return set_state(ctx, in, false);
}

ApiResult<nlohmann::json> Service::ScheduleKeyDeletion(const RequestContext& ctx,
                                                       const json& in) {
  // The model allows 1-365; KMS itself takes 7-30 days (default 30).
  int days = in.value("PendingWindowInDays", 30);
  if (days < 7 || days > 30)
    return validation("1 validation error detected: Value '" + std::to_string(days) +
                      "' at 'pendingWindowInDays' failed to satisfy constraint: Member must have "
                      "value between 7 and 30, inclusive");
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto k = find_key(c, ctx, in.at("KeyId").get<std::string>(), false);
    if (!k) return fail(k.error());
    if (auto ok = check_customer_managed(*k, "ScheduleKeyDeletion"); !ok) return fail(ok.error());
    if (auto ok = check_not_pending(*k); !ok) return fail(ok.error());
    k->state = kPendingDeletion;
    k->pending_days = days;
    k->deletion_date = clock_.now_epoch_seconds() + days * kDay;
    store::update_key(c, *k);
    state_changed_ = true;
    spdlog::info("kms: key {} scheduled for deletion on {}", k->key_id,
                 format_utc(Clock::time_point(std::chrono::duration_cast<Clock::duration>(
                     std::chrono::duration<double>(*k->deletion_date)))));
    return json{{"KeyId", key_arn(*k)},
                {"DeletionDate", *k->deletion_date},
                {"KeyState", kPendingDeletion},
                {"PendingWindowInDays", days}};
  });
}

ApiResult<nlohmann::json> Service::CancelKeyDeletion(const RequestContext& ctx, const json& in) {
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto k = find_key(c, ctx, in.at("KeyId").get<std::string>(), false);
    if (!k) return fail(k.error());
    if (k->state != kPendingDeletion)
      return invalid_state(key_arn(*k) + " is not pending deletion.");
    // A key whose deletion is cancelled comes back disabled, as on AWS.
    k->state = kDisabled;
    k->deletion_date.reset();
    k->pending_days = 0;
    store::update_key(c, *k);
    state_changed_ = true;
    return json{{"KeyId", key_arn(*k)}};
  });
}

}  // namespace efs::kms
