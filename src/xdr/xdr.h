// XDR (RFC 4506) primitives: a bounded reader over a received record and a
// writer that appends to a byte buffer. Generated NFSv4 codecs and the RPC
// layer are built on these two classes only.
//
// The reader never reads past its end: every length is checked against the
// bytes remaining, and a failed read sets a sticky error flag (ok() == false)
// and returns zero/empty values, so decoders can run straight-line and check
// once at the end.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace efs::xdr {

class Reader {
 public:
  Reader() = default;
  explicit Reader(std::span<const uint8_t> data) : p_(data.data()), end_(data.data() + data.size()) {}

  bool ok() const { return ok_; }
  void set_error() { ok_ = false; }
  std::size_t remaining() const { return static_cast<std::size_t>(end_ - p_); }
  const uint8_t* position() const { return p_; }
  // The unread bytes.
  std::span<const uint8_t> rest() const { return {p_, remaining()}; }

  uint32_t u32() {
    if (!need(4)) return 0;
    uint32_t v = (uint32_t(p_[0]) << 24) | (uint32_t(p_[1]) << 16) | (uint32_t(p_[2]) << 8) | p_[3];
    p_ += 4;
    return v;
  }
  int32_t i32() { return static_cast<int32_t>(u32()); }
  uint64_t u64() {
    uint64_t hi = u32();
    return (hi << 32) | u32();
  }
  int64_t i64() { return static_cast<int64_t>(u64()); }
  bool boolean() {
    uint32_t v = u32();
    if (v > 1) ok_ = false;
    return v == 1;
  }

  // Fixed-length opaque: n bytes plus padding to 4.
  std::span<const uint8_t> fixed(std::size_t n) {
    std::size_t padded = (n + 3) & ~std::size_t(3);
    if (padded < n || !need(padded)) return {};
    std::span<const uint8_t> s(p_, n);
    p_ += padded;
    return s;
  }
  // Variable-length opaque with an upper bound (max = 0xffffffff for none).
  // A view into the record: copy it if it must outlive the record.
  std::span<const uint8_t> opaque(uint32_t max) {
    uint32_t n = u32();
    if (!ok_) return {};
    if (n > max || n > remaining()) {
      ok_ = false;
      return {};
    }
    return fixed(n);
  }
  std::string string(uint32_t max) {
    auto s = opaque(max);
    return std::string(reinterpret_cast<const char*>(s.data()), s.size());
  }
  // Reads an array count and checks it against a cap and against the bytes
  // left (each element takes at least min_elem_size bytes on the wire).
  uint32_t count(uint32_t max, std::size_t min_elem_size = 4) {
    uint32_t n = u32();
    if (!ok_) return 0;
    if (n > max || (min_elem_size && std::size_t(n) * min_elem_size > remaining())) {
      ok_ = false;
      return 0;
    }
    return n;
  }

 private:
  bool need(std::size_t n) {
    if (!ok_ || remaining() < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  const uint8_t* p_ = nullptr;
  const uint8_t* end_ = nullptr;
  bool ok_ = true;
};

class Writer {
 public:
  Writer() = default;
  explicit Writer(std::vector<uint8_t>* out) : out_(out) {}

  std::vector<uint8_t>& buffer() { return *out_; }
  std::size_t size() const { return out_->size(); }

  void u32(uint32_t v) {
    uint8_t b[4] = {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
    out_->insert(out_->end(), b, b + 4);
  }
  void i32(int32_t v) { u32(static_cast<uint32_t>(v)); }
  void u64(uint64_t v) {
    u32(static_cast<uint32_t>(v >> 32));
    u32(static_cast<uint32_t>(v));
  }
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  void boolean(bool v) { u32(v ? 1 : 0); }
  void fixed(std::span<const uint8_t> d) {
    out_->insert(out_->end(), d.begin(), d.end());
    pad(d.size());
  }
  void opaque(std::span<const uint8_t> d) {
    u32(static_cast<uint32_t>(d.size()));
    fixed(d);
  }
  void string(std::string_view s) {
    opaque({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  }
  // Reserves a 4-byte slot and returns its offset, to be filled by patch_u32
  // (e.g. a count or status known only after the body is written).
  std::size_t reserve_u32() {
    std::size_t at = out_->size();
    u32(0);
    return at;
  }
  void patch_u32(std::size_t at, uint32_t v) {
    (*out_)[at] = uint8_t(v >> 24);
    (*out_)[at + 1] = uint8_t(v >> 16);
    (*out_)[at + 2] = uint8_t(v >> 8);
    (*out_)[at + 3] = uint8_t(v);
  }

 private:
  void pad(std::size_t n) {
    static constexpr uint8_t zeros[4] = {0, 0, 0, 0};
    std::size_t p = (4 - (n & 3)) & 3;
    out_->insert(out_->end(), zeros, zeros + p);
  }
  std::vector<uint8_t>* out_ = nullptr;
};

}  // namespace efs::xdr
