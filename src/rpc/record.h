// ONC RPC record marking over TCP (RFC 5531 section 11): a stream of records,
// each sent as one or more fragments. A fragment is a 4-byte big-endian header
// (top bit = last fragment of the record, low 31 bits = payload length)
// followed by that many bytes.
//
// RecordAssembler turns the received byte stream back into records. It holds
// no socket: the connection feeds it whatever a read returned, so the parsing
// can be fuzzed and unit-tested without a network.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/uninit_bytes.h"

namespace efs::rpc {

// Large enough for an NFSv4 WRITE of 1 MiB (the largest wsize Linux asks for)
// plus the COMPOUND and RPC headers around it.
inline constexpr std::size_t kDefaultMaxRecord = (1u << 20) + (64u << 10);

inline constexpr uint32_t kLastFragmentBit = 0x80000000u;
inline constexpr uint32_t kFragmentLengthMask = 0x7fffffffu;

// Why a byte stream cannot be read as records; the connection must be closed.
struct RecordError {
  std::size_t claimed_size = 0;  // record size including the offending fragment
  std::size_t limit = 0;
  std::string message() const;
};

// A received record: grown without zeroing (common/uninit_bytes.h), since
// every byte of it is received into.
using RecordBuffer = UninitBytes;

class RecordAssembler {
 public:
  explicit RecordAssembler(std::size_t max_record = kDefaultMaxRecord) : max_record_(max_record) {}

  // Consumes received bytes. Complete records are queued for take(). Fails
  // as soon as a fragment header announces a record larger than the limit
  // (before any of its payload is buffered, so a 2 GiB length allocates
  // nothing); after a failure the assembler stays failed.
  Result<void, RecordError> feed(std::span<const uint8_t> bytes);

  // Zero-copy receive path for large fragments: while in the middle of a
  // fragment's payload, a window into the record buffer that the caller may
  // read into directly, then report with commit(n). Empty otherwise.
  std::span<uint8_t> payload_window();
  void commit(std::size_t n);

  // The next complete record, oldest first.
  std::optional<RecordBuffer> take();
  std::size_t ready() const { return ready_.size(); }
  bool failed() const { return failed_; }
  // True between records (no partial header or payload buffered).
  bool idle() const { return header_fill_ == 0 && !in_payload_ && record_.empty(); }

 private:
  Result<void, RecordError> on_header();
  void finish_fragment();

  std::size_t max_record_;
  uint8_t header_[4] = {};
  std::size_t header_fill_ = 0;
  bool in_payload_ = false;
  bool last_ = false;
  std::size_t fragment_left_ = 0;
  std::size_t committed_ = 0;  // bytes of record_ that hold received payload
  RecordBuffer record_;
  std::deque<RecordBuffer> ready_;
  bool failed_ = false;
};

// The 4-byte header of a record sent as one last fragment of `length` bytes
// (length must be below 2^31).
void put_record_mark(uint8_t out[4], uint32_t length);
// A whole record as one last fragment: header + payload.
std::vector<uint8_t> frame_record(std::span<const uint8_t> payload);

}  // namespace efs::rpc
