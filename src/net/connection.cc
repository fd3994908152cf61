#include "net/connection.h"

#include <spdlog/spdlog.h>

#include <asio/buffer.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/dispatch.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/ssl/error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <malloc.h>

#include <algorithm>
#include <variant>

namespace efs::net::detail {

namespace {

// Reads go straight into the record buffer when this much or more of a
// fragment is still to come (the payload of a large WRITE), so 1 MiB of
// data is copied once, not twice.
constexpr std::size_t kDirectReadThreshold = 16 * 1024;
constexpr std::size_t kReadBufferSize = 64 * 1024;
// Replies gathered into one write, to spare syscalls when many finish together.
constexpr std::size_t kMaxRepliesPerWrite = 64;
// A connection that held this many reply bytes at once returns the freed
// memory to the system when it closes (see release_memory).
constexpr std::size_t kTrimAfterPendingBytes = 8 << 20;
// malloc_trim walks every arena: at most once per this interval.
constexpr std::chrono::seconds kTrimInterval{1};
// A peer that closes a TLS connection without close_notify is how NFS
// clients and stunnel end one; not worth a log line.
bool quiet_end(const asio::error_code& ec) {
  return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}

// Memory a reply holds (capacity: a READ buffer may be larger than its data).
std::size_t reply_bytes(const rpc::ReplyRecord& r) {
  return r.head.capacity() + r.body.capacity();
}

std::string address_string(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
  }
  return a.to_string();
}

}  // namespace

Connection::Connection(std::shared_ptr<ServerState> state, asio::ip::tcp::socket socket,
                       ListenerKey from)
    : state_(std::move(state)),
      socket_(std::move(socket)),
      capacity_(socket_.get_executor()),
      idle_(socket_.get_executor()),
      listener_(std::move(from)),
      assembler_(state_->options.max_record) {
  ctx_.connection_id = state_->next_connection_id.fetch_add(1);
  asio::error_code ec;
  auto local = socket_.local_endpoint(ec);
  if (!ec) {
    ctx_.local_address = address_string(local.address());
    ctx_.local_port = local.port();
  }
  auto remote = socket_.remote_endpoint(ec);
  if (!ec) {
    ctx_.remote_address = address_string(remote.address());
    ctx_.remote_port = remote.port();
    peer_ = ctx_.remote_address + ":" + std::to_string(remote.port());
  }
  // Replies are small and latency-bound; do not let Nagle hold them back.
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

Connection::~Connection() {
  // A TLS write still in flight holds the channel, not the socket.
  if (tls_) tls_->detach();
}

const std::string& Connection::peer() const {
  return peer_;
}

void Connection::start() {
  spdlog::debug("rpc: connection {} from {} to {}:{}", id(), peer(), ctx_.local_address,
                ctx_.local_port);
  asio::co_spawn(socket_.get_executor(), read_loop(), asio::detached);
  if (state_->options.idle_timeout.count() > 0) {
    asio::dispatch(socket_.get_executor(),
                   [self = shared_from_this()] { self->start_idle_timer(); });
  }
}

void Connection::start_idle_timer() {
  if (closed_) return;
  auto timeout = state_->options.idle_timeout;
  auto now = std::chrono::steady_clock::now();
  // A running call is not silence: check again a full timeout later.
  idle_.expires_at(in_flight_ > 0 ? now + timeout : last_traffic_ + timeout);
  idle_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
    if (!ec) self->on_idle_timer();
  });
}

void Connection::on_idle_timer() {
  if (closed_) return;
  auto quiet = std::chrono::steady_clock::now() - last_traffic_;
  if (in_flight_ == 0 && quiet >= state_->options.idle_timeout) {
    // Nothing read and nothing written (a write stuck on a client that does
    // not read counts as nothing) for the whole timeout.
    spdlog::info("rpc: connection {} from {}: no traffic for {} s; closing", id(), peer(),
                 std::chrono::duration_cast<std::chrono::seconds>(quiet).count());
    close_now("idle");
    return;
  }
  start_idle_timer();
}

void Connection::close() {
  asio::post(socket_.get_executor(),
             [self = shared_from_this()] { self->close_now("closed by server"); });
}

asio::awaitable<bool> Connection::sniff_transport() {
  asio::error_code ec;
  co_await socket_.async_wait(asio::ip::tcp::socket::wait_read,
                              asio::redirect_error(asio::use_awaitable, ec));
  if (ec || closed_) co_return false;
  uint8_t first = 0;
  std::size_t n = socket_.receive(asio::buffer(&first, 1), asio::socket_base::message_peek, ec);
  // Closed before a byte: efs-utils probes a port this way.
  if (ec || n == 0) co_return false;
  if (!starts_tls(first)) co_return true;
  TlsFront& front = *state_->options.tls;
  tls_ = std::make_shared<TlsChannel>(socket_, front.context().native_handle());
  front.prepare(tls_->native_handle(), ctx_);
  ec = co_await tls_->handshake();
  if (closed_) co_return false;
  if (ec) {
    spdlog::warn("tls: connection {} from {}: handshake refused: {}", id(), peer(), ec.message());
    close_now("TLS handshake failed");
    co_return false;
  }
  auto identity = front.identify(tls_->native_handle(), ctx_);
  if (!identity) {
    spdlog::warn("tls: connection {} from {}: refused: {}", id(), peer(), identity.error());
    close_now("client certificate refused");
    co_return false;
  }
  ctx_.identity = std::move(*identity);
  touch();
  const auto& who = *ctx_.identity;
  spdlog::info("tls: connection {} from {}: {} {}{}{}", id(), peer(),
               SSL_get_version(tls_->native_handle()),
               who.principal_arn.empty() ? std::string("anonymous") : who.principal_arn,
               who.access_point_id.empty() ? "" : " through ", who.access_point_id);
  co_return true;
}

asio::awaitable<void> Connection::read_loop() {
  auto self = shared_from_this();
  if (state_->options.tls && !co_await sniff_transport()) {
    reader_done_ = true;
    maybe_finish();
    co_return;
  }
  std::vector<uint8_t> buf(kReadBufferSize);
  while (!closed_) {
    if (!co_await serve_ready_records()) break;
    asio::error_code ec;
    auto window = assembler_.payload_window();
    if (window.size() >= kDirectReadThreshold) {
      auto into = asio::buffer(window.data(), window.size());
      std::size_t n =
          tls_ ? co_await tls_->read_some(into, ec)
               : co_await socket_.async_read_some(into,
                                                  asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (!quiet_end(ec) && !closed_) {
          spdlog::debug("rpc: connection {} from {}: read: {}", id(), peer(), ec.message());
        }
        break;
      }
      touch();
      assembler_.commit(n);
      continue;
    }
    std::size_t n = tls_ ? co_await tls_->read_some(asio::buffer(buf), ec)
                         : co_await socket_.async_read_some(
                               asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (!quiet_end(ec) && !closed_) {
        spdlog::debug("rpc: connection {} from {}: read: {}", id(), peer(), ec.message());
      }
      break;
    }
    touch();
    auto fed = assembler_.feed({buf.data(), n});
    if (!fed) {
      // RFC 5531 has no way to refuse a record, and skipping its bytes would
      // still cost their transfer: the connection goes, with any record
      // completed in the same read.
      spdlog::warn("rpc: connection {} from {}: {}; closing", id(), peer(), fed.error().message());
      close_now("record too large");
      break;
    }
  }
  reader_done_ = true;
  maybe_finish();
}

asio::awaitable<bool> Connection::serve_ready_records() {
  while (assembler_.ready() > 0) {
    // Backpressure: wait for a call slot, and for the client to read enough
    // of the replies already held, before taking on another call. Not
    // reading meanwhile lets TCP flow control stop the client.
    while (!room_for_call() && !closed_) {
      capacity_.expires_at(asio::steady_timer::time_point::max());
      asio::error_code ec;
      co_await capacity_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (closed_) co_return false;
    auto record = assembler_.take();
    auto admitted = state_->dispatcher.admit(*record, ctx_);
    if (!admitted) {
      spdlog::warn("rpc: connection {} from {}: {}; closing", id(), peer(),
                   rpc::to_string(admitted.error()));
      close_now("undecodable call");
      co_return false;
    }
    if (auto* ready = std::get_if<rpc::ReplyRecord>(&*admitted)) {
      enqueue(std::move(*ready));
      continue;
    }
    // The call owns its record (its args point into it).
    auto& call = std::get<rpc::AdmittedCall>(*admitted);
    ++in_flight_;
    if (call.cost == rpc::CallCost::may_block && state_->workers) {
      // A call that may wait for a commit or an fsync goes to the worker
      // pool (rpc/program.h, "Where a call runs"); the reader goes on, so
      // this connection's and every other connection's cheap calls keep
      // being answered by the I/O threads meanwhile.
      asio::co_spawn(*state_->workers,
                     serve_call(shared_from_this(), std::move(*record), std::move(call),
                                IoWork(state_->io.get_executor())),
                     asio::detached);
      continue;
    }
    // When a cheap call is the connection's only call, it runs right here
    // on the connection's strand: a client waiting for each reply (queue
    // depth 1) then costs no hand-off between threads, which dominated
    // small-request latency in profiles. Otherwise it runs on the
    // io_context, so calls of one connection use every thread.
    const bool alone = in_flight_ == 1 && assembler_.ready() == 0;
    auto served = serve_call(shared_from_this(), std::move(*record), std::move(call), std::nullopt);
    if (alone) {
      co_await std::move(served);
    } else {
      asio::co_spawn(state_->io, std::move(served), asio::detached);
    }
  }
  co_return true;
}

asio::awaitable<void> Connection::serve_call(std::shared_ptr<Connection> self,
                                             rpc::RecordBuffer record, rpc::AdmittedCall call,
                                             std::optional<IoWork> io_work) {
  auto reply = co_await rpc::Dispatcher::run(std::move(call));
  record.clear();
  // Runs at once when the call ran on the strand, else queues onto it. The
  // handler carries the io_context's work until it has run: the last call
  // on the pool ends only once its reply is on the connection.
  asio::dispatch(self->socket_.get_executor(),
                 [self, reply = std::move(reply), io_work = std::move(io_work)]() mutable {
                   self->finish_call(std::move(reply));
                   io_work.reset();
                 });
}

bool Connection::room_for_call() const {
  const auto& o = state_->options;
  if (in_flight_ >= o.max_in_flight_per_connection) return false;
  if (in_flight_ == 0 && queued_bytes_ == 0) return true;  // always one call at a time
  return queued_bytes_ + (in_flight_ + 1) * reply_estimate_ <= o.max_pending_reply_bytes;
}

void Connection::finish_call(rpc::ReplyRecord reply) {
  // The estimate follows big replies at once and small ones slowly.
  std::size_t size = reply_bytes(reply);
  reply_estimate_ = std::max(size, reply_estimate_ - reply_estimate_ / 8);
  --in_flight_;
  capacity_.cancel();
  if (!closed_) enqueue(std::move(reply));
  maybe_finish();
}

void Connection::enqueue(rpc::ReplyRecord reply) {
  queued_bytes_ += reply_bytes(reply);
  peak_pending_ = std::max(peak_pending_, queued_bytes_ + in_flight_ * reply_estimate_);
  queue_.push_back(std::move(reply));
  write_next();
}

void Connection::write_next() {
  if (writing_ || closed_ || queue_.empty()) return;
  writing_ = true;
  auto batch = std::make_shared<std::vector<rpc::ReplyRecord>>();
  std::vector<asio::const_buffer> buffers;
  while (!queue_.empty() && batch->size() < kMaxRepliesPerWrite) {
    batch->push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  for (auto& r : *batch) {
    buffers.emplace_back(r.head.data(), r.head.size());
    if (!r.body.empty()) buffers.emplace_back(r.body.data(), r.body.size());
  }
  auto on_written = [self = shared_from_this(), batch](asio::error_code ec, std::size_t) {
    self->writing_ = false;
    std::size_t sent = 0;
    for (auto& r : *batch) sent += reply_bytes(r);
    self->queued_bytes_ -= std::min(sent, self->queued_bytes_);
    batch->clear();
    self->capacity_.cancel();  // the reader may have room now
    if (!ec) self->touch();
    if (ec) {
      if (!self->closed_) {
        spdlog::debug("rpc: connection {} from {}: write: {}", self->id(), self->peer(),
                      ec.message());
      }
      self->close_now("write failed");
    } else {
      self->write_next();
    }
    self->maybe_finish();
  };
  if (!tls_) {
    asio::async_write(socket_, buffers, std::move(on_written));
    return;
  }
  tls_->write(std::move(buffers), std::move(on_written));
}

void Connection::close_now(const char* why) {
  if (closed_) return;
  closed_ = true;
  spdlog::debug("rpc: connection {} from {} closing: {}", id(), peer(), why);
  asio::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  capacity_.cancel();
  idle_.cancel();
  for (auto& r : queue_) queued_bytes_ -= std::min(reply_bytes(r), queued_bytes_);
  queue_.clear();
}

void Connection::maybe_finish() {
  if (finalized_ || !reader_done_ || in_flight_ > 0) return;
  // After the peer's EOF, replies still queued are sent before closing.
  if (!closed_ && (writing_ || !queue_.empty())) return;
  close_now("peer finished");
  finalized_ = true;
  {
    std::lock_guard lock(state_->mu);
    state_->connections.erase(id());
  }
  spdlog::debug("rpc: connection {} from {} closed", id(), peer());
  // RFC 8881 2.10.11.3 lets a server drop a connection's session binding
  // when it goes; the program decides what to forget.
  state_->dispatcher.connection_closed(id());
  release_memory();
}

void Connection::release_memory() {
  // main.cc keeps freed 1 MiB buffers in the heap (no mmap per READ, and a
  // high trim threshold) for speed; after a connection that held many
  // replies, give the freed pages back so RSS falls to what is in use.
  if (peak_pending_ < kTrimAfterPendingBytes) return;
  auto now = std::chrono::steady_clock::now().time_since_epoch();
  int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
  int64_t last = state_->last_trim_ns.load();
  int64_t interval = std::chrono::duration_cast<std::chrono::nanoseconds>(kTrimInterval).count();
  if (now_ns - last < interval) return;
  if (!state_->last_trim_ns.compare_exchange_strong(last, now_ns)) return;
  malloc_trim(0);
}

}  // namespace efs::net::detail
