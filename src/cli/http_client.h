// A small blocking HTTP/1.1 client for the emulator's own commands
// (`efs-local clock`, `status`, ...): one request per connection to a
// running efs-local's API port. Not for general use: no TLS, no redirects,
// no chunked bodies (efs-local always sends Content-Length).
#pragma once

#include <cstdint>
#include <string>

namespace efs::cli {

struct Endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 2050;
  std::string text() const { return "http://" + host + ":" + std::to_string(port); }
};

// "http://host:port" (the path, if any, is ignored). Empty string if fine,
// else what is wrong.
std::string parse_endpoint(const std::string& url, Endpoint* out);

struct HttpResult {
  int status = 0;      // 0: no answer (see error)
  std::string body;
  std::string error;   // the connection failed: why
};

HttpResult http_call(const Endpoint& ep, const std::string& method, const std::string& path,
                     const std::string& body = "");

}  // namespace efs::cli
