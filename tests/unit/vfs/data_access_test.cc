// The data-access gate (Vfs::set_data_access): data operations refused with
// io while it is closed, metadata untouched, nothing lost when it opens.
#include <doctest/doctest.h>

#include <string>

#include "vfs_fixture.h"

using namespace efs::vfs;
using namespace efs::vfs::test;

namespace {

std::string as_string(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

}  // namespace

TEST_CASE("a closed data-access gate refuses data operations with io, not metadata") {
  Fixture f;
  Ino ino = f.mkfile("file");
  REQUIRE(f.fs->write(ino, 0, as_bytes("secret bytes"), Stability::file_sync).ok());

  f.vfs->set_data_access(f.fs_id, std::string("its KMS key is disabled"));
  CHECK(f.err_of(f.fs->read(ino, 0, 100)) == Errc::io);
  CHECK(f.err_of(f.fs->write(ino, 0, as_bytes("x"), Stability::unstable)) == Errc::io);
  CHECK(f.err_of(f.fs->write(ino, 0, as_bytes("x"), Stability::file_sync)) == Errc::io);
  CHECK(f.err_of(f.fs->commit(ino)) == Errc::io);
  SetAttr trunc;
  trunc.size = 0;
  CHECK(f.err_of(f.fs->setattr(f.root, ino, trunc)) == Errc::io);

  // Names, attributes and listings stay readable; attributes stay writable.
  auto a = f.fs->getattr(ino);
  REQUIRE(a.ok());
  CHECK(a->size == 12);
  CHECK(f.fs->lookup(f.root, f.fs->root(), "file").ok());
  auto rd = f.fs->readdir(f.root, f.fs->root(), 0, 100);
  REQUIRE(rd.ok());
  CHECK(rd->entries.size() == 1);
  SetAttr chmod;
  chmod.mode = 0600;
  CHECK(f.fs->setattr(f.root, ino, chmod).ok());
  CHECK(f.fs->mkdir(f.root, f.fs->root(), "dir", SetAttr{}).ok());

  // Opening the gate gives everything back.
  f.vfs->set_data_access(f.fs_id, std::nullopt);
  auto r = f.fs->read(ino, 0, 100);
  REQUIRE(r.ok());
  CHECK(as_string(r->data) == "secret bytes");
  CHECK(f.fs->write(ino, 12, as_bytes("!"), Stability::file_sync).ok());
  CHECK(f.fs->setattr(f.root, ino, trunc).ok());
}

TEST_CASE("the gate holds for a file system opened after it was closed, and only for it") {
  Fixture f;
  Ino ino = f.mkfile("file");
  REQUIRE(f.fs->write(ino, 0, as_bytes("abc"), Stability::file_sync).ok());
  REQUIRE(f.vfs->create_file_system("fs-0000000000000000b").ok());
  f.reopen();  // a fresh Vfs: no file system object exists yet
  f.fs.reset();
  f.vfs->set_data_access(f.fs_id, std::string("its KMS key was deleted"));
  auto fs = f.vfs->file_system(f.fs_id);
  REQUIRE(fs);
  CHECK(f.err_of(fs->read(ino, 0, 3)) == Errc::io);
  // Another file system is not affected.
  auto other = f.vfs->file_system("fs-0000000000000000b");
  REQUIRE(other);
  Ino o = 0;
  {
    auto c = other->create_file(f.root, other->root(), "g", CreateMode::guarded, SetAttr{});
    REQUIRE(c.ok());
    o = c->attr.ino;
  }
  CHECK(other->write(o, 0, as_bytes("ok"), Stability::file_sync).ok());
  f.vfs->set_data_access(f.fs_id, std::nullopt);
  CHECK(fs->read(ino, 0, 3).ok());
}
