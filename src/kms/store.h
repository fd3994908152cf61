// The key store: KMS keys, aliases and grants in SQLite (module "kms" of
// meta::Db::ensure_schema, tables kms_keys, kms_aliases, kms_grants). Key
// material is stored only wrapped by the master key (crypto.h). Every row
// carries its account and Region: KMS resources are regional.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "kms/crypto.h"

namespace efs::meta {
class Conn;
}

namespace efs::kms {

// KeyState names as the API spells them.
inline constexpr const char* kEnabled = "Enabled";
inline constexpr const char* kDisabled = "Disabled";
inline constexpr const char* kPendingDeletion = "PendingDeletion";

struct KeyRecord {
  int64_t seq = 0;  // creation order; ListKeys markers point at it
  std::string key_id;
  std::string account, region;
  double created_at = 0;
  std::string description;
  std::string state = kEnabled;
  std::optional<double> deletion_date;
  int pending_days = 0;
  std::string manager = "CUSTOMER";  // or "AWS"
  std::string policy;
  bool rotation_enabled = false;
  int rotation_days = 365;
  double rotation_since = 0;  // when rotation was last enabled
  nlohmann::json tags = nlohmann::json::array();  // [{TagKey, TagValue}]
  Bytes wrapped;  // key material wrapped by the master key
};

struct AliasRecord {
  int64_t seq = 0;
  std::string account, region, name, key_id;
  double created_at = 0, updated_at = 0;
};

struct GrantRecord {
  int64_t seq = 0;
  std::string grant_id, key_id, account, region, token;
  nlohmann::json doc = nlohmann::json::object();  // GrantListEntry members but KeyId/GrantId
};

// A SQLite failure inside the store: thrown only inside kms/ and turned
// into KMSInternalException by the service's transaction wrapper.
struct StoreFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const std::vector<std::string>& kms_migrations();

namespace store {
std::optional<KeyRecord> key(meta::Conn& c, const std::string& key_id);
std::vector<KeyRecord> keys(meta::Conn& c, const std::string& account, const std::string& region);
void insert_key(meta::Conn& c, KeyRecord& k);  // sets seq
void update_key(meta::Conn& c, const KeyRecord& k);
// Deletes keys whose deletion date is at or before `now`, with their aliases
// and grants. Returns the key ids deleted.
std::vector<std::string> delete_due_keys(meta::Conn& c, double now);

std::optional<AliasRecord> alias(meta::Conn& c, const std::string& account,
                                 const std::string& region, const std::string& name);
std::vector<AliasRecord> aliases(meta::Conn& c, const std::string& account,
                                 const std::string& region);
void insert_alias(meta::Conn& c, AliasRecord& a);
void update_alias(meta::Conn& c, const AliasRecord& a);
void delete_alias(meta::Conn& c, const AliasRecord& a);

std::optional<GrantRecord> grant(meta::Conn& c, const std::string& grant_id);
std::optional<GrantRecord> grant_by_token(meta::Conn& c, const std::string& token);
std::vector<GrantRecord> grants_of_key(meta::Conn& c, const std::string& key_id);
std::vector<GrantRecord> grants(meta::Conn& c, const std::string& account,
                                const std::string& region);
void insert_grant(meta::Conn& c, GrantRecord& g);
void delete_grant(meta::Conn& c, const std::string& grant_id);
}  // namespace store

}  // namespace efs::kms
