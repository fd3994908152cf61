#include "rpc/dispatcher.h"

#include <doctest/doctest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <optional>
#include <stdexcept>
#include <variant>
#include <vector>

#include "xdr/xdr.h"

using namespace efs::rpc;

namespace {

// Program 100003 (the NFS number) at version 4 only, as nfs4/ will serve it:
// proc 0 answers empty, proc 1 echoes its args with the caller's uid
// prepended, proc 7 throws, anything else is PROC_UNAVAIL.
class TestNfs : public Program {
 public:
  uint32_t program() const override { return 100003; }
  uint32_t min_version() const override { return 4; }
  uint32_t max_version() const override { return 4; }
  asio::awaitable<Reply> call(const CallContext& ctx, std::span<const uint8_t> args) override {
    last = ctx;
    Reply r;
    if (ctx.proc == 0) co_return r;
    if (ctx.proc == 1) {
      efs::xdr::Writer w(&r.body);
      w.u32(ctx.auth_sys ? ctx.auth_sys->uid : 0xffffffffu);
      r.body.insert(r.body.end(), args.begin(), args.end());
      co_return r;
    }
    if (ctx.proc == 7) throw std::runtime_error("bug");
    r.stat = AcceptStat::proc_unavail;
    co_return r;
  }
  void connection_closed(uint64_t id) override { closed.push_back(id); }
  CallContext last;
  std::vector<uint64_t> closed;
};

struct CallSpec {
  uint32_t xid = 42, rpcvers = 2, prog = 100003, vers = 4, proc = 0;
  uint32_t cred_flavor = 0;
  std::vector<uint8_t> cred = {};
  std::vector<uint8_t> args = {};
};

std::vector<uint8_t> build(const CallSpec& s) {
  std::vector<uint8_t> v;
  efs::xdr::Writer w(&v);
  for (uint32_t x : {s.xid, 0u, s.rpcvers, s.prog, s.vers, s.proc, s.cred_flavor}) w.u32(x);
  w.opaque(s.cred);
  w.u32(0);
  w.u32(0);
  v.insert(v.end(), s.args.begin(), s.args.end());
  return v;
}

efs::Result<ReplyRecord, CallFault> dispatch(const Dispatcher& d, const std::vector<uint8_t>& rec,
                                             CallContext conn = {}) {
  asio::io_context io;
  std::optional<efs::Result<ReplyRecord, CallFault>> out;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { out.emplace(co_await d.dispatch(rec, conn)); },
      asio::detached);
  io.run();
  REQUIRE(out.has_value());
  return std::move(*out);
}

// The reply's words after the record mark.
std::vector<uint32_t> words(const ReplyRecord& r) {
  auto all = r.joined();
  efs::xdr::Reader rd(std::span<const uint8_t>(all).subspan(4));
  std::vector<uint32_t> out;
  while (rd.remaining() >= 4) out.push_back(rd.u32());
  return out;
}

}  // namespace

TEST_CASE("dispatch outcomes") {
  TestNfs nfs;
  Dispatcher d;
  REQUIRE(d.add(nfs).ok());
  TestNfs again;
  CHECK(!d.add(again).ok());  // one Program per program number

  SUBCASE("success with AUTH_SYS reaches the program with the caller's identity") {
    std::vector<uint8_t> cred;
    encode_auth_sys(AuthSys{1, "h", 501, 20, {20, 30}}, cred);
    CallContext conn;
    conn.local_address = "127.0.0.5";
    conn.local_port = 2049;
    conn.remote_address = "127.0.0.1";
    conn.connection_id = 77;
    auto r = dispatch(
        d, build({.xid = 9, .proc = 1, .cred_flavor = 1, .cred = cred, .args = {0, 0, 0, 5}}),
        conn);
    REQUIRE(r.ok());
    // xid, REPLY, ACCEPTED, verf NONE 0, SUCCESS, uid, args
    CHECK(words(*r) == std::vector<uint32_t>{9, 1, 0, 0, 0, 0, 501, 5});
    CHECK(nfs.last.xid == 9);
    CHECK(nfs.last.local_address == "127.0.0.5");
    CHECK(nfs.last.local_port == 2049);
    CHECK(nfs.last.connection_id == 77);
    REQUIRE(nfs.last.auth_sys.has_value());
    CHECK(nfs.last.auth_sys->gids == std::vector<uint32_t>{20, 30});
  }
  SUBCASE("AUTH_NONE gives no auth_sys") {
    auto r = dispatch(d, build({.proc = 1}));
    REQUIRE(r.ok());
    CHECK(words(*r) == std::vector<uint32_t>{42, 1, 0, 0, 0, 0, 0xffffffffu});
    CHECK(!nfs.last.auth_sys.has_value());
  }
  SUBCASE("PROG_UNAVAIL for 400123, the efs-utils probe") {
    auto r = dispatch(d, build({.prog = 400123, .vers = 1}));
    REQUIRE(r.ok());
    CHECK(words(*r) == std::vector<uint32_t>{42, 1, 0, 0, 0, 1});
  }
  SUBCASE("PROG_MISMATCH for NFSv3") {
    auto r = dispatch(d, build({.vers = 3}));
    REQUIRE(r.ok());
    CHECK(words(*r) == std::vector<uint32_t>{42, 1, 0, 0, 0, 2, 4, 4});
  }
  SUBCASE("PROC_UNAVAIL from the program") {
    auto r = dispatch(d, build({.proc = 3}));
    REQUIRE(r.ok());
    CHECK(words(*r) == std::vector<uint32_t>{42, 1, 0, 0, 0, 3});
  }
  SUBCASE("a throwing program gives SYSTEM_ERR") {
    auto r = dispatch(d, build({.proc = 7}));
    REQUIRE(r.ok());
    CHECK(words(*r) == std::vector<uint32_t>{42, 1, 0, 0, 0, 5});
  }
  SUBCASE("RPC version 3 is RPC_MISMATCH 2..2") {
    auto r = dispatch(d, build({.rpcvers = 3}));
    REQUIRE(r.ok());
    CHECK(words(*r) == std::vector<uint32_t>{42, 1, 1, 0, 2, 2});
  }
  SUBCASE("RPCSEC_GSS and AUTH_DH are AUTH_BADCRED") {
    for (uint32_t flavor : {6u, 3u, 2u, 390003u}) {
      auto r = dispatch(d, build({.cred_flavor = flavor, .cred = {0, 0, 0, 1}}));
      REQUIRE(r.ok());
      CHECK(words(*r) == std::vector<uint32_t>{42, 1, 1, 1, 1});
    }
  }
  SUBCASE("malformed AUTH_SYS is AUTH_BADCRED, before the program is looked up") {
    AuthSys bad{1, "h", 0, 0, std::vector<uint32_t>(17, 1)};
    std::vector<uint8_t> cred;
    encode_auth_sys(bad, cred);
    auto r = dispatch(d, build({.prog = 400123, .cred_flavor = 1, .cred = cred}));
    REQUIRE(r.ok());
    CHECK(words(*r) == std::vector<uint32_t>{42, 1, 1, 1, 1});
  }
  SUBCASE("a credential body over 400 bytes is AUTH_BADCRED") {
    auto r = dispatch(d, build({.cred_flavor = 1, .cred = std::vector<uint8_t>(404, 0)}));
    REQUIRE(r.ok());
    CHECK(words(*r) == std::vector<uint32_t>{42, 1, 1, 1, 1});
  }
  SUBCASE("AUTH_NONE with a body is AUTH_BADCRED") {
    auto r = dispatch(d, build({.cred_flavor = 0, .cred = {1, 2, 3, 4}}));
    REQUIRE(r.ok());
    CHECK(words(*r) == std::vector<uint32_t>{42, 1, 1, 1, 1});
  }
  SUBCASE("not a call, or garbage: a fault, no reply") {
    std::vector<uint8_t> reply = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0};
    CHECK(dispatch(d, reply).error() == CallFault::not_a_call);
    CHECK(dispatch(d, {0xff, 0xff}).error() == CallFault::truncated);
  }
  SUBCASE("connection_closed reaches every program") {
    d.connection_closed(5);
    CHECK(nfs.closed == std::vector<uint64_t>{5});
  }
}

namespace {
// Says proc 0 is cheap and everything else may block, and records what it saw.
class Classified : public TestNfs {
 public:
  CallCost cost(const CallContext& ctx, std::span<const uint8_t> args) const override {
    seen_proc = ctx.proc;
    seen_args = args.size();
    return ctx.proc == 0 ? CallCost::inline_ok : CallCost::may_block;
  }
  mutable uint32_t seen_proc = 0xffffffffu;
  mutable std::size_t seen_args = 0;
};
}  // namespace

TEST_CASE("admit() carries the program's cost of the call (where the RPC layer runs it)") {
  Classified p;
  Dispatcher d;
  REQUIRE(d.add(p).ok());
  CallSpec s;
  s.proc = 0;
  auto cheap = d.admit(build(s), {});
  REQUIRE(cheap.ok());
  REQUIRE(std::holds_alternative<AdmittedCall>(*cheap));
  CHECK(std::get<AdmittedCall>(*cheap).cost == CallCost::inline_ok);
  CHECK(p.seen_proc == 0);

  s.proc = 1;
  s.args = {1, 2, 3, 4, 5, 6, 7, 8};
  auto blocking = d.admit(build(s), {});
  REQUIRE(blocking.ok());
  CHECK(std::get<AdmittedCall>(*blocking).cost == CallCost::may_block);
  CHECK(p.seen_proc == 1);
  CHECK(p.seen_args == 8);  // cost() sees the procedure's arguments

  // A program that says nothing is run where blocking is safe.
  TestNfs plain;
  Dispatcher d2;
  REQUIRE(d2.add(plain).ok());
  s.proc = 0;
  auto dflt = d2.admit(build(s), {});
  REQUIRE(dflt.ok());
  CHECK(std::get<AdmittedCall>(*dflt).cost == CallCost::may_block);
}
