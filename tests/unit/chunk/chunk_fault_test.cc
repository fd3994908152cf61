// The chunk store under injected faults and power loss (common/fault_disk.h):
// what sync() acknowledged survives, a failed fdatasync is never turned into
// a later success, and host errors keep their errno.
#include <doctest/doctest.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include "chunk/chunk_store.h"
#include "common/fault_disk.h"
#include "common/ids.h"

using efs::FaultDisk;
using efs::chunk::ChunkStore;
using Op = efs::FaultDisk::Op;

namespace {

struct Dir {
  std::string path =
      (std::filesystem::temp_directory_path() / ("chunk-fault-" + efs::random_hex(12))).string();
  Dir() { std::filesystem::create_directories(path); }
  ~Dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

const std::string kFs = "fs-0123456789abcdef0";

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string read(ChunkStore& s, uint64_t ino, std::size_t n) {
  std::string out(n, '?');
  REQUIRE(s.read(kFs, ino, 0, {reinterpret_cast<uint8_t*>(out.data()), n}).ok());
  return out;
}

}  // namespace

TEST_CASE("chunk faults: a new store's FORMAT and directories survive a power loss") {
  Dir d;
  FaultDisk disk;
  REQUIRE(ChunkStore::open(disk, d.path).ok());
  REQUIRE(disk.lose_unsynced().ok());
  CHECK(std::filesystem::exists(d.path + "/chunks/FORMAT"));
  CHECK(std::filesystem::exists(d.path + "/chunks/standard"));
  CHECK(ChunkStore::open(disk, d.path).ok());
}

TEST_CASE("chunk faults: synced data of a new file survives a power loss, unsynced does not") {
  Dir d;
  FaultDisk disk;
  {
    auto s = ChunkStore::open(disk, d.path);
    REQUIRE(s.ok());
    REQUIRE((*s)->write(kFs, 7, 0, as_bytes("synced")).ok());
    REQUIRE((*s)->sync(kFs, 7).ok());  // the new file, its shard and fs directories
    REQUIRE((*s)->write(kFs, 7, 0, as_bytes("SYNCED")).ok());  // never synced
    REQUIRE((*s)->write(kFs, 8, 0, as_bytes("lost")).ok());    // a new file never synced
  }
  REQUIRE(disk.lose_unsynced().ok());
  auto s = ChunkStore::open(disk, d.path);
  REQUIRE(s.ok());
  CHECK(read(**s, 7, 6) == "synced");
  CHECK(read(**s, 8, 4) == std::string(4, '\0'));
}

TEST_CASE("chunk faults: after a failed fdatasync every sync of that inode fails until reopened") {
  Dir d;
  FaultDisk disk;
  auto s = ChunkStore::open(disk, d.path);
  REQUIRE(s.ok());
  REQUIRE((*s)->write(kFs, 7, 0, as_bytes("data")).ok());
  REQUIRE((*s)->write(kFs, 9, 0, as_bytes("other")).ok());
  disk.fail_nth(Op::fdatasync, 1, EIO);
  auto first = (*s)->sync(kFs, 7);
  REQUIRE(!first.ok());
  CHECK(first.error().err == EIO);
  const uint64_t syncs = disk.calls(Op::fdatasync);
  // The disk would now say yes: the store must not ask it, nor believe it.
  auto again = (*s)->sync(kFs, 7);
  REQUIRE(!again.ok());
  CHECK(again.error().err == EIO);
  REQUIRE((*s)->write(kFs, 7, 4, as_bytes("more")).ok());
  CHECK(!(*s)->sync(kFs, 7).ok());
  CHECK(disk.calls(Op::fdatasync) == syncs);
  CHECK((*s)->sync(kFs, 9).ok());  // other inodes are not affected
  // Removing the inode ends it; so does reopening the store.
  REQUIRE((*s)->remove(kFs, 7, 8).ok());
  REQUIRE((*s)->write(kFs, 7, 0, as_bytes("new")).ok());
  CHECK((*s)->sync(kFs, 7).ok());
}

TEST_CASE("chunk faults: a short write followed by a full disk reports ENOSPC") {
  Dir d;
  FaultDisk disk;
  auto s = ChunkStore::open(disk, d.path);
  REQUIRE(s.ok());
  // The 2nd pwrite is the data (the 1st: its checksums, format v2).
  disk.short_write_nth(2, 3, ENOSPC);
  auto w = (*s)->write(kFs, 7, 0, as_bytes("abcdef"));
  REQUIRE(!w.ok());
  CHECK(w.error().err == ENOSPC);
  CHECK(read(**s, 7, 6) == std::string("abc") + std::string(3, '\0'));
  // Once space is back, the write completes (short writes are looped over).
  disk.short_write_nth(1, 2, 0);
  REQUIRE((*s)->write(kFs, 7, 0, as_bytes("abcdef")).ok());
  CHECK(read(**s, 7, 6) == "abcdef");
}

TEST_CASE("chunk faults: an error of the host keeps its errno (EIO from pread)") {
  Dir d;
  FaultDisk disk;
  auto s = ChunkStore::open(disk, d.path);
  REQUIRE(s.ok());
  REQUIRE((*s)->write(kFs, 7, 0, as_bytes("abc")).ok());
  disk.fail_nth(Op::pread, 1, EIO);
  std::string out(3, '?');
  auto r = (*s)->read(kFs, 7, 0, {reinterpret_cast<uint8_t*>(out.data()), 3});
  REQUIRE(!r.ok());
  CHECK(r.error().err == EIO);
}
