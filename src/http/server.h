// The HTTP/1.1 server: accepts on one or more addresses, parses requests with
// RequestParser and answers each with the Handler, one coroutine per
// connection on a strand of the io_context it is given, the handlers on an
// executor of their own if given one (efs-local gives the API its own
// io_context and handler pool, so API work never runs on the NFS threads).
#pragma once

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
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
  // Sockets are served on `io`. With a handler_executor (a small thread
  // pool), handlers run there, in the order requests complete, one per
  // connection at a time: a connection's next request joins the back of that
  // queue, so under load every connection gets its turn and socket I/O and
  // accepts never wait behind a slow handler. Without one, handlers run on
  // `io` inline.
  Server(asio::io_context& io, Limits limits, Handler handler,
         std::optional<asio::any_io_executor> handler_executor = std::nullopt);
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
