// Known-answer tests of the chunk store's checksum and cipher primitives.
#include <crypto++/aes.h>
#include <crypto++/xts.h>
#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "chunk/block_cipher.h"
#include "chunk/crc32c.h"

using namespace efs::chunk;

namespace {

std::vector<uint8_t> hex(const std::string& h) {
  std::vector<uint8_t> out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

}  // namespace

TEST_CASE("crc32c: the check value of \"123456789\" is 0xE3069283, on both paths") {
  const auto* p = reinterpret_cast<const uint8_t*>("123456789");
  CHECK(crc32c(0, p, 9) == 0xE3069283u);
  CHECK(crc32c_portable(0, p, 9) == 0xE3069283u);
  // Continuing a CRC equals one pass.
  CHECK(crc32c(crc32c(0, p, 4), p + 4, 5) == 0xE3069283u);
  CHECK(crc32c(0, nullptr, 0) == 0);
}

TEST_CASE("crc32c: the hardware and table paths agree on every length and alignment") {
  std::mt19937 rng(15);
  std::vector<uint8_t> buf(9000);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  for (std::size_t off : {0, 1, 3, 7}) {
    for (std::size_t n : {0, 1, 7, 8, 9, 15, 16, 100, 4079, 4080, 4081, 4096, 8160, 8191}) {
      CHECK(crc32c(0, buf.data() + off, n) == crc32c_portable(0, buf.data() + off, n));
    }
  }
  // Continuing a CRC across calls, into and out of the three-stream path.
  for (std::size_t cut : {0, 5, 4080, 4096, 5000}) {
    uint32_t whole = crc32c_portable(0, buf.data(), 9000);
    CHECK(crc32c(crc32c(0, buf.data(), cut), buf.data() + cut, 9000 - cut) == whole);
  }
}

TEST_CASE("xts-aes-256: IEEE 1619 vector 10 through the store's tweak (inode 0, block 0xff)") {
  DataKey key;
  auto k =
      hex("2718281828459045235360287471352662497757247093699959574966967627"
          "3141592653589793238462643383279502884197169399375105820974944592");
  std::memcpy(key.bytes.data(), k.data(), 64);
  key.generation = next_key_generation();
  std::vector<uint8_t> pt(256);
  for (std::size_t i = 0; i < pt.size(); ++i) pt[i] = static_cast<uint8_t>(i);
  // The first 256 bytes of the vector's 512-byte ciphertext (XTS without
  // ciphertext stealing is per 16-byte block, so a prefix is a vector).
  auto want =
      hex("1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b"
          "5d31e276f8fe4a8d66b317f9ac683f44680a86ac35adfc3345befecb4bb188fd"
          "5776926c49a3095eb108fd1098baec70aaa66999a72a82f27d848b21d4a741b0"
          "c5cd4d5fff9dac89aeba122961d03a757123e9870f8acf1000020887891429ca"
          "2a3e7a7d7df7b10355165c8b9a6d0a7de8b062c4500dc4cd120c0f7418dae3d0"
          "b5781c34803fa75421c790dfe1de1834f280d7667b327f6c8cd7557e12ac3a0f"
          "93ec05c52e0493ef31a12d3d9260f79a289d6a379bc70c50841473d1a8cc81ec"
          "583e9645e07b8d9670655ba5bbcfecc6dc3966380ad8fecb17b6ba02469a020a");
  auto tweak = xts_tweak(0, 0xff);
  CHECK(tweak == std::array<uint8_t, 16>{0xff});
  std::vector<uint8_t> ct(256);
  xts_encrypt(key, tweak, pt.data(), ct.data(), ct.size());
  CHECK(ct == want);
  std::vector<uint8_t> back(256);
  xts_decrypt(key, tweak, ct.data(), back.data(), back.size());
  CHECK(back == pt);
  // In place, twice in a row on one thread (the cached key schedule).
  xts_encrypt(key, tweak, pt.data(), pt.data(), pt.size());
  CHECK(pt == want);
}

TEST_CASE("xts tweak: block number then inode, little-endian") {
  auto t = xts_tweak(0x0102030405060708ull, 0x1112131415161718ull);
  CHECK(t[0] == 0x18);
  CHECK(t[7] == 0x11);
  CHECK(t[8] == 0x08);
  CHECK(t[15] == 0x01);
}

TEST_CASE("key check value: differs per key, stable per key, reveals no key bytes") {
  std::array<uint8_t, 64> a{}, b{};
  b[63] = 1;
  CHECK(key_check_value(a) == key_check_value(a));
  CHECK(key_check_value(a) != key_check_value(b));
  CHECK(key_check_value(a).size() == 32);
}

TEST_CASE("xts-aes-256: agrees with Crypto++'s XTS_Mode over many data units and lengths, on both paths") {
  // Every path the CPU has: VAES with AVX-512, VAES with AVX2, AES-NI.
  for (XtsPath path : {XtsPath::vaes512, XtsPath::vaes256, XtsPath::aesni}) {
  if (!xts_path_available(path)) continue;
  CAPTURE(static_cast<int>(path));
  const XtsPath was = xts_use_path(path);
  REQUIRE(xts_path() == path);
  DataKey key;
  for (std::size_t i = 0; i < 64; ++i) key.bytes[i] = static_cast<uint8_t>(i * 13 + 5);
  key.generation = next_key_generation();
  std::vector<uint8_t> pt(3 * 4096 + 512 + 208);
  for (std::size_t i = 0; i < pt.size(); ++i) pt[i] = static_cast<uint8_t>(i * 7);
  for (std::size_t n : {std::size_t{16}, std::size_t{48}, std::size_t{64}, std::size_t{272},
                        std::size_t{4096}, pt.size()}) {
    for (uint64_t ino : {1ull, 0x123456789abcull}) {
      auto tweak = xts_tweak(ino, 77);
      std::vector<uint8_t> ours(n), theirs(n);
      xts_encrypt(key, tweak, pt.data(), ours.data(), n);
      CryptoPP::XTS_Mode<CryptoPP::AES>::Encryption ref;
      ref.SetKeyWithIV(key.bytes.data(), 64, tweak.data(), 16);
      ref.ProcessData(theirs.data(), pt.data(), n);
      CHECK(ours == theirs);
      xts_decrypt(key, tweak, ours.data(), ours.data(), n);
      CHECK(std::equal(ours.begin(), ours.end(), pt.begin()));
    }
  }
  xts_use_path(was);
  }
}
