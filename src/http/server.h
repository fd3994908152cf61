// The HTTP/1.1 server: accepts on one or more addresses, parses requests with
// RequestParser and answers each with the Handler, one coroutine per
// connection on a strand of the shared io_context.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "http/message.h"

namespace efs::http {

struct Limits {
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 8 * 1024 * 1024;
  std::chrono::seconds idle_timeout{60};
};

struct ServerState;

class Server {
 public:
  Server(asio::io_context& io, Limits limits, Handler handler);
  ~Server();  // stop()s; connections still open finish on the io_context
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts accepting on address:port (port 0 picks a free port). Returns the
  // bound port. May be called several times for several addresses.
  Result<uint16_t, Error> listen(const std::string& address, uint16_t port);

  // Stops accepting and closes idle connections; requests in flight finish
  // and their connections close after the response.
  void stop();

  // Connections currently open (for tests and metrics).
  size_t connection_count() const;

 private:
  // Shared with every connection, so a connection may outlive the Server object.
  std::shared_ptr<ServerState> state_;
};

}  // namespace efs::http
