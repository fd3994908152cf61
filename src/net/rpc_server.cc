#include "net/rpc_server.h"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <vector>

#include "net/connection.h"
#include "net/descriptor_reserve.h"

namespace efs::net {

using detail::Connection;
using detail::Listener;
using detail::ListenerKey;
using detail::ServerState;

namespace {

constexpr int kAcceptBatch = 64;

// Registers and starts an accepted connection; false once the server stopped.
bool start_connection(const std::shared_ptr<ServerState>& state,
                      const std::shared_ptr<Listener>& listener, asio::ip::tcp::socket socket) {
  auto conn = std::make_shared<Connection>(state, std::move(socket), listener->key);
  {
    std::lock_guard lock(state->mu);
    if (state->stopped) return false;
    state->connections.emplace(conn->id(), conn);
  }
  conn->start();
  return true;
}

// Accepts until the acceptor is closed. Runs on the acceptor's strand.
asio::awaitable<void> accept_loop(std::shared_ptr<ServerState> state,
                                  std::shared_ptr<Listener> listener) {
  while (listener->acceptor.is_open()) {
    // Each connection gets its own strand: its socket, reads, writes and
    // reply queue are serialized there, and nowhere else.
    asio::ip::tcp::socket socket(asio::make_strand(state->io));
    asio::error_code ec;
    // Wait, then accept through the reserve (see descriptor_reserve.h): an
    // accept must not race the other listener's shedding.
    co_await listener->acceptor.async_wait(asio::ip::tcp::acceptor::wait_read,
                                           asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !listener->acceptor.is_open()) break;
    if (!ec) DescriptorReserve::instance().accept(listener->acceptor, socket, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
    if (ec && is_descriptor_exhaustion(ec)) {
      // Out of descriptors: shed the pending connection with the spare
      // descriptor (logged once per interval), else pause before retrying.
      if (DescriptorReserve::instance().shed_one(
              listener->acceptor.native_handle(),
              "rpc: accept on " + listener->key.first + ":" + std::to_string(listener->key.second)))
        continue;
      asio::steady_timer pause(listener->acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (ec) {
      // Other failures (ENOBUFS, ...): back off briefly instead of spinning.
      spdlog::warn("rpc: accept on {}:{}: {}", listener->key.first, listener->key.second,
                   ec.message());
      asio::steady_timer pause(listener->acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (!start_connection(state, listener, std::move(socket))) break;
    // Take every connection already pending now, not one per trip through
    // the io_context's queue (a busy queue left clients in the backlog).
    bool stopped = false;
    for (int i = 1; i < kAcceptBatch && !stopped; ++i) {
      asio::ip::tcp::socket more(asio::make_strand(state->io));
      DescriptorReserve::instance().accept(listener->acceptor, more, ec);
      if (ec) break;  // would_block: none pending; other errors: the next async_accept sees them
      stopped = !start_connection(state, listener, std::move(more));
    }
    if (stopped) break;
  }
  spdlog::debug("rpc: stopped listening on {}:{}", listener->key.first, listener->key.second);
}

void close_listener(const std::shared_ptr<Listener>& l) {
  asio::post(l->acceptor.get_executor(), [l] {
    asio::error_code ec;
    l->acceptor.close(ec);
  });
}

}  // namespace

RpcServer::RpcServer(asio::io_context& io, rpc::Dispatcher& dispatcher, Options options)
    : state_(std::make_shared<ServerState>(io, dispatcher, options)) {
  if (options.workers > 0) {
    workers_ = std::make_unique<asio::thread_pool>(options.workers);
    state_->workers = workers_->get_executor();
  }
  DescriptorReserve::instance().ensure();
}

RpcServer::~RpcServer() {
  stop();
  // Calls still on the pool use the dispatcher's programs, which outlive
  // this server: wait for them here, not in some later destructor. Their
  // replies go to connections already closed.
  if (workers_) workers_->join();
}

Result<uint16_t, Error> RpcServer::listen(const std::string& address, uint16_t port) {
  asio::error_code ec;
  auto addr = asio::ip::make_address(address, ec);
  if (ec) return fail(Error{"invalid listen address '" + address + "': " + ec.message()});
  asio::ip::tcp::endpoint ep(addr, port);
  asio::ip::tcp::acceptor acceptor(asio::make_strand(state_->io));
  const char* step = "open";
  acceptor.open(ep.protocol(), ec);
  if (!ec) {
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    // An IPv6 listener takes only IPv6, so "::" and "0.0.0.0" can coexist.
    if (addr.is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
    step = "bind";
    acceptor.bind(ep, ec);
  }
  if (!ec) {
    step = "listen";
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return fail(Error{"cannot listen on " + address + ":" + std::to_string(port) + " (" + step +
                      "): " + ec.message()});
  }
  uint16_t bound = acceptor.local_endpoint(ec).port();
  if (ec) return fail(Error{"cannot read the bound port of " + address + ": " + ec.message()});
  acceptor.non_blocking(true, ec);  // for the batch of accepts after each async_accept

  auto listener = std::make_shared<Listener>(std::move(acceptor));
  listener->key = ListenerKey{addr.to_string(), bound};
  {
    std::lock_guard lock(state_->mu);
    if (state_->stopped) return fail(Error{"RPC server is stopped"});
    state_->listeners[listener->key] = listener;
  }
  spdlog::info("rpc: listening on {}:{}", listener->key.first, bound);
  asio::co_spawn(listener->acceptor.get_executor(), accept_loop(state_, listener), asio::detached);
  return bound;
}

void RpcServer::stop_listening(const std::string& address, uint16_t port) {
  asio::error_code ec;
  auto addr = asio::ip::make_address(address, ec);
  if (ec) return;
  ListenerKey key{addr.to_string(), port};
  std::shared_ptr<Listener> listener;
  std::vector<std::shared_ptr<Connection>> accepted;
  {
    std::lock_guard lock(state_->mu);
    auto it = state_->listeners.find(key);
    if (it == state_->listeners.end()) return;
    listener = it->second;
    state_->listeners.erase(it);
    for (auto& [id, weak] : state_->connections) {
      auto c = weak.lock();
      if (c && c->listener() == key) accepted.push_back(std::move(c));
    }
  }
  close_listener(listener);
  for (auto& c : accepted) c->close();
}

void RpcServer::stop() {
  std::vector<std::shared_ptr<Listener>> listeners;
  std::vector<std::shared_ptr<Connection>> connections;
  {
    std::lock_guard lock(state_->mu);
    state_->stopped = true;
    for (auto& [key, l] : state_->listeners) listeners.push_back(l);
    state_->listeners.clear();
    for (auto& [id, weak] : state_->connections) {
      if (auto c = weak.lock()) connections.push_back(std::move(c));
    }
  }
  for (auto& l : listeners) close_listener(l);
  for (auto& c : connections) c->close();
}

std::size_t RpcServer::connection_count() const {
  std::lock_guard lock(state_->mu);
  return state_->connections.size();
}

}  // namespace efs::net
