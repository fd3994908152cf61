// The NFSv4 program behind a real RpcServer with one I/O thread and a
// worker pool. A namespace change (may_block: it waits for group commit) is
// held inside its COMPOUND by a catalog that blocks once; meanwhile another
// client's GETATTR is answered, and a retransmission of the held call is
// answered from the 4.0 duplicate request cache, not run a second time
// (RFC 7530 3.1.1: a retransmitted non-idempotent request must not be
// executed twice).
#include <doctest/doctest.h>

#include <asio/executor_work_guard.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "../nfs4/fixture.h"
#include "net/rpc_server.h"
#include "rpc/dispatcher.h"
#include "rpc_test_client.h"

using namespace efs;
using namespace efs::nfs4::test;
using namespace std::chrono_literals;
namespace nt = efs::net::test;

namespace {

// The fixture's catalog, except that the first snapshot() after arm()
// blocks its thread until open(). PUTFH asks for it, inside the COMPOUND and
// after the reply cache has marked the call in progress.
class HeldCatalog : public efs::Catalog {
 public:
  explicit HeldCatalog(const efs::Catalog& real) : real_(real) {}
  std::shared_ptr<const efs::CatalogSnapshot> snapshot() const override {
    if (armed.exchange(false)) {
      ++held;
      std::unique_lock lk(mu);
      cv.wait(lk, [this] { return opened; });
    }
    return real_.snapshot();
  }
  void open() const {
    std::lock_guard lk(mu);
    opened = true;
    cv.notify_all();
  }
  mutable std::atomic<bool> armed{false};
  mutable std::atomic<int> held{0};

 private:
  const efs::Catalog& real_;
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  mutable bool opened = false;
};

std::vector<uint8_t> compound_args(std::vector<nfs_argop4> ops, uint32_t minor = 0) {
  COMPOUND4args args;
  args.tag = "t";
  args.minorversion = minor;
  args.argarray = std::move(ops);
  std::vector<uint8_t> bytes;
  xdr::Writer w(&bytes);
  encode(w, args);
  return bytes;
}

// The COMPOUND4res of a reply record read from c, or nullopt.
std::optional<std::pair<uint32_t, COMPOUND4res>> compound_reply(nt::Client& c) {
  auto rec = c.read_record();
  if (!rec) return std::nullopt;
  auto p = nt::parse(*rec);
  if (p.accept_stat != 0) return std::nullopt;
  COMPOUND4res res;
  xdr::Reader r(p.results);
  if (!decode(r, res)) return std::nullopt;
  return std::make_pair(p.xid, std::move(res));
}

// Polls until cond() or a 5 s limit (a hang guard, not a timing assertion).
template <class F>
bool eventually(F cond) {
  for (int i = 0; i < 500 && !cond(); ++i) std::this_thread::sleep_for(10ms);
  return cond();
}

}  // namespace

// The fixture's Server replaced by one over HeldCatalog, behind a real
// RpcServer with ONE I/O thread and two workers.
struct HeldServer {
  HeldServer() : catalog(f.catalog) {
    f.server = std::make_unique<nfs4::Server>(*f.vfs, catalog, f.clock, nfs4::ServerOptions{});
    root = f.fh_of({});
    REQUIRE(dispatcher.add(*f.server).ok());
    net::RpcServerOptions opts;
    opts.workers = 2;
    server.emplace(io, dispatcher, opts);
    auto p = server->listen("127.0.0.1", 0);
    REQUIRE(p.ok());
    port = *p;
    io_thread = std::thread([this] { io.run(); });
  }
  ~HeldServer() {
    catalog.open();
    server->stop();
    work.reset();
    io_thread.join();
    server.reset();
    f.server.reset();  // it refers to catalog, which goes first
  }
  Fixture f;
  HeldCatalog catalog;
  nfs_fh4 root;
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{io.get_executor()};
  rpc::Dispatcher dispatcher;
  std::optional<net::RpcServer> server;
  uint16_t port = 0;
  std::thread io_thread;
};

TEST_CASE("4.0: a held namespace change; others answered, its retransmission not run twice") {
  HeldServer s;
  nt::Client a(s.port), b(s.port);
  REQUIRE(a.connected());
  REQUIRE(b.connected());
  const auto mkdir_call =
      nt::call_record(0x51, 100003, 1, compound_args({putfh(s.root), mkdir("held")}), 4, 0);
  s.catalog.armed = true;
  a.send(mkdir_call);
  REQUIRE(eventually([&] { return s.catalog.held.load() == 1; }));

  // B's GETATTR runs while A's CREATE is held.
  b.send(nt::call_record(0x52, 100003, 1,
                         compound_args({putfh(s.root), getattr({FATTR4_TYPE})}), 4, 0));
  auto got_b = compound_reply(b);
  REQUIRE(got_b);
  CHECK(got_b->first == 0x52);
  CHECK(got_b->second.status == NFS4_OK);

  // The client retransmits A's call (same xid, same connection) while it is held.
  a.send(mkdir_call);
  s.catalog.open();
  auto first = compound_reply(a);
  auto second = compound_reply(a);
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->first == 0x51);
  CHECK(second->first == 0x51);
  // Run twice, the second CREATE would answer NFS4ERR_EXIST.
  CHECK(first->second.status == NFS4_OK);
  CHECK(second->second.status == NFS4_OK);
  CHECK(s.catalog.held.load() == 1);
}

TEST_CASE("4.1: a retransmission on a slot whose call is held on the pool gets NFS4ERR_DELAY") {
  HeldServer s;
  // EXCHANGE_ID and CREATE_SESSION straight into the server (SP4_NONE: any
  // connection may then use the session).
  auto ex = op(OP_EXCHANGE_ID);
  std::string owner = "offload-test";
  ex.opexchange_id.eia_clientowner.co_ownerid.assign(owner.begin(), owner.end());
  ex.opexchange_id.eia_state_protect.spa_how = SP4_NONE;
  auto r1 = s.f.run({ex}, 1);
  REQUIRE(r1.status == NFS4_OK);
  auto cs = op(OP_CREATE_SESSION);
  cs.opcreate_session.csa_clientid = r1.resarray[0].opexchange_id.eir_resok4.eir_clientid;
  cs.opcreate_session.csa_sequence = r1.resarray[0].opexchange_id.eir_resok4.eir_sequenceid;
  auto& fore = cs.opcreate_session.csa_fore_chan_attrs;
  fore.ca_maxrequestsize = 1 << 20;
  fore.ca_maxresponsesize = 1 << 20;
  fore.ca_maxresponsesize_cached = 4096;
  fore.ca_maxoperations = 8;
  fore.ca_maxrequests = 4;
  cs.opcreate_session.csa_back_chan_attrs = fore;
  auto r2 = s.f.run({cs}, 1);
  REQUIRE(r2.status == NFS4_OK);
  auto seq = op(OP_SEQUENCE);
  seq.opsequence.sa_sessionid = r2.resarray[0].opcreate_session.csr_resok4.csr_sessionid;
  seq.opsequence.sa_sequenceid = 1;
  seq.opsequence.sa_slotid = 0;
  seq.opsequence.sa_cachethis = true;

  nt::Client a(s.port);
  REQUIRE(a.connected());
  const auto call =
      nt::call_record(0x61, 100003, 1, compound_args({seq, putfh(s.root), mkdir("slot")}, 1), 4, 0);
  s.catalog.armed = true;
  a.send(call);
  REQUIRE(eventually([&] { return s.catalog.held.load() == 1; }));

  // RFC 8881 2.10.6.2: the slot's request is still running: NFS4ERR_DELAY.
  a.send(call);
  auto busy = compound_reply(a);
  REQUIRE(busy);
  CHECK(busy->first == 0x61);
  CHECK(busy->second.status == NFS4ERR_DELAY);

  s.catalog.open();
  auto done = compound_reply(a);
  REQUIRE(done);
  CHECK(done->first == 0x61);
  CHECK(done->second.status == NFS4_OK);
  // Once it ended, the retransmission is answered from the slot's cache.
  a.send(call);
  auto replay = compound_reply(a);
  REQUIRE(replay);
  CHECK(replay->second.status == NFS4_OK);  // run again, CREATE would say NFS4ERR_EXIST
  CHECK(s.catalog.held.load() == 1);
}

TEST_CASE("nfs4 cost(): NULL and cache-only COMPOUNDs inline, anything that may commit on the pool") {
  Fixture f;
  const nfs_fh4 root = f.fh_of({});
  rpc::CallContext ctx = f.ctx;
  auto cost_of = [&](std::vector<nfs_argop4> ops, uint32_t minor = 0) {
    return f.server->cost(ctx, compound_args(std::move(ops), minor));
  };
  using rpc::CallCost;
  ctx.proc = 0;
  CHECK(f.server->cost(ctx, {}) == CallCost::inline_ok);  // NULL
  ctx.proc = 1;
  auto seq = op(OP_SEQUENCE);
  CHECK(cost_of({seq, putfh(root), efs::nfs4::test::read(0, 4096)}, 1) == CallCost::inline_ok);
  CHECK(cost_of({seq, putfh(root), getattr({FATTR4_TYPE, FATTR4_SIZE})}, 1) == CallCost::inline_ok);
  CHECK(cost_of({putrootfh(), lookup(f.fs_id), getfh(), access(1), savefh(), restorefh()}) ==
        CallCost::inline_ok);
  CHECK(cost_of({}) == CallCost::inline_ok);

  CHECK(cost_of({seq, putfh(root), efs::nfs4::test::write(0, "x")}, 1) == CallCost::may_block);
  CHECK(cost_of({putfh(root), efs::nfs4::test::write(0, "x", UNSTABLE4)}) == CallCost::may_block);
  CHECK(cost_of({putfh(root), commit()}) == CallCost::may_block);
  CHECK(cost_of({putfh(root), mkdir("d")}) == CallCost::may_block);
  CHECK(cost_of({putfh(root), getattr({FATTR4_TYPE}), efs::nfs4::test::remove("d")}) == CallCost::may_block);
  CHECK(cost_of({putfh(root), readdir()}) == CallCost::may_block);
  CHECK(cost_of({op(OP_EXCHANGE_ID)}, 1) == CallCost::may_block);

  // Arguments cut short or lying about their sizes: the pool (the COMPOUND
  // loop itself answers them).
  auto args = compound_args({putfh(root), getattr({FATTR4_TYPE})});
  args.resize(args.size() - 2);
  CHECK(f.server->cost(ctx, args) == CallCost::may_block);
  std::vector<uint8_t> lying;
  xdr::Writer w(&lying);
  w.opaque(std::vector<uint8_t>{});
  w.u32(0);
  w.u32(1);              // one op
  w.u32(OP_GETATTR);
  w.u32(0x40000000u);    // a bitmap of 2^30 words
  CHECK(f.server->cost(ctx, lying) == CallCost::may_block);
  CHECK(f.server->cost(ctx, {}) == CallCost::may_block);  // no header at all
}
