// Micro-benchmark of the chunk store's per-block work: CRC32C alone (the
// SSE4.2 path, the table path, Crypto++'s), XTS-AES-256 and AES-256-GCM, on
// 4 KiB (one NFS random read) and 1 MiB (one NFS READ/WRITE) buffers, each
// processed as 4 KiB blocks with their own tweak or nonce, as the store does.
// Prints MiB/s per line; the numbers and the choice: docs/chunk-format.md.
//
//   ./build-release/bench/chunk_cipher [seconds per case, default 0.5] [store]
#include <crypto++/aes.h>
#include <crypto++/crc.h>
#include <crypto++/gcm.h>
#include <crypto++/xts.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <vector>

#include "chunk/block_cipher.h"
#include "chunk/chunk_store.h"
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
  std::printf("%-40s %8zu B  %9.0f MiB/s\n", name, bytes, mibs);
  return mibs;
}

}  // namespace

// The store's own paths over the page cache (a 64 MiB file, no sync):
// 1 MiB writes and reads, 4 KiB random reads; for a plaintext and an
// encrypted file system, against bare pwrite/pread of a host file (what
// format version 1 did: no checksum, no cipher).
void store_paths(double secs) {
  const std::string dir = (std::filesystem::temp_directory_path() / "chunk-cipher-bench").string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  constexpr std::size_t kFile = 64 << 20, kBig = 1 << 20;
  std::vector<uint8_t> buf(kBig);
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<uint8_t>(i * 7 + 3);
  {
    int fd = ::open((dir + "/raw").c_str(), O_RDWR | O_CREAT, 0600);
    run("raw pwrite 1 MiB", kBig, secs, [&](std::size_t it) {
      if (::pwrite(fd, buf.data(), kBig, static_cast<off_t>((it * kBig) % kFile)) < 0) std::abort();
    });
    run("raw pread 1 MiB", kBig, secs, [&](std::size_t it) {
      if (::pread(fd, buf.data(), kBig, static_cast<off_t>((it * kBig) % kFile)) < 0) std::abort();
    });
    std::mt19937_64 rng(1);
    run("raw pread 4 KiB random", kBlock, secs, [&](std::size_t) {
      if (::pread(fd, buf.data(), kBlock, static_cast<off_t>((rng() % (kFile / kBlock)) * kBlock)) <
          0)
        std::abort();
    });
    ::close(fd);
  }
  auto store = efs::chunk::ChunkStore::open(dir);
  if (!store) std::abort();
  std::array<uint8_t, 64> key{};
  key[0] = 1;
  if (!(*store)->set_data_key("fs-encrypted", key)) std::abort();
  for (const char* fs : {"fs-plain", "fs-encrypted"}) {
    std::string tag = fs;
    run(("store write 1 MiB " + tag).c_str(), kBig, secs, [&](std::size_t it) {
      if (!(*store)->write(fs, 1, (it * kBig) % kFile, buf)) std::abort();
    });
    run(("store read 1 MiB " + tag).c_str(), kBig, secs, [&](std::size_t it) {
      if (!(*store)->read(fs, 1, (it * kBig) % kFile, buf)) std::abort();
    });
    std::mt19937_64 rng(1);
    run(("store read 4 KiB random " + tag).c_str(), kBlock, secs, [&](std::size_t) {
      if (!(*store)->read(fs, 1, (rng() % (kFile / kBlock)) * kBlock,
                          std::span<uint8_t>(buf.data(), kBlock)))
        std::abort();
    });
  }
  store->reset();
  std::filesystem::remove_all(dir);
}

int main(int argc, char** argv) {
  double secs = argc > 1 ? std::atof(argv[1]) : 0.5;
  if (argc > 2 && std::string(argv[2]) == "store") {
    store_paths(secs);
    return 0;
  }
  std::vector<uint8_t> buf(1 << 20), out(1 << 20), tags(16 * 256);
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<uint8_t>(i * 131 + 7);
  efs::chunk::DataKey key;
  for (std::size_t i = 0; i < key.bytes.size(); ++i) key.bytes[i] = static_cast<uint8_t>(i + 1);
  key.generation = efs::chunk::next_key_generation();
  CryptoPP::GCM<CryptoPP::AES>::Encryption gcm;
  uint8_t iv[16] = {};
  gcm.SetKeyWithIV(key.bytes.data(), 32, iv, 12);
  CryptoPP::XTS_Mode<CryptoPP::AES>::Encryption cxts;
  cxts.SetKeyWithIV(key.bytes.data(), 64, iv, 16);
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
    // Every XTS path this CPU has (block_cipher.h), then back to the best.
    const efs::chunk::XtsPath best = efs::chunk::xts_path();
    for (auto path : {efs::chunk::XtsPath::vaes512, efs::chunk::XtsPath::vaes256,
                      efs::chunk::XtsPath::aesni}) {
      if (!efs::chunk::xts_path_available(path)) continue;
      efs::chunk::xts_use_path(path);
      key.generation = efs::chunk::next_key_generation();  // each thread's schedule afresh
      const char* name = path == efs::chunk::XtsPath::vaes512   ? "vaes512"
                         : path == efs::chunk::XtsPath::vaes256 ? "vaes256"
                                                                : "aes-ni";
      run((std::string("xts-aes-256 encrypt (ours, ") + name + ")").c_str(), size, secs, [&](std::size_t it) {
        for (std::size_t b = 0; b < blocks; ++b)
          efs::chunk::xts_encrypt(key, efs::chunk::xts_tweak(7, it * blocks + b),
                                  buf.data() + b * kBlock, out.data() + b * kBlock, kBlock);
      });
      run((std::string("xts-aes-256 decrypt (ours, ") + name + ")").c_str(), size, secs, [&](std::size_t it) {
        for (std::size_t b = 0; b < blocks; ++b)
          efs::chunk::xts_decrypt(key, efs::chunk::xts_tweak(7, it * blocks + b),
                                  buf.data() + b * kBlock, out.data() + b * kBlock, kBlock);
      });
    }
    efs::chunk::xts_use_path(best);
    key.generation = efs::chunk::next_key_generation();
    run("xts-aes-256 encrypt + crc32c", size, secs, [&](std::size_t it) {
      for (std::size_t b = 0; b < blocks; ++b) {
        efs::chunk::xts_encrypt(key, efs::chunk::xts_tweak(7, it * blocks + b),
                                buf.data() + b * kBlock, out.data() + b * kBlock, kBlock);
        sink = sink + efs::chunk::crc32c(0, out.data() + b * kBlock, kBlock);
      }
    });
    run("xts-aes-256 Crypto++ XTS_Mode encrypt", size, secs, [&](std::size_t it) {
      for (std::size_t b = 0; b < blocks; ++b) {
        auto t = efs::chunk::xts_tweak(7, it * blocks + b);
        cxts.Resynchronize(t.data(), 16);
        cxts.ProcessData(out.data() + b * kBlock, buf.data() + b * kBlock, kBlock);
      }
    });
    run("aes-256-gcm encrypt (tag/block)", size, secs, [&](std::size_t it) {
      for (std::size_t b = 0; b < blocks; ++b) {
        uint64_t n = it * blocks + b;
        std::memcpy(iv, &n, sizeof n);
        gcm.Resynchronize(iv, 12);
        gcm.ProcessData(out.data() + b * kBlock, buf.data() + b * kBlock, kBlock);
        gcm.TruncatedFinal(tags.data() + 16 * b, 16);
      }
    });
  }
  store_paths(secs);
  return sink == 42 ? 1 : 0;
}
