// Open files that outlive their name: FileSystem::hold and orphans.
#include <filesystem>

#include "vfs_fixture.h"

using namespace efs::vfs;
using efs::vfs::test::as_bytes;
using efs::vfs::test::Fixture;

namespace {

std::string read_all(FileSystem& fs, Ino ino) {
  auto r = fs.read(ino, 0, 1 << 16);
  REQUIRE(r.ok());
  return std::string(r->data.begin(), r->data.end());
}

uint64_t metered(FileSystem& fs) {
  return fs.metered_size().total;
}

// Data files of the chunk store (any inode; not its FORMAT file, not the
// checksum sidecars of format v2, docs/chunk-format.md).
std::size_t chunk_files(const std::string& dir) {
  std::size_t n = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir + "/chunks")) {
    if (e.is_regular_file() && e.path().filename() != "FORMAT" && e.path().extension() != ".crc")
      ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("vfs hold: removing an open file keeps it until the last hold goes") {
  Fixture f;
  Ino ino = f.mkfile("open.txt");
  REQUIRE(f.fs->write(ino, 0, as_bytes("kept data"), Stability::file_sync).ok());
  uint64_t with_file = metered(*f.fs);
  auto h1 = f.fs->hold(ino);
  REQUIRE(h1.ok());
  auto h2 = f.fs->hold(ino);
  REQUIRE(h2.ok());

  REQUIRE(f.fs->remove(f.root, f.fs->root(), "open.txt").ok());
  CHECK(f.err_of(f.fs->lookup(f.root, f.fs->root(), "open.txt")) == Errc::noent);
  auto rd = f.fs->readdir(f.root, f.fs->root(), 0, 100);
  REQUIRE(rd.ok());
  CHECK(rd->entries.empty());
  // Still there by inode: attributes (no links), data, writes, size changes.
  auto a = f.fs->getattr(ino);
  REQUIRE(a.ok());
  CHECK(a->nlink == 0);
  CHECK(read_all(*f.fs, ino) == "kept data");
  REQUIRE(f.fs->write(ino, 9, as_bytes(" and more"), Stability::unstable).ok());
  REQUIRE(f.fs->commit(ino).ok());
  CHECK(read_all(*f.fs, ino) == "kept data and more");
  auto resolved = f.vfs->resolve_handle(f.vfs->make_handle(*f.fs, ino));
  CHECK(resolved.ok());
  // Metered until freed (SizeInBytes counts it).
  CHECK(metered(*f.fs) == with_file);
  // A name cannot be given back to it (linkat of an unlinked file: ENOENT).
  CHECK(f.err_of(f.fs->link(f.root, ino, f.fs->root(), "back")) == Errc::noent);

  h1->reset();  // one of two holds: still alive
  CHECK(f.fs->getattr(ino).ok());
  h2->reset();  // the last: freed
  CHECK(f.err_of(f.fs->getattr(ino)) == Errc::stale);
  CHECK(f.err_of(f.vfs->resolve_handle(f.vfs->make_handle(*f.fs, ino))) == Errc::stale);
  CHECK(metered(*f.fs) == 6144);
  CHECK(chunk_files(f.dir) == 0);
}

TEST_CASE("vfs hold: a held file with a name left, or unheld, behaves as before") {
  Fixture f;
  Ino ino = f.mkfile("a");
  REQUIRE(f.fs->link(f.root, ino, f.fs->root(), "b").ok());
  {
    auto h = f.fs->hold(ino);
    REQUIRE(h.ok());
    REQUIRE(f.fs->remove(f.root, f.fs->root(), "a").ok());
    auto a = f.fs->getattr(ino);
    REQUIRE(a.ok());
    CHECK(a->nlink == 1);
  }
  // Released while named: nothing freed.
  CHECK(f.fs->lookup(f.root, f.fs->root(), "b").ok());
  // Not held: removed at once.
  REQUIRE(f.fs->remove(f.root, f.fs->root(), "b").ok());
  CHECK(f.err_of(f.fs->getattr(ino)) == Errc::stale);
  // A hold on a gone inode is stale.
  CHECK(f.err_of(f.fs->hold(ino)) == Errc::stale);
}

TEST_CASE("vfs hold: renaming over an open file keeps it until released") {
  Fixture f;
  Ino victim = f.mkfile("target");
  REQUIRE(f.fs->write(victim, 0, as_bytes("old"), Stability::file_sync).ok());
  Ino src = f.mkfile("src");
  auto h = f.fs->hold(victim);
  REQUIRE(h.ok());
  REQUIRE(f.fs->rename(f.root, f.fs->root(), "src", f.fs->root(), "target").ok());
  auto l = f.fs->lookup(f.root, f.fs->root(), "target");
  REQUIRE(l.ok());
  CHECK(l->ino == src);
  auto a = f.fs->getattr(victim);
  REQUIRE(a.ok());
  CHECK(a->nlink == 0);
  CHECK(read_all(*f.fs, victim) == "old");
  h->reset();
  CHECK(f.err_of(f.fs->getattr(victim)) == Errc::stale);
}

TEST_CASE("vfs hold: an orphan left at shutdown is freed when the data dir opens again") {
  Fixture f;
  Ino ino = f.mkfile("open.txt");
  REQUIRE(f.fs->write(ino, 0, as_bytes("orphan"), Stability::file_sync).ok());
  auto h = f.fs->hold(ino);
  REQUIRE(h.ok());
  REQUIRE(f.fs->remove(f.root, f.fs->root(), "open.txt").ok());
  CHECK(chunk_files(f.dir) == 1);
  // The server stops with the file still open: the Vfs goes first, so the
  // late release must not touch it (the orphan stays recorded).
  f.fs.reset();
  f.vfs.reset();
  h->reset();
  f.db.reset();
  f.open();
  f.fs = f.vfs->file_system(f.fs_id);
  REQUIRE(f.fs);
  CHECK(f.err_of(f.fs->getattr(ino)) == Errc::stale);
  CHECK(metered(*f.fs) == 6144);
  CHECK(chunk_files(f.dir) == 0);
}

TEST_CASE("vfs schema: a version 1 data dir (no vfs_orphans) opens and gains the table") {
  Fixture f;
  Ino ino = f.mkfile("kept");
  REQUIRE(f.db->write([](efs::meta::Conn& c) -> efs::Status<> {
                return c.exec(
                    "DROP TABLE vfs_orphans; DROP TABLE vfs_lifecycle;"
                    " DROP TABLE vfs_lifecycle_moves; DROP TABLE vfs_changes; DROP TABLE "
                    "vfs_change_logs; DROP TABLE vfs_replicas; DROP TABLE vfs_replica_inodes;"
                    " UPDATE schema_versions SET version = 1 WHERE module = 'vfs';");
              })
              .ok());
  f.reopen();
  CHECK(f.fs->getattr(ino).ok());
  auto h = f.fs->hold(ino);
  REQUIRE(h.ok());
  REQUIRE(f.fs->remove(f.root, f.fs->root(), "kept").ok());  // needs vfs_orphans
  CHECK(f.fs->getattr(ino)->nlink == 0);
  h->reset();
  CHECK(f.err_of(f.fs->getattr(ino)) == Errc::stale);
}
