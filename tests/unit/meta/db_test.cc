#include "meta/db.h"

#include <doctest/doctest.h>

#include <filesystem>

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
