// An incremental HTTP/1.1 request parser (RFC 9112), with no I/O: the server
// feeds it whatever bytes arrived, and so does the fuzzer. It keeps the
// unparsed bytes itself, so pipelined requests come out one after another.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/message.h"

namespace efs::http {

struct ParserLimits {
  std::size_t max_header_bytes = 16 * 1024;  // request line + headers (and chunked trailers)
  std::size_t max_body_bytes = 8 * 1024 * 1024;
};

class RequestParser {
 public:
  enum class Status {
    kNeedMore,  // feed more bytes
    kComplete,  // take_request() has a request
    kError,     // error_status()/error_message(); the connection must close after replying
  };

  explicit RequestParser(ParserLimits limits = {});

  // Appends received bytes. Call parse() afterwards.
  void feed(std::string_view bytes);
  // Advances over the buffered bytes. After kComplete, call take_request()
  // and then parse() again: the buffer may already hold the next request.
  Status parse();

  // The request completed by the last parse() == kComplete; resets for the next one.
  Request take_request();
  // Whether the connection stays open after the request just taken
  // (RFC 9112 9.3: HTTP/1.1 persists unless "Connection: close"; HTTP/1.0
  // persists only with "Connection: keep-alive").
  bool keep_alive() const { return keep_alive_; }

  // True once, after the headers of a request carrying "Expect: 100-continue"
  // (RFC 9110 10.1.1) whose body has not arrived yet: the server should send
  // "100 Continue" now. Reading it clears it.
  bool take_continue_needed();

  // Set when parse() returned kError: 400, 413, 417, 431, 501 or 505.
  int error_status() const { return error_status_; }
  const std::string& error_message() const { return error_message_; }

  // True if bytes of an unfinished request are buffered (a connection that
  // is not idle).
  bool in_request() const { return state_ != State::kStart || pos_ < buffer_.size(); }
  // True while the request line or headers are still to come (with
  // in_request(): a head has started and is not complete).
  bool in_head() const { return state_ == State::kStart || state_ == State::kHeaders; }

 private:
  enum class State {
    kStart,
    kHeaders,
    kBody,
    kChunkSize,
    kChunkData,
    kChunkDataEnd,
    kTrailers,
    kDone,
    kError
  };

  Status fail(int status, std::string message);
  // Takes one line ending in LF (CR before it stripped); false if none is buffered yet.
  bool next_line(std::string_view& line);
  Status on_request_line(std::string_view line);
  Status on_header_line(std::string_view line);
  Status on_headers_done();
  void compact();

  ParserLimits limits_;
  std::string buffer_;
  std::size_t pos_ = 0;         // first unparsed byte in buffer_
  std::size_t head_bytes_ = 0;  // bytes of request line + headers (or trailers) so far
  State state_ = State::kStart;
  Request request_;
  bool http10_ = false;
  bool keep_alive_ = true;
  bool continue_needed_ = false;
  std::uint64_t remaining_ = 0;  // body or chunk bytes still expected
  int error_status_ = 0;
  std::string error_message_;
};

// Percent-decodes s (RFC 3986 2.1). With plus_is_space, '+' becomes ' ' (HTML
// form encoding, which AWS query strings use). False on a malformed escape.
bool percent_decode(std::string_view s, bool plus_is_space, std::string& out);

}  // namespace efs::http
