// The HTTP/1.1 server: accepts on one or more addresses, parses requests with
// RequestParser and answers each with the Handler, one coroutine per
// connection on a strand of the io_context it is given. The handler runs on
// that io_context's threads: give the server its own io_context (as
// efs-local does) to keep API work off the threads of other servers.
// Connections are served in turn: each has at most one request in the
// handler, and a finished response goes to the back of the io_context's
// queue before the connection's next request starts.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "http/message.h"

namespace efs::http {

// Each connection serves one request at a time: it reads no further while
// a request is handled and its response written, so pipelined requests wait
// in the client's socket and a client that does not read its responses holds
// at most one response. The timeouts close the connection.
struct Limits {
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 8 * 1024 * 1024;
  // Keep-alive: no byte of a next request for this long. Also the longest
  // pause between two reads of a request body.
  std::chrono::milliseconds idle_timeout{60'000};
  // The whole request head (request line and headers), from its first byte:
  // a client trickling header bytes (slowloris) is closed after this.
  std::chrono::milliseconds header_timeout{30'000};
  // Writing one response (a client that does not read it).
  std::chrono::milliseconds write_timeout{60'000};
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
