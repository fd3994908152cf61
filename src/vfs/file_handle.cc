#include "vfs/file_handle.h"

#include "common/ids.h"

namespace efs::vfs {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::vector<uint8_t> encode_handle(const HandleFields& f) {
  if (!is_id(f.fs_id, "fs")) return {};
  std::string_view hex = std::string_view(f.fs_id).substr(3);  // 17 digits
  std::vector<uint8_t> h;
  h.reserve(kHandleSize);
  h.push_back(kHandleVersion);
  h.push_back(static_cast<uint8_t>(hex_value(hex[0])));
  for (std::size_t i = 1; i < 17; i += 2) {
    h.push_back(static_cast<uint8_t>(hex_value(hex[i]) << 4 | hex_value(hex[i + 1])));
  }
  for (int s = 56; s >= 0; s -= 8) h.push_back(static_cast<uint8_t>(f.ino >> s));
  for (int s = 24; s >= 0; s -= 8) h.push_back(static_cast<uint8_t>(f.generation >> s));
  return h;
}

std::optional<HandleFields> decode_handle(std::span<const uint8_t> h) {
  if (h.size() != kHandleSize || h[0] != kHandleVersion || h[1] > 15) return std::nullopt;
  static const char* digits = "0123456789abcdef";
  HandleFields f;
  f.fs_id = "fs-";
  f.fs_id += digits[h[1]];
  for (std::size_t i = 2; i < 10; ++i) {
    f.fs_id += digits[h[i] >> 4];
    f.fs_id += digits[h[i] & 15];
  }
  for (std::size_t i = 10; i < 18; ++i) f.ino = f.ino << 8 | h[i];
  for (std::size_t i = 18; i < 22; ++i) f.generation = f.generation << 8 | h[i];
  if (f.ino == 0) return std::nullopt;
  return f;
}

}  // namespace efs::vfs
