#include "chunk/block_cipher.h"

#include <crypto++/aes.h>
#include <crypto++/hmac.h>
#include <crypto++/sha.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace efs::chunk {

namespace {

std::atomic<uint64_t> g_generation{0};

// XTS built on Crypto++'s AES block function: Crypto++'s own XTS_Mode
// computes each 16-byte tweak in a byte loop and runs AES one block at a
// time (measured 550-800 MiB/s here); feeding whole 4 KiB blocks to
// AdvancedProcessBlocks lets AES-NI work on several blocks at once
// (docs/chunk-format.md, "Encryption"). Per thread: the key schedules.
struct ThreadCipher {
  uint64_t gen = 0;
  CryptoPP::AES::Encryption data_enc;
  CryptoPP::AES::Decryption data_dec;
  CryptoPP::AES::Encryption tweak_enc;
  alignas(16) uint8_t tweaks[4096];
  // AES-256 round keys of the data key for the VAES path: 15 for
  // encryption, 15 for decryption (the equivalent inverse cipher's).
  alignas(16) uint8_t enc_rk[15][16];
  alignas(16) uint8_t dec_rk[15][16];
  bool have_rk = false;  // enc_rk/dec_rk made for this key
};

void fill_tweaks(ThreadCipher& c, const std::array<uint8_t, 16>& tweak, std::size_t blocks);

#if defined(__x86_64__)
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*() and trip
// -Wuninitialized in the headers themselves (a known GCC bug, fixed in 13);
// silenced for the VAES code only.
#if !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
bool detect_vaes() {
  // avx512f/avx512bw through the compiler (which also checks that the OS
  // saves the AVX-512 registers); VAES and VPCLMULQDQ (CPUID leaf 7, ECX
  // bits 9 and 10) by hand: clang 14 has no names for them.
  __builtin_cpu_init();  // runs from a static initializer, maybe before libgcc's
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
      !__builtin_cpu_supports("aes"))
    return false;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  return (c & (1u << 9)) && (c & (1u << 10));
}
// VAES on 256-bit registers: AVX2 machines without AVX-512 (AMD Zen 3,
// Intel Alder Lake and later client cores), two AES blocks per instruction.
bool detect_vaes256() {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("aes")) return false;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  return (c & (1u << 9)) && (c & (1u << 10));
}
XtsPath best_path() {
  if (detect_vaes()) return XtsPath::vaes512;
  if (detect_vaes256()) return XtsPath::vaes256;
  return XtsPath::aesni;
}
std::atomic<XtsPath> g_path{best_path()};

// FIPS 197 5.2 with AES-NI: the AES-256 key schedule, and the round keys of
// the equivalent inverse cipher (5.3.5: InvMixColumns of the middle ones,
// in reverse order) that aesdec expects.
__attribute__((target("aes,sse4.2"))) void expand_key(const uint8_t* key, uint8_t enc[15][16],
                                                      uint8_t dec[15][16]) {
  __m128i rk[15];
  rk[0] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(key));
  rk[1] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(key + 16));
  auto spread = [](__m128i a) {  // a0, a0^a1, a0^a1^a2, a0^a1^a2^a3
    a = _mm_xor_si128(a, _mm_slli_si128(a, 4));
    a = _mm_xor_si128(a, _mm_slli_si128(a, 4));
    return _mm_xor_si128(a, _mm_slli_si128(a, 4));
  };
#define EFS_AES256_STEP(i, rcon)                                                     \
  do {                                                                               \
    __m128i g = _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[i - 1], rcon), 0xff); \
    rk[i] = _mm_xor_si128(spread(rk[i - 2]), g);                                     \
  } while (0)
#define EFS_AES256_HALF(i)                                                           \
  do {                                                                               \
    __m128i h = _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[i - 1], 0), 0xaa);    \
    rk[i] = _mm_xor_si128(spread(rk[i - 2]), h);                                     \
  } while (0)
  EFS_AES256_STEP(2, 0x01);
  EFS_AES256_HALF(3);
  EFS_AES256_STEP(4, 0x02);
  EFS_AES256_HALF(5);
  EFS_AES256_STEP(6, 0x04);
  EFS_AES256_HALF(7);
  EFS_AES256_STEP(8, 0x08);
  EFS_AES256_HALF(9);
  EFS_AES256_STEP(10, 0x10);
  EFS_AES256_HALF(11);
  EFS_AES256_STEP(12, 0x20);
  EFS_AES256_HALF(13);
  EFS_AES256_STEP(14, 0x40);
#undef EFS_AES256_HALF
#undef EFS_AES256_STEP
  for (int i = 0; i < 15; ++i) _mm_store_si128(reinterpret_cast<__m128i*>(enc[i]), rk[i]);
  _mm_store_si128(reinterpret_cast<__m128i*>(dec[0]), rk[14]);
  for (int i = 1; i < 14; ++i)
    _mm_store_si128(reinterpret_cast<__m128i*>(dec[i]), _mm_aesimc_si128(rk[14 - i]));
  _mm_store_si128(reinterpret_cast<__m128i*>(dec[14]), rk[0]);
}

// XTS with VAES: four 16-byte AES blocks per 512-bit register, four
// registers (16 blocks, 256 bytes) in flight so the AES units stay busy.
// The tweaks of a register's four lanes are T*a^j..T*a^(j+3); the next
// register's are those times a^4, computed lane-wise (shift each 128-bit
// lane left by 4 bits, folding the 4 bits shifted out back in with
// x^7+x^2+x+1 by a carry-less multiply).
#define EFS_VAES_TARGET __attribute__((target("vaes,avx512f,avx512bw,vpclmulqdq,aes")))

EFS_VAES_TARGET inline __m512i times_a4(__m512i t) {
  const __m512i poly = _mm512_set_epi64(0, 0x87, 0, 0x87, 0, 0x87, 0, 0x87);
  __m512i out = _mm512_slli_epi64(t, 4);
  __m512i carries = _mm512_shuffle_epi32(_mm512_srli_epi64(t, 60), _MM_PERM_BADC);
  // The low qword's carry moves up into the high qword (odd qwords); the
  // high qword's wraps around into the low one, reduced.
  out = _mm512_xor_si512(out, _mm512_maskz_mov_epi64(0xAA, carries));
  __m512i wrap = _mm512_maskz_mov_epi64(0x55, carries);
  return _mm512_xor_si512(out, _mm512_clmulepi64_epi128(wrap, poly, 0x00));
}

template <bool Encrypt>
EFS_VAES_TARGET inline __m512i aes_rounds(__m512i x, const __m512i* rk) {
  x = _mm512_xor_si512(x, rk[0]);
  for (int r = 1; r < 14; ++r)
    x = Encrypt ? _mm512_aesenc_epi128(x, rk[r]) : _mm512_aesdec_epi128(x, rk[r]);
  return Encrypt ? _mm512_aesenclast_epi128(x, rk[14]) : _mm512_aesdeclast_epi128(x, rk[14]);
}

template <bool Encrypt>
EFS_VAES_TARGET void xts_vaes(ThreadCipher& c, const std::array<uint8_t, 16>& tweak,
                              const uint8_t* in, uint8_t* out, std::size_t n) {
  __m512i rk[15];
  for (int r = 0; r < 15; ++r)
    rk[r] = _mm512_broadcast_i32x4(
        _mm_load_si128(reinterpret_cast<const __m128i*>(Encrypt ? c.enc_rk[r] : c.dec_rk[r])));
  // T, T*a, T*a^2, T*a^3 (IEEE 1619 5.1), then a^4 steps.
  fill_tweaks(c, tweak, 4);
  __m512i t = _mm512_loadu_si512(c.tweaks);
  while (n >= 256) {
    __m512i t0 = t, t1 = times_a4(t0), t2 = times_a4(t1), t3 = times_a4(t2);
    t = times_a4(t3);
    __m512i x0 = _mm512_xor_si512(_mm512_loadu_si512(in), t0);
    __m512i x1 = _mm512_xor_si512(_mm512_loadu_si512(in + 64), t1);
    __m512i x2 = _mm512_xor_si512(_mm512_loadu_si512(in + 128), t2);
    __m512i x3 = _mm512_xor_si512(_mm512_loadu_si512(in + 192), t3);
    x0 = _mm512_xor_si512(x0, rk[0]);
    x1 = _mm512_xor_si512(x1, rk[0]);
    x2 = _mm512_xor_si512(x2, rk[0]);
    x3 = _mm512_xor_si512(x3, rk[0]);
    for (int r = 1; r < 14; ++r) {
      if constexpr (Encrypt) {
        x0 = _mm512_aesenc_epi128(x0, rk[r]);
        x1 = _mm512_aesenc_epi128(x1, rk[r]);
        x2 = _mm512_aesenc_epi128(x2, rk[r]);
        x3 = _mm512_aesenc_epi128(x3, rk[r]);
      } else {
        x0 = _mm512_aesdec_epi128(x0, rk[r]);
        x1 = _mm512_aesdec_epi128(x1, rk[r]);
        x2 = _mm512_aesdec_epi128(x2, rk[r]);
        x3 = _mm512_aesdec_epi128(x3, rk[r]);
      }
    }
    if constexpr (Encrypt) {
      x0 = _mm512_aesenclast_epi128(x0, rk[14]);
      x1 = _mm512_aesenclast_epi128(x1, rk[14]);
      x2 = _mm512_aesenclast_epi128(x2, rk[14]);
      x3 = _mm512_aesenclast_epi128(x3, rk[14]);
    } else {
      x0 = _mm512_aesdeclast_epi128(x0, rk[14]);
      x1 = _mm512_aesdeclast_epi128(x1, rk[14]);
      x2 = _mm512_aesdeclast_epi128(x2, rk[14]);
      x3 = _mm512_aesdeclast_epi128(x3, rk[14]);
    }
    _mm512_storeu_si512(out, _mm512_xor_si512(x0, t0));
    _mm512_storeu_si512(out + 64, _mm512_xor_si512(x1, t1));
    _mm512_storeu_si512(out + 128, _mm512_xor_si512(x2, t2));
    _mm512_storeu_si512(out + 192, _mm512_xor_si512(x3, t3));
    in += 256;
    out += 256;
    n -= 256;
  }
  // The last 16..240 bytes: one register (the lanes past n masked) at a time.
  while (n) {
    const std::size_t piece = std::min<std::size_t>(n, 64);
    const __mmask64 m = piece == 64 ? ~__mmask64{0} : ((__mmask64{1} << piece) - 1);
    __m512i x = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, in), t);
    x = _mm512_xor_si512(aes_rounds<Encrypt>(x, rk), t);
    _mm512_mask_storeu_epi8(out, m, x);
    t = times_a4(t);
    in += piece;
    out += piece;
    n -= piece;
  }
}

// The same with VAES on 256-bit registers: two blocks per register, eight
// registers (16 blocks, 256 bytes) in flight; the next register's tweaks are
// those times a^2 (each 128-bit lane shifted left by 2 bits, the 2 bits out
// of the top folded back in with x^7+x^2+x+1).
#define EFS_VAES2_TARGET __attribute__((target("vaes,avx,avx2,vpclmulqdq,aes")))

EFS_VAES2_TARGET inline __m256i times_a2(__m256i t) {
  const __m256i poly = _mm256_set_epi64x(0, 0x87, 0, 0x87);
  const __m256i zero = _mm256_setzero_si256();
  __m256i out = _mm256_slli_epi64(t, 2);
  // Each qword's top 2 bits, moved to the other qword of its lane.
  __m256i carries = _mm256_shuffle_epi32(_mm256_srli_epi64(t, 62), 0x4E);
  // The low qword's carry goes into the high qword (dwords 2,3 and 6,7);
  // the high qword's wraps around into the low one (0,1 and 4,5), reduced.
  out = _mm256_xor_si256(out, _mm256_blend_epi32(zero, carries, 0xCC));
  __m256i wrap = _mm256_blend_epi32(zero, carries, 0x33);
  return _mm256_xor_si256(out, _mm256_clmulepi64_epi128(wrap, poly, 0x00));
}

template <bool Encrypt>
EFS_VAES2_TARGET inline __m256i aes_rounds2(__m256i x, const __m256i* rk) {
  x = _mm256_xor_si256(x, rk[0]);
  for (int r = 1; r < 14; ++r)
    x = Encrypt ? _mm256_aesenc_epi128(x, rk[r]) : _mm256_aesdec_epi128(x, rk[r]);
  return Encrypt ? _mm256_aesenclast_epi128(x, rk[14]) : _mm256_aesdeclast_epi128(x, rk[14]);
}

template <bool Encrypt>
EFS_VAES2_TARGET void xts_vaes2(ThreadCipher& c, const std::array<uint8_t, 16>& tweak,
                                const uint8_t* in, uint8_t* out, std::size_t n) {
  constexpr int kRegs = 8;
  __m256i rk[15];
  for (int r = 0; r < 15; ++r)
    rk[r] = _mm256_broadcastsi128_si256(
        _mm_load_si128(reinterpret_cast<const __m128i*>(Encrypt ? c.enc_rk[r] : c.dec_rk[r])));
  fill_tweaks(c, tweak, 2);  // T, T*a; then a^2 steps
  __m256i t = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c.tweaks));
  while (n >= 32 * kRegs) {
    // Written out register by register: as arrays, GCC -O2 kept them in
    // memory and every round waited on a store and a load.
    const __m256i t0 = t, t1 = times_a2(t0), t2 = times_a2(t1), t3 = times_a2(t2),
                  t4 = times_a2(t3), t5 = times_a2(t4), t6 = times_a2(t5), t7 = times_a2(t6);
    t = times_a2(t7);
#define EFS_XTS2_LOAD(j, tj)                                                                  \
  _mm256_xor_si256(                                                                          \
      _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + 32 * (j))), \
                       tj),                                                                  \
      rk[0])
    __m256i x0 = EFS_XTS2_LOAD(0, t0), x1 = EFS_XTS2_LOAD(1, t1), x2 = EFS_XTS2_LOAD(2, t2),
            x3 = EFS_XTS2_LOAD(3, t3), x4 = EFS_XTS2_LOAD(4, t4), x5 = EFS_XTS2_LOAD(5, t5),
            x6 = EFS_XTS2_LOAD(6, t6), x7 = EFS_XTS2_LOAD(7, t7);
#undef EFS_XTS2_LOAD
    for (int r = 1; r < 14; ++r) {
      const __m256i k = rk[r];
      if constexpr (Encrypt) {
        x0 = _mm256_aesenc_epi128(x0, k);
        x1 = _mm256_aesenc_epi128(x1, k);
        x2 = _mm256_aesenc_epi128(x2, k);
        x3 = _mm256_aesenc_epi128(x3, k);
        x4 = _mm256_aesenc_epi128(x4, k);
        x5 = _mm256_aesenc_epi128(x5, k);
        x6 = _mm256_aesenc_epi128(x6, k);
        x7 = _mm256_aesenc_epi128(x7, k);
      } else {
        x0 = _mm256_aesdec_epi128(x0, k);
        x1 = _mm256_aesdec_epi128(x1, k);
        x2 = _mm256_aesdec_epi128(x2, k);
        x3 = _mm256_aesdec_epi128(x3, k);
        x4 = _mm256_aesdec_epi128(x4, k);
        x5 = _mm256_aesdec_epi128(x5, k);
        x6 = _mm256_aesdec_epi128(x6, k);
        x7 = _mm256_aesdec_epi128(x7, k);
      }
    }
#define EFS_XTS2_STORE(j, xj, tj)                                                          \
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * (j)),                         \
                      _mm256_xor_si256(Encrypt ? _mm256_aesenclast_epi128(xj, rk[14])     \
                                               : _mm256_aesdeclast_epi128(xj, rk[14]), \
                                       tj))
    EFS_XTS2_STORE(0, x0, t0);
    EFS_XTS2_STORE(1, x1, t1);
    EFS_XTS2_STORE(2, x2, t2);
    EFS_XTS2_STORE(3, x3, t3);
    EFS_XTS2_STORE(4, x4, t4);
    EFS_XTS2_STORE(5, x5, t5);
    EFS_XTS2_STORE(6, x6, t6);
    EFS_XTS2_STORE(7, x7, t7);
#undef EFS_XTS2_STORE
    in += 32 * kRegs;
    out += 32 * kRegs;
    n -= 32 * kRegs;
  }
  // The last 16..240 bytes: a register at a time, a last lone block masked.
  while (n) {
    const bool half = n < 32;
    const __m256i m = half ? _mm256_set_epi64x(0, 0, -1, -1) : _mm256_set1_epi64x(-1);
    __m256i x = _mm256_maskload_epi64(reinterpret_cast<const long long*>(in), m);
    x = _mm256_xor_si256(aes_rounds2<Encrypt>(_mm256_xor_si256(x, t), rk), t);
    _mm256_maskstore_epi64(reinterpret_cast<long long*>(out), m, x);
    t = times_a2(t);
    const std::size_t piece = half ? 16 : 32;
    in += piece;
    out += piece;
    n -= piece;
  }
}
#if !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif


ThreadCipher& thread_cipher(const DataKey& key) {
  thread_local ThreadCipher c;
  if (c.gen != key.generation) {
    c.data_enc.SetKey(key.bytes.data(), 32);
    c.data_dec.SetKey(key.bytes.data(), 32);
    c.tweak_enc.SetKey(key.bytes.data() + 32, 32);
    c.gen = key.generation;
    c.have_rk = false;
  }
#if defined(__x86_64__)
  if (!c.have_rk && g_path.load(std::memory_order_relaxed) != XtsPath::aesni) {
    expand_key(key.bytes.data(), c.enc_rk, c.dec_rk);
    c.have_rk = true;
  }
#endif
  return c;
}

// IEEE 1619 5.1: T_0 = AES(K2, tweak), T_{j+1} = T_j * alpha in GF(2^128),
// with the little-endian byte order of the standard.
void fill_tweaks(ThreadCipher& c, const std::array<uint8_t, 16>& tweak, std::size_t blocks) {
  uint8_t t[16];
  c.tweak_enc.ProcessBlock(tweak.data(), t);
  uint64_t lo, hi;
  std::memcpy(&lo, t, 8);
  std::memcpy(&hi, t + 8, 8);
  for (std::size_t j = 0; j < blocks; ++j) {
    std::memcpy(c.tweaks + 16 * j, &lo, 8);
    std::memcpy(c.tweaks + 16 * j + 8, &hi, 8);
    const uint64_t carry = hi >> 63;
    hi = (hi << 1) | (lo >> 63);
    lo = (lo << 1) ^ (carry * 0x87);
  }
}

void xor_into(uint8_t* out, const uint8_t* t, std::size_t n) {
  for (std::size_t i = 0; i < n; i += 8) {
    uint64_t a, b;
    std::memcpy(&a, out + i, 8);
    std::memcpy(&b, t + i, 8);
    a ^= b;
    std::memcpy(out + i, &a, 8);
  }
}

// C = AES(K1, P ^ T) ^ T (or P = AES^-1(K1, C ^ T) ^ T), 4 KiB at a time.
template <class Aes>
void xts(ThreadCipher& c, const Aes& aes, const std::array<uint8_t, 16>& tweak, const uint8_t* in,
         uint8_t* out, std::size_t n) {
  constexpr auto kFlags =
      CryptoPP::BlockTransformation::BT_XorInput | CryptoPP::BlockTransformation::BT_AllowParallel;
  std::array<uint8_t, 16> next = tweak;
  bool first = true;
  while (n) {
    const std::size_t piece = std::min<std::size_t>(n, sizeof c.tweaks);
    if (first) {
      fill_tweaks(c, next, piece / 16);
      first = false;
    } else {
      // Continue the sequence: the tweak after the last one used.
      uint64_t lo, hi;
      std::memcpy(&lo, c.tweaks + sizeof c.tweaks - 16, 8);
      std::memcpy(&hi, c.tweaks + sizeof c.tweaks - 8, 8);
      for (std::size_t j = 0; j < piece / 16; ++j) {
        const uint64_t carry = hi >> 63;
        hi = (hi << 1) | (lo >> 63);
        lo = (lo << 1) ^ (carry * 0x87);
        std::memcpy(c.tweaks + 16 * j, &lo, 8);
        std::memcpy(c.tweaks + 16 * j + 8, &hi, 8);
      }
    }
    aes.AdvancedProcessBlocks(in, c.tweaks, out, piece, kFlags);
    xor_into(out, c.tweaks, piece);
    in += piece;
    out += piece;
    n -= piece;
  }
}

}  // namespace

uint64_t next_key_generation() {
  return ++g_generation;
}

std::array<uint8_t, 16> xts_tweak(uint64_t ino, uint64_t block) {
  std::array<uint8_t, 16> t{};
  for (int i = 0; i < 8; ++i) {
    t[static_cast<std::size_t>(i)] = static_cast<uint8_t>(block >> (8 * i));
    t[static_cast<std::size_t>(8 + i)] = static_cast<uint8_t>(ino >> (8 * i));
  }
  return t;
}

namespace {
// One entry for both directions: the VAES path when it is on, else AES-NI
// through Crypto++ with the direction's key schedule.
template <bool Encrypt>
void run_xts(const DataKey& key, const std::array<uint8_t, 16>& tweak, const uint8_t* in,
             uint8_t* out, std::size_t n) {
  ThreadCipher& c = thread_cipher(key);
#if defined(__x86_64__)
  switch (g_path.load(std::memory_order_relaxed)) {
    case XtsPath::vaes512:
      return xts_vaes<Encrypt>(c, tweak, in, out, n);
    case XtsPath::vaes256:
      return xts_vaes2<Encrypt>(c, tweak, in, out, n);
    case XtsPath::aesni:
      break;
  }
#endif
  if constexpr (Encrypt)
    xts(c, c.data_enc, tweak, in, out, n);
  else
    xts(c, c.data_dec, tweak, in, out, n);
}
}  // namespace

void xts_encrypt(const DataKey& key, const std::array<uint8_t, 16>& tweak, const uint8_t* in,
                 uint8_t* out, std::size_t n) {
  run_xts<true>(key, tweak, in, out, n);
}

void xts_decrypt(const DataKey& key, const std::array<uint8_t, 16>& tweak, const uint8_t* in,
                 uint8_t* out, std::size_t n) {
  run_xts<false>(key, tweak, in, out, n);
}

bool xts_path_available(XtsPath path) {
  switch (path) {
    case XtsPath::aesni:
      return true;
#if defined(__x86_64__)
    case XtsPath::vaes256:
      return detect_vaes256();
    case XtsPath::vaes512:
      return detect_vaes();
#endif
    default:
      return false;
  }
}

XtsPath xts_path() {
#if defined(__x86_64__)
  return g_path.load();
#else
  return XtsPath::aesni;
#endif
}

XtsPath xts_use_path(XtsPath path) {
#if defined(__x86_64__)
  const XtsPath was = g_path.load();
  g_path.store(xts_path_available(path) ? path : XtsPath::aesni);
  return was;
#else
  (void)path;
  return XtsPath::aesni;
#endif
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
