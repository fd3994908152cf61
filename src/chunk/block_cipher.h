// The chunk store's cipher: XTS-AES-256 (IEEE 1619, NIST SP 800-38E), the
// mode EFS itself uses for data at rest. Keyed per file system with its
// 64-byte data key (two AES-256 keys: data and tweak), tweaked per 4 KiB
// block by (inode, block number in the file), so the same plaintext at two
// blocks, in two files or in two file systems never gives the same
// ciphertext. Why XTS and not GCM: docs/chunk-format.md ("Encryption").
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace efs::chunk {

// A registered data key. `generation` is unique per registration, so a
// thread's cached key schedule is rebuilt when the key it holds is another.
struct DataKey {
  std::array<uint8_t, 64> bytes{};
  uint64_t generation = 0;
};
uint64_t next_key_generation();

// The 16-byte XTS tweak of one block: block number then inode, each
// little-endian (IEEE 1619's "data unit sequence number" is a little-endian
// 128-bit integer, so inode 0, block n is data unit n).
std::array<uint8_t, 16> xts_tweak(uint64_t ino, uint64_t block);

// Encrypts (or decrypts) n bytes, a multiple of 16, from in to out (which
// may be the same) under the given tweak. Thread-safe: the key schedule is
// cached per thread.
void xts_encrypt(const DataKey& key, const std::array<uint8_t, 16>& tweak, const uint8_t* in,
                 uint8_t* out, std::size_t n);
void xts_decrypt(const DataKey& key, const std::array<uint8_t, 16>& tweak, const uint8_t* in,
                 uint8_t* out, std::size_t n);

// How XTS runs: AES-NI through Crypto++ (one block per instruction, the
// baseline every x86-64 with AES-NI has), VAES on AVX2's 256-bit registers
// (two blocks per instruction), or VAES with AVX-512 (four). The best one
// the CPU has is used. For tests and the benchmark: whether the CPU has a
// path, which one runs, and switching it (returns the previous one; switch
// only while no other thread encrypts, and with keys registered afresh: a
// thread's cached key schedule is per path). An unavailable path falls back
// to AES-NI.
enum class XtsPath : int { aesni = 0, vaes256 = 1, vaes512 = 2 };
bool xts_path_available(XtsPath path);
XtsPath xts_path();
XtsPath xts_use_path(XtsPath path);

// Key check value stored in a file system's ENCRYPTION marker: the first
// 16 bytes of HMAC-SHA256(key, "efs-local chunk key check"), hex. It tells
// a wrong key from the right one without revealing the key.
std::string key_check_value(std::span<const uint8_t, 64> key);

}  // namespace efs::chunk
