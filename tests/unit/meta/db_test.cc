#include "meta/db.h"

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <thread>

using namespace efs;

namespace {
std::string temp_db() {
  auto dir = std::filesystem::temp_directory_path() / ("efs-meta-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto p = dir / "meta.db";
  std::filesystem::remove(p);
  return p.string();
}
}  // namespace

TEST_CASE("schema migrations run once and in order, data persists across reopen") {
  auto path = temp_db();
  {
    auto db = meta::Db::open(path);
    REQUIRE(db.ok());
    REQUIRE((*db)->ensure_schema("t", {"CREATE TABLE a(x INTEGER)"}).ok());
    REQUIRE((*db)->write([](meta::Conn& c) -> Status<> {
                 if (!c.stmt("INSERT INTO a(x) VALUES(?)").bind_all(42).run())
                   return fail(Error{"insert"});
                 return {};
               }).ok());
  }
  auto db = meta::Db::open(path);
  REQUIRE(db.ok());
  // Version 1 is already applied; only the second migration runs.
  REQUIRE((*db)->ensure_schema("t", {"CREATE TABLE a(x INTEGER)", "ALTER TABLE a ADD y TEXT"}).ok());
  int64_t got = 0;
  REQUIRE((*db)->read([&](meta::Conn& c) -> Status<> {
               auto& s = c.stmt("SELECT x FROM a");
               if (s.step()) got = s.i64(0);
               return {};
             }).ok());
  CHECK(got == 42);
  // A newer schema than this build knows is refused.
  auto s = (*db)->ensure_schema("t", {"SELECT 1"});
  CHECK_FALSE(s.ok());
}

TEST_CASE("a failed write rolls back") {
  auto path = temp_db();
  auto db = meta::Db::open(path);
  REQUIRE(db.ok());
  REQUIRE((*db)->ensure_schema("t", {"CREATE TABLE a(x INTEGER)"}).ok());
  auto r = (*db)->write([](meta::Conn& c) -> Status<> {
    (void)c.stmt("INSERT INTO a(x) VALUES(1)").run();
    return fail(Error{"nope"});
  });
  CHECK_FALSE(r.ok());
  int64_t n = -1;
  REQUIRE((*db)->read([&](meta::Conn& c) -> Status<> {
               auto& s = c.stmt("SELECT count(*) FROM a");
               if (s.step()) n = s.i64(0);
               return {};
             }).ok());
  CHECK(n == 0);
}

TEST_CASE("steady small commits ask for a checkpoint once per step of WAL growth, not per commit") {
  // Each commit adds a few pages. Without the step, the thread's copies
  // ended a few commits short of the WAL's end, so the WAL was never reset
  // before the writer's own checkpoint at 2,000 pages, and every commit
  // between 1,000 and 2,000 pages asked for another (two fsyncs each).
  auto path = temp_db();
  auto db = meta::Db::open(path);
  REQUIRE(db.ok());
  REQUIRE((*db)->ensure_schema("st", {"CREATE TABLE t(i INTEGER PRIMARY KEY, v TEXT)",
                                      "CREATE TABLE c(k INTEGER PRIMARY KEY, n INTEGER)",
                                      "INSERT INTO c VALUES(1, 0)"})
              .ok());
  constexpr int kCommits = 6000;
  const std::string text(300, 'v');
  for (int i = 0; i < kCommits; ++i) {
    REQUIRE((*db)->write([&](meta::Conn& c) -> Status<> {
                 if (!c.stmt("INSERT INTO t(i, v) VALUES(?, ?)").bind_all(i, text).run())
                   return fail(Error{"insert"});
                 if (!c.stmt("UPDATE c SET n = n + 1 WHERE k = 1").run()) return fail(Error{"update"});
                 return {};
               }).ok());
  }
  // About 2 pages a commit: 12,000 pages, six resets of a 2,000-page WAL,
  // each with four asks of the thread (1,000, 1,256, 1,512, 1,768) and one
  // of the writer (2,000), a few more where a reset comes late. Without the
  // step every commit past 1,000 pages asked: about 3,000.
  CHECK((*db)->checkpoint_requests() <= 60);
  CHECK((*db)->background_checkpoints() >= 1);
  // The WAL was reset, not grown: its file stays near 2,000 pages (8 MiB;
  // a reset may come a step or two late on a busy machine), far from the
  // 12,000 pages of all the commits.
  CHECK(std::filesystem::file_size(path + "-wal") < 4000 * 4120ull);
}

TEST_CASE("WAL checkpoints run on the background thread, and every commit survives") {
  auto path = temp_db();
  constexpr int kRows = 400;  // 16 KiB each: about 1,600 WAL pages, past the threshold
  const std::string blob(16384, 'x');
  {
    auto db = meta::Db::open(path);
    REQUIRE(db.ok());
    REQUIRE((*db)->ensure_schema("ck", {"CREATE TABLE b(i INTEGER PRIMARY KEY, v BLOB)"}).ok());
    for (int i = 0; i < kRows; ++i) {
      REQUIRE((*db)->write([&](meta::Conn& c) -> Status<> {
                   if (!c.stmt("INSERT INTO b(i, v) VALUES(?, ?)").bind_all(i, blob).run())
                     return fail(Error{"insert"});
                   return {};
                 }).ok());
    }
    for (int waited = 0; (*db)->background_checkpoints() == 0 && waited < 500; ++waited)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK((*db)->background_checkpoints() >= 1);
    // Readers see every row while checkpoints run.
    int64_t n = 0;
    REQUIRE((*db)->read([&](meta::Conn& c) -> Status<> {
                 auto& s = c.stmt("SELECT count(*) FROM b");
                 if (s.step()) n = s.i64(0);
                 return {};
               }).ok());
    CHECK(n == kRows);
  }
  auto db = meta::Db::open(path);
  REQUIRE(db.ok());
  int64_t n = 0;
  std::string check;
  REQUIRE((*db)->read([&](meta::Conn& c) -> Status<> {
               auto& s = c.stmt("SELECT count(*) FROM b WHERE length(v) = 16384");
               if (s.step()) n = s.i64(0);
               auto& ic = c.stmt("PRAGMA integrity_check");
               if (ic.step()) check = ic.text(0);
               return {};
             }).ok());
  CHECK(n == kRows);
  CHECK(check == "ok");
}
