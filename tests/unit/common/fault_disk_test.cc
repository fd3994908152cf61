// The FaultDisk must fail exactly where it is told and undo exactly what a
// power loss undoes, or the crash tests built on it prove nothing.
#include "common/fault_disk.h"

#include <doctest/doctest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/ids.h"

using efs::FaultDisk;
using Op = efs::FaultDisk::Op;

namespace {

struct TempDir {
  std::string path =
      (std::filesystem::temp_directory_path() / ("fault-disk-" + efs::random_hex(8))).string();
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string content(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes s at offset 0 of path (creating it), optionally fdatasync'ed.
void put(FaultDisk& d, const std::string& path, const std::string& s, bool sync) {
  auto f = d.open(path, true);
  REQUIRE(f.ok());
  REQUIRE(d.pwrite(*f, bytes(s), 0).ok());
  if (sync) REQUIRE(d.fdatasync(*f).ok());
  d.close(*f);
}

}  // namespace

TEST_CASE("fault disk: the nth call of a kind fails once with the given errno") {
  TempDir t;
  FaultDisk d;
  auto f = d.open(t.path + "/a", true);
  REQUIRE(f.ok());
  d.fail_nth(Op::pwrite, 2, ENOSPC);
  CHECK(d.pwrite(*f, bytes("x"), 0).ok());
  auto second = d.pwrite(*f, bytes("y"), 1);
  REQUIRE(!second.ok());
  CHECK(second.error().code == ENOSPC);
  CHECK(d.pwrite(*f, bytes("z"), 1).ok());  // once only
  d.fail_always(Op::fdatasync, EIO);
  CHECK(d.fdatasync(*f).error().code == EIO);
  CHECK(d.fdatasync(*f).error().code == EIO);
  d.clear();
  CHECK(d.fdatasync(*f).ok());
  d.close(*f);
  CHECK(content(t.path + "/a") == "xz");
}

TEST_CASE("fault disk: a short write stores part of the bytes, then the disk is full") {
  TempDir t;
  FaultDisk d;
  auto f = d.open(t.path + "/a", true);
  REQUIRE(f.ok());
  d.short_write_nth(1, 3, ENOSPC);
  auto n = d.pwrite(*f, bytes("abcdef"), 0);
  REQUIRE(n.ok());
  CHECK(*n == 3);
  auto next = d.pwrite(*f, bytes("def"), 3);
  REQUIRE(!next.ok());
  CHECK(next.error().code == ENOSPC);
  d.close(*f);
  CHECK(content(t.path + "/a") == "abc");
}

TEST_CASE("fault disk: after a crash every call fails, commit points included") {
  TempDir t;
  FaultDisk d;
  d.crash_at(2);
  auto f = d.open(t.path + "/a", true);  // call 1
  REQUIRE(f.ok());
  CHECK(!d.crashed());
  CHECK(d.pwrite(*f, bytes("x"), 0).error().code == EIO);  // call 2: the crash
  CHECK(d.crashed());
  CHECK(!d.commit_point().ok());
  CHECK(!d.mkdir(t.path + "/dir").ok());
  CHECK(!std::filesystem::exists(t.path + "/dir"));
  CHECK(d.calls(Op::commit) == 1);
  d.close(*f);
}

TEST_CASE("fault disk: a power loss reverts unsynced data and unsynced entries") {
  TempDir t;
  FaultDisk d;
  // Durable: data synced and the entry's directory synced.
  put(d, t.path + "/durable", "old", true);
  put(d, t.path + "/victim", "keep me", true);
  put(d, t.path + "/from", "moved", true);
  REQUIRE(d.sync_dir(t.path).ok());
  // Overwritten and extended without a sync: back to "old".
  put(d, t.path + "/durable", "newer", false);
  // Synced data, but the directory never synced: the file goes.
  put(d, t.path + "/new-synced", "data", true);
  // A new directory with a synced file in it, the directory's own entry
  // never synced: all of it goes.
  REQUIRE(d.mkdir(t.path + "/sub").ok());
  put(d, t.path + "/sub/f", "x", true);
  REQUIRE(d.sync_dir(t.path + "/sub").ok());
  // A durable file removed without a sync of its directory comes back.
  REQUIRE(d.unlink(t.path + "/victim").ok());
  // A rename not synced is undone.
  REQUIRE(d.rename(t.path + "/from", t.path + "/to").ok());
  // Truncation not synced is undone.
  {
    auto f = d.open(t.path + "/durable", false);
    REQUIRE(f.ok());
    REQUIRE(d.ftruncate(*f, 1).ok());
    d.close(*f);
  }

  REQUIRE(d.lose_unsynced().ok());
  CHECK(content(t.path + "/durable") == "old");
  CHECK(!std::filesystem::exists(t.path + "/new-synced"));
  CHECK(!std::filesystem::exists(t.path + "/sub"));
  CHECK(content(t.path + "/victim") == "keep me");
  CHECK(content(t.path + "/from") == "moved");
  CHECK(!std::filesystem::exists(t.path + "/to"));
}

TEST_CASE("fault disk: what was synced survives a power loss") {
  TempDir t;
  FaultDisk d;
  put(d, t.path + "/f", "first", true);
  REQUIRE(d.sync_dir(t.path).ok());
  put(d, t.path + "/f", "SECOND", true);
  REQUIRE(d.unlink(t.path + "/f").ok() == true);
  REQUIRE(d.sync_dir(t.path).ok());
  put(d, t.path + "/g", "gg", true);
  REQUIRE(d.sync_dir(t.path).ok());
  REQUIRE(d.lose_unsynced().ok());
  CHECK(!std::filesystem::exists(t.path + "/f"));
  CHECK(content(t.path + "/g") == "gg");
}
