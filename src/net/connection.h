// Internals of RpcServer: the shared server state and one RPC connection.
// Not part of the module's interface.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "net/rpc_server.h"
#include "net/tls_channel.h"
#include "net/tls_front.h"
#include "rpc/dispatcher.h"
#include "rpc/record.h"

namespace efs::net::detail {

// (normalized address, bound port) of a listener.
using ListenerKey = std::pair<std::string, uint16_t>;

class Connection;

struct Listener {
  explicit Listener(asio::ip::tcp::acceptor a) : acceptor(std::move(a)) {}
  asio::ip::tcp::acceptor acceptor;  // runs on its own strand
  ListenerKey key;
};

struct ServerState {
  ServerState(asio::io_context& i, rpc::Dispatcher& d, RpcServerOptions o)
      : io(i), dispatcher(d), options(o) {}
  asio::io_context& io;
  rpc::Dispatcher& dispatcher;
  RpcServerOptions options;
  // The worker pool's executor (RpcServer owns the pool); empty without one.
  std::optional<asio::thread_pool::executor_type> workers;
  std::atomic<uint64_t> next_connection_id{1};
  // steady_clock nanoseconds of the last malloc_trim (rate limit).
  std::atomic<int64_t> last_trim_ns{0};

  std::mutex mu;  // guards the members below
  bool stopped = false;
  std::map<ListenerKey, std::shared_ptr<Listener>> listeners;
  std::map<uint64_t, std::weak_ptr<Connection>> connections;
};

// One accepted TCP connection. Everything touching the socket, the record
// assembler and the write queue runs on the socket's strand; calls run on
// the io_context (or the worker pool, for calls that may block) and post
// their replies back to the strand.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<ServerState> state, asio::ip::tcp::socket socket, ListenerKey from);
  ~Connection();

  uint64_t id() const { return ctx_.connection_id; }
  const ListenerKey& listener() const { return listener_; }
  // Starts the reader. Call once, after the connection is registered.
  void start();
  // Closes the socket from any thread; running calls finish, replies are dropped.
  void close();

 private:
  asio::awaitable<void> read_loop();
  // With a TLS front: peeks at the first byte and, for a TLS ClientHello,
  // runs the handshake and takes the client's identity (net/tls_front.h).
  // False if the connection is to close (refused, or gone before a byte).
  asio::awaitable<bool> sniff_transport();
  // Handles every complete record; false if the connection must close.
  asio::awaitable<bool> serve_ready_records();
  // The work guard, when given, keeps the io_context running until the
  // reply of a call on the worker pool is back on the strand.
  using IoWork = asio::executor_work_guard<asio::io_context::executor_type>;
  static asio::awaitable<void> serve_call(std::shared_ptr<Connection> self,
                                          rpc::RecordBuffer record, rpc::AdmittedCall call,
                                          std::optional<IoWork> io_work);
  // Whether another call may start: a call slot is free and the replies held
  // (queued plus the estimate for running calls) fit max_pending_reply_bytes.
  bool room_for_call() const;
  void finish_call(rpc::ReplyRecord reply);
  void start_idle_timer();
  void on_idle_timer();
  void touch() { last_traffic_ = std::chrono::steady_clock::now(); }
  void release_memory();
  void enqueue(rpc::ReplyRecord reply);
  void write_next();
  void close_now(const char* why);
  void maybe_finish();
  const std::string& peer() const;  // address:port, for logs

  std::shared_ptr<ServerState> state_;
  asio::ip::tcp::socket socket_;
  // Set when the client opened with TLS; every read and write then goes
  // through it. Plain connections never touch it.
  // Shared: a write in flight holds it (tls_channel.h).
  std::shared_ptr<TlsChannel> tls_;
  asio::steady_timer capacity_;  // a wake-up for the reader when a call slot or reply room frees
  asio::steady_timer idle_;      // closes the connection after idle_timeout of silence
  ListenerKey listener_;
  rpc::CallContext ctx_;  // connection facts copied into every call
  std::string peer_;
  rpc::RecordAssembler assembler_;

  std::size_t in_flight_ = 0;
  std::deque<rpc::ReplyRecord> queue_;
  // Bytes of replies in queue_ and in the write under way.
  std::size_t queued_bytes_ = 0;
  // A running call's expected reply size: decays toward the sizes seen, and
  // starts at a full READ so a burst of big READs is bounded from the start.
  std::size_t reply_estimate_ = 1 << 20;
  std::size_t peak_pending_ = 0;  // largest queued + estimated, for release_memory
  std::chrono::steady_clock::time_point last_traffic_ = std::chrono::steady_clock::now();
  bool writing_ = false;
  bool reader_done_ = false;
  bool closed_ = false;
  bool finalized_ = false;
};

}  // namespace efs::net::detail
