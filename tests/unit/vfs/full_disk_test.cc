// vfs on a full disk (docs/full-disk.md): changes answer nospc, never io, and
// removing still works. PRAGMA max_page_count makes SQLite fail with
// SQLITE_FULL exactly as on a full host disk.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cerrno>

#include "vfs/fault.h"
#include "vfs_fixture.h"

using namespace efs;
using namespace efs::vfs;
using efs::vfs::test::as_bytes;
using efs::vfs::test::Fixture;

namespace {

void cap_pages(meta::Db& db) {
  REQUIRE(db.write([](meta::Conn& c) { return c.exec("PRAGMA max_page_count = 1"); }).ok());
}

}  // namespace

TEST_CASE("vfs: host and SQLite causes map to nfsstat4 in one place") {
  CHECK(errc_of_errno(ENOSPC) == Errc::nospc);
  CHECK(errc_of_errno(EDQUOT) == Errc::nospc);  // EFS has no quotas
  CHECK(errc_of_errno(EFBIG) == Errc::fbig);
  CHECK(errc_of_errno(EIO) == Errc::io);
  CHECK(errc_of_errno(0) == Errc::io);
  CHECK(errc_of(Error{"database or disk is full", ENOSPC}) == Errc::nospc);
  CHECK(errc_of(Error{"disk I/O error"}) == Errc::io);
}

TEST_CASE("vfs: on a full database create and mkdir answer nospc and remove still works") {
  Fixture f;
  Ino keep = f.mkfile("keep");
  REQUIRE(f.fs->write(keep, 0, as_bytes("kept"), Stability::file_sync).ok());
  cap_pages(*f.db);
  // Rows fit in the pages there are until one needs a new page.
  Errc got = Errc::ok;
  int made = 0;
  for (; made < 5000 && got == Errc::ok; ++made) {
    SetAttr sa;
    sa.mode = 0644;
    auto r = f.fs->create_file(f.root, f.fs->root(), "f" + std::to_string(made),
                               CreateMode::guarded, sa);
    got = f.err_of(r);
  }
  CHECK(got == Errc::nospc);  // was Errc::io
  CHECK(f.err_of(f.fs->mkdir(f.root, f.fs->root(), "dir", SetAttr{})) == Errc::nospc);
  // Deleting rows needs no new page: a user can free space.
  for (int i = 0; i + 1 < made; ++i) {
    auto r = f.fs->remove(f.root, f.fs->root(), "f" + std::to_string(i));
    REQUIRE_MESSAGE(r.ok(), "remove f", i);
  }
  SetAttr trunc;
  trunc.size = 0;
  CHECK(f.fs->setattr(f.root, keep, trunc).ok());
  // With the rows gone, creating works again without a reopen.
  CHECK(f.err_of(f.fs->mkdir(f.root, f.fs->root(), "dir", SetAttr{})) == Errc::ok);
}

TEST_CASE("vfs: a write that fails part-way keeps the size and gives back the bytes") {
  Fixture f;
  Ino ino = f.mkfile("big");
  REQUIRE(f.fs->write(ino, 0, as_bytes("0123456789"), Stability::file_sync).ok());
  // RLIMIT_FSIZE makes pwrite store part of a write and then fail (EFBIG), as
  // a disk that fills during a write does (ENOSPC): same code path.
  struct rlimit old;
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  auto old_sig = ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit lim = old;
  lim.rlim_cur = 256 << 10;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &lim) == 0);
  std::vector<uint8_t> data(1 << 20, 'x');
  auto w = f.fs->write(ino, 10, data, Stability::unstable);
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &old) == 0);
  ::signal(SIGXFSZ, old_sig);
  REQUIRE_FALSE(w.ok());
  CHECK(w.error() == Errc::fbig);
  // The size is what is really stored and acknowledged...
  CHECK(f.fs->getattr(ino)->size == 10);
  auto r = f.fs->read(ino, 0, 100);
  REQUIRE(r.ok());
  CHECK(std::string(r->data.begin(), r->data.end()) == "0123456789");
  // ... and the part that was stored past it takes no space.
  std::string chunk;
  for (auto& e : std::filesystem::recursive_directory_iterator(f.dir + "/chunks")) {
    if (e.is_regular_file() && e.path().filename() == std::to_string(ino)) chunk = e.path();
  }
  REQUIRE_FALSE(chunk.empty());
  CHECK(std::filesystem::file_size(chunk) == 10);
}

TEST_CASE("vfs: a REMOVE needs a few WAL frames, far less than the space reserve") {
  // The measurement behind kSpaceReserveBytes (docs/full-disk.md).
  Fixture f;
  for (int i = 0; i < 300; ++i) {
    Ino ino = f.mkfile("file-with-a-longish-name-" + std::to_string(i));
    REQUIRE(f.fs->write(ino, 0, as_bytes("some data"), Stability::file_sync).ok());
  }
  std::string wal = f.dir + "/meta.db-wal";
  auto checkpoint = [&] {
    sqlite3* c = nullptr;
    REQUIRE(sqlite3_open(f.db->path().c_str(), &c) == SQLITE_OK);
    CHECK(sqlite3_exec(c, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr) ==
          SQLITE_OK);
    sqlite3_close(c);
    REQUIRE(std::filesystem::file_size(wal) == 0);
  };
  checkpoint();
  REQUIRE(f.fs->remove(f.root, f.fs->root(), "file-with-a-longish-name-150").ok());
  auto one = std::filesystem::file_size(wal);
  MESSAGE("WAL bytes appended by one REMOVE: ", one);
  CHECK(one > 0);
  CHECK(one < 64 * 1024);
  for (int i = 0; i < 100; ++i)
    REQUIRE(f.fs->remove(f.root, f.fs->root(), "file-with-a-longish-name-" + std::to_string(i)).ok());
  auto hundred = std::filesystem::file_size(wal) - one;
  MESSAGE("WAL bytes appended by 100 more REMOVEs: ", hundred);
  CHECK(hundred < meta::kSpaceReserveBytes / 2);
}
