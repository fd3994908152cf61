// Calls that may block run on the worker pool (rpc/program.h, "Where a call
// runs"): with ONE I/O thread, a call stuck on a latch (standing in for a
// slow fsync) must not stop another connection's call from being answered.
// Every wait here is for an event; the receive timeouts only turn a hang
// into a failure.
#include <doctest/doctest.h>

#include <asio/executor_work_guard.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "net/rpc_server.h"
#include "rpc_test_client.h"

using namespace efs;
using namespace efs::net::test;
using namespace std::chrono_literals;

namespace {

constexpr uint32_t kGateProg = 300003;
constexpr uint32_t kProcCheap = 0;  // answers at once; CallCost::inline_ok
constexpr uint32_t kProcStuck = 1;  // blocks its thread until the test opens the gate

// proc 1 blocks the thread it runs on (as an fdatasync would) until open().
class Gate : public rpc::Program {
 public:
  uint32_t program() const override { return kGateProg; }
  uint32_t min_version() const override { return 1; }
  uint32_t max_version() const override { return 1; }
  rpc::CallCost cost(const rpc::CallContext& ctx, std::span<const uint8_t>) const override {
    return ctx.proc == kProcStuck ? rpc::CallCost::may_block : rpc::CallCost::inline_ok;
  }
  asio::awaitable<rpc::Reply> call(const rpc::CallContext& ctx,
                                   std::span<const uint8_t> args) override {
    if (ctx.proc == kProcStuck) {
      ++entered;
      std::unique_lock lk(mu);
      cv.wait(lk, [this] { return opened; });
      ++finished;
    }
    rpc::Reply r;
    r.body.assign(args.begin(), args.end());
    co_return r;
  }
  void open() {
    std::lock_guard lk(mu);
    opened = true;
    cv.notify_all();
  }
  std::atomic<int> entered{0};
  std::atomic<int> finished{0};
  std::mutex mu;
  std::condition_variable cv;
  bool opened = false;
};

// A server on 127.0.0.1:<any> whose io_context has one thread.
struct OneIoThread {
  explicit OneIoThread(std::size_t workers) {
    REQUIRE(dispatcher.add(gate).ok());
    net::RpcServerOptions opts;
    opts.workers = workers;
    server.emplace(io, dispatcher, opts);
    auto p = server->listen("127.0.0.1", 0);
    REQUIRE(p.ok());
    port = *p;
    io_thread = std::thread([this] { io.run(); });
  }
  ~OneIoThread() {
    gate.open();  // never leave the pool stuck
    server->stop();
    work.reset();
    io_thread.join();
    server.reset();
  }
  template <class F>
  bool eventually(F cond) {
    for (int i = 0; i < 500 && !cond(); ++i) std::this_thread::sleep_for(10ms);
    return cond();
  }

  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{io.get_executor()};
  Gate gate;
  rpc::Dispatcher dispatcher;
  std::optional<net::RpcServer> server;
  uint16_t port = 0;
  std::thread io_thread;
};

// The reply to `xid` with `args` echoed, read from c.
bool answered(Client& c, uint32_t xid, uint32_t payload) {
  auto rec = c.read_record();
  if (!rec) return false;
  auto p = parse(*rec);
  return p.xid == xid && p.accept_stat == 0 && p.results == u32_args(payload);
}

}  // namespace

TEST_CASE("with one I/O thread, a blocked call does not stop another client's call") {
  OneIoThread s(2);
  Client a(s.port), b(s.port);
  REQUIRE(a.connected());
  REQUIRE(b.connected());
  a.send(call_record(1, kGateProg, kProcStuck, u32_args(11)));
  REQUIRE(s.eventually([&] { return s.gate.entered.load() == 1; }));

  // Today's code ran this call on the only I/O thread: B was never read.
  b.send(call_record(2, kGateProg, kProcCheap, u32_args(22)));
  CHECK(answered(b, 2, 22));
  // A's own connection is still read, and answered out of order (by xid).
  a.send(call_record(3, kGateProg, kProcCheap, u32_args(33)));
  CHECK(answered(a, 3, 33));
  CHECK(s.gate.finished.load() == 0);

  s.gate.open();
  CHECK(answered(a, 1, 11));
  CHECK(s.gate.finished.load() == 1);
  CHECK(s.gate.entered.load() == 1);
}

TEST_CASE("blocked calls of many clients all finish once released, none lost") {
  OneIoThread s(2);
  constexpr int kClients = 6;  // more than the pool's threads: some wait in its queue
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<Client>(s.port));
    REQUIRE(clients.back()->connected());
    clients.back()->send(call_record(100 + i, kGateProg, kProcStuck, u32_args(i)));
  }
  REQUIRE(s.eventually([&] { return s.gate.entered.load() == 2; }));  // the pool is full
  Client other(s.port);
  other.send(call_record(7, kGateProg, kProcCheap, u32_args(7)));
  CHECK(answered(other, 7, 7));
  s.gate.open();
  for (int i = 0; i < kClients; ++i) CHECK(answered(*clients[i], 100 + i, i));
  CHECK(s.gate.finished.load() == kClients);
}

TEST_CASE("a connection closed while its call is on the pool is dropped safely") {
  OneIoThread s(1);
  {
    Client a(s.port);
    a.send(call_record(1, kGateProg, kProcStuck, u32_args(1)));
    REQUIRE(s.eventually([&] { return s.gate.entered.load() == 1; }));
  }  // closes A's socket while its call runs
  // The connection stays registered (its call holds it) until the call ends.
  Client b(s.port);
  b.send(call_record(2, kGateProg, kProcCheap, u32_args(2)));
  CHECK(answered(b, 2, 2));
  s.gate.open();
  CHECK(s.eventually([&] { return s.server->connection_count() == 1; }));  // only B
  CHECK(s.gate.finished.load() == 1);
}

TEST_CASE("shutdown drains the pool: the io_context runs until the pool's calls end") {
  std::optional<OneIoThread> s(std::in_place, 1);
  Client a(s->port);
  a.send(call_record(1, kGateProg, kProcStuck, u32_args(1)));
  REQUIRE(s->eventually([&] { return s->gate.entered.load() == 1; }));
  s->server->stop();
  s->work.reset();
  // Nothing else keeps the io_context busy: without the call's hold on it,
  // it would run dry now, while the call is still on the pool.
  for (int i = 0; i < 50 && !s->io.stopped(); ++i) std::this_thread::sleep_for(10ms);
  CHECK_FALSE(s->io.stopped());
  s->gate.open();
  s.reset();  // joins the I/O thread
}

TEST_CASE("without workers every call runs on the I/O threads (the previous behaviour)") {
  OneIoThread s(0);
  Client a(s.port);
  a.send(call_record(1, kGateProg, kProcCheap, u32_args(5)));
  CHECK(answered(a, 1, 5));
}
