// TCP serving of ONC RPC programs: listeners (one per address, for mount
// targets) and connections, on one io_context that may be run by several
// threads.
//
// Each connection has one reader coroutine that assembles records and starts
// each call as its own coroutine on the io_context, so calls of one
// connection run in parallel and may finish out of order; replies are written
// in completion order (RFC 5531 matches them to calls by xid). At most
// max_in_flight_per_connection calls run at once per connection, and replies
// waiting for the client to read them are bounded (max_pending_reply_bytes):
// past either the reader stops reading, and TCP flow control holds the
// client back, so a client that pipelines calls and never reads the replies
// costs a bounded amount of memory.
//
// Calls the program classifies as CallCost::may_block (rpc/program.h, "Where
// a call runs") run on a pool of `workers` threads owned by the server, so
// a slow commit or fsync never holds an I/O thread; the others run on the
// I/O threads as before. The limits above count both kinds alike.
#pragma once

#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "rpc/dispatcher.h"
#include "rpc/record.h"

namespace efs::net {

namespace detail {
struct ServerState;
}
class TlsFront;

struct RpcServerOptions {
  std::size_t max_record = rpc::kDefaultMaxRecord;  // larger records close the connection
  std::size_t max_in_flight_per_connection = 128;
  // Reply bytes one connection may hold: replies written but not yet taken
  // by the client, plus an estimate for the calls running. Past it the reader
  // stops taking calls (and so stops reading), until the client reads.
  std::size_t max_pending_reply_bytes = 16 << 20;
  // A connection with no traffic either way and no call running for this
  // long is closed; zero keeps idle connections forever.
  std::chrono::milliseconds idle_timeout{0};
  // Threads that run calls which may block (commits, fsync). 0: every call
  // runs on the io_context's threads, blocking ones included.
  std::size_t workers = 0;
  // TLS on the same port (net/tls_front.h): a connection whose first byte
  // opens a TLS handshake is served over TLS. Null: plain RPC only.
  std::shared_ptr<TlsFront> tls;
};

class RpcServer {
 public:
  using Options = RpcServerOptions;

  // The dispatcher (and its programs) must outlive every thread running `io`.
  RpcServer(asio::io_context& io, rpc::Dispatcher& dispatcher, Options options = {});
  ~RpcServer();  // stop(), then waits for the calls on the worker pool
  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;

  // Listens on address:port (IPv4 such as 127.0.0.1, or IPv6 such as ::1;
  // port 0 picks a free port) and returns the bound port. Many listeners may
  // exist at once, one per mount target address. Clients may connect from
  // any source port (they mount with noresvport).
  Result<uint16_t, Error> listen(const std::string& address, uint16_t port);
  // Closes the listener on address:port (the bound port, as listen()
  // returned it) and the connections it accepted, as when a mount target is
  // deleted and its address goes away.
  void stop_listening(const std::string& address, uint16_t port);
  // Closes every listener and connection. Calls still running finish, and
  // their replies are dropped. Each call on the worker pool holds work on
  // the io_context until its reply is handed back, so running the
  // io_context dry after stop() drains the pool too.
  void stop();

  // Open connections (for tests and metrics).
  std::size_t connection_count() const;

 private:
  // Declared before state_ is not enough: the pool is joined explicitly in
  // the destructor, from the thread destroying the server (never a worker).
  std::unique_ptr<asio::thread_pool> workers_;
  std::shared_ptr<detail::ServerState> state_;
};

}  // namespace efs::net
