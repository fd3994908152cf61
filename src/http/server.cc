#include "http/server.h"

// GCC 12 reports a false -Wmismatched-new-delete on asio's awaitable frame
// allocator (it pairs a sized class operator delete with the global new).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <optional>

#include "http/parser.h"
#include "http/response.h"
#include "net/descriptor_reserve.h"

namespace efs::http {

using asio::ip::tcp;

class Connection;

struct ServerState {
  ServerState(asio::io_context& io_, Limits limits_, Handler handler_,
              std::optional<asio::any_io_executor> handler_executor_)
      : io(io_),
        limits(limits_),
        handler(std::move(handler_)),
        handler_executor(std::move(handler_executor_)) {}
  asio::io_context& io;
  Limits limits;
  Handler handler;
  std::optional<asio::any_io_executor> handler_executor;
  std::mutex mu;
  bool stopped = false;
  std::vector<std::shared_ptr<tcp::acceptor>> acceptors;
  std::map<Connection*, std::weak_ptr<Connection>> connections;
};

namespace {

std::string endpoint_address(const tcp::socket& s, bool remote) {
  asio::error_code ec;
  auto ep = remote ? s.remote_endpoint(ec) : s.local_endpoint(ec);
  return ec ? std::string("?") : ep.address().to_string();
}

}  // namespace

// One client connection. Everything it does runs on its own strand, so its
// socket, timer and flags need no lock.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::shared_ptr<ServerState> state)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), state_(std::move(state)) {
    peer_ = endpoint_address(socket_, true);
    local_ = endpoint_address(socket_, false);
  }

  asio::awaitable<void> run();

  // Called on the strand by Server::stop().
  void stop() {
    stopping_ = true;
    if (idle_) {
      asio::error_code ec;
      socket_.close(ec);
    }
  }

  tcp::socket& socket() { return socket_; }

 private:
  using Clock = std::chrono::steady_clock;

  asio::awaitable<void> serve();
  Response call_handler(const Request& request);
  // Closes the socket at `deadline` unless disarm() comes first; `what` is
  // logged if it fires.
  void arm(Clock::time_point deadline, const char* what);
  void disarm();
  // Writes all of `bytes` within the write timeout.
  asio::awaitable<asio::error_code> write_all(std::string_view bytes);

  tcp::socket socket_;
  asio::steady_timer timer_;
  std::shared_ptr<ServerState> state_;
  std::string peer_, local_;
  bool idle_ = true;  // waiting for the first byte of a request
  bool stopping_ = false;
  std::uint64_t timer_generation_ = 0;  // strand-only, like the rest
  // When the head of the request being read must be complete.
  std::optional<Clock::time_point> head_deadline_;
};

void Connection::arm(Clock::time_point deadline, const char* what) {
  timer_.expires_at(deadline);
  // The generation guards against an expiry already queued when the
  // operation completed: it must not close the connection that is now busy.
  std::uint64_t generation = ++timer_generation_;
  std::weak_ptr<Connection> weak = weak_from_this();
  timer_.async_wait([weak, generation, what](const asio::error_code& tec) {
    if (tec) return;
    auto c = weak.lock();
    if (c && c->timer_generation_ == generation) {
      spdlog::debug("http: closing connection from {}: {}", c->peer_, what);
      asio::error_code ignored;
      c->socket().close(ignored);
    }
  });
}

void Connection::disarm() {
  timer_.cancel();
  ++timer_generation_;
}

asio::awaitable<asio::error_code> Connection::write_all(std::string_view bytes) {
  asio::error_code ec;
  arm(Clock::now() + state_->limits.write_timeout, "response not read within the write timeout");
  co_await asio::async_write(socket_, asio::buffer(bytes),
                             asio::redirect_error(asio::use_awaitable, ec));
  disarm();
  co_return ec;
}

Response Connection::call_handler(const Request& request) {
  try {
    return state_->handler(request);
  } catch (const std::exception& e) {
    spdlog::error("http: handler threw on {} {}: {}", request.method, request.target, e.what());
  } catch (...) {
    spdlog::error("http: handler threw on {} {}", request.method, request.target);
  }
  return protocol_error_response(500, "internal error");
}

asio::awaitable<void> Connection::run() {
  auto self = shared_from_this();
  {
    std::lock_guard lock(state_->mu);
    if (state_->stopped) stopping_ = true;
    state_->connections.emplace(this, self);
  }
  try {
    co_await serve();
  } catch (const std::exception& e) {
    spdlog::warn("http: connection from {} failed: {}", peer_, e.what());
  }
  asio::error_code ec;
  timer_.cancel();
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  socket_.close(ec);
  std::lock_guard lock(state_->mu);
  state_->connections.erase(this);
}

asio::awaitable<void> Connection::serve() {
  const Limits& limits = state_->limits;
  RequestParser parser(ParserLimits{limits.max_header_bytes, limits.max_body_bytes});
  std::array<char, 16 * 1024> buf;
  asio::error_code ec;
  while (true) {
    auto status = parser.parse();
    if (status == RequestParser::Status::kNeedMore) {
      if (stopping_ && !parser.in_request()) co_return;
      if (parser.take_continue_needed()) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        if (co_await write_all(kContinue)) co_return;
      }
      idle_ = !parser.in_request();
      auto now = Clock::now();
      if (idle_) {
        // Keep-alive: waiting for the first byte of the next request.
        head_deadline_.reset();
        arm(now + limits.idle_timeout, "idle");
      } else if (parser.in_head()) {
        // The head has one deadline as a whole, however the bytes trickle in.
        if (!head_deadline_) head_deadline_ = now + limits.header_timeout;
        arm(std::min(*head_deadline_, now + limits.idle_timeout),
            "request head not complete within the header timeout");
      } else {
        arm(now + limits.idle_timeout, "request body stalled");
      }
      std::size_t n = co_await socket_.async_read_some(
          asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      disarm();
      idle_ = false;
      if (ec) co_return;  // EOF, reset, a timeout or stop()
      parser.feed(std::string_view(buf.data(), n));
      continue;
    }
    if (status == RequestParser::Status::kError) {
      spdlog::warn("http: {} {} from {}", parser.error_status(), parser.error_message(), peer_);
      auto bytes = serialize_response(
          protocol_error_response(parser.error_status(), parser.error_message()), false, false);
      co_await write_all(bytes);
      co_return;  // after an error response the connection closes
    }
    Request request = parser.take_request();
    head_deadline_.reset();
    request.remote_address = peer_;
    request.local_address = local_;
    Response response;
    if (state_->handler_executor) {
      // The connection's one request joins the back of the handlers' queue;
      // the socket I/O of every connection goes on meanwhile.
      response = co_await asio::co_spawn(
          *state_->handler_executor,
          [this, &request]() -> asio::awaitable<Response> { co_return call_handler(request); },
          asio::use_awaitable);
    } else {
      response = call_handler(request);
    }
    bool keep_alive = parser.keep_alive() && !stopping_;
    auto bytes = serialize_response(response, keep_alive, request.method == "HEAD");
    if (co_await write_all(bytes) || !keep_alive) co_return;
  }
}

namespace {

constexpr int kAcceptBatch = 64;

void start_connection(const std::shared_ptr<ServerState>& state, tcp::socket socket) {
  auto conn = std::make_shared<Connection>(std::move(socket), state);
  auto executor = conn->socket().get_executor();
  asio::co_spawn(executor, conn->run(), asio::detached);
}

asio::awaitable<void> accept_loop(std::shared_ptr<ServerState> state,
                                  std::shared_ptr<tcp::acceptor> acceptor) {
  asio::steady_timer backoff(acceptor->get_executor());
  while (true) {
    asio::error_code ec;
    // Wait, then accept through the reserve (see net/descriptor_reserve.h):
    // an accept must not race the other listener's shedding.
    co_await acceptor->async_wait(tcp::acceptor::wait_read,
                                  asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
    tcp::socket socket(asio::make_strand(state->io));
    if (!ec) net::DescriptorReserve::instance().accept(*acceptor, socket, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
    if (ec && net::is_descriptor_exhaustion(ec)) {
      // Out of descriptors: shed the pending connection with the spare
      // descriptor (logged once per interval), else pause before retrying.
      if (net::DescriptorReserve::instance().shed_one(acceptor->native_handle(), "http: accept"))
        continue;
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (ec) {
      // Other failures: keep serving the open connections, retry shortly.
      spdlog::warn("http: accept failed: {}", ec.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    start_connection(state, std::move(socket));
    // Take every connection already pending now, not one per trip through
    // the io_context's queue: behind a busy queue, one accept per trip left
    // new clients in the backlog for minutes.
    for (int i = 1; i < kAcceptBatch; ++i) {
      tcp::socket more(asio::make_strand(state->io));
      net::DescriptorReserve::instance().accept(*acceptor, more, ec);
      if (ec) break;  // would_block: none pending; other errors: the next async_accept sees them
      start_connection(state, std::move(more));
    }
  }
}

}  // namespace

Server::Server(asio::io_context& io, Limits limits, Handler handler,
               std::optional<asio::any_io_executor> handler_executor)
    : state_(std::make_shared<ServerState>(io, limits, std::move(handler),
                                           std::move(handler_executor))) {
  net::DescriptorReserve::instance().ensure();
}

Server::~Server() {
  stop();
}

Result<uint16_t, Error> Server::listen(const std::string& address, uint16_t port) {
  asio::error_code ec;
  auto addr = asio::ip::make_address(address, ec);
  if (ec) return fail(Error{"invalid listen address '" + address + "'"});
  tcp::endpoint endpoint(addr, port);
  auto acceptor = std::make_shared<tcp::acceptor>(asio::make_strand(state_->io));
  std::string where = address + ":" + std::to_string(port);
  if (acceptor->open(endpoint.protocol(), ec); ec) {
    return fail(Error{"open " + where + ": " + ec.message()});
  }
  acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (acceptor->bind(endpoint, ec); ec) return fail(Error{"bind " + where + ": " + ec.message()});
  if (acceptor->listen(asio::socket_base::max_listen_connections, ec); ec) {
    return fail(Error{"listen " + where + ": " + ec.message()});
  }
  uint16_t bound = acceptor->local_endpoint(ec).port();
  acceptor->non_blocking(true, ec);  // for the batch of accepts after each async_accept
  {
    std::lock_guard lock(state_->mu);
    if (state_->stopped) return fail(Error{"server stopped"});
    state_->acceptors.push_back(acceptor);
  }
  asio::co_spawn(acceptor->get_executor(), accept_loop(state_, acceptor), asio::detached);
  spdlog::info("http: listening on {}:{}", address, bound);
  return bound;
}

void Server::stop() {
  std::lock_guard lock(state_->mu);
  state_->stopped = true;
  for (auto& acceptor : state_->acceptors) {
    asio::post(acceptor->get_executor(), [acceptor] {
      asio::error_code ec;
      acceptor->close(ec);
    });
  }
  state_->acceptors.clear();
  for (auto& [ptr, weak] : state_->connections) {
    if (auto c = weak.lock()) {
      asio::post(c->socket().get_executor(), [c] { c->stop(); });
    }
  }
}

size_t Server::connection_count() const {
  std::lock_guard lock(state_->mu);
  return state_->connections.size();
}

}  // namespace efs::http
