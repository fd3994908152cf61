#include "net/rpc_server.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <asio/executor_work_guard.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "rpc_test_client.h"
#include "rpc/message.h"
#include "xdr/xdr.h"

using namespace efs;
using namespace std::chrono_literals;
using namespace efs::net::test;

namespace {

constexpr uint32_t kEchoProg = 300001;
constexpr uint32_t kDelayProg = 300002;

// proc 1 echoes its arguments; proc 2 answers the local address the call
// arrived on (what mount-target routing reads).
class Echo : public rpc::Program {
 public:
  uint32_t program() const override { return kEchoProg; }
  uint32_t min_version() const override { return 1; }
  uint32_t max_version() const override { return 1; }
  asio::awaitable<rpc::Reply> call(const rpc::CallContext& ctx,
                                   std::span<const uint8_t> args) override {
    rpc::Reply r;
    ++calls;
    if (ctx.proc == 1) {
      r.body.assign(args.begin(), args.end());
    } else if (ctx.proc == 2) {
      xdr::Writer w(&r.body);
      w.string(ctx.local_address);
      w.u32(ctx.local_port);
      w.string(ctx.remote_address);
      w.u64(ctx.connection_id);
    } else {
      r.stat = rpc::AcceptStat::proc_unavail;
    }
    co_return r;
  }
  void connection_closed(uint64_t id) override {
    std::lock_guard lock(mu);
    closed.push_back(id);
  }
  std::size_t closed_count() {
    std::lock_guard lock(mu);
    return closed.size();
  }
  std::mutex mu;
  std::vector<uint64_t> closed;
  std::atomic<int> calls{0};
};

// proc 1: args are a u32 of milliseconds; waits that long, answers the same u32.
class Delay : public rpc::Program {
 public:
  uint32_t program() const override { return kDelayProg; }
  uint32_t min_version() const override { return 1; }
  uint32_t max_version() const override { return 1; }
  asio::awaitable<rpc::Reply> call(const rpc::CallContext&,
                                   std::span<const uint8_t> args) override {
    xdr::Reader rd(args);
    uint32_t ms = rd.u32();
    int now = ++running;
    int seen = max_running.load();
    while (now > seen && !max_running.compare_exchange_weak(seen, now)) {
    }
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
    co_await t.async_wait(asio::use_awaitable);
    --running;
    rpc::Reply r;
    xdr::Writer w(&r.body);
    w.u32(ms);
    co_return r;
  }
  std::atomic<int> running{0};
  std::atomic<int> max_running{0};
};

// A server on 127.0.0.1:<any> with io_context run by two threads.
struct Fixture {
  explicit Fixture(net::RpcServerOptions opts = {}) {
    REQUIRE(dispatcher.add(echo).ok());
    REQUIRE(dispatcher.add(delay).ok());
    server.emplace(io, dispatcher, opts);
    auto p = server->listen("127.0.0.1", 0);
    REQUIRE(p.ok());
    port = *p;
    REQUIRE(port != 0);
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
  }
  ~Fixture() {
    server->stop();
    work.reset();
    for (auto& t : threads) t.join();
  }
  bool echo_works(Client& c, uint32_t xid) {
    c.send(call_record(xid, kEchoProg, 1, u32_args(xid * 3)));
    auto rec = c.read_record();
    if (!rec) return false;
    auto p = parse(*rec);
    return p.xid == xid && p.accept_stat == 0 && p.results == u32_args(xid * 3);
  }
  // Polls until cond() or a 5 s limit.
  template <class F>
  bool eventually(F cond) {
    for (int i = 0; i < 500 && !cond(); ++i) std::this_thread::sleep_for(10ms);
    return cond();
  }

  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{io.get_executor()};
  Echo echo;
  Delay delay;
  rpc::Dispatcher dispatcher;
  std::optional<net::RpcServer> server;
  uint16_t port = 0;
  std::vector<std::thread> threads;
};

}  // namespace

TEST_CASE("pipelined calls on one connection complete out of order, matched by xid") {
  Fixture f;
  Client c(f.port);
  REQUIRE(c.connected());
  std::vector<uint8_t> burst = call_record(1, kDelayProg, 1, u32_args(300));
  for (uint32_t xid : {2u, 3u, 4u}) {
    auto r = call_record(xid, kEchoProg, 1, u32_args(xid * 100));
    burst.insert(burst.end(), r.begin(), r.end());
  }
  c.send(burst);  // one write: the server sees all four calls at once
  std::vector<uint32_t> order;
  for (int i = 0; i < 4; ++i) {
    auto rec = c.read_record();
    REQUIRE(rec);
    auto p = parse(*rec);
    CHECK(p.accept_stat == 0);
    if (p.xid == 1) {
      CHECK(p.results == u32_args(300));
    } else {
      CHECK(p.results == u32_args(p.xid * 100));
    }
    order.push_back(p.xid);
  }
  REQUIRE(order.size() == 4);
  CHECK(order.back() == 1);  // the delayed call, sent first, is answered last
  std::sort(order.begin(), order.end());
  CHECK(order == std::vector<uint32_t>{1, 2, 3, 4});
}

TEST_CASE("RPC-level refusals come back on the connection") {
  Fixture f;
  Client c(f.port);
  c.send(call_record(10, 400123, 0, {}));
  auto rec = c.read_record();
  REQUIRE(rec);
  auto p = parse(*rec);
  CHECK(p.xid == 10);
  CHECK(p.accept_stat == uint32_t(rpc::AcceptStat::prog_unavail));
  c.send(call_record(11, kEchoProg, 9, {}));
  rec = c.read_record();
  REQUIRE(rec);
  CHECK(parse(*rec).accept_stat == uint32_t(rpc::AcceptStat::proc_unavail));
}

TEST_CASE("garbage and a 2 GiB length close only their own connection") {
  Fixture f;
  Client good(f.port);
  REQUIRE(f.echo_works(good, 1));

  SUBCASE("a REPLY sent to the server") {
    Client bad(f.port);
    std::vector<uint8_t> reply = {0x80, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0};
    bad.send(reply);
    CHECK(bad.closed_by_server());
  }
  SUBCASE("bytes that are not a call header") {
    Client bad(f.port);
    bad.send({0x80, 0, 0, 3, 0xde, 0xad, 0xbe});
    CHECK(bad.closed_by_server());
  }
  SUBCASE("a 2 GiB fragment length") {
    Client bad(f.port);
    bad.send({0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4});
    CHECK(bad.closed_by_server());
  }
  SUBCASE("a record just over the limit, in two fragments") {
    Client bad(f.port);
    std::vector<uint8_t> bytes = {0x00, 0x10, 0x00, 0x00};  // 1 MiB, not last
    bytes.resize(4 + (1u << 20), 0);
    bytes.insert(bytes.end(), {0x80, 0x01, 0x00, 0x01});  // + 64 KiB + 1, last
    bad.send(bytes);
    CHECK(bad.closed_by_server());
  }
  CHECK(f.echo_works(good, 2));
  Client fresh(f.port);
  CHECK(f.echo_works(fresh, 3));
}

TEST_CASE("a 1 MiB call fits the default record limit") {
  Fixture f;
  Client c(f.port);
  std::vector<uint8_t> big((1u << 20) + 512);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = uint8_t(i * 7);
  c.send(call_record(5, kEchoProg, 1, big));
  auto rec = c.read_record();
  REQUIRE(rec);
  auto p = parse(*rec);
  CHECK(p.xid == 5);
  CHECK(p.results == big);
}

TEST_CASE("calls in flight per connection are capped, and all are answered") {
  net::RpcServerOptions opts;
  opts.max_in_flight_per_connection = 2;
  Fixture f(opts);
  Client c(f.port);
  std::vector<uint8_t> burst;
  for (uint32_t xid = 1; xid <= 6; ++xid) {
    auto r = call_record(xid, kDelayProg, 1, u32_args(50));
    burst.insert(burst.end(), r.begin(), r.end());
  }
  c.send(burst);
  std::vector<uint32_t> xids;
  for (int i = 0; i < 6; ++i) {
    auto rec = c.read_record();
    REQUIRE(rec);
    xids.push_back(parse(*rec).xid);
  }
  std::sort(xids.begin(), xids.end());
  CHECK(xids == std::vector<uint32_t>{1, 2, 3, 4, 5, 6});
  CHECK(f.delay.max_running.load() == 2);
}

TEST_CASE("replies still pending when the client half-closes are sent") {
  Fixture f;
  Client c(f.port);
  c.send(call_record(8, kDelayProg, 1, u32_args(100)));
  c.shutdown_write();
  auto rec = c.read_record();
  REQUIRE(rec);
  CHECK(parse(*rec).xid == 8);
  CHECK(c.closed_by_server());
}

TEST_CASE("connection facts, closing, and listeners per address") {
  Fixture f;
  // Every 127/8 address is local on Linux: a second listener stands for a mount target.
  auto mt = f.server->listen("127.0.0.9", 0);
  REQUIRE(mt.ok());
  {
    Client c(*mt, "127.0.0.9");
    REQUIRE(c.connected());
    c.send(call_record(1, kEchoProg, 2, {}));
    auto rec = c.read_record();
    REQUIRE(rec);
    auto p = parse(*rec);
    xdr::Reader r(p.results);
    CHECK(r.string(255) == "127.0.0.9");
    CHECK(r.u32() == *mt);
    CHECK(r.string(255) == "127.0.0.1");  // the client's address, without its port
    CHECK(r.u64() != 0);
    CHECK(f.server->connection_count() == 1);
  }
  // The client closed: the server notices and tells the programs.
  CHECK(f.eventually([&] { return f.server->connection_count() == 0; }));
  CHECK(f.eventually([&] { return f.echo.closed_count() == 1; }));

  SUBCASE("stop_listening closes the listener and its connections, not the others") {
    Client on_mt(*mt, "127.0.0.9");
    Client on_main(f.port);
    REQUIRE(f.echo_works(on_mt, 2));
    REQUIRE(f.echo_works(on_main, 3));
    f.server->stop_listening("127.0.0.9", *mt);
    CHECK(on_mt.closed_by_server());
    CHECK(f.echo_works(on_main, 4));
    CHECK(f.eventually([&] { return !Client(*mt, "127.0.0.9").connected(); }));
  }
  SUBCASE("a bad address is a named error") {
    auto r = f.server->listen("not-an-address", 0);
    REQUIRE(!r.ok());
    CHECK(r.error().message.find("not-an-address") != std::string::npos);
    auto taken = f.server->listen("127.0.0.1", f.port);
    CHECK(!taken.ok());
  }
  SUBCASE("IPv6 loopback") {
    auto v6 = f.server->listen("::1", 0);
    if (!v6.ok()) {
      MESSAGE("no IPv6 loopback here: " << v6.error().message);
      return;
    }
    Client c(*v6, "::1", AF_INET6);
    REQUIRE(c.connected());
    c.send(call_record(1, kEchoProg, 2, {}));
    auto rec = c.read_record();
    REQUIRE(rec);
    auto p = parse(*rec);
    xdr::Reader r(p.results);
    CHECK(r.string(255) == "::1");
  }
}

TEST_CASE("stop closes every connection") {
  Fixture f;
  Client a(f.port), b(f.port);
  REQUIRE(f.echo_works(a, 1));
  REQUIRE(f.echo_works(b, 2));
  f.server->stop();
  CHECK(a.closed_by_server());
  CHECK(b.closed_by_server());
  CHECK(f.eventually([&] { return f.echo.closed_count() == 2; }));
}

TEST_CASE("a long pipelined burst is answered in full under backpressure") {
  net::RpcServerOptions opts;
  opts.max_in_flight_per_connection = 8;
  Fixture f(opts);
  Client c(f.port);
  constexpr uint32_t kCalls = 3000;
  // Sent from another thread while this one reads, as a real client does:
  // otherwise both sides could block on full socket buffers.
  std::thread sender([&] {
    std::vector<uint8_t> burst;
    for (uint32_t xid = 1; xid <= kCalls; ++xid) {
      auto r = call_record(xid, kEchoProg, 1, std::vector<uint8_t>(512, uint8_t(xid)));
      burst.insert(burst.end(), r.begin(), r.end());
    }
    c.send(burst);
  });
  std::vector<bool> seen(kCalls + 1, false);
  uint32_t got = 0;
  for (; got < kCalls; ++got) {
    auto rec = c.read_record();
    if (!rec) break;
    auto p = parse(*rec);
    if (p.xid == 0 || p.xid > kCalls || seen[p.xid]) break;
    if (p.results != std::vector<uint8_t>(512, uint8_t(p.xid))) break;
    seen[p.xid] = true;
  }
  sender.join();
  CHECK(got == kCalls);
}

TEST_CASE("replies the client never reads are bounded: the server stops taking calls") {
  net::RpcServerOptions opts;
  opts.max_pending_reply_bytes = 1 << 20;
  Fixture f(opts);
  Client c(f.port);
  c.set_send_timeout(1);
  constexpr int kCalls = 400;  // 256 KiB each: 100 MiB of replies if all ran
  std::vector<uint8_t> burst;
  for (int i = 1; i <= kCalls; ++i) {
    auto r = call_record(uint32_t(i), kEchoProg, 1, std::vector<uint8_t>(256 << 10, 7));
    burst.insert(burst.end(), r.begin(), r.end());
  }
  c.send(burst);  // stops once the server stops reading and the buffers are full
  std::this_thread::sleep_for(500ms);
  // Beyond the 1 MiB bound only what the kernel's socket buffers absorbed ran.
  CHECK(f.echo.calls.load() < kCalls / 4);
  Client other(f.port);
  CHECK(f.echo_works(other, 77));
}

TEST_CASE("a connection without traffic for the idle timeout is closed; a busy one stays") {
  net::RpcServerOptions opts;
  opts.idle_timeout = 400ms;
  Fixture f(opts);
  Client quiet(f.port);
  Client busy(f.port);
  REQUIRE(f.echo_works(quiet, 1));
  auto t0 = std::chrono::steady_clock::now();
  for (uint32_t i = 0; i < 10; ++i) {  // 1 s of calls, one every 100 ms
    std::this_thread::sleep_for(100ms);
    REQUIRE(f.echo_works(busy, 10 + i));
  }
  CHECK(quiet.closed_by_server());
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  CHECK(f.echo_works(busy, 99));
}
