// Aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases. An alias is a
// name in one account and Region ("alias/...") pointing at one key; the
// "alias/aws/" prefix belongs to AWS managed keys (alias/aws/elasticfilesystem
// appears when EFS first uses its default key).
#include <spdlog/spdlog.h>

#include "kms/internal.h"
#include "kms/service.h"
#include "meta/db.h"

namespace efs::kms {

using namespace detail;

namespace {

// The rules KMS applies beyond the model's pattern (which also lets ':' in):
// the "alias/" prefix, its characters, and the reserved "alias/aws/".
Result<void, ServiceError> check_alias_name(const std::string& name) {
  if (name.rfind("alias/", 0) != 0 || name.size() == 6)
    return validation(
        "Alias must start with the prefix \"alias/\". Please see "
        "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-';
    if (!ok) return validation(name + " contains invalid characters for an alias");
  }
  if (name.rfind("alias/aws/", 0) == 0)
    return kms_error("InvalidAliasNameException",
                     "Alias names beginning with alias/aws/ are reserved for AWS managed keys: " +
                         name);
  return {};
}

}  // namespace

ApiResult<nlohmann::json> Service::CreateAlias(const RequestContext& ctx, const json& in) {
  std::string name = in.at("AliasName").get<std::string>();
  if (auto ok = check_alias_name(name); !ok) return fail(ok.error());
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto k = find_key(c, ctx, in.at("TargetKeyId").get<std::string>(), false);
    if (!k) return fail(k.error());
    if (auto ok = check_not_pending(*k); !ok) return fail(ok.error());
    if (store::alias(c, ctx.account_id, ctx.region, name))
      return kms_error("AlreadyExistsException",
                       "An alias with the name " + alias_arn(ctx.region, ctx.account_id, name) +
                           " already exists");
    AliasRecord a;
    a.account = ctx.account_id;
    a.region = ctx.region;
    a.name = name;
    a.key_id = k->key_id;
    a.created_at = a.updated_at = clock_.now_epoch_seconds();
    store::insert_alias(c, a);
    spdlog::info("kms: alias {} -> key {}", name, k->key_id);
    return json::object();
  });
}

ApiResult<nlohmann::json> Service::UpdateAlias(const RequestContext& ctx, const json& in) {
  std::string name = in.at("AliasName").get<std::string>();
  if (auto ok = check_alias_name(name); !ok) return fail(ok.error());
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto a = store::alias(c, ctx.account_id, ctx.region, name);
    if (!a)
      return not_found("Alias " + alias_arn(ctx.region, ctx.account_id, name) + " is not found.");
    auto k = find_key(c, ctx, in.at("TargetKeyId").get<std::string>(), false);
    if (!k) return fail(k.error());
    if (auto ok = check_not_pending(*k); !ok) return fail(ok.error());
    a->key_id = k->key_id;
    a->updated_at = clock_.now_epoch_seconds();
    store::update_alias(c, *a);
    return json::object();
  });
}

ApiResult<nlohmann::json> Service::DeleteAlias(const RequestContext& ctx, const json& in) {
  std::string name = in.at("AliasName").get<std::string>();
  if (auto ok = check_alias_name(name); !ok) return fail(ok.error());
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto a = store::alias(c, ctx.account_id, ctx.region, name);
    if (!a)
      return not_found("Alias " + alias_arn(ctx.region, ctx.account_id, name) + " is not found.");
    store::delete_alias(c, *a);
    return json::object();
  });
}

ApiResult<nlohmann::json> Service::ListAliases(const RequestContext& ctx, const json& in) {
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    std::optional<std::string> only;
    if (in.contains("KeyId")) {
      auto k = find_key(c, ctx, in.at("KeyId").get<std::string>(), false);
      if (!k) return fail(k.error());
      only = k->key_id;
    }
    std::vector<AliasRecord> list;
    for (auto& a : store::aliases(c, ctx.account_id, ctx.region))
      if (!only || a.key_id == *only) list.push_back(std::move(a));
    std::vector<int64_t> pos;
    for (const auto& a : list) pos.push_back(a.seq);
    // ListAliases: Limit 1-100, default 50.
    auto page = paginate(pos, in, "ListAliases", 50, 100);
    if (!page) return fail(page.error());
    json out = {{"Aliases", json::array()}};
    for (auto i = page->begin; i < page->end; ++i) {
      const auto& a = list[i];
      out["Aliases"].push_back({{"AliasName", a.name},
                                {"AliasArn", alias_arn(a.region, a.account, a.name)},
                                {"TargetKeyId", a.key_id},
                                {"CreationDate", a.created_at},
                                {"LastUpdatedDate", a.updated_at}});
    }
    page_result(out, *page);
    return out;
  });
}

}  // namespace efs::kms
