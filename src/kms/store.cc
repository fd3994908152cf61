#include "kms/store.h"

#include "meta/db.h"

namespace efs::kms {

using nlohmann::json;

const std::vector<std::string>& kms_migrations() {
  // Version 1. Later versions append statements; existing ones never change,
  // so an older data dir upgrades step by step (meta::Db::ensure_schema).
  static const std::vector<std::string> m = {
      "CREATE TABLE kms_keys("
      " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
      " key_id TEXT NOT NULL UNIQUE,"
      " account TEXT NOT NULL, region TEXT NOT NULL,"
      " created_at REAL NOT NULL,"
      " description TEXT NOT NULL,"
      " state TEXT NOT NULL,"
      " deletion_date REAL,"
      " pending_days INTEGER NOT NULL DEFAULT 0,"
      " manager TEXT NOT NULL,"
      " policy TEXT NOT NULL,"
      " rotation_enabled INTEGER NOT NULL DEFAULT 0,"
      " rotation_days INTEGER NOT NULL DEFAULT 365,"
      " rotation_since REAL NOT NULL DEFAULT 0,"
      " tags TEXT NOT NULL DEFAULT '[]',"
      " material BLOB NOT NULL);"
      "CREATE INDEX kms_keys_by_owner ON kms_keys(account, region, seq);"
      "CREATE INDEX kms_keys_by_deletion ON kms_keys(deletion_date) WHERE deletion_date IS NOT "
      "NULL;"
      "CREATE TABLE kms_aliases("
      " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
      " account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,"
      " key_id TEXT NOT NULL,"
      " created_at REAL NOT NULL, updated_at REAL NOT NULL,"
      " UNIQUE(account, region, name));"
      "CREATE INDEX kms_aliases_by_key ON kms_aliases(key_id);"
      "CREATE TABLE kms_grants("
      " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
      " grant_id TEXT NOT NULL UNIQUE,"
      " key_id TEXT NOT NULL,"
      " account TEXT NOT NULL, region TEXT NOT NULL,"
      " token TEXT NOT NULL UNIQUE,"
      " doc TEXT NOT NULL);"
      "CREATE INDEX kms_grants_by_key ON kms_grants(key_id, seq);",
  };
  return m;
}

namespace store {
namespace {

constexpr const char* kKeyColumns =
    "seq, key_id, account, region, created_at, description, state, deletion_date, pending_days, "
    "manager, policy, rotation_enabled, rotation_days, rotation_since, tags, material";

KeyRecord key_row(meta::Stmt& s) {
  KeyRecord k;
  k.seq = s.i64(0);
  k.key_id = s.text(1);
  k.account = s.text(2);
  k.region = s.text(3);
  k.created_at = s.f64(4);
  k.description = s.text(5);
  k.state = s.text(6);
  if (!s.is_null(7)) k.deletion_date = s.f64(7);
  k.pending_days = static_cast<int>(s.i64(8));
  k.manager = s.text(9);
  k.policy = s.text(10);
  k.rotation_enabled = s.i64(11) != 0;
  k.rotation_days = static_cast<int>(s.i64(12));
  k.rotation_since = s.f64(13);
  k.tags = json::parse(s.text(14), nullptr, false);
  if (!k.tags.is_array()) k.tags = json::array();
  k.wrapped = s.blob(15);
  return k;
}

AliasRecord alias_row(meta::Stmt& s) {
  AliasRecord a;
  a.seq = s.i64(0);
  a.account = s.text(1);
  a.region = s.text(2);
  a.name = s.text(3);
  a.key_id = s.text(4);
  a.created_at = s.f64(5);
  a.updated_at = s.f64(6);
  return a;
}

GrantRecord grant_row(meta::Stmt& s) {
  GrantRecord g;
  g.seq = s.i64(0);
  g.grant_id = s.text(1);
  g.key_id = s.text(2);
  g.account = s.text(3);
  g.region = s.text(4);
  g.token = s.text(5);
  g.doc = json::parse(s.text(6), nullptr, false);
  if (!g.doc.is_object()) g.doc = json::object();
  return g;
}

constexpr const char* kAliasColumns = "seq, account, region, name, key_id, created_at, updated_at";
constexpr const char* kGrantColumns = "seq, grant_id, key_id, account, region, token, doc";

void run(meta::Stmt& s, const char* what) {
  if (!s.run()) throw StoreFailure(std::string(what) + ": " + s.error());
}

template <class Row, class F>
std::vector<Row> all(meta::Stmt& s, F row, const char* what) {
  std::vector<Row> out;
  while (s.step()) out.push_back(row(s));
  if (!s.error().empty()) throw StoreFailure(std::string(what) + ": " + s.error());
  return out;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

std::optional<KeyRecord> key(meta::Conn& c, const std::string& key_id) {
  auto& s = c.stmt(std::string("SELECT ") + kKeyColumns + " FROM kms_keys WHERE key_id = ?");
  s.bind(1, key_id);
  auto rows = all<KeyRecord>(s, key_row, "read key");
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<KeyRecord> keys(meta::Conn& c, const std::string& account, const std::string& region) {
  auto& s = c.stmt(std::string("SELECT ") + kKeyColumns +
                   " FROM kms_keys WHERE account = ? AND region = ? ORDER BY seq");
  s.bind_all(account, region);
  return all<KeyRecord>(s, key_row, "list keys");
}

void insert_key(meta::Conn& c, KeyRecord& k) {
  auto& s = c.stmt(
      "INSERT INTO kms_keys(key_id, account, region, created_at, description, state, "
      "deletion_date, pending_days, manager, policy, rotation_enabled, rotation_days, "
      "rotation_since, tags, material) VALUES(?,?,?,?,?,?,NULL,?,?,?,?,?,?,?,?)");
  s.bind_all(k.key_id, k.account, k.region, k.created_at, k.description, k.state, k.pending_days,
             k.manager, k.policy, k.rotation_enabled ? 1 : 0, k.rotation_days, k.rotation_since,
             dump(k.tags));
  s.bind_blob(14, k.wrapped);
  run(s, "insert key");
  k.seq = c.last_insert_rowid();
}

void update_key(meta::Conn& c, const KeyRecord& k) {
  auto& s = c.stmt(
      "UPDATE kms_keys SET description = ?, state = ?, deletion_date = ?, pending_days = ?, "
      "policy = ?, rotation_enabled = ?, rotation_days = ?, rotation_since = ?, tags = ? "
      "WHERE key_id = ?");
  s.bind_all(k.description, k.state);
  if (k.deletion_date)
    s.bind(3, *k.deletion_date);
  else
    s.bind_null(3);
  s.bind(4, static_cast<int64_t>(k.pending_days));
  s.bind(5, k.policy);
  s.bind(6, static_cast<int64_t>(k.rotation_enabled ? 1 : 0));
  s.bind(7, static_cast<int64_t>(k.rotation_days));
  s.bind(8, k.rotation_since);
  s.bind(9, dump(k.tags));
  s.bind(10, k.key_id);
  run(s, "update key");
}

std::vector<std::string> delete_due_keys(meta::Conn& c, double now) {
  auto& q = c.stmt(
      "SELECT key_id FROM kms_keys WHERE deletion_date IS NOT NULL AND deletion_date <= ?");
  q.bind(1, now);
  std::vector<std::string> ids =
      all<std::string>(q, [](meta::Stmt& s) { return s.text(0); }, "due keys");
  for (const auto& id : ids) {
    for (const char* sql : {"DELETE FROM kms_aliases WHERE key_id = ?",
                            "DELETE FROM kms_grants WHERE key_id = ?",
                            "DELETE FROM kms_keys WHERE key_id = ?"}) {
      auto& d = c.stmt(sql);
      d.bind(1, id);
      run(d, "delete key");
    }
  }
  return ids;
}

std::optional<AliasRecord> alias(meta::Conn& c, const std::string& account,
                                 const std::string& region, const std::string& name) {
  auto& s = c.stmt(std::string("SELECT ") + kAliasColumns +
                   " FROM kms_aliases WHERE account = ? AND region = ? AND name = ?");
  s.bind_all(account, region, name);
  auto rows = all<AliasRecord>(s, alias_row, "read alias");
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<AliasRecord> aliases(meta::Conn& c, const std::string& account,
                                 const std::string& region) {
  auto& s = c.stmt(std::string("SELECT ") + kAliasColumns +
                   " FROM kms_aliases WHERE account = ? AND region = ? ORDER BY seq");
  s.bind_all(account, region);
  return all<AliasRecord>(s, alias_row, "list aliases");
}

void insert_alias(meta::Conn& c, AliasRecord& a) {
  auto& s = c.stmt(
      "INSERT INTO kms_aliases(account, region, name, key_id, created_at, updated_at) "
      "VALUES(?,?,?,?,?,?)");
  s.bind_all(a.account, a.region, a.name, a.key_id, a.created_at, a.updated_at);
  run(s, "insert alias");
  a.seq = c.last_insert_rowid();
}

void update_alias(meta::Conn& c, const AliasRecord& a) {
  auto& s = c.stmt("UPDATE kms_aliases SET key_id = ?, updated_at = ? WHERE seq = ?");
  s.bind_all(a.key_id, a.updated_at, a.seq);
  run(s, "update alias");
}

void delete_alias(meta::Conn& c, const AliasRecord& a) {
  auto& s = c.stmt("DELETE FROM kms_aliases WHERE seq = ?");
  s.bind(1, a.seq);
  run(s, "delete alias");
}

std::optional<GrantRecord> grant(meta::Conn& c, const std::string& grant_id) {
  auto& s = c.stmt(std::string("SELECT ") + kGrantColumns + " FROM kms_grants WHERE grant_id = ?");
  s.bind(1, grant_id);
  auto rows = all<GrantRecord>(s, grant_row, "read grant");
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::optional<GrantRecord> grant_by_token(meta::Conn& c, const std::string& token) {
  auto& s = c.stmt(std::string("SELECT ") + kGrantColumns + " FROM kms_grants WHERE token = ?");
  s.bind(1, token);
  auto rows = all<GrantRecord>(s, grant_row, "read grant");
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<GrantRecord> grants_of_key(meta::Conn& c, const std::string& key_id) {
  auto& s = c.stmt(std::string("SELECT ") + kGrantColumns +
                   " FROM kms_grants WHERE key_id = ? ORDER BY seq");
  s.bind(1, key_id);
  return all<GrantRecord>(s, grant_row, "list grants");
}

std::vector<GrantRecord> grants(meta::Conn& c, const std::string& account,
                                const std::string& region) {
  auto& s = c.stmt(std::string("SELECT ") + kGrantColumns +
                   " FROM kms_grants WHERE account = ? AND region = ? ORDER BY seq");
  s.bind_all(account, region);
  return all<GrantRecord>(s, grant_row, "list grants");
}

void insert_grant(meta::Conn& c, GrantRecord& g) {
  auto& s = c.stmt(
      "INSERT INTO kms_grants(grant_id, key_id, account, region, token, doc) VALUES(?,?,?,?,?,?)");
  s.bind_all(g.grant_id, g.key_id, g.account, g.region, g.token, dump(g.doc));
  run(s, "insert grant");
  g.seq = c.last_insert_rowid();
}

void delete_grant(meta::Conn& c, const std::string& grant_id) {
  auto& s = c.stmt("DELETE FROM kms_grants WHERE grant_id = ?");
  s.bind(1, grant_id);
  run(s, "delete grant");
}

}  // namespace store
}  // namespace efs::kms
