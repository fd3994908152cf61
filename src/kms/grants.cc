// Grants: CreateGrant, ListGrants, RetireGrant, RevokeGrant,
// ListRetirableGrants. EFS itself grants its service the use of a file
// system's key. efs-local records grants and their constraints but, like the
// rest of its API, authorizes every caller: a grant never decides an answer.
#include <spdlog/spdlog.h>

#include "common/ids.h"
#include "kms/internal.h"
#include "kms/service.h"
#include "meta/db.h"

namespace efs::kms {

using namespace detail;

namespace {

Unexpected<ServiceError> dry_run() {
  return kms_error("DryRunOperationException",
                   "The request would have succeeded, but the DryRun option is set.");
}

json entry(const GrantRecord& g, const std::string& key_arn_text) {
  json e = g.doc;
  e["KeyId"] = key_arn_text;
  e["GrantId"] = g.grant_id;
  return e;
}

// The paging every grant list shares: Limit 1-100, default 50.
ApiResult<json> grant_page(const std::vector<GrantRecord>& list, const json& in, const char* op,
                           const std::function<std::string(const GrantRecord&)>& arn_of) {
  std::vector<int64_t> pos;
  for (const auto& g : list) pos.push_back(g.seq);
  auto page = paginate(pos, in, op, 50, 100);
  if (!page) return fail(page.error());
  json out = {{"Grants", json::array()}};
  for (auto i = page->begin; i < page->end; ++i) out["Grants"].push_back(entry(list[i], arn_of(list[i])));
  page_result(out, *page);
  return out;
}

}  // namespace

ApiResult<nlohmann::json> Service::CreateGrant(const RequestContext& ctx, const json& in) {
  if (!in.contains("GranteePrincipal") && !in.contains("GranteeServicePrincipal"))
    return validation("A grant needs a GranteePrincipal.");
  if (in.at("Operations").empty()) return validation("A grant needs at least one operation.");
  if (auto it = in.find("Constraints"); it != in.end() && it->contains("EncryptionContextSubset") &&
                                         it->contains("EncryptionContextEquals"))
    return validation(
        "A grant constraint can be EncryptionContextSubset or EncryptionContextEquals, not both.");
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto k = find_key(c, ctx, in.at("KeyId").get<std::string>(), false);
    if (!k) return fail(k.error());
    if (auto ok = check_not_pending(*k); !ok) return fail(ok.error());
    if (in.value("DryRun", false)) return dry_run();
    json doc = json::object();
    for (const char* m : {"Name", "GranteePrincipal", "RetiringPrincipal", "Operations",
                          "Constraints", "GranteeServicePrincipal", "RetiringServicePrincipal"})
      if (in.contains(m)) doc[m] = in[m];
    // A repeated CreateGrant with the same Name and the same terms is the
    // same grant (KMS's idempotency for grants).
    if (doc.contains("Name")) {
      for (const auto& g : store::grants_of_key(c, k->key_id)) {
        json same = g.doc;
        same.erase("CreationDate");
        same.erase("IssuingAccount");
        if (same == doc) return json{{"GrantToken", g.token}, {"GrantId", g.grant_id}};
      }
    }
    doc["CreationDate"] = clock_.now_epoch_seconds();
    doc["IssuingAccount"] = "arn:" + partition(ctx.region) + ":iam::" + ctx.account_id + ":root";
    GrantRecord g;
    g.grant_id = random_hex(64);
    g.key_id = k->key_id;
    g.account = k->account;
    g.region = k->region;
    g.token = base64_encode(random_bytes(96));
    g.doc = doc;
    store::insert_grant(c, g);
    spdlog::info("kms: grant {} on key {} to {}", g.grant_id, k->key_id,
                 doc.value("GranteePrincipal", doc.value("GranteeServicePrincipal", "")));
    return json{{"GrantToken", g.token}, {"GrantId", g.grant_id}};
  });
}

ApiResult<nlohmann::json> Service::ListGrants(const RequestContext& ctx, const json& in) {
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto k = find_key(c, ctx, in.at("KeyId").get<std::string>(), false);
    if (!k) return fail(k.error());
    std::vector<GrantRecord> list;
    for (auto& g : store::grants_of_key(c, k->key_id)) {
      if (in.contains("GrantId") && g.grant_id != in["GrantId"].get<std::string>()) continue;
      if (in.contains("GranteePrincipal") &&
          g.doc.value("GranteePrincipal", "") != in["GranteePrincipal"].get<std::string>())
        continue;
      list.push_back(std::move(g));
    }
    std::string arn = key_arn(*k);
    return grant_page(list, in, "ListGrants", [&](const GrantRecord&) { return arn; });
  });
}

ApiResult<nlohmann::json> Service::ListRetirableGrants(const RequestContext& ctx,
                                                       const json& in) {
  std::string principal = in.value("RetiringPrincipal", "");
  if (principal.empty()) return validation("ListRetirableGrants needs a RetiringPrincipal.");
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    std::vector<GrantRecord> list;
    for (auto& g : store::grants(c, ctx.account_id, ctx.region))
      if (g.doc.value("RetiringPrincipal", "") == principal) list.push_back(std::move(g));
    return grant_page(list, in, "ListRetirableGrants", [](const GrantRecord& g) {
      return key_arn(g.region, g.account, g.key_id);
    });
  });
}

ApiResult<nlohmann::json> Service::RetireGrant(const RequestContext& ctx, const json& in) {
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    std::optional<GrantRecord> g;
    if (in.contains("GrantToken")) {
      g = store::grant_by_token(c, in["GrantToken"].get<std::string>());
      if (!g) return kms_error("InvalidGrantTokenException", "Invalid grant token");
    } else if (in.contains("KeyId") && in.contains("GrantId")) {
      auto k = find_key(c, ctx, in["KeyId"].get<std::string>(), false);
      if (!k) return fail(k.error());
      g = store::grant(c, in["GrantId"].get<std::string>());
      if (!g || g->key_id != k->key_id)
        return not_found("Grant ID " + in["GrantId"].get<std::string>() + " not found");
    } else {
      return validation("RetireGrant needs a GrantToken, or a KeyId and a GrantId.");
    }
    if (g->account != ctx.account_id || g->region != ctx.region)
      return kms_error("InvalidGrantTokenException", "Invalid grant token");
    if (in.value("DryRun", false)) return dry_run();
    store::delete_grant(c, g->grant_id);
    return json::object();
  });
}

ApiResult<nlohmann::json> Service::RevokeGrant(const RequestContext& ctx, const json& in) {
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto k = find_key(c, ctx, in.at("KeyId").get<std::string>(), false);
    if (!k) return fail(k.error());
    std::string id = in.at("GrantId").get<std::string>();
    auto g = store::grant(c, id);
    if (!g || g->key_id != k->key_id) return not_found("Grant ID " + id + " not found");
    if (in.value("DryRun", false)) return dry_run();
    store::delete_grant(c, id);
    return json::object();
  });
}

}  // namespace efs::kms
