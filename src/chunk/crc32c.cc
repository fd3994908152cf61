#include "chunk/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace efs::chunk {

namespace {

// Reflected Castagnoli polynomial.
constexpr uint32_t kPoly = 0x82F63B78u;

// Slicing-by-8 tables: 8 bytes per step without the instruction.
constexpr std::array<std::array<uint32_t, 256>, 8> make_tables() {
  std::array<std::array<uint32_t, 256>, 8> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (kPoly & (0u - (c & 1u)));
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (std::size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  }
  return t;
}
constexpr auto kTables = make_tables();

#if defined(__x86_64__)
// One stream of 8-byte steps, on the raw register (no pre/post inversion).
__attribute__((target("sse4.2"))) uint64_t crc32c_stream(uint64_t c, const uint8_t* p,
                                                         std::size_t n) {
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
  }
  auto c32 = static_cast<uint32_t>(c);
  while (n--) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}

// The crc32 instruction takes 3 cycles but can start one every cycle, so
// one stream uses a third of it. A block (4 KiB, the store's unit) is
// instead cut in three runs of kRun bytes checksummed side by side, and the
// three registers are joined: the register after A||B is the register
// after A advanced over |B| zero bytes, XOR the register of B alone (CRC is
// linear over GF(2)). Advancing a register over a fixed number of zero bytes
// is a linear map of its 32 bits, so it is four table lookups, one per byte
// of the register; the tables are made once, at start, with the instruction.
constexpr std::size_t kRun = 1360;  // 3 * 1360 = 4080: a 4 KiB block leaves 16 bytes
static_assert(kRun % 8 == 0, "runs are read 8 bytes at a time");

struct Advance {
  std::array<std::array<uint32_t, 256>, 4> t{};
  uint32_t operator()(uint32_t r) const {
    return t[0][r & 0xff] ^ t[1][(r >> 8) & 0xff] ^ t[2][(r >> 16) & 0xff] ^ t[3][r >> 24];
  }
};

__attribute__((target("sse4.2"))) Advance make_advance(std::size_t zero_bytes) {
  static const uint8_t zeros[2 * kRun] = {};
  Advance a;
  for (int k = 0; k < 4; ++k)
    for (uint32_t b = 0; b < 256; ++b)
      a.t[k][b] = static_cast<uint32_t>(crc32c_stream(uint64_t{b} << (8 * k), zeros, zero_bytes));
  return a;
}

struct Joins {
  Advance one = make_advance(kRun);
  Advance two = make_advance(2 * kRun);
};

__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(uint32_t crc, const uint8_t* p,
                                                        std::size_t n) {
  static const Joins joins;
  uint64_t c = ~crc;
  while (n >= 3 * kRun) {
    uint64_t a = c, b = 0, d = 0;
    const uint8_t* pb = p + kRun;
    const uint8_t* pd = p + 2 * kRun;
    for (std::size_t i = 0; i < kRun; i += 8) {
      uint64_t va, vb, vd;
      std::memcpy(&va, p + i, 8);
      std::memcpy(&vb, pb + i, 8);
      std::memcpy(&vd, pd + i, 8);
      a = _mm_crc32_u64(a, va);
      b = _mm_crc32_u64(b, vb);
      d = _mm_crc32_u64(d, vd);
    }
    c = joins.two(static_cast<uint32_t>(a)) ^ joins.one(static_cast<uint32_t>(b)) ^
        static_cast<uint32_t>(d);
    p += 3 * kRun;
    n -= 3 * kRun;
  }
  return ~static_cast<uint32_t>(crc32c_stream(c, p, n));
}
#endif

bool detect() {
#if defined(__x86_64__)
  __builtin_cpu_init();  // runs from a static initializer, maybe before libgcc's
  return __builtin_cpu_supports("sse4.2");
#else
  return false;
#endif
}

const bool kHardware = detect();

}  // namespace

uint32_t crc32c_portable(uint32_t crc, const uint8_t* p, std::size_t n) {
  uint32_t c = ~crc;
  while (n >= 8) {
    uint32_t lo;
    uint32_t hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= c;  // little-endian hosts (x86, arm64)
    c = kTables[7][lo & 0xff] ^ kTables[6][(lo >> 8) & 0xff] ^ kTables[5][(lo >> 16) & 0xff] ^
        kTables[4][lo >> 24] ^ kTables[3][hi & 0xff] ^ kTables[2][(hi >> 8) & 0xff] ^
        kTables[1][(hi >> 16) & 0xff] ^ kTables[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ kTables[0][(c ^ *p++) & 0xff];
  return ~c;
}

uint32_t crc32c(uint32_t crc, const uint8_t* data, std::size_t n) {
#if defined(__x86_64__)
  if (kHardware) return crc32c_sse42(crc, data, n);
#endif
  return crc32c_portable(crc, data, n);
}

bool crc32c_hardware() {
  return kHardware;
}

}  // namespace efs::chunk
