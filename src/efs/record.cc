#include "efs/record.h"

#include "meta/db.h"

namespace efs {

const std::vector<std::string>& efs_migrations() {
  // Version 1. Never edit a released migration: append a new one.
  static const std::vector<std::string> m = {
      R"sql(
CREATE TABLE efs_resources (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  kind        TEXT NOT NULL,
  id          TEXT NOT NULL,
  account     TEXT NOT NULL,
  region      TEXT NOT NULL,
  parent_id   TEXT NOT NULL DEFAULT '',
  token       TEXT NOT NULL DEFAULT '',
  created_at  REAL NOT NULL,
  deleting_at REAL,
  notified    INTEGER NOT NULL DEFAULT 0,
  doc         TEXT NOT NULL,
  UNIQUE (kind, id)
);
CREATE INDEX efs_resources_scope ON efs_resources (kind, account, region);
CREATE INDEX efs_resources_parent ON efs_resources (kind, parent_id);
CREATE INDEX efs_resources_token ON efs_resources (kind, account, region, token);
)sql",
  };
  return m;
}

namespace store {
namespace {

constexpr const char* kColumns =
    "seq, kind, id, account, region, parent_id, token, created_at, deleting_at, notified, doc";

Record row(meta::Stmt& s) {
  Record r;
  r.seq = s.i64(0);
  r.kind = s.text(1);
  r.id = s.text(2);
  r.account = s.text(3);
  r.region = s.text(4);
  r.parent_id = s.text(5);
  r.token = s.text(6);
  r.created_at = s.f64(7);
  if (!s.is_null(8)) r.deleting_at = s.f64(8);
  r.notified = s.i64(9) != 0;
  r.doc = nlohmann::json::parse(s.text(10), nullptr, /*allow_exceptions=*/false);
  if (r.doc.is_discarded()) throw StoreFailure("corrupt efs_resources.doc for " + r.id);
  return r;
}

std::vector<Record> rows(meta::Stmt& s) {
  std::vector<Record> out;
  while (s.step()) out.push_back(row(s));
  if (!s.error().empty()) throw StoreFailure(s.error());
  return out;
}

std::string select(const std::string& where) {
  return std::string("SELECT ") + kColumns + " FROM efs_resources WHERE " + where + " ORDER BY seq";
}

}  // namespace

std::optional<Record> get(meta::Conn& c, const std::string& kind, const std::string& id) {
  auto& s = c.stmt(select("kind = ?1 AND id = ?2"));
  s.bind_all(kind, id);
  auto v = rows(s);
  if (v.empty()) return std::nullopt;
  return v.front();
}

std::vector<Record> list(meta::Conn& c, const std::string& kind, const std::string& account,
                         const std::string& region) {
  auto& s = c.stmt(select("kind = ?1 AND account = ?2 AND region = ?3"));
  s.bind_all(kind, account, region);
  return rows(s);
}

std::vector<Record> list_all(meta::Conn& c, const std::string& kind) {
  auto& s = c.stmt(select("kind = ?1"));
  s.bind_all(kind);
  return rows(s);
}

std::vector<Record> children(meta::Conn& c, const std::string& kind, const std::string& parent_id) {
  auto& s = c.stmt(select("kind = ?1 AND parent_id = ?2"));
  s.bind_all(kind, parent_id);
  return rows(s);
}

std::optional<Record> by_token(meta::Conn& c, const std::string& kind, const std::string& account,
                               const std::string& region, const std::string& token) {
  auto& s = c.stmt(select("kind = ?1 AND account = ?2 AND region = ?3 AND token = ?4"));
  s.bind_all(kind, account, region, token);
  auto v = rows(s);
  if (v.empty()) return std::nullopt;
  return v.front();
}

int64_t count_live(meta::Conn& c, const std::string& kind, const std::string& account,
                   const std::string& region, double gone_before) {
  auto& s = c.stmt(
      "SELECT COUNT(*) FROM efs_resources WHERE kind = ?1 AND account = ?2 AND region = ?3 "
      "AND (deleting_at IS NULL OR deleting_at > ?4)");
  s.bind_all(kind, account, region, gone_before);
  if (!s.step()) throw StoreFailure(s.error().empty() ? "count failed" : s.error());
  return s.i64(0);
}

std::vector<Record> unsettled(meta::Conn& c, double due_before) {
  auto& s = c.stmt(select("(notified = 0 AND created_at <= ?1) OR deleting_at <= ?1"));
  s.bind(1, due_before);
  return rows(s);
}

std::vector<Record> exportable(meta::Conn& c, const std::string& kind, double created_before,
                               bool only_notified) {
  auto& s = c.stmt(select(
      only_notified ? "kind = ?1 AND deleting_at IS NULL AND created_at <= ?2 AND notified = 1"
                    : "kind = ?1 AND deleting_at IS NULL AND created_at <= ?2"));
  s.bind_all(kind, created_before);
  return rows(s);
}

std::optional<double> earliest_unsettled(meta::Conn& c) {
  // The catalog asks after every write: no row is decoded here.
  auto& s = c.stmt(
      "SELECT MIN(CASE WHEN deleting_at IS NOT NULL THEN deleting_at ELSE created_at END) "
      "FROM efs_resources WHERE notified = 0 OR deleting_at IS NOT NULL");
  if (!s.step()) throw StoreFailure(s.error().empty() ? "min failed" : s.error());
  if (s.is_null(0)) return std::nullopt;
  return s.f64(0);
}

void insert(meta::Conn& c, Record& r) {
  auto& s = c.stmt(
      "INSERT INTO efs_resources (kind, id, account, region, parent_id, token, created_at, "
      "deleting_at, notified, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  s.bind_all(r.kind, r.id, r.account, r.region, r.parent_id, r.token, r.created_at);
  if (r.deleting_at)
    s.bind(8, *r.deleting_at);
  else
    s.bind_null(8);
  s.bind(9, int64_t{r.notified ? 1 : 0});
  s.bind(10, r.doc.dump());
  if (!s.run()) throw StoreFailure(s.error());
  r.seq = c.last_insert_rowid();
}

void update(meta::Conn& c, const Record& r) {
  auto& s = c.stmt(
      "UPDATE efs_resources SET parent_id = ?3, token = ?4, deleting_at = ?5, notified = ?6, "
      "doc = ?7 WHERE kind = ?1 AND id = ?2");
  s.bind_all(r.kind, r.id, r.parent_id, r.token);
  if (r.deleting_at)
    s.bind(5, *r.deleting_at);
  else
    s.bind_null(5);
  s.bind(6, int64_t{r.notified ? 1 : 0});
  s.bind(7, r.doc.dump());
  if (!s.run()) throw StoreFailure(s.error());
}

void remove(meta::Conn& c, const std::string& kind, const std::string& id) {
  auto& s = c.stmt("DELETE FROM efs_resources WHERE kind = ?1 AND id = ?2");
  s.bind_all(kind, id);
  if (!s.run()) throw StoreFailure(s.error());
}

}  // namespace store
}  // namespace efs
