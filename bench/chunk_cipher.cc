// Micro-benchmark of the chunk store's per-block work: CRC32C alone (the
// SSE4.2 path, the table path, Crypto++'s), XTS-AES-256 and AES-256-GCM, on
// 4 KiB (one NFS random read) and 1 MiB (one NFS READ/WRITE) buffers, each
// processed as 4 KiB blocks with their own tweak or nonce, as the store does.
// Prints MiB/s per line; the numbers and the choice: docs/chunk-format.md.
//
//   ./build-rel/bench/chunk_cipher [seconds per case, default 0.5]
#include <crypto++/aes.h>
#include <crypto++/crc.h>
#include <crypto++/gcm.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "chunk/block_cipher.h"
#include "chunk/crc32c.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kBlock = 4096;

double run(const char* name, std::size_t bytes, double seconds,
           const std::function<void(std::size_t)>& fn) {
  std::size_t iters = 0;
  auto start = Clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (int i = 0; i < 16; ++i) fn(iters++);
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  }
  double mibs = static_cast<double>(bytes) * static_cast<double>(iters) / elapsed / (1 << 20);
  std::printf("%-34s %8zu B  %9.0f MiB/s\n", name, bytes, mibs);
  return mibs;
}

}  // namespace

int main(int argc, char** argv) {
  double secs = argc > 1 ? std::atof(argv[1]) : 0.5;
  std::vector<uint8_t> buf(1 << 20), out(1 << 20), tags(16 * 256);
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<uint8_t>(i * 131 + 7);
  efs::chunk::DataKey key;
  for (std::size_t i = 0; i < key.bytes.size(); ++i) key.bytes[i] = static_cast<uint8_t>(i + 1);
  key.generation = efs::chunk::next_key_generation();
  CryptoPP::GCM<CryptoPP::AES>::Encryption gcm;
  uint8_t iv[12] = {};
  gcm.SetKeyWithIV(key.bytes.data(), 32, iv, sizeof iv);
  volatile uint32_t sink = 0;
  std::printf("crc32c hardware path: %s\n", efs::chunk::crc32c_hardware() ? "yes" : "no");
  for (std::size_t size : {kBlock, std::size_t{1} << 20}) {
    std::size_t blocks = size / kBlock;
    run("memcpy (reference)", size, secs, [&](std::size_t) {
      std::memcpy(out.data(), buf.data(), size);
      sink = sink + out[size - 1];
    });
    run("crc32c sse4.2 (ours)", size, secs, [&](std::size_t) {
      for (std::size_t b = 0; b < blocks; ++b)
        sink = sink + efs::chunk::crc32c(0, buf.data() + b * kBlock, kBlock);
    });
    run("crc32c table (ours, fallback)", size, secs, [&](std::size_t) {
      for (std::size_t b = 0; b < blocks; ++b)
        sink = sink + efs::chunk::crc32c_portable(0, buf.data() + b * kBlock, kBlock);
    });
    run("crc32c Crypto++", size, secs, [&](std::size_t) {
      for (std::size_t b = 0; b < blocks; ++b) {
        CryptoPP::CRC32C c;
        uint8_t d[4];
        c.CalculateDigest(d, buf.data() + b * kBlock, kBlock);
        sink = sink + d[0];
      }
    });
    run("xts-aes-256 encrypt", size, secs, [&](std::size_t it) {
      for (std::size_t b = 0; b < blocks; ++b)
        efs::chunk::xts_encrypt(key, efs::chunk::xts_tweak(7, it * blocks + b),
                                buf.data() + b * kBlock, out.data() + b * kBlock, kBlock);
    });
    run("xts-aes-256 decrypt", size, secs, [&](std::size_t it) {
      for (std::size_t b = 0; b < blocks; ++b)
        efs::chunk::xts_decrypt(key, efs::chunk::xts_tweak(7, it * blocks + b),
                                buf.data() + b * kBlock, out.data() + b * kBlock, kBlock);
    });
    run("xts-aes-256 encrypt + crc32c", size, secs, [&](std::size_t it) {
      for (std::size_t b = 0; b < blocks; ++b) {
        efs::chunk::xts_encrypt(key, efs::chunk::xts_tweak(7, it * blocks + b),
                                buf.data() + b * kBlock, out.data() + b * kBlock, kBlock);
        sink = sink + efs::chunk::crc32c(0, out.data() + b * kBlock, kBlock);
      }
    });
    run("aes-256-gcm encrypt (tag/block)", size, secs, [&](std::size_t it) {
      for (std::size_t b = 0; b < blocks; ++b) {
        uint64_t n = it * blocks + b;
        std::memcpy(iv, &n, sizeof n);
        gcm.Resynchronize(iv, sizeof iv);
        gcm.ProcessData(out.data() + b * kBlock, buf.data() + b * kBlock, kBlock);
        gcm.TruncatedFinal(tags.data() + 16 * b, 16);
      }
    });
  }
  return sink == 42 ? 1 : 0;
}
