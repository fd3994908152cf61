#include "common/ids.h"

#include <random>

namespace efs {

uint64_t random_u64() {
  thread_local std::mt19937_64 gen{[] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }()};
  return gen();
}

std::string random_hex(std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(n);
  uint64_t bits = 0;
  int left = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (left == 0) {
      bits = random_u64();
      left = 16;
    }
    s.push_back(kHex[bits & 0xf]);
    bits >>= 4;
    --left;
  }
  return s;
}

std::string make_id(std::string_view prefix) {
  std::string s(prefix);
  s += '-';
  s += random_hex(17);
  return s;
}

bool is_id(std::string_view s, std::string_view prefix) {
  if (s.size() != prefix.size() + 1 + 17 || s.substr(0, prefix.size()) != prefix ||
      s[prefix.size()] != '-')
    return false;
  for (char c : s.substr(prefix.size() + 1))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string random_uuid() {
  std::string h = random_hex(32);
  h[12] = '4';
  h[16] = "89ab"[random_u64() & 3];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}

}  // namespace efs
