// Host faults under the vfs: a full disk in the middle of a WRITE, and an
// fdatasync that fails (EIO), injected through a FaultDisk; and the vfs's
// own clock.
#include <doctest/doctest.h>

#include <cerrno>

#include "crash_fixture.h"
#include "vfs/group_commit.h"
#include "vfs_fixture.h"

using namespace efs::vfs;
using efs::FaultDisk;
using efs::vfs::test::as_bytes;
using efs::vfs::test::CrashFixture;
using Op = efs::FaultDisk::Op;

namespace {

Ino make(CrashFixture& f, const std::string& name, const std::string& data) {
  auto c = f.fs->create_file(f.root, f.fs->root(), name, CreateMode::guarded, {});
  REQUIRE(c.ok());
  if (!data.empty())
    REQUIRE(f.fs->write(c->attr.ino, 0, as_bytes(data), Stability::file_sync).ok());
  return c->attr.ino;
}

std::string content(CrashFixture& f, Ino ino) {
  auto a = f.fs->getattr(ino);
  REQUIRE(a.ok());
  auto r = f.fs->read(ino, 0, static_cast<uint32_t>(a->size + 100));
  REQUIRE(r.ok());
  return {r->data.begin(), r->data.end()};
}

Errc err(const auto& r) {
  return r.ok() ? Errc::ok : r.error();
}

}  // namespace

TEST_CASE("fault: ENOSPC mid-WRITE answers nospc, loses nothing stored, and passes when freed") {
  CrashFixture f;
  Ino keep = make(f, "keep", "kept bytes");
  Ino ino = make(f, "f", "old");
  const std::string big(64 * 1024, 'x');

  SUBCASE("the disk is full from the first byte") {
    f.disk.fail_always(Op::pwrite, ENOSPC);
  }
  SUBCASE("the disk fills up part-way through the write") {
    // 1000 bytes are stored past the end, then the disk is full: they must
    // not show up under any later size.
    f.disk.short_write_nth(1, 1000, ENOSPC);
    f.disk.fail_always(Op::pwrite, ENOSPC);
  }
  auto w = f.fs->write(ino, 3, as_bytes(big), Stability::file_sync);
  CHECK(err(w) == Errc::nospc);
  auto u = f.fs->write(ino, 3, as_bytes(big), Stability::unstable);
  CHECK(err(u) == Errc::nospc);
  CHECK(content(f, ino) == "old");
  CHECK(content(f, keep) == "kept bytes");
  // Operations that need no file data keep working on a full chunk disk.
  CHECK(f.fs->getattr(ino).ok());
  CHECK(f.fs->mkdir(f.root, f.fs->root(), "dir", {}).ok());
  CHECK(f.fs->rename(f.root, f.fs->root(), "keep", f.fs->root(), "kept").ok());

  f.disk.clear();  // space freed
  SetAttr grow;
  grow.size = 3 + 2000;
  REQUIRE(f.fs->setattr(f.root, ino, grow).ok());
  CHECK(content(f, ino) == "old" + std::string(2000, '\0'));
  auto again = f.fs->write(ino, 3, as_bytes(big), Stability::file_sync);
  REQUIRE(again.ok());
  CHECK(again->committed == Stability::file_sync);
  CHECK(content(f, ino) == "old" + big);
  f.restart(true);
  CHECK(content(f, ino) == "old" + big);
  auto kept = f.fs->lookup(f.root, f.fs->root(), "kept");
  REQUIRE(kept.ok());
  CHECK(content(f, kept->ino) == "kept bytes");
}

TEST_CASE("fault: ENOSPC from fdatasync (delayed allocation) answers nospc") {
  CrashFixture f;
  Ino ino = make(f, "f", "old");
  f.disk.fail_nth(Op::fdatasync, 1, ENOSPC);
  CHECK(err(f.fs->write(ino, 0, as_bytes("new"), Stability::file_sync)) == Errc::nospc);
}

TEST_CASE("fault: a WRITE whose fdatasync fails is never acknowledged, nor is a later COMMIT") {
  CrashFixture f;
  Ino ino = make(f, "f", "old");
  f.disk.fail_nth(Op::fdatasync, 1, EIO);
  auto w = f.fs->write(ino, 0, as_bytes("NEW DATA"), Stability::file_sync);
  CHECK(err(w) == Errc::io);
  // "fsyncgate": Linux may have dropped the dirty pages after the failed
  // fdatasync, so a later one that succeeds proves nothing. The COMMIT
  // (and a retried FILE_SYNC write of other bytes) must fail as well.
  CHECK(err(f.fs->commit(ino)) == Errc::io);
  CHECK(err(f.fs->write(ino, 20, as_bytes("more"), Stability::file_sync)) == Errc::io);
  CHECK(err(f.fs->commit(ino)) == Errc::io);
  CHECK(f.fs->getattr(ino)->size == 3);  // the size never committed
  // Other files are not affected.
  Ino other = make(f, "other", "fine");
  CHECK(content(f, other) == "fine");
  // A new start (new write verifier: clients resend what was not
  // committed) makes the file writable again.
  f.restart(true);
  CHECK(content(f, ino) == "old");
  auto again = f.fs->write(ino, 0, as_bytes("NEW DATA"), Stability::file_sync);
  REQUIRE(again.ok());
  CHECK(content(f, ino) == "NEW DATA");
}

TEST_CASE("fault: COMMIT whose fdatasync fails reports io, and so does every COMMIT after") {
  CrashFixture f;
  Ino ino = make(f, "f", "old");
  auto w = f.fs->write(ino, 0, as_bytes("unstable bytes"), Stability::unstable);
  REQUIRE(w.ok());
  f.disk.fail_nth(Op::fdatasync, 1, EIO);
  CHECK(err(f.fs->commit(ino)) == Errc::io);
  CHECK(err(f.fs->commit(ino)) == Errc::io);
  CHECK(f.disk.calls(Op::fdatasync) >= 1);
}

TEST_CASE("fault: a failed SQLite commit after the data sync fails the WRITE") {
  CrashFixture f;
  Ino ino = make(f, "f", "old");
  f.disk.fail_nth(Op::commit, 1, EIO);
  CHECK(err(f.fs->write(ino, 0, as_bytes("longer data"), Stability::file_sync)) == Errc::io);
  CHECK(f.fs->getattr(ino)->size == 3);
  // Nothing is stuck: the next write commits.
  REQUIRE(f.fs->write(ino, 0, as_bytes("longer data"), Stability::file_sync).ok());
  CHECK(content(f, ino) == "longer data");
}

TEST_CASE("vfs times come from the clock it was opened with, not the process clock") {
  CrashFixture f;
  f.clock.advance(std::chrono::hours(48));
  auto c = f.fs->create_file(f.root, f.fs->root(), "future", CreateMode::guarded, {});
  REQUIRE(c.ok());
  const int64_t real_now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  CHECK(c->attr.mtime.sec > real_now + 47 * 3600);
  CHECK(c->attr.ctime.sec > real_now + 47 * 3600);
  // Other tests of this binary may have moved the process clock: a vfs
  // reading it would stamp that time instead of this one.
  f.clock.advance(std::chrono::hours(24 * 400));
  auto later = f.fs->create_file(f.root, f.fs->root(), "later", CreateMode::guarded, {});
  REQUIRE(later.ok());
  CHECK(later->attr.mtime.sec > real_now + (24 * 400 + 47) * 3600);
}

TEST_CASE("commits that acknowledge stable data are fsynced (synchronous=FULL), others not") {
  CrashFixture f;
  GroupCommit commits(*f.db);
  auto level = [](efs::meta::Conn& c) {
    auto& q = c.stmt("PRAGMA synchronous");
    int64_t v = q.step() ? q.i64(0) : -1;
    q.reset();
    return v;
  };
  int64_t in_synced = -1, in_plain = -1;
  REQUIRE(commits
              .run(
                  [&](efs::meta::Conn& c) -> efs::Status<> {
                    in_synced = level(c);
                    return {};
                  },
                  true)
              .ok());
  REQUIRE(commits
              .run([&](efs::meta::Conn& c) -> efs::Status<> {
                in_plain = level(c);
                return {};
              })
              .ok());
  CHECK(in_synced == 2);  // FULL: COMMIT fsyncs the WAL
  CHECK(in_plain == 1);   // NORMAL: durable across kill -9 only
}
