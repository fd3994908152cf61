// Per-file-system encryption at rest (format v2): data reaches the disk as
// XTS-AES-256 ciphertext, a wrong key is refused, a missing key gives
// EACCES, holes and truncation behave as in a plaintext file system.
#include <doctest/doctest.h>

#include <cerrno>
#include <filesystem>

#include "chunk/chunk_store.h"
#include "chunk_test_util.h"

using efs::chunk::ChunkStore;
using efs::chunk::kBlockBytes;
using namespace chunk_test;

namespace {

const std::string kMarker = "MARKER-plaintext-that-must-never-reach-the-disk";

bool found_on_disk(const std::string& dir, const std::string& needle) {
  for (auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && slurp(e.path().string()).find(needle) != std::string::npos)
      return true;
  }
  return false;
}

}  // namespace

TEST_CASE("chunk crypt: an encrypted file system's data is never on disk in plaintext") {
  Dir d;
  auto s = ChunkStore::open(d.path);
  REQUIRE(s.ok());
  auto k = key_of(1);
  REQUIRE((*s)->set_data_key(kFs, k).ok());
  std::string data;
  for (int i = 0; i < 200; ++i) data += kMarker;  // several blocks, unaligned
  REQUIRE((*s)->write(kFs, 5, 100, as_bytes(data)).ok());
  REQUIRE((*s)->sync(kFs, 5).ok());
  CHECK(read_at(**s, kFs, 5, 100, data.size()).data == data);
  CHECK(!found_on_disk(d.path, kMarker));
  CHECK(!found_on_disk(d.path, kMarker.substr(0, 16)));
  // Control: the same write to a plaintext file system is found.
  REQUIRE((*s)->write(kFs2, 5, 100, as_bytes(data)).ok());
  CHECK(found_on_disk(d.path, kMarker));
}

TEST_CASE("chunk crypt: one plaintext at two blocks, inodes or file systems, three ciphertexts") {
  Dir d;
  auto s = ChunkStore::open(d.path);
  REQUIRE(s.ok());
  REQUIRE((*s)->set_data_key(kFs, key_of(1)).ok());
  REQUIRE((*s)->set_data_key(kFs2, key_of(2)).ok());
  const std::string block(kBlockBytes, 'p');
  REQUIRE((*s)->write(kFs, 1, 0, as_bytes(block + block)).ok());
  REQUIRE((*s)->write(kFs, 2, 0, as_bytes(block)).ok());
  REQUIRE((*s)->write(kFs2, 1, 0, as_bytes(block)).ok());
  std::string f1 = slurp(segment_path(d.path, kFs, 1));
  std::string f2 = slurp(segment_path(d.path, kFs, 2));
  std::string g1 = slurp(segment_path(d.path, kFs2, 1));
  REQUIRE(f1.size() == 2 * kBlockBytes);
  REQUIRE(f2.size() == kBlockBytes);
  REQUIRE(g1.size() == kBlockBytes);
  const std::string b0 = f1.substr(0, kBlockBytes), b1 = f1.substr(kBlockBytes);
  CHECK(b0 != block);
  CHECK(b0 != b1);  // two blocks
  CHECK(b0 != f2);  // two inodes
  CHECK(b0 != g1);  // two file systems (two keys)
  CHECK(f2 != g1);
}

TEST_CASE("chunk crypt: after a restart, a wrong key is refused and the right one reads") {
  Dir d;
  const std::string data = "secret bytes";
  {
    auto s = ChunkStore::open(d.path);
    REQUIRE(s.ok());
    REQUIRE((*s)->set_data_key(kFs, key_of(1)).ok());
    REQUIRE((*s)->write(kFs, 5, 0, as_bytes(data)).ok());
    REQUIRE((*s)->sync(kFs, 5).ok());
  }
  auto s = ChunkStore::open(d.path);
  REQUIRE(s.ok());
  // No key yet: EACCES, never ciphertext.
  auto r = read_at(**s, kFs, 5, 0, data.size());
  CHECK(r.err == EACCES);
  CHECK((*s)->write(kFs, 5, 0, as_bytes("x")).error().err == EACCES);
  CHECK((*s)->truncate(kFs, 5, 3, data.size()).error().err == EACCES);
  auto wrong = (*s)->set_data_key(kFs, key_of(9));
  REQUIRE(!wrong.ok());
  CHECK(wrong.error().err == EINVAL);
  CHECK(read_at(**s, kFs, 5, 0, data.size()).err == EACCES);
  REQUIRE((*s)->set_data_key(kFs, key_of(1)).ok());
  CHECK(read_at(**s, kFs, 5, 0, data.size()).data == data);
  // Forgetting the key closes the file system again.
  (*s)->forget_data_key(kFs);
  CHECK(read_at(**s, kFs, 5, 0, data.size()).err == EACCES);
  // Other file systems are unaffected.
  REQUIRE((*s)->write(kFs2, 5, 0, as_bytes("plain")).ok());
  CHECK(read_at(**s, kFs2, 5, 0, 5).data == "plain");
}

TEST_CASE("chunk crypt: a key for a file system that already holds plaintext is refused") {
  Dir d;
  auto s = ChunkStore::open(d.path);
  REQUIRE(s.ok());
  REQUIRE((*s)->write(kFs, 5, 0, as_bytes("plain")).ok());
  auto r = (*s)->set_data_key(kFs, key_of(1));
  REQUIRE(!r.ok());
  CHECK(r.error().err == EINVAL);
  CHECK(read_at(**s, kFs, 5, 0, 5).data == "plain");
}

TEST_CASE("chunk crypt: holes, partial blocks, shrink then grow, and a flipped bit") {
  Dir d;
  auto s = ChunkStore::open(d.path);
  REQUIRE(s.ok());
  REQUIRE((*s)->set_data_key(kFs, key_of(3)).ok());
  REQUIRE((*s)->write(kFs, 6, 3 * kBlockBytes + 7, as_bytes("abcdef")).ok());
  auto r = read_at(**s, kFs, 6, 0, 4 * kBlockBytes);
  REQUIRE(r.err == 0);
  CHECK(r.data.substr(0, 3 * kBlockBytes + 7) == std::string(3 * kBlockBytes + 7, '\0'));
  CHECK(r.data.substr(3 * kBlockBytes + 7, 6) == "abcdef");
  // Holes take no space: only the written block is allocated.
  CHECK((*s)->allocated_bytes(kFs, 6, 4 * kBlockBytes) <= 2 * kBlockBytes);
  REQUIRE((*s)->write(kFs, 6, 3 * kBlockBytes + 9, as_bytes("XY")).ok());
  CHECK(read_at(**s, kFs, 6, 3 * kBlockBytes + 7, 6).data == "abXYef");
  // Cut after "abX", grow again: zeros after it.
  REQUIRE((*s)->truncate(kFs, 6, 3 * kBlockBytes + 10, 3 * kBlockBytes + 13).ok());
  r = read_at(**s, kFs, 6, 3 * kBlockBytes + 7, 100);
  REQUIRE(r.err == 0);
  CHECK(r.data == "abX" + std::string(97, '\0'));
  // A flipped ciphertext bit: EIO, not garbage.
  s->reset();
  flip_byte(segment_path(d.path, kFs, 6), 3 * kBlockBytes + 9);
  s = ChunkStore::open(d.path);
  REQUIRE(s.ok());
  REQUIRE((*s)->set_data_key(kFs, key_of(3)).ok());
  CHECK(read_at(**s, kFs, 6, 3 * kBlockBytes, 16).err == EIO);
  CHECK(read_at(**s, kFs, 6, 0, 16).data == std::string(16, '\0'));
}
