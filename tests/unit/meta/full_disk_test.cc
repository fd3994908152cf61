// A full disk as SQLite reports it (docs/full-disk.md). PRAGMA max_page_count
// makes SQLite answer SQLITE_FULL ("database or disk is full") exactly as it
// does when the host's disk is full, without filling one.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include "common/ids.h"
#include "meta/db.h"
#include "meta/space_reserve.h"

using namespace efs;

namespace {

std::string temp_dir() {
  auto dir = std::filesystem::temp_directory_path() / ("efs-full-test-" + random_hex(12));
  std::filesystem::create_directories(dir);
  return dir.string();
}

uint64_t file_size(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// Caps the database at its current size: the next page it needs fails.
void cap_pages(meta::Db& db) {
  REQUIRE(db.write([](meta::Conn& c) { return c.exec("PRAGMA max_page_count = 1"); }).ok());
}

Status<> insert_blob(meta::Conn& c, std::size_t n) {
  std::vector<uint8_t> big(n, 0xab);
  auto& s = c.stmt("INSERT INTO t(b) VALUES(?)");
  s.bind_blob(1, big);
  if (!s.run()) return fail(Error{s.error(), s.code()});
  return {};
}

}  // namespace

TEST_CASE("meta: SQLite's result codes map to ENOSPC only for a full disk") {
  CHECK(meta::error_code_of(SQLITE_FULL, 0) == ENOSPC);
  CHECK(meta::error_code_of(SQLITE_IOERR_WRITE, ENOSPC) == ENOSPC);
  CHECK(meta::error_code_of(SQLITE_IOERR_SHMSIZE, EDQUOT) == ENOSPC);
  CHECK(meta::error_code_of(SQLITE_IOERR_WRITE, EIO) == 0);
  CHECK(meta::error_code_of(SQLITE_CONSTRAINT, ENOSPC) == 0);
  CHECK(meta::error_code_of(SQLITE_BUSY, 0) == 0);
  CHECK(meta::is_disk_full(Error{"x", ENOSPC}));
  CHECK_FALSE(meta::is_disk_full(Error{"x"}));
}

TEST_CASE("meta: a statement and a write on a full database carry ENOSPC") {
  auto dir = temp_dir();
  auto db = meta::Db::open(dir + "/meta.db");
  REQUIRE(db.ok());
  REQUIRE((*db)->ensure_schema("t", {"CREATE TABLE t(b BLOB)"}).ok());
  cap_pages(**db);
  uint64_t counted = 0;
  auto s = (*db)->write([&](meta::Conn& c) -> Status<> {
    uint64_t before = c.disk_full_errors();
    auto r = insert_blob(c, 64 << 10);  // needs new pages
    counted = c.disk_full_errors() - before;
    return r;
  });
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == ENOSPC);
  CHECK(s.error().message.find("full") != std::string::npos);
  CHECK(counted == 1);
  // A failed constraint is not a full disk.
  auto other = (*db)->write([](meta::Conn& c) { return c.exec("INSERT INTO nope VALUES(1)"); });
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().code == 0);
  // Deleting needs no new page: it still works on the full database.
  REQUIRE((*db)->write([](meta::Conn& c) { return c.exec("DELETE FROM t"); }).ok());
  std::filesystem::remove_all(dir);
}

TEST_CASE("meta: ensure_schema of an up-to-date module writes nothing") {
  auto dir = temp_dir();
  std::vector<std::string> m = {"CREATE TABLE a(x INTEGER)", "CREATE TABLE b(y INTEGER)"};
  {
    auto db = meta::Db::open(dir + "/meta.db");
    REQUIRE(db.ok());
    REQUIRE((*db)->ensure_schema("t", m).ok());
  }
  auto db = meta::Db::open(dir + "/meta.db");
  REQUIRE(db.ok());
  int before = 0, after = 0;
  REQUIRE((*db)->write([&](meta::Conn& c) -> Status<> {
                 before = sqlite3_total_changes(c.raw());
                 return {};
               }).ok());
  REQUIRE((*db)->ensure_schema("t", m).ok());
  REQUIRE((*db)->write([&](meta::Conn& c) -> Status<> {
                 after = sqlite3_total_changes(c.raw());
                 return {};
               }).ok());
  // Before the fix the version row was rewritten on every start, which is
  // what made a start-up on a full disk fail.
  CHECK(after == before);
  std::filesystem::remove_all(dir);
}

TEST_CASE("meta: the space reserve is allocated, released and restored") {
  auto dir = temp_dir();
  std::string p = dir + "/space-reserve";
  meta::SpaceReserve r(p, 1 << 20);
  CHECK(r.target() == (1u << 20));
  CHECK(r.held() == 0);  // nothing until restore()
  CHECK(r.restore());
  CHECK(file_size(p) == (1u << 20));
  CHECK(r.whole());
  // Allocated blocks, not a sparse file: the space is really set aside.
  struct stat st;
  REQUIRE(::stat(p.c_str(), &st) == 0);
  CHECK(static_cast<uint64_t>(st.st_blocks) * 512 >= (1u << 20));
  CHECK(r.release(256 << 10) == (256u << 10));
  CHECK(r.held() == (768u << 10));
  CHECK(r.release() == (768u << 10));
  CHECK(r.held() == 0);
  CHECK(r.release() == 0);
  // No room for the reserve plus what the user must keep: not restored.
  auto avail = r.free_bytes();
  REQUIRE(avail.ok());
  CHECK_FALSE(r.restore(*avail));
  CHECK(r.held() == 0);
  CHECK(r.restore());
  CHECK(r.whole());
  std::filesystem::remove_all(dir);
}

TEST_CASE("meta: the default reserve is capped by the size of its disk") {
  meta::SpaceReserve r(temp_dir() + "/space-reserve");
  CHECK(r.target() > 0);
  CHECK(r.target() <= meta::kSpaceReserveBytes);
}

TEST_CASE("meta: Db keeps a space reserve and gives it back on request") {
  auto dir = temp_dir();
  meta::DbOptions o;
  o.space_reserve = dir + "/space-reserve";
  o.space_reserve_bytes = 2 << 20;
  auto db = meta::Db::open(dir + "/meta.db", o);
  REQUIRE(db.ok());
  CHECK(file_size(o.space_reserve) == (2u << 20));
  // A slice at a time, so one small deletion does not give all of it away.
  CHECK((*db)->release_space_reserve());
  CHECK(file_size(o.space_reserve) == (2u << 20) - meta::kSpaceReserveSliceBytes);
  CHECK((*db)->release_space_reserve(UINT64_MAX));
  CHECK(file_size(o.space_reserve) == 0);
  CHECK_FALSE((*db)->release_space_reserve());  // nothing left to give
  (*db)->restore_space_reserve();
  CHECK(file_size(o.space_reserve) == (2u << 20));
  std::filesystem::remove_all(dir);
}

TEST_CASE("meta: write_freeing retries with the space reserve when the disk is full") {
  auto dir = temp_dir();
  meta::DbOptions o;
  o.space_reserve = dir + "/space-reserve";
  o.space_reserve_bytes = 1 << 20;
  auto db = meta::Db::open(dir + "/meta.db", o);
  REQUIRE(db.ok());
  REQUIRE((*db)->ensure_schema("t", {"CREATE TABLE t(b BLOB)"}).ok());
  int calls = 0;
  // The first run fails as SQLite does on a full disk; the retry succeeds.
  auto s = (*db)->write_freeing([&](meta::Conn&) -> Status<> {
    if (++calls == 1) return fail(Error{"database or disk is full", ENOSPC});
    return {};
  });
  CHECK(s.ok());
  CHECK(calls == 2);
  // The retry left room: the reserve is whole again.
  CHECK(file_size(o.space_reserve) == (1u << 20));
  // Other failures are not retried.
  calls = 0;
  auto t = (*db)->write_freeing([&](meta::Conn&) -> Status<> {
    ++calls;
    return fail(Error{"constraint"});
  });
  CHECK_FALSE(t.ok());
  CHECK(calls == 1);
  std::filesystem::remove_all(dir);
}
