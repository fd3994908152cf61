// Format v2 under faults: a write that fails in its checksum write or its
// data write, or a power loss between the checksum sync and the data sync,
// leaves every block readable as its old or its new content (never EIO) and
// nothing that was acknowledged is lost.
#include <doctest/doctest.h>

#include <cerrno>

#include "chunk/chunk_store.h"
#include "chunk_test_util.h"
#include "common/fault_disk.h"

using efs::FaultDisk;
using efs::chunk::ChunkStore;
using efs::chunk::kBlockBytes;
using Op = efs::FaultDisk::Op;
using namespace chunk_test;

namespace {

const std::string kOld(2 * kBlockBytes, 'o');
const std::string kNew(2 * kBlockBytes, 'n');

// A store over `disk` whose inode 7 holds kOld, synced.
std::unique_ptr<ChunkStore> with_old(FaultDisk& disk, const Dir& d, bool encrypted) {
  auto s = ChunkStore::open(disk, d.path);
  REQUIRE(s.ok());
  if (encrypted) REQUIRE((*s)->set_data_key(kFs, key_of(4)).ok());
  REQUIRE((*s)->write(kFs, 7, 0, as_bytes(kOld)).ok());
  REQUIRE((*s)->sync(kFs, 7).ok());
  return std::move(*s);
}

// Each block reads as all-old or all-new (or, for a write that failed
// part-way, any mix: `mixed_ok`), and never fails.
void check_old_or_new(ChunkStore& s, bool mixed_ok) {
  for (uint64_t b = 0; b < 2; ++b) {
    auto r = read_at(s, kFs, 7, b * kBlockBytes, kBlockBytes);
    REQUIRE(r.err == 0);
    const bool old_block = r.data == kOld.substr(0, kBlockBytes);
    const bool new_block = r.data == kNew.substr(0, kBlockBytes);
    if (!mixed_ok) CHECK((old_block || new_block));
    CHECK(r.data.find_first_not_of("on") == std::string::npos);
  }
}

}  // namespace

TEST_CASE("chunk torn: ENOSPC in the checksum write fails the write, old data reads") {
  for (bool enc : {false, true}) {
    CAPTURE(enc);
    Dir d;
    FaultDisk disk;
    auto s = with_old(disk, d, enc);
    disk.fail_nth(Op::pwrite, 1, ENOSPC);  // the checksums go first
    auto w = s->write(kFs, 7, 0, as_bytes(kNew));
    REQUIRE(!w.ok());
    CHECK(w.error().err == ENOSPC);
    CHECK(read_at(*s, kFs, 7, 0, kOld.size()).data == kOld);
    // Space back: the write goes through.
    REQUIRE(s->write(kFs, 7, 0, as_bytes(kNew)).ok());
    CHECK(read_at(*s, kFs, 7, 0, kNew.size()).data == kNew);
  }
}

TEST_CASE("chunk torn: a short checksum write then ENOSPC leaves no checksum error") {
  for (bool enc : {false, true}) {
    CAPTURE(enc);
    Dir d;
    FaultDisk disk;
    auto s = with_old(disk, d, enc);
    // 3 bytes into block 0's current checksum, then the disk is full.
    disk.short_write_nth(1, 3, ENOSPC);
    REQUIRE(!s->write(kFs, 7, 0, as_bytes(kNew)).ok());
    CHECK(read_at(*s, kFs, 7, 0, kOld.size()).data == kOld);
    // A partial write into the same block works on the repaired block.
    REQUIRE(s->write(kFs, 7, 10, as_bytes("nn")).ok());
    CHECK(read_at(*s, kFs, 7, 8, 6).data == "oonnoo");
  }
}

TEST_CASE("chunk torn: a short data write then ENOSPC reads as a mix, never EIO") {
  for (bool enc : {false, true}) {
    CAPTURE(enc);
    Dir d;
    FaultDisk disk;
    auto s = with_old(disk, d, enc);
    // Half of block 0's new bytes reach the disk.
    disk.short_write_nth(2, kBlockBytes / 2, ENOSPC);
    REQUIRE(!s->write(kFs, 7, 0, as_bytes(kNew)).ok());
    if (!enc) {
      CHECK(read_at(*s, kFs, 7, 0, kBlockBytes).data ==
            std::string(kBlockBytes / 2, 'n') + std::string(kBlockBytes / 2, 'o'));
      check_old_or_new(*s, true);
    } else {
      // Ciphertext half new, half old decrypts to noise in that block (the
      // write failed, so any content is allowed): still no EIO.
      CHECK(read_at(*s, kFs, 7, 0, kBlockBytes).err == 0);
      CHECK(read_at(*s, kFs, 7, kBlockBytes, kBlockBytes).data == kOld.substr(0, kBlockBytes));
    }
  }
}

TEST_CASE("chunk torn: a power loss between the checksum sync and the data sync reads old data") {
  for (bool enc : {false, true}) {
    CAPTURE(enc);
    Dir d;
    FaultDisk disk;
    {
      auto s = with_old(disk, d, enc);
      REQUIRE(s->write(kFs, 7, 0, as_bytes(kNew)).ok());
      // The sidecar's fdatasync succeeds, the data's fails: then the power
      // goes.
      disk.fail_nth(Op::fdatasync, 2, EIO);
      REQUIRE(!s->sync(kFs, 7).ok());
    }
    REQUIRE(disk.lose_unsynced().ok());
    auto s = ChunkStore::open(disk, d.path);
    REQUIRE(s.ok());
    if (enc) REQUIRE((*s)->set_data_key(kFs, key_of(4)).ok());
    CHECK(read_at(**s, kFs, 7, 0, kOld.size()).data == kOld);
    check_old_or_new(**s, false);
  }
}

TEST_CASE("chunk torn: a block written twice before a sync cut by a power loss reads old data") {
  // Slots {second, first, durable}: the durable content still matches.
  for (bool enc : {false, true}) {
    CAPTURE(enc);
    Dir d;
    FaultDisk disk;
    {
      auto s = with_old(disk, d, enc);
      REQUIRE(s->write(kFs, 7, 0, as_bytes(kNew)).ok());
      REQUIRE(s->write(kFs, 7, 5, as_bytes("oo")).ok());
      disk.fail_nth(Op::fdatasync, 2, EIO);
      REQUIRE(!s->sync(kFs, 7).ok());
    }
    REQUIRE(disk.lose_unsynced().ok());
    auto s = ChunkStore::open(disk, d.path);
    REQUIRE(s.ok());
    if (enc) REQUIRE((*s)->set_data_key(kFs, key_of(4)).ok());
    CHECK(read_at(**s, kFs, 7, 0, kOld.size()).data == kOld);
  }
  // After a sync in between, the first write is the durable one.
  Dir d;
  FaultDisk disk;
  {
    auto s = with_old(disk, d, false);
    REQUIRE(s->write(kFs, 7, 0, as_bytes(kNew)).ok());
    REQUIRE(s->sync(kFs, 7).ok());
    REQUIRE(s->write(kFs, 7, 0, as_bytes("xx")).ok());
    REQUIRE(s->write(kFs, 7, 2, as_bytes("yy")).ok());
    disk.fail_nth(Op::fdatasync, 2, EIO);
    REQUIRE(!s->sync(kFs, 7).ok());
  }
  REQUIRE(disk.lose_unsynced().ok());
  auto s = ChunkStore::open(disk, d.path);
  REQUIRE(s.ok());
  CHECK(read_at(**s, kFs, 7, 0, kNew.size()).data == kNew);
}

TEST_CASE("chunk torn: a crash at every call of a write and its sync leaves old or new blocks") {
  for (bool enc : {false, true}) {
    for (uint64_t at = 1; at < 12; ++at) {
      CAPTURE(enc);
      CAPTURE(at);
      Dir d;
      FaultDisk disk;
      bool synced = false;
      {
        auto s = with_old(disk, d, enc);
        disk.crash_at(at);
        std::string both = kNew.substr(0, kBlockBytes + 100);  // one whole, one partial
        if (s->write(kFs, 7, 0, as_bytes(both)).ok() && s->sync(kFs, 7).ok()) synced = true;
      }
      for (bool power : {false, true}) {
        if (power) REQUIRE(disk.lose_unsynced().ok());
        disk.clear();
        auto s = ChunkStore::open(disk, d.path);
        REQUIRE(s.ok());
        if (enc) REQUIRE((*s)->set_data_key(kFs, key_of(4)).ok());
        auto r = read_at(**s, kFs, 7, 0, kOld.size());
        REQUIRE(r.err == 0);
        CHECK((r.data.substr(0, kBlockBytes) == kOld.substr(0, kBlockBytes) ||
               r.data.substr(0, kBlockBytes) == kNew.substr(0, kBlockBytes)));
        const std::string tail = r.data.substr(kBlockBytes);
        CHECK((tail == kOld.substr(kBlockBytes) ||
               tail == std::string(100, 'n') + std::string(kBlockBytes - 100, 'o')));
        if (synced) CHECK(r.data.substr(0, kBlockBytes) == kNew.substr(0, kBlockBytes));
      }
    }
  }
}
