// A data dir with a Db, a Vfs and one file system, removed afterwards.
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "common/ids.h"
#include "meta/db.h"
#include "vfs/vfs.h"

namespace efs::vfs::test {

struct Fixture {
  std::string dir;
  std::unique_ptr<meta::Db> db;
  std::unique_ptr<Vfs> vfs;
  std::string fs_id = "fs-0123456789abcdef0";
  std::shared_ptr<FileSystem> fs;
  Cred root;

  Fixture() {
    dir = (std::filesystem::temp_directory_path() / ("vfs-test-" + random_hex(12))).string();
    std::filesystem::create_directories(dir);
    open();
    REQUIRE(vfs->create_file_system(fs_id).ok());
    fs = vfs->file_system(fs_id);
    REQUIRE(fs);
  }
  ~Fixture() {
    fs.reset();
    vfs.reset();
    db.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  void open() {
    auto d = meta::Db::open(dir + "/meta.db");
    REQUIRE(d.ok());
    db = std::move(*d);
    auto v = Vfs::open(*db, dir);
    REQUIRE(v.ok());
    vfs = std::move(*v);
  }
  // Closes and reopens the Db and the Vfs, as a server restart does.
  void reopen() {
    fs.reset();
    vfs.reset();
    db.reset();
    open();
    fs = vfs->file_system(fs_id);
    REQUIRE(fs);
  }

  Ino mkfile(Ino dir_ino, const std::string& name, const Cred& c, uint32_t mode = 0644) {
    SetAttr sa;
    sa.mode = mode;
    auto r = fs->create_file(c, dir_ino, name, CreateMode::guarded, sa);
    REQUIRE(r.ok());
    return r->attr.ino;
  }
  Ino mkfile(const std::string& name) { return mkfile(fs->root(), name, root); }
  Ino mkdir(Ino dir_ino, const std::string& name, const Cred& c, uint32_t mode = 0755) {
    SetAttr sa;
    sa.mode = mode;
    auto r = fs->mkdir(c, dir_ino, name, sa);
    REQUIRE(r.ok());
    return r->attr.ino;
  }
  Ino mkdir(const std::string& name) { return mkdir(fs->root(), name, root); }
  Errc err_of(const auto& r) { return r.ok() ? Errc::ok : r.error(); }
};

inline std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace efs::vfs::test
