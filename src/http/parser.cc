#include "http/parser.h"

#include <algorithm>
#include <cctype>

namespace efs::http {
namespace {

// A chunk-size line (hex size plus extensions) longer than this is hostile.
constexpr std::size_t kMaxChunkLine = 4096;

// RFC 9110 5.6.2: tchar.
bool is_tchar(unsigned char c) {
  if (std::isalnum(c)) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return is_tchar(c); });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Comma-separated list elements (RFC 9110 5.6.1), trimmed and lower-cased, empties skipped.
std::vector<std::string> list_tokens(std::string_view v) {
  std::vector<std::string> out;
  while (true) {
    auto comma = v.find(',');
    auto item = trim(v.substr(0, comma));
    if (!item.empty()) out.push_back(lower(item));
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_known_method(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "POST" || m == "PUT" || m == "DELETE" || m == "PATCH" ||
         m == "OPTIONS";
}

}  // namespace

bool percent_decode(std::string_view s, bool plus_is_space, std::string& out) {
  out.clear();
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return false;
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

RequestParser::RequestParser(ParserLimits limits) : limits_(limits) {}

void RequestParser::feed(std::string_view bytes) {
  if (state_ == State::kError) return;
  compact();
  buffer_.append(bytes);
}

void RequestParser::compact() {
  if (pos_ > 0) {
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
}

RequestParser::Status RequestParser::fail(int status, std::string message) {
  state_ = State::kError;
  error_status_ = status;
  error_message_ = std::move(message);
  keep_alive_ = false;
  return Status::kError;
}

bool RequestParser::next_line(std::string_view& line) {
  auto lf = buffer_.find('\n', pos_);
  if (lf == std::string::npos) return false;
  line = std::string_view(buffer_).substr(pos_, lf - pos_);
  pos_ = lf + 1;
  // RFC 9112 2.2: a bare LF may be accepted as a line terminator.
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return true;
}

bool RequestParser::take_continue_needed() {
  bool v = continue_needed_;
  continue_needed_ = false;
  return v;
}

Request RequestParser::take_request() {
  Request r = std::move(request_);
  request_ = Request{};
  state_ = State::kStart;
  head_bytes_ = 0;
  continue_needed_ = false;
  return r;
}

RequestParser::Status RequestParser::parse() {
  while (true) {
    switch (state_) {
      case State::kError:
        return Status::kError;
      case State::kDone:
        return Status::kComplete;
      case State::kStart:
      case State::kHeaders:
      case State::kTrailers: {
        std::size_t before = pos_;
        std::string_view line;
        bool got = next_line(line);
        std::size_t seen = got ? pos_ - before : buffer_.size() - pos_;
        if (head_bytes_ + seen > limits_.max_header_bytes) {
          return fail(431, "request header fields too large");
        }
        if (!got) return Status::kNeedMore;
        head_bytes_ += seen;
        if (line.find('\r') != std::string_view::npos) return fail(400, "bare CR in header");
        Status s = Status::kNeedMore;
        if (state_ == State::kStart) {
          // RFC 9112 2.2: ignore empty lines before the request line.
          if (line.empty()) continue;
          s = on_request_line(line);
        } else if (state_ == State::kHeaders) {
          s = line.empty() ? on_headers_done() : on_header_line(line);
        } else {  // trailers: validated as fields, then dropped (RFC 9110 6.5.1)
          if (line.empty()) {
            state_ = State::kDone;
            return Status::kComplete;
          }
          auto colon = line.find(':');
          if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
            return fail(400, "malformed trailer field");
          }
        }
        if (s != Status::kNeedMore) return s;
        break;
      }
      case State::kBody:
      case State::kChunkData: {
        std::size_t avail = buffer_.size() - pos_;
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(avail, remaining_));
        request_.body.append(buffer_, pos_, n);
        pos_ += n;
        remaining_ -= n;
        if (remaining_ > 0) return Status::kNeedMore;
        if (state_ == State::kBody) {
          state_ = State::kDone;
          return Status::kComplete;
        }
        state_ = State::kChunkDataEnd;
        break;
      }
      case State::kChunkDataEnd: {
        std::string_view line;
        if (!next_line(line)) {
          if (buffer_.size() - pos_ > 2) return fail(400, "chunk data longer than its size");
          return Status::kNeedMore;
        }
        if (!line.empty()) return fail(400, "chunk data longer than its size");
        state_ = State::kChunkSize;
        break;
      }
      case State::kChunkSize: {
        std::string_view line;
        if (!next_line(line)) {
          if (buffer_.size() - pos_ > kMaxChunkLine) return fail(400, "chunk size line too long");
          return Status::kNeedMore;
        }
        if (line.size() > kMaxChunkLine) return fail(400, "chunk size line too long");
        // RFC 9112 7.1: chunk-size [ chunk-ext ] CRLF; extensions are ignored.
        std::size_t i = 0;
        std::uint64_t size = 0;
        while (i < line.size() && hex_value(line[i]) >= 0) {
          if (i >= 15) return fail(400, "chunk size too large");
          size = size * 16 + static_cast<std::uint64_t>(hex_value(line[i]));
          ++i;
        }
        if (i == 0) return fail(400, "malformed chunk size");
        auto rest = trim(line.substr(i));
        if (!rest.empty() && rest.front() != ';') return fail(400, "malformed chunk extension");
        for (char c : rest) {
          auto u = static_cast<unsigned char>(c);
          if ((u < 0x20 && c != '\t') || u == 0x7f) return fail(400, "malformed chunk extension");
        }
        if (size > limits_.max_body_bytes - request_.body.size()) {
          return fail(413, "request body too large");
        }
        if (size == 0) {
          state_ = State::kTrailers;
          head_bytes_ = 0;
        } else {
          remaining_ = size;
          state_ = State::kChunkData;
        }
        break;
      }
    }
  }
}

RequestParser::Status RequestParser::on_request_line(std::string_view line) {
  // RFC 9112 3: method SP request-target SP HTTP-version
  auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return fail(400, "malformed request line");
  auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return fail(400, "malformed request line");
  }
  auto method = line.substr(0, sp1);
  auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  auto version = line.substr(sp2 + 1);
  if (!is_token(method)) return fail(400, "malformed method");
  if (version == "HTTP/1.1") {
    http10_ = false;
  } else if (version == "HTTP/1.0") {
    http10_ = true;
  } else if (version.size() == 8 && version.substr(0, 5) == "HTTP/" &&
             std::isdigit(static_cast<unsigned char>(version[5])) && version[6] == '.' &&
             std::isdigit(static_cast<unsigned char>(version[7]))) {
    return fail(505, "HTTP version not supported");
  } else {
    return fail(400, "malformed HTTP version");
  }
  // RFC 9110 9.1: an unrecognized or unimplemented method is 501.
  if (!is_known_method(method)) return fail(501, "method not implemented");
  if (target.empty()) return fail(400, "empty request target");
  for (char c : target) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '#') return fail(400, "invalid character in request target");
  }
  request_.method = std::string(method);
  request_.target = std::string(target);
  // RFC 9112 3.2.2: absolute-form is accepted; only its path and query matter here.
  std::string_view origin = target;
  if (origin.substr(0, 7) == "http://" || origin.substr(0, 8) == "https://") {
    auto authority = origin.find("//") + 2;
    auto slash = origin.find_first_of("/?", authority);
    origin = slash == std::string_view::npos ? std::string_view("/") : origin.substr(slash);
    if (!origin.empty() && origin.front() == '?') return fail(400, "malformed request target");
  } else if (origin == "*") {
    if (method != "OPTIONS") return fail(400, "asterisk target outside OPTIONS");
  } else if (origin.front() != '/') {
    return fail(400, "malformed request target");
  }
  auto q = origin.find('?');
  request_.raw_path = std::string(origin.substr(0, q));
  if (!percent_decode(request_.raw_path, false, request_.path)) {
    return fail(400, "malformed percent-encoding in path");
  }
  if (request_.path.find('\0') != std::string::npos) return fail(400, "NUL in path");
  if (q != std::string_view::npos) {
    auto query = origin.substr(q + 1);
    while (!query.empty()) {
      auto amp = query.find('&');
      auto pair = query.substr(0, amp);
      if (!pair.empty()) {
        auto eq = pair.find('=');
        std::string key, value;
        if (!percent_decode(pair.substr(0, eq), true, key) ||
            (eq != std::string_view::npos && !percent_decode(pair.substr(eq + 1), true, value))) {
          return fail(400, "malformed percent-encoding in query");
        }
        request_.query.emplace_back(std::move(key), std::move(value));
      }
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }
  state_ = State::kHeaders;
  return Status::kNeedMore;
}

RequestParser::Status RequestParser::on_header_line(std::string_view line) {
  // RFC 9112 5.2: obsolete line folding is rejected with 400.
  if (line.front() == ' ' || line.front() == '\t') return fail(400, "obsolete line folding");
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return fail(400, "header line without colon");
  // RFC 9112 5.1: no whitespace between field name and colon.
  auto name = line.substr(0, colon);
  if (!is_token(name)) return fail(400, "malformed header name");
  auto value = trim(line.substr(colon + 1));
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return fail(400, "invalid character in header value");
  }
  auto key = lower(name);
  auto [it, inserted] = request_.headers.emplace(key, std::string(value));
  if (!inserted) {
    // RFC 9110 5.3: repeated fields combine into one comma-separated list.
    it->second.append(", ").append(value);
  }
  return Status::kNeedMore;
}

RequestParser::Status RequestParser::on_headers_done() {
  const auto* host = request_.header("host");
  if (!http10_ && host == nullptr) return fail(400, "missing Host header");  // RFC 9112 3.2

  keep_alive_ = !http10_;
  if (const auto* conn = request_.header("connection")) {
    for (const auto& t : list_tokens(*conn)) {
      if (t == "close") keep_alive_ = false;
      if (t == "keep-alive" && http10_) keep_alive_ = true;
    }
  }

  bool chunked = false;
  remaining_ = 0;
  const auto* te = request_.header("transfer-encoding");
  const auto* cl = request_.header("content-length");
  if (te != nullptr) {
    if (http10_) return fail(400, "Transfer-Encoding in HTTP/1.0");  // RFC 9112 6.1
    if (cl != nullptr) return fail(400, "both Transfer-Encoding and Content-Length");  // 6.3
    auto codings = list_tokens(*te);
    if (codings.empty()) return fail(400, "empty Transfer-Encoding");
    for (const auto& c : codings) {
      if (c != "chunked") return fail(501, "unsupported transfer-coding: " + c);
    }
    if (codings.size() != 1) return fail(400, "chunked applied more than once");
    chunked = true;
  } else if (cl != nullptr) {
    // RFC 9112 6.3: a list of identical values is one value; anything else is an error.
    std::string_view v = *cl;
    bool first = true;
    std::uint64_t length = 0;
    while (true) {
      auto comma = v.find(',');
      auto item = trim(v.substr(0, comma));
      if (item.empty() || item.size() > 18 || !std::all_of(item.begin(), item.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c));
          })) {
        return fail(400, "malformed Content-Length");
      }
      std::uint64_t n = std::stoull(std::string(item));
      if (!first && n != length) return fail(400, "conflicting Content-Length values");
      length = n;
      first = false;
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
    if (length > limits_.max_body_bytes) return fail(413, "request body too large");
    remaining_ = length;
  }

  if (const auto* expect = request_.header("expect")) {
    if (lower(trim(*expect)) != "100-continue") return fail(417, "unsupported expectation");
    // RFC 9110 10.1.1: a server ignores 100-continue from an HTTP/1.0 client.
    bool body_pending = chunked || remaining_ > 0;
    continue_needed_ = !http10_ && body_pending && pos_ == buffer_.size();
  }

  if (chunked) {
    state_ = State::kChunkSize;
    return Status::kNeedMore;
  }
  if (remaining_ > 0) {
    state_ = State::kBody;
    return Status::kNeedMore;
  }
  state_ = State::kDone;
  return Status::kComplete;
}

}  // namespace efs::http
