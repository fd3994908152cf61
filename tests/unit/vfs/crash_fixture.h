// A data dir whose chunk store goes through a FaultDisk and whose vfs reads
// its own Clock, for crash and fault tests (docs/crash-consistency.md).
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/fault_disk.h"
#include "common/ids.h"
#include "meta/db.h"
#include "vfs/vfs.h"

namespace efs::vfs::test {

struct CrashFixture {
  std::string dir;
  Clock clock;
  FaultDisk disk;
  std::unique_ptr<meta::Db> db;
  std::unique_ptr<Vfs> vfs;
  std::string fs_id = "fs-0123456789abcdef0";
  std::shared_ptr<FileSystem> fs;
  Cred root;

  CrashFixture() {
    dir = (std::filesystem::temp_directory_path() / ("vfs-crash-" + random_hex(12))).string();
    std::filesystem::create_directories(dir);
    open();
    REQUIRE(vfs->create_file_system(fs_id).ok());
    fs = vfs->file_system(fs_id);
    REQUIRE(fs);
  }
  ~CrashFixture() {
    close();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  void open() {
    auto d = meta::Db::open(dir + "/meta.db");
    REQUIRE(d.ok());
    db = std::move(*d);
    auto v = Vfs::open(*db, dir, clock, disk);
    REQUIRE(v.ok());
    vfs = std::move(*v);
  }
  void close() {
    fs.reset();
    vfs.reset();
    db.reset();
  }
  // The process died (the page cache survives: every write stays) or the
  // machine lost power (what was not synced is gone); then a new start.
  void restart(bool power_loss) {
    close();
    if (power_loss) REQUIRE(disk.lose_unsynced().ok());
    disk.clear();
    open();
    fs = vfs->file_system(fs_id);
    REQUIRE(fs);
  }
  // SQLite's own check of the database file after the restart.
  std::string integrity() {
    std::string out;
    auto s = db->read([&](meta::Conn& c) -> Status<> {
      auto& q = c.stmt("PRAGMA integrity_check");
      while (q.step()) out += q.text(0);
      q.reset();
      return {};
    });
    REQUIRE(s.ok());
    return out;
  }
};

}  // namespace efs::vfs::test
