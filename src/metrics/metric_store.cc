#include "metrics/metric_store.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <tuple>

namespace efs::metrics {

namespace {

// docs/schema-metrics.md. A released migration is never edited.
const std::vector<std::string> kMigrations = {
    R"sql(
CREATE TABLE metric_series (
  id          INTEGER PRIMARY KEY,
  namespace   TEXT NOT NULL,
  metric_name TEXT NOT NULL,
  dimensions  TEXT NOT NULL,
  unit        TEXT NOT NULL,
  last_minute INTEGER NOT NULL,
  UNIQUE (namespace, metric_name, dimensions)
);
CREATE TABLE metric_points (
  series       INTEGER NOT NULL REFERENCES metric_series(id),
  minute       INTEGER NOT NULL,
  sum          REAL NOT NULL,
  minimum      REAL NOT NULL,
  maximum      REAL NOT NULL,
  sample_count REAL NOT NULL,
  PRIMARY KEY (series, minute)
) WITHOUT ROWID;
CREATE INDEX metric_points_by_minute ON metric_points(minute);
CREATE TABLE metric_alarms (
  account            TEXT NOT NULL,
  region             TEXT NOT NULL,
  name               TEXT NOT NULL,
  doc                TEXT NOT NULL,
  state              TEXT NOT NULL,
  state_reason       TEXT NOT NULL,
  state_reason_data  TEXT NOT NULL,
  state_updated      REAL NOT NULL,
  state_transitioned REAL NOT NULL,
  config_updated     REAL NOT NULL,
  PRIMARY KEY (account, region, name)
);
)sql",
};

Error store_error(const std::string& what, const meta::Stmt& s) {
  return Error{"metrics store: " + what + ": " + s.error(), s.code()};
}

AlarmRecord alarm_of(meta::Stmt& s) {
  AlarmRecord a;
  a.account = s.text(0);
  a.region = s.text(1);
  a.name = s.text(2);
  a.doc = s.text(3);
  a.state = s.text(4);
  a.state_reason = s.text(5);
  a.state_reason_data = s.text(6);
  a.state_updated = s.f64(7);
  a.state_transitioned = s.f64(8);
  a.config_updated = s.f64(9);
  return a;
}

constexpr const char* kAlarmColumns =
    "account, region, name, doc, state, state_reason, state_reason_data, state_updated, "
    "state_transitioned, config_updated";

}  // namespace

Dimensions sorted(Dimensions d) {
  std::sort(d.begin(), d.end());
  return d;
}

bool MetricId::operator<(const MetricId& o) const {
  return std::tie(ns, name, dims) < std::tie(o.ns, o.name, o.dims);
}

void Aggregate::add(double v) {
  if (count == 0) {
    min = max = v;
  } else {
    min = std::min(min, v);
    max = std::max(max, v);
  }
  sum += v;
  count += 1;
}

void Aggregate::merge(const Aggregate& a) {
  if (a.count == 0) return;
  if (count == 0) {
    *this = a;
    return;
  }
  min = std::min(min, a.min);
  max = std::max(max, a.max);
  sum += a.sum;
  count += a.count;
}

std::string dimensions_key(const Dimensions& d) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& [n, v] : d) j.push_back({n, v});
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Dimensions dimensions_from_key(const std::string& key) {
  Dimensions d;
  auto j = nlohmann::json::parse(key, nullptr, false);
  if (!j.is_array()) return d;
  for (const auto& e : j)
    if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string())
      d.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
  return d;
}

Result<std::unique_ptr<MetricStore>, Error> MetricStore::open(const std::string& path) {
  auto db = meta::Db::open(path, 2);
  if (!db) return fail(db.error());
  if (auto s = (*db)->ensure_schema("metrics", kMigrations); !s) return fail(s.error());
  return std::unique_ptr<MetricStore>(new MetricStore(std::move(*db)));
}

Status<> MetricStore::put(const std::vector<Point>& points, int64_t now_minute) {
  std::map<std::string, int64_t> known;
  {
    std::lock_guard lk(ids_mu_);
    known = ids_;
  }
  std::map<std::string, int64_t> found;  // series made or first seen by this write
  auto s = db_->write([&](meta::Conn& c) -> Status<> {
    found.clear();
    std::map<int64_t, int64_t> newest;  // series id -> newest minute written
    for (const auto& p : points) {
      const std::string dims = dimensions_key(p.metric.dims);
      const std::string key = p.metric.ns + '\n' + p.metric.name + '\n' + dims;
      int64_t id = 0;
      if (auto it = known.find(key); it != known.end()) {
        id = it->second;
      } else if (auto f = found.find(key); f != found.end()) {
        id = f->second;
      } else {
        auto& up = c.stmt(
            "INSERT INTO metric_series (namespace, metric_name, dimensions, unit, last_minute) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (namespace, metric_name, dimensions) DO UPDATE "
            "SET unit = excluded.unit RETURNING id");
        up.bind_all(p.metric.ns, p.metric.name, dims, p.unit, p.minute);
        if (!up.step()) return fail(store_error("series", up));
        id = up.i64(0);
        up.reset();
        found[key] = id;
      }
      auto& n = newest[id];
      n = std::max(n, p.minute);
      auto& ins = c.stmt(
          "INSERT OR REPLACE INTO metric_points (series, minute, sum, minimum, maximum, "
          "sample_count) VALUES (?, ?, ?, ?, ?, ?)");
      ins.bind_all(id, p.minute, p.value.sum, p.value.min, p.value.max, p.value.count);
      if (!ins.run()) return fail(store_error("point", ins));
    }
    for (const auto& [id, minute] : newest) {
      auto& last =
          c.stmt("UPDATE metric_series SET last_minute = max(last_minute, ?) WHERE id = ?");
      last.bind_all(minute, id);
      if (!last.run()) return fail(store_error("series", last));
    }
    auto& old = c.stmt("DELETE FROM metric_points WHERE minute < ?");
    old.bind_all(now_minute - kRetentionMinutes);
    if (!old.run()) return fail(store_error("retention", old));
    return {};
  });
  if (s.ok() && !found.empty()) {
    std::lock_guard lk(ids_mu_);
    ids_.merge(found);
  }
  return s;
}

Result<std::vector<std::pair<int64_t, Aggregate>>, Error> MetricStore::points(
    const MetricId& metric, int64_t first, int64_t last) {
  std::vector<std::pair<int64_t, Aggregate>> out;
  auto s = db_->read([&](meta::Conn& c) -> Status<> {
    auto& q = c.stmt(
        "SELECT p.minute, p.sum, p.minimum, p.maximum, p.sample_count FROM metric_series s "
        "JOIN metric_points p ON p.series = s.id WHERE s.namespace = ? AND s.metric_name = ? "
        "AND s.dimensions = ? AND p.minute BETWEEN ? AND ? ORDER BY p.minute");
    q.bind_all(metric.ns, metric.name, dimensions_key(metric.dims), first, last);
    while (q.step()) {
      Aggregate a;
      a.sum = q.f64(1);
      a.min = q.f64(2);
      a.max = q.f64(3);
      a.count = q.f64(4);
      out.emplace_back(q.i64(0), a);
    }
    if (!q.error().empty()) return fail(store_error("points", q));
    return {};
  });
  if (!s) return fail(s.error());
  return out;
}

Result<std::vector<SeriesInfo>, Error> MetricStore::series(const std::string& ns,
                                                           const std::string& name,
                                                           int64_t since_minute) {
  std::vector<SeriesInfo> out;
  auto s = db_->read([&](meta::Conn& c) -> Status<> {
    auto& q = c.stmt(
        "SELECT namespace, metric_name, dimensions, unit, last_minute FROM metric_series "
        "WHERE (?1 = '' OR namespace = ?1) AND (?2 = '' OR metric_name = ?2) AND "
        "last_minute >= ?3 ORDER BY namespace, metric_name, dimensions");
    q.bind_all(ns, name, since_minute);
    while (q.step()) {
      SeriesInfo i;
      i.metric.ns = q.text(0);
      i.metric.name = q.text(1);
      i.metric.dims = dimensions_from_key(q.text(2));
      i.unit = q.text(3);
      i.last_minute = q.i64(4);
      out.push_back(std::move(i));
    }
    if (!q.error().empty()) return fail(store_error("series", q));
    return {};
  });
  if (!s) return fail(s.error());
  return out;
}

Status<> MetricStore::put_alarm(const AlarmRecord& a) {
  return db_->write([&](meta::Conn& c) -> Status<> {
    auto& q = c.stmt(std::string("INSERT OR REPLACE INTO metric_alarms (") + kAlarmColumns +
                     ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q.bind_all(a.account, a.region, a.name, a.doc, a.state, a.state_reason, a.state_reason_data,
               a.state_updated, a.state_transitioned, a.config_updated);
    if (!q.run()) return fail(store_error("alarm", q));
    return {};
  });
}

Result<std::vector<AlarmRecord>, Error> MetricStore::alarms(const std::string& account,
                                                            const std::string& region) {
  std::vector<AlarmRecord> out;
  auto s = db_->read([&](meta::Conn& c) -> Status<> {
    auto& q = c.stmt(std::string("SELECT ") + kAlarmColumns +
                     " FROM metric_alarms WHERE account = ? AND region = ? ORDER BY name");
    q.bind_all(account, region);
    while (q.step()) out.push_back(alarm_of(q));
    if (!q.error().empty()) return fail(store_error("alarms", q));
    return {};
  });
  if (!s) return fail(s.error());
  return out;
}

Result<std::vector<AlarmRecord>, Error> MetricStore::all_alarms() {
  std::vector<AlarmRecord> out;
  auto s = db_->read([&](meta::Conn& c) -> Status<> {
    auto& q = c.stmt(std::string("SELECT ") + kAlarmColumns + " FROM metric_alarms");
    while (q.step()) out.push_back(alarm_of(q));
    if (!q.error().empty()) return fail(store_error("alarms", q));
    return {};
  });
  if (!s) return fail(s.error());
  return out;
}

Result<std::vector<std::string>, Error> MetricStore::delete_alarms(
    const std::string& account, const std::string& region, const std::vector<std::string>& names) {
  std::vector<std::string> missing;
  auto s = db_->write([&](meta::Conn& c) -> Status<> {
    for (const auto& n : names) {
      auto& q = c.stmt("SELECT 1 FROM metric_alarms WHERE account = ? AND region = ? AND name = ?");
      q.bind_all(account, region, n);
      bool found = q.step();
      q.reset();
      if (!found) missing.push_back(n);
    }
    if (!missing.empty()) return {};
    for (const auto& n : names) {
      auto& d = c.stmt("DELETE FROM metric_alarms WHERE account = ? AND region = ? AND name = ?");
      d.bind_all(account, region, n);
      if (!d.run()) return fail(store_error("delete alarm", d));
    }
    return {};
  });
  if (!s) return fail(s.error());
  return missing;
}

Status<> MetricStore::set_alarm_state(const AlarmRecord& a) {
  return db_->write([&](meta::Conn& c) -> Status<> {
    auto& q = c.stmt(
        "UPDATE metric_alarms SET state = ?, state_reason = ?, state_reason_data = ?, "
        "state_updated = ?, state_transitioned = ? WHERE account = ? AND region = ? AND name = ?");
    q.bind_all(a.state, a.state_reason, a.state_reason_data, a.state_updated, a.state_transitioned,
               a.account, a.region, a.name);
    if (!q.run()) return fail(store_error("alarm state", q));
    return {};
  });
}

}  // namespace efs::metrics
