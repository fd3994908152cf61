// Helpers of the chunk store's format tests: a scratch data dir, raw access
// to the host files behind the store (to corrupt them or look for
// plaintext), byte conversions.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include "chunk/chunk_store.h"
#include "common/ids.h"

namespace chunk_test {

struct Dir {
  std::string path =
      (std::filesystem::temp_directory_path() / ("chunk-fmt-" + efs::random_hex(12))).string();
  Dir() { std::filesystem::create_directories(path); }
  ~Dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

inline const std::string kFs = "fs-0123456789abcdef0";
inline const std::string kFs2 = "fs-0fedcba9876543210";

inline std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// The bytes at [offset, offset + n), or the error's errno.
struct ReadOut {
  int err = 0;
  std::string data;
};
inline ReadOut read_at(efs::chunk::ChunkStore& s, const std::string& fs, uint64_t ino,
                       uint64_t offset, std::size_t n) {
  ReadOut r;
  r.data.assign(n, '?');
  auto res = s.read(fs, ino, offset, {reinterpret_cast<uint8_t*>(r.data.data()), n});
  if (!res) r.err = res.error().err;
  return r;
}

inline std::string segment_path(const std::string& dir, const std::string& fs, uint64_t ino) {
  char shard[3];
  std::snprintf(shard, sizeof shard, "%02x", static_cast<unsigned>(ino & 0xff));
  return dir + "/chunks/standard/" + fs + "/" + shard + "/" + std::to_string(ino);
}

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// Flips the bits of one byte of a host file.
inline void flip_byte(const std::string& path, uint64_t at) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  REQUIRE(f.good());
  f.seekg(static_cast<std::streamoff>(at));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(at));
  f.put(static_cast<char>(~c));
}

inline std::array<uint8_t, 64> key_of(uint8_t seed) {
  std::array<uint8_t, 64> k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(seed * 31 + i * 7 + 1);
  return k;
}

}  // namespace chunk_test
