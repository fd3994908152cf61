// Format version 2's checksums: every 4 KiB block is checked on read, a
// flipped bit anywhere reaches the caller as EIO (never as data), holes and
// partial blocks stay right, and a version-1 data dir still reads.
#include <doctest/doctest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <thread>

#include "chunk/chunk_store.h"
#include "chunk_test_util.h"

using efs::chunk::ChunkStore;
using efs::chunk::kBlockBytes;
using namespace chunk_test;

namespace {

// Three blocks of distinct bytes.
std::string three_blocks() {
  std::string s(3 * kBlockBytes, '\0');
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>('a' + (i / kBlockBytes));
  return s;
}

}  // namespace

TEST_CASE("chunk checksums: a flipped byte of the data file fails that block's reads with EIO") {
  Dir d;
  auto s = ChunkStore::open(d.path);
  REQUIRE(s.ok());
  const std::string data = three_blocks();
  REQUIRE((*s)->write(kFs, 7, 0, as_bytes(data)).ok());
  REQUIRE((*s)->sync(kFs, 7).ok());
  CHECK(read_at(**s, kFs, 7, 0, data.size()).data == data);
  s->reset();  // no cached descriptor, no page of ours in memory
  flip_byte(segment_path(d.path, kFs, 7), kBlockBytes + 100);
  s = ChunkStore::open(d.path);
  REQUIRE(s.ok());
  CHECK(read_at(**s, kFs, 7, kBlockBytes + 100, 1).err == EIO);
  CHECK(read_at(**s, kFs, 7, 0, data.size()).err == EIO);
  // The blocks around it still read.
  CHECK(read_at(**s, kFs, 7, 0, kBlockBytes).data == data.substr(0, kBlockBytes));
  CHECK(read_at(**s, kFs, 7, 2 * kBlockBytes, kBlockBytes).data ==
        data.substr(2 * kBlockBytes, kBlockBytes));
  // A partial write into the bad block refuses to build on it.
  CHECK((*s)->write(kFs, 7, kBlockBytes + 5, as_bytes("x")).error().err == EIO);
  // A whole-block overwrite replaces it.
  REQUIRE((*s)->write(kFs, 7, kBlockBytes, as_bytes(std::string(kBlockBytes, 'z'))).ok());
  CHECK(read_at(**s, kFs, 7, kBlockBytes, 3).data == "zzz");
}

TEST_CASE("chunk checksums: a flipped byte of the checksum file fails that block with EIO") {
  Dir d;
  auto s = ChunkStore::open(d.path);
  REQUIRE(s.ok());
  const std::string data = three_blocks();
  REQUIRE((*s)->write(kFs, 7, 0, as_bytes(data)).ok());
  s->reset();
  // Block 2's current checksum (12 bytes of slots per block).
  flip_byte(segment_path(d.path, kFs, 7) + ".crc", 2 * 12 + 1);
  s = ChunkStore::open(d.path);
  REQUIRE(s.ok());
  CHECK(read_at(**s, kFs, 7, 2 * kBlockBytes, 10).err == EIO);
  CHECK(read_at(**s, kFs, 7, 0, 2 * kBlockBytes).data == data.substr(0, 2 * kBlockBytes));
}

TEST_CASE("chunk checksums: holes, partial blocks and a shrink then grow read right") {
  Dir d;
  auto s = ChunkStore::open(d.path);
  REQUIRE(s.ok());
  // A write in the middle of a block far from the start: everything else
  // is a hole.
  REQUIRE((*s)->write(kFs, 9, 5 * kBlockBytes + 10, as_bytes("hello")).ok());
  auto r = read_at(**s, kFs, 9, 0, 6 * kBlockBytes);
  REQUIRE(r.err == 0);
  CHECK(r.data.substr(5 * kBlockBytes + 10, 5) == "hello");
  CHECK(r.data.substr(0, 5 * kBlockBytes + 10) == std::string(5 * kBlockBytes + 10, '\0'));
  // Overwrite across a block boundary, partial at both ends.
  std::string across(kBlockBytes, 'q');
  REQUIRE((*s)->write(kFs, 9, 5 * kBlockBytes + 12, as_bytes(across)).ok());
  r = read_at(**s, kFs, 9, 5 * kBlockBytes + 10, kBlockBytes + 2);
  CHECK(r.data == "he" + across);
  // Shrink into the middle of a block, then grow: zeros past the cut, and
  // the cut block's checksum still matches.
  REQUIRE((*s)->truncate(kFs, 9, 5 * kBlockBytes + 11, 6 * kBlockBytes + 12).ok());
  r = read_at(**s, kFs, 9, 5 * kBlockBytes, 2 * kBlockBytes);
  REQUIRE(r.err == 0);
  CHECK(r.data.substr(10, 1) == "h");
  CHECK(r.data.substr(11) == std::string(2 * kBlockBytes - 11, '\0'));
  REQUIRE((*s)->write(kFs, 9, 7 * kBlockBytes, as_bytes("end")).ok());
  r = read_at(**s, kFs, 9, 5 * kBlockBytes, 2 * kBlockBytes + 3);
  REQUIRE(r.err == 0);
  CHECK(r.data.substr(11, 2 * kBlockBytes - 11) == std::string(2 * kBlockBytes - 11, '\0'));
  CHECK(r.data.substr(2 * kBlockBytes) == "end");
  // Plaintext files keep their exact length on the host (sparse, like v1).
  REQUIRE((*s)->truncate(kFs, 9, 10, 7 * kBlockBytes + 3).ok());
  CHECK(std::filesystem::file_size(segment_path(d.path, kFs, 9)) == 10);
  CHECK(std::filesystem::file_size(segment_path(d.path, kFs, 9) + ".crc") == 12);
}

TEST_CASE("chunk checksums: concurrent partial writes to one block lose neither") {
  Dir d;
  auto s = ChunkStore::open(d.path);
  REQUIRE(s.ok());
  ChunkStore& store = **s;
  // Two threads each write their own bytes of the same 4 KiB block, many
  // times: each write is a read-modify-write of the block and its checksum.
  auto writer = [&](char c, uint64_t base) {
    for (int round = 0; round < 200; ++round) {
      std::string b(16, c);
      REQUIRE(
          store.write(kFs, 3, base + 16 * static_cast<uint64_t>(round % 100), as_bytes(b)).ok());
    }
  };
  std::thread t1(writer, 'A', 0);
  std::thread t2(writer, 'B', 1600);
  // Reads meanwhile never see a checksum error.
  for (int i = 0; i < 200; ++i) CHECK(read_at(store, kFs, 3, 0, kBlockBytes).err == 0);
  t1.join();
  t2.join();
  auto r = read_at(store, kFs, 3, 0, 3200);
  CHECK(r.data == std::string(1600, 'A') + std::string(1600, 'B'));
}

TEST_CASE("chunk checksums: a data file without its checksum file is refused in a v2 store") {
  Dir d;
  auto s = ChunkStore::open(d.path);
  REQUIRE(s.ok());
  REQUIRE((*s)->write(kFs, 7, 0, as_bytes("abc")).ok());
  s->reset();
  std::filesystem::remove(segment_path(d.path, kFs, 7) + ".crc");
  s = ChunkStore::open(d.path);
  REQUIRE(s.ok());
  CHECK(read_at(**s, kFs, 7, 0, 3).err == EIO);
}

TEST_CASE("chunk format: a version-1 data dir opens, reads, and takes writes") {
  Dir d;
  // A v1 layout made by hand: FORMAT v1, a segment file without checksums.
  std::filesystem::create_directories(d.path + "/chunks/standard/" + kFs + "/07");
  {
    std::ofstream f(d.path + "/chunks/FORMAT");
    f << "efs-local chunk store v1\n";
  }
  const std::string old_bytes = "written by version 1";
  {
    std::ofstream f(segment_path(d.path, kFs, 7), std::ios::binary);
    f << old_bytes;
  }
  {
    auto s = ChunkStore::open(d.path);
    REQUIRE(s.ok());
    CHECK(read_at(**s, kFs, 7, 0, old_bytes.size()).data == old_bytes);
    CHECK(read_at(**s, kFs, 7, 0, old_bytes.size() + 4).data == old_bytes + std::string(4, '\0'));
    // The old file stays a v1 file (no sidecar); a new one gets checksums.
    REQUIRE((*s)->write(kFs, 7, 8, as_bytes("BY")).ok());
    REQUIRE((*s)->write(kFs, 8, 0, as_bytes("new file")).ok());
    CHECK(!std::filesystem::exists(segment_path(d.path, kFs, 7) + ".crc"));
    CHECK(std::filesystem::exists(segment_path(d.path, kFs, 8) + ".crc"));
  }
  // FORMAT now says v2, converted from v1; reopening keeps both readable.
  CHECK(slurp(d.path + "/chunks/FORMAT").rfind("efs-local chunk store v2\nv1-files:", 0) == 0);
  auto s = ChunkStore::open(d.path);
  REQUIRE(s.ok());
  CHECK(read_at(**s, kFs, 7, 0, old_bytes.size()).data == "written BY version 1");
  CHECK(read_at(**s, kFs, 8, 0, 8).data == "new file");
  REQUIRE((*s)->truncate(kFs, 7, 7, old_bytes.size()).ok());
  CHECK(read_at(**s, kFs, 7, 0, 10).data == std::string("written") + std::string(3, '\0'));
}
