// One stored EFS resource: the columns lookups need plus a JSON document with
// everything else (table efs_resources, docs/schema-efs.md). All kinds share
// one table so that IDs, creation order and lifecycle timestamps are handled
// in one place.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace efs {

namespace meta {
class Conn;
}

namespace kind {
inline constexpr const char* kFileSystem = "file-system";
inline constexpr const char* kMountTarget = "mount-target";
inline constexpr const char* kAccessPoint = "access-point";
inline constexpr const char* kReplication = "replication";  // id = source file system id
inline constexpr const char* kAccountPreferences = "account-preferences";  // id = account:region
}  // namespace kind

struct Record {
  int64_t seq = 0;  // creation order; pagination markers point at it
  std::string kind;
  std::string id;
  std::string account;
  std::string region;
  std::string parent_id;  // file system of a mount target / access point; dest of a replication
  std::string token;      // CreationToken / ClientToken; AZ name for mount targets
  double created_at = 0;  // epoch seconds
  std::optional<double> deleting_at;
  bool notified = false;  // the DataPlane saw this resource become available
  nlohmann::json doc = nlohmann::json::object();
};

// A SQLite failure inside the efs store. Thrown only inside efs/ and caught
// by Service's transaction wrappers, which turn it into InternalServerError.
struct StoreFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The schema migrations of module "efs" (index i upgrades version i to i+1).
const std::vector<std::string>& efs_migrations();

namespace store {
std::optional<Record> get(meta::Conn& c, const std::string& kind, const std::string& id);
// Every record of a kind in one account and region, in creation order.
std::vector<Record> list(meta::Conn& c, const std::string& kind, const std::string& account,
                         const std::string& region);
// Every record of a kind, any account or region, in creation order.
std::vector<Record> list_all(meta::Conn& c, const std::string& kind);
std::vector<Record> children(meta::Conn& c, const std::string& kind, const std::string& parent_id);
std::optional<Record> by_token(meta::Conn& c, const std::string& kind, const std::string& account,
                               const std::string& region, const std::string& token);
// How many records of a kind in one account and Region are not gone: not
// being deleted, or deleted after `gone_before` (epoch seconds).
int64_t count_live(meta::Conn& c, const std::string& kind, const std::string& account,
                   const std::string& region, double gone_before);
// Records due a transition: created or deleted at or before `due_before`
// (now - state_delay) and not yet settled.
std::vector<Record> unsettled(meta::Conn& c, double due_before);
// Records of a kind not being deleted and created at or before
// `created_before`, in creation order: what the export catalog may show.
// With only_notified, those the DataPlane has seen become available.
std::vector<Record> exportable(meta::Conn& c, const std::string& kind, double created_before,
                               bool only_notified);
// The earliest created_at (of a record not yet notified) or deleting_at
// among unsettled records: state_delay after it, the next transition is due.
std::optional<double> earliest_unsettled(meta::Conn& c);
void insert(meta::Conn& c, Record& r);  // sets r.seq
void update(meta::Conn& c, const Record& r);
void remove(meta::Conn& c, const std::string& kind, const std::string& id);
}  // namespace store

}  // namespace efs
