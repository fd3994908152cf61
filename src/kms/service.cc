// Service plumbing: opening, the operation table, transactions, key lookup,
// KeyMetadata, and the KeyDirectory efs::Service sees.
#include "kms/service.h"

#include <spdlog/spdlog.h>

#include "common/ids.h"
#include "kms/internal.h"
#include "meta/db.h"

namespace efs::kms {

using namespace detail;

Result<std::unique_ptr<Service>, Error> Service::open(meta::Db& db, Clock& clock,
                                                      const std::string& master_key_path) {
  auto st = db.ensure_schema("kms", kms_migrations());
  if (!st) return fail(Error{"kms schema: " + st.error().message, st.error().code});
  auto master = load_or_create_master_key(master_key_path);
  if (!master) return fail(master.error());
  return std::unique_ptr<Service>(new Service(db, clock, std::move(*master)));
}

std::vector<std::pair<std::string, JsonOperation>> Service::operations() {
  using Handler = ApiResult<json> (Service::*)(const RequestContext&, const json&);
  static const std::pair<const char*, Handler> rows[] = {
      {"CancelKeyDeletion", &Service::CancelKeyDeletion},
      {"CreateAlias", &Service::CreateAlias},
      {"CreateGrant", &Service::CreateGrant},
      {"CreateKey", &Service::CreateKey},
      {"Decrypt", &Service::Decrypt},
      {"DeleteAlias", &Service::DeleteAlias},
      {"DescribeKey", &Service::DescribeKey},
      {"DisableKey", &Service::DisableKey},
      {"DisableKeyRotation", &Service::DisableKeyRotation},
      {"EnableKey", &Service::EnableKey},
      {"EnableKeyRotation", &Service::EnableKeyRotation},
      {"Encrypt", &Service::Encrypt},
      {"GenerateDataKey", &Service::GenerateDataKey},
      {"GenerateDataKeyWithoutPlaintext", &Service::GenerateDataKeyWithoutPlaintext},
      {"GenerateRandom", &Service::GenerateRandom},
      {"GetKeyPolicy", &Service::GetKeyPolicy},
      {"GetKeyRotationStatus", &Service::GetKeyRotationStatus},
      {"ListAliases", &Service::ListAliases},
      {"ListGrants", &Service::ListGrants},
      {"ListKeyPolicies", &Service::ListKeyPolicies},
      {"ListKeys", &Service::ListKeys},
      {"ListResourceTags", &Service::ListResourceTags},
      {"ListRetirableGrants", &Service::ListRetirableGrants},
      {"PutKeyPolicy", &Service::PutKeyPolicy},
      {"ReEncrypt", &Service::ReEncrypt},
      {"RetireGrant", &Service::RetireGrant},
      {"RevokeGrant", &Service::RevokeGrant},
      {"ScheduleKeyDeletion", &Service::ScheduleKeyDeletion},
      {"TagResource", &Service::TagResource},
      {"UntagResource", &Service::UntagResource},
      {"UpdateAlias", &Service::UpdateAlias},
      {"UpdateKeyDescription", &Service::UpdateKeyDescription},
  };
  std::vector<std::pair<std::string, JsonOperation>> out;
  for (const auto& [name, h] : rows) {
    std::string op = name;
    Handler handler = h;
    out.emplace_back(op, [this, op, handler](const RequestContext& ctx,
                                             const json& in) -> ApiResult<json> {
      if (!in.is_object()) return validation("The request body must be a JSON object.");
      try {
        auto r = (this->*handler)(ctx, in);
        if (!r) spdlog::info("kms: {} -> {}: {}", op, r.error().code, r.error().message);
        return r;
      } catch (const nlohmann::json::exception& e) {
        // A member of the wrong JSON type got past the protocol layer.
        return validation(op + ": malformed input: " + e.what());
      }
    });
  }
  return out;
}

ApiResult<nlohmann::json> Service::in_write(
    const std::function<ApiResult<json>(meta::Conn&)>& fn) {
  std::optional<ApiResult<json>> out;
  std::string store_error;
  bool disk_full = false;
  auto st = db_.write([&](meta::Conn& c) -> Status<> {
    // A statement that failed for lack of space surfaces as a StoreFailure
    // without its cause; the connection counts those.
    const uint64_t full_before = c.disk_full_errors();
    try {
      // Deletions the clock has made due happen before anything looks.
      for (const auto& id : store::delete_due_keys(c, clock_.now_epoch_seconds())) {
        spdlog::info("kms: key {} deleted (its deletion date passed)", id);
        state_changed_ = true;
      }
      out = fn(c);
    } catch (const StoreFailure& e) {
      store_error = e.what();
      disk_full = c.disk_full_errors() != full_before;
      return fail(Error{store_error});
    }
    if (!out->ok()) return fail(Error{"operation failed"});  // roll back its changes
    return {};
  });
  const bool changed = state_changed_.exchange(false);  // a rolled-back change is no change
  if (st && changed && state_listener_) state_listener_();
  if (out && !out->ok()) return *out;
  if (!st) {
    std::string why = store_error.empty() ? st.error().message : store_error;
    disk_full = disk_full || meta::is_disk_full(st.error());
    spdlog::error("kms: store failure: {}", why);
    return kms_error("KMSInternalException", disk_full ? "efs-local's data dir is full: " + why
                                                       : "internal error: " + why);
  }
  return std::move(*out);
}

ApiResult<KeyRecord> Service::find_key(meta::Conn& c, const RequestContext& ctx,
                                       const std::string& ref, bool aliases_allowed) {
  auto r = parse_key_ref(ref, ctx.region, ctx.account_id, aliases_allowed);
  if (!r) return fail(r.error());
  if (auto k = lookup(c, *r)) return *k;
  // AWS creates an AWS managed key the first time its alias is used.
  if (r->is_alias && r->name == kEfsAlias && r->account == ctx.account_id &&
      r->region == ctx.region)
    return efs_managed_key(c, ctx.region, ctx.account_id);
  return ref_not_found(*r);
}

KeyRecord Service::new_key(const std::string& region, const std::string& account,
                           std::string manager, std::string description, std::string policy) {
  KeyRecord k;
  k.key_id = random_uuid();
  k.account = account;
  k.region = region;
  k.created_at = clock_.now_epoch_seconds();
  k.description = std::move(description);
  k.manager = std::move(manager);
  k.policy = policy.empty() ? default_policy(region, account) : std::move(policy);
  k.wrapped = wrap_material(master_, k.key_id, random_bytes(kKeyBytes));
  return k;
}

KeyRecord Service::efs_managed_key(meta::Conn& c, const std::string& region,
                                   const std::string& account) {
  if (auto a = store::alias(c, account, region, kEfsAlias)) {
    if (auto k = store::key(c, a->key_id)) return *k;
  }
  // AWS managed keys rotate every year and have a policy that lets EFS use
  // them on the account's behalf.
  json policy = {
      {"Version", "2012-10-17"},
      {"Id", "auto-elasticfilesystem-1"},
      {"Statement",
       json::array({{{"Sid", "Allow access to EFS for all principals in the account that are "
                             "authorized to use EFS"},
                     {"Effect", "Allow"},
                     {"Principal", {{"AWS", "*"}}},
                     {"Action", json::array({"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*",
                                             "kms:GenerateDataKey*", "kms:CreateGrant",
                                             "kms:DescribeKey"})},
                     {"Resource", "*"},
                     {"Condition",
                      {{"StringEquals",
                        {{"kms:ViaService", "elasticfilesystem." + region + ".amazonaws.com"},
                         {"kms:CallerAccount", account}}}}}}})}};
  KeyRecord k = new_key(region, account, "AWS",
                        "Default key that protects my EFS filesystems when no other key is defined",
                        policy.dump(2));
  k.rotation_enabled = true;
  k.rotation_since = k.created_at;
  store::insert_key(c, k);
  AliasRecord a;
  a.account = account;
  a.region = region;
  a.name = kEfsAlias;
  a.key_id = k.key_id;
  a.created_at = a.updated_at = k.created_at;
  if (auto old = store::alias(c, account, region, kEfsAlias)) store::delete_alias(c, *old);
  store::insert_alias(c, a);
  spdlog::info("kms: created the AWS managed key {} ({}) in {} {}", k.key_id, kEfsAlias, account,
               region);
  return k;
}

nlohmann::json Service::metadata(const KeyRecord& k) const {
  json m = {{"AWSAccountId", k.account},
            {"KeyId", k.key_id},
            {"Arn", key_arn(k)},
            {"CreationDate", k.created_at},
            {"Enabled", k.state == kEnabled},
            {"Description", k.description},
            {"KeyUsage", "ENCRYPT_DECRYPT"},
            {"KeyState", k.state},
            {"Origin", "AWS_KMS"},
            {"KeyManager", k.manager},
            {"CustomerMasterKeySpec", "SYMMETRIC_DEFAULT"},
            {"KeySpec", "SYMMETRIC_DEFAULT"},
            {"EncryptionAlgorithms", json::array({"SYMMETRIC_DEFAULT"})},
            {"MultiRegion", false}};
  if (k.state == kPendingDeletion && k.deletion_date) {
    m["DeletionDate"] = *k.deletion_date;
    m["PendingDeletionWindowInDays"] = k.pending_days;
  }
  return m;
}

ApiResult<Bytes> Service::material(const KeyRecord& k) const {
  auto m = unwrap_material(master_, k.key_id, k.wrapped);
  if (!m) {
    spdlog::error("kms: the key material of {} does not unwrap with the master key", k.key_id);
    return kms_error("KMSInternalException",
                     "The key material of " + key_arn(k) +
                         " cannot be unwrapped: the master key file does not match this data dir.");
  }
  return *m;
}

std::optional<KeyInfo> Service::resolve(const std::string& region, const std::string& account,
                                        const std::string& key_ref) const {
  auto r = parse_key_ref(key_ref, region, account, true);
  if (!r) return std::nullopt;
  std::optional<KeyRecord> k;
  auto st = db_.read([&](meta::Conn& c) -> Status<> {
    try {
      k = lookup(c, *r);
    } catch (const StoreFailure& e) {
      return fail(Error{e.what()});
    }
    return {};
  });
  if (!st) {
    spdlog::error("kms: cannot resolve {}: {}", key_ref, st.error().message);
    return std::nullopt;
  }
  // A key whose deletion date has passed is gone, even before a write
  // transaction has removed its row.
  if (!k || (k->deletion_date && *k->deletion_date <= clock_.now_epoch_seconds()))
    return std::nullopt;
  KeyInfo info;
  info.key_id = k->key_id;
  info.arn = key_arn(*k);
  info.state = k->state == kEnabled    ? KeyState::enabled
               : k->state == kDisabled ? KeyState::disabled
                                       : KeyState::pending_deletion;
  return info;
}

Status<KeyInfo> Service::default_efs_key(const std::string& region, const std::string& account) {
  KeyInfo info;
  RequestContext ctx;
  ctx.region = region;
  ctx.account_id = account;
  auto r = in_write([&](meta::Conn& c) -> ApiResult<json> {
    KeyRecord k = efs_managed_key(c, region, account);
    info.key_id = k.key_id;
    info.arn = key_arn(k);
    info.state = k.state == kEnabled    ? KeyState::enabled
                 : k.state == kDisabled ? KeyState::disabled
                                        : KeyState::pending_deletion;
    return json::object();
  });
  if (!r) return fail(Error{r.error().code + ": " + r.error().message});
  return info;
}

}  // namespace efs::kms
