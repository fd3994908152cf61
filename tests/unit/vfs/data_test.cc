#include <thread>

#include "common/clock.h"
#include "vfs_fixture.h"

using namespace efs::vfs;
using efs::vfs::test::as_bytes;
using efs::vfs::test::Fixture;

namespace {
std::string str(const std::vector<uint8_t>& v) {
  return {v.begin(), v.end()};
}
}  // namespace

TEST_CASE("vfs: write and read back; sizes, times and change") {
  Fixture f;
  Ino ino = f.mkfile("data");
  auto a0 = f.fs->getattr(ino).value();
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  auto w = f.fs->write(ino, 0, as_bytes("hello world"), Stability::file_sync);
  REQUIRE(w.ok());
  CHECK(w->count == 11);
  CHECK(w->committed == Stability::file_sync);
  auto a1 = f.fs->getattr(ino).value();
  CHECK(a1.size == 11);
  CHECK(a1.change > a0.change);
  CHECK(a1.mtime != a0.mtime);
  CHECK(a1.ctime == a1.mtime);
  CHECK(a1.btime == a0.btime);
  auto r = f.fs->read(ino, 6, 100);
  REQUIRE(r.ok());
  CHECK(str(r->data) == "world");
  CHECK(r->eof);
  auto r2 = f.fs->read(ino, 0, 5);
  CHECK(str(r2->data) == "hello");
  CHECK(!r2->eof);
  auto past = f.fs->read(ino, 100, 5);
  REQUIRE(past.ok());
  CHECK(past->data.empty());
  CHECK(past->eof);
  // Reads do not move atime (EFS does not update it).
  CHECK(f.fs->getattr(ino)->atime == a1.atime);
  CHECK(f.err_of(f.fs->read(f.fs->root(), 0, 1)) == Errc::isdir);
  CHECK(f.err_of(f.fs->write(f.fs->root(), 0, as_bytes("x"), Stability::unstable)) == Errc::isdir);
}

TEST_CASE("vfs: sparse writes read zeros in the hole") {
  Fixture f;
  Ino ino = f.mkfile("sparse");
  REQUIRE(f.fs->write(ino, 1 << 20, as_bytes("end"), Stability::file_sync).ok());
  CHECK(f.fs->getattr(ino)->size == (1 << 20) + 3);
  auto r = f.fs->read(ino, 1000, 16);
  REQUIRE(r.ok());
  CHECK(r->data == std::vector<uint8_t>(16, 0));
}

TEST_CASE("vfs: UNSTABLE writes are visible at once and durable after COMMIT") {
  Fixture f;
  Ino ino = f.mkfile("u");
  auto before = f.fs->getattr(ino)->change;
  auto w = f.fs->write(ino, 0, as_bytes("abc"), Stability::unstable);
  REQUIRE(w.ok());
  CHECK(w->committed == Stability::unstable);
  auto a = f.fs->getattr(ino).value();
  CHECK(a.size == 3);
  CHECK(a.change > before);
  REQUIRE(f.fs->write(ino, 3, as_bytes("def"), Stability::unstable).ok());
  auto b = f.fs->getattr(ino).value();
  CHECK(b.size == 6);
  CHECK(b.change > a.change);
  // Another change of the inode folds the overlay in; change keeps rising.
  REQUIRE(f.fs->link(f.root, ino, f.fs->root(), "u2").ok());
  auto c = f.fs->getattr(ino).value();
  CHECK(c.size == 6);
  CHECK(c.change > b.change);
  REQUIRE(f.fs->write(ino, 6, as_bytes("g"), Stability::unstable).ok());
  REQUIRE(f.fs->commit(ino).ok());
  auto d = f.fs->getattr(ino).value();
  f.reopen();
  auto e = f.fs->getattr(ino).value();
  CHECK(e.size == 7);
  CHECK(e.change == d.change);
  CHECK(str(f.fs->read(ino, 0, 10)->data) == "abcdefg");
}

TEST_CASE("vfs: write verifier is per server start") {
  Fixture f;
  auto v1 = f.vfs->write_verifier();
  f.reopen();
  CHECK(f.vfs->write_verifier() != v1);
}

TEST_CASE("vfs: setattr truncate down and up; data read back") {
  Fixture f;
  Ino ino = f.mkfile("t");
  REQUIRE(f.fs->write(ino, 0, as_bytes("0123456789"), Stability::unstable).ok());
  SetAttr down;
  down.size = 4;
  auto a = f.fs->setattr(f.root, ino, down);
  REQUIRE(a.ok());
  CHECK(a->size == 4);
  CHECK(str(f.fs->read(ino, 0, 100)->data) == "0123");
  SetAttr up;
  up.size = 8;
  REQUIRE(f.fs->setattr(f.root, ino, up).ok());
  CHECK(f.fs->read(ino, 0, 100)->data == std::vector<uint8_t>{'0', '1', '2', '3', 0, 0, 0, 0});
  // A write past the end after a shrink must not resurrect old bytes.
  REQUIRE(f.fs->setattr(f.root, ino, down).ok());
  REQUIRE(f.fs->write(ino, 9, as_bytes("Z"), Stability::file_sync).ok());
  CHECK(f.fs->read(ino, 0, 100)->data ==
        std::vector<uint8_t>{'0', '1', '2', '3', 0, 0, 0, 0, 0, 'Z'});
  SetAttr dir_size;
  dir_size.size = 0;
  CHECK(f.err_of(f.fs->setattr(f.root, f.fs->root(), dir_size)) == Errc::isdir);
}

TEST_CASE("vfs: file size limit gives fbig") {
  Fixture f;
  Ino ino = f.mkfile("big");
  SetAttr at;
  at.size = kMaxFileSize;
  REQUIRE(f.fs->setattr(f.root, ino, at).ok());
  CHECK(f.fs->getattr(ino)->size == kMaxFileSize);
  SetAttr over;
  over.size = kMaxFileSize + 1;
  CHECK(f.err_of(f.fs->setattr(f.root, ino, over)) == Errc::fbig);
  CHECK(f.err_of(f.fs->write(ino, kMaxFileSize, as_bytes("x"), Stability::file_sync)) ==
        Errc::fbig);
  CHECK(f.err_of(f.fs->write(ino, kMaxFileSize - 1, as_bytes("xy"), Stability::file_sync)) ==
        Errc::fbig);
  CHECK(f.fs->write(ino, kMaxFileSize - 1, as_bytes("x"), Stability::file_sync).ok());
}

TEST_CASE("vfs: times with nanoseconds from the clock; explicit times") {
  Fixture f;
  Ino ino = f.mkfile("times");
  SetAttr sa;
  sa.mtime_how = TimeHow::client_time;
  sa.mtime = Time{1234567890, 123456789};
  sa.atime_how = TimeHow::client_time;
  sa.atime = Time{1000, 5};
  auto a = f.fs->setattr(f.root, ino, sa);
  REQUIRE(a.ok());
  CHECK(a->mtime == Time{1234567890, 123456789});
  CHECK(a->atime == Time{1000, 5});
  f.reopen();
  CHECK(f.fs->getattr(ino)->mtime == Time{1234567890, 123456789});
  // The emulator clock drives server times.
  auto before = f.fs->getattr(ino)->ctime;
  efs::Clock::global().advance(std::chrono::hours(24 * 365));
  SetAttr now;
  now.mtime_how = TimeHow::server_time;
  auto b = f.fs->setattr(f.root, ino, now);
  REQUIRE(b.ok());
  CHECK(b->mtime.sec > before.sec + 364 * 24 * 3600);
}

TEST_CASE("vfs: concurrent unstable writers to different files and one file") {
  Fixture f;
  Ino shared = f.mkfile("shared");
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      Ino own = f.mkfile(f.fs->root(), "own" + std::to_string(t), f.root);
      std::string block(100, static_cast<char>('a' + t));
      for (int i = 0; i < 50; ++i) {
        CHECK(f.fs->write(own, i * 100, as_bytes(block), Stability::unstable).ok());
        CHECK(f.fs->write(shared, (t * 50 + i) * 100, as_bytes(block), Stability::unstable).ok());
      }
      CHECK(f.fs->commit(own).ok());
    });
  }
  for (auto& t : ts) t.join();
  REQUIRE(f.fs->commit(shared).ok());
  CHECK(f.fs->getattr(shared)->size == 4 * 50 * 100);
  for (int t = 0; t < 4; ++t) {
    auto a = f.fs->lookup(f.root, f.fs->root(), "own" + std::to_string(t));
    REQUIRE(a.ok());
    CHECK(a->size == 5000);
  }
  auto r = f.fs->read(shared, 3 * 5000 + 42, 1);
  CHECK(r->data[0] == 'd');
}
