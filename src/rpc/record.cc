#include "rpc/record.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace efs::rpc {

std::string RecordError::message() const {
  return "RPC record of " + std::to_string(claimed_size) + " bytes exceeds the limit of " +
         std::to_string(limit);
}

Result<void, RecordError> RecordAssembler::feed(std::span<const uint8_t> bytes) {
  if (failed_) return fail(RecordError{0, max_record_});
  std::size_t i = 0;
  while (i < bytes.size()) {
    if (!in_payload_) {
      std::size_t n = std::min<std::size_t>(4 - header_fill_, bytes.size() - i);
      std::memcpy(header_ + header_fill_, bytes.data() + i, n);
      header_fill_ += n;
      i += n;
      if (header_fill_ == 4) {
        auto r = on_header();
        if (!r) return r;
      }
      continue;
    }
    std::size_t n = std::min(fragment_left_, bytes.size() - i);
    if (record_.size() < committed_ + n) record_.resize(committed_ + n);
    std::memcpy(record_.data() + committed_, bytes.data() + i, n);
    committed_ += n;
    fragment_left_ -= n;
    i += n;
    if (fragment_left_ == 0) finish_fragment();
  }
  return {};
}

Result<void, RecordError> RecordAssembler::on_header() {
  uint32_t h = (uint32_t(header_[0]) << 24) | (uint32_t(header_[1]) << 16) |
               (uint32_t(header_[2]) << 8) | header_[3];
  header_fill_ = 0;
  last_ = (h & kLastFragmentBit) != 0;
  std::size_t len = h & kFragmentLengthMask;
  // The limit applies to the whole record, summed over its fragments, so a
  // peer cannot grow one record without bound through many small fragments.
  if (len > max_record_ || committed_ + len > max_record_) {
    failed_ = true;
    record_.clear();
    record_.shrink_to_fit();
    return fail(RecordError{committed_ + len, max_record_});
  }
  fragment_left_ = len;
  in_payload_ = true;
  // Room for the whole fragment now: growing later would move the bytes
  // already received one by one (RecordBuffer's allocator is not
  // std::allocator, so the vector does not memmove them).
  if (record_.capacity() < committed_ + len) record_.reserve(committed_ + len);
  if (len == 0) finish_fragment();
  return {};
}

void RecordAssembler::finish_fragment() {
  in_payload_ = false;
  if (!last_) return;
  record_.resize(committed_);
  ready_.push_back(std::move(record_));
  record_ = {};
  committed_ = 0;
  last_ = false;
}

std::span<uint8_t> RecordAssembler::payload_window() {
  if (failed_ || !in_payload_ || fragment_left_ == 0) return {};
  if (record_.size() < committed_ + fragment_left_) record_.resize(committed_ + fragment_left_);
  return {record_.data() + committed_, fragment_left_};
}

void RecordAssembler::commit(std::size_t n) {
  n = std::min(n, fragment_left_);
  committed_ += n;
  fragment_left_ -= n;
  if (in_payload_ && fragment_left_ == 0) finish_fragment();
}

std::optional<RecordBuffer> RecordAssembler::take() {
  if (ready_.empty()) return std::nullopt;
  auto r = std::move(ready_.front());
  ready_.pop_front();
  return r;
}

void put_record_mark(uint8_t out[4], uint32_t length) {
  uint32_t h = kLastFragmentBit | (length & kFragmentLengthMask);
  out[0] = uint8_t(h >> 24);
  out[1] = uint8_t(h >> 16);
  out[2] = uint8_t(h >> 8);
  out[3] = uint8_t(h);
}

std::vector<uint8_t> frame_record(std::span<const uint8_t> payload) {
  std::vector<uint8_t> out(4 + payload.size());
  put_record_mark(out.data(), static_cast<uint32_t>(payload.size()));
  if (!payload.empty()) std::memcpy(out.data() + 4, payload.data(), payload.size());
  return out;
}

}  // namespace efs::rpc
