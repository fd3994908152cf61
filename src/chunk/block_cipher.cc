#include "chunk/block_cipher.h"

#include <crypto++/aes.h>
#include <crypto++/hmac.h>
#include <crypto++/sha.h>
#include <crypto++/xts.h>

#include <atomic>
#include <cstring>

namespace efs::chunk {

namespace {

std::atomic<uint64_t> g_generation{0};

// Crypto++ mode objects keep state (the tweak), so each thread has its own;
// setting the key costs a key expansion, resynchronising per block only the
// tweak encryption.
struct ThreadCipher {
  uint64_t enc_gen = 0;
  uint64_t dec_gen = 0;
  CryptoPP::XTS_Mode<CryptoPP::AES>::Encryption enc;
  CryptoPP::XTS_Mode<CryptoPP::AES>::Decryption dec;
};

ThreadCipher& thread_cipher() {
  thread_local ThreadCipher c;
  return c;
}

}  // namespace

uint64_t next_key_generation() { return ++g_generation; }

std::array<uint8_t, 16> xts_tweak(uint64_t ino, uint64_t block) {
  std::array<uint8_t, 16> t{};
  for (int i = 0; i < 8; ++i) {
    t[static_cast<std::size_t>(i)] = static_cast<uint8_t>(block >> (8 * i));
    t[static_cast<std::size_t>(8 + i)] = static_cast<uint8_t>(ino >> (8 * i));
  }
  return t;
}

void xts_encrypt(const DataKey& key, const std::array<uint8_t, 16>& tweak, const uint8_t* in,
                 uint8_t* out, std::size_t n) {
  ThreadCipher& c = thread_cipher();
  if (c.enc_gen != key.generation) {
    c.enc.SetKeyWithIV(key.bytes.data(), key.bytes.size(), tweak.data(), tweak.size());
    c.enc_gen = key.generation;
  } else {
    c.enc.Resynchronize(tweak.data(), static_cast<int>(tweak.size()));
  }
  c.enc.ProcessData(out, in, n);
}

void xts_decrypt(const DataKey& key, const std::array<uint8_t, 16>& tweak, const uint8_t* in,
                 uint8_t* out, std::size_t n) {
  ThreadCipher& c = thread_cipher();
  if (c.dec_gen != key.generation) {
    c.dec.SetKeyWithIV(key.bytes.data(), key.bytes.size(), tweak.data(), tweak.size());
    c.dec_gen = key.generation;
  } else {
    c.dec.Resynchronize(tweak.data(), static_cast<int>(tweak.size()));
  }
  c.dec.ProcessData(out, in, n);
}

std::string key_check_value(std::span<const uint8_t, 64> key) {
  static constexpr char kLabel[] = "efs-local chunk key check";
  CryptoPP::HMAC<CryptoPP::SHA256> mac(key.data(), key.size());
  uint8_t d[CryptoPP::SHA256::DIGESTSIZE];
  mac.CalculateDigest(d, reinterpret_cast<const uint8_t*>(kLabel), sizeof kLabel - 1);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    out.push_back(kHex[d[i] >> 4]);
    out.push_back(kHex[d[i] & 15]);
  }
  return out;
}

}  // namespace efs::chunk
