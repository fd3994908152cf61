// The state layer has no global lock (state_manager.h, "Lock order"). These
// tests show it structurally, without timing: while this thread holds one
// client's record lock or one file shard's lock (test hooks), operations
// that must not need it finish on another thread. Then a many-thread run of
// several clients opening, locking, checking I/O and closing the same and
// different files, after which the tables must be consistent and empty.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "nfs4/state/state_manager.h"

namespace efs::nfs4 {

namespace {

std::vector<uint8_t> bytes(const std::string& s) {
  return {s.begin(), s.end()};
}

channel_attrs4 attrs() {
  return channel_attrs4{0, 4u << 20, 4u << 20, 1u << 20, 64, 8};
}

// A confirmed 4.1 client with one session and RECLAIM_COMPLETE done, so it
// may open (RFC 8881 18.51.3).
struct Client41 {
  sessionid4 sessionid{};
  std::shared_ptr<Client> client;
  std::shared_ptr<Session> session;
  uint32_t seq = 0;  // slot 0's last sequence id
};

// No doctest assertion inside: it also runs on worker threads.
std::optional<Client41> try_make41(StateManager& sm, const std::string& owner, uint64_t conn) {
  verifier4 v{};
  v.fill(7);
  auto ex = sm.exchange_id(v, bytes(owner), 0, 0, 1000);
  if (!ex.ok()) return std::nullopt;
  CREATE_SESSION4args a{ex->eir_clientid, ex->eir_sequenceid, 0, attrs(), attrs(), 0};
  auto cs = sm.create_session(a, 1000, conn);
  if (!cs.ok()) return std::nullopt;
  Client41 c;
  c.sessionid = cs->csr_sessionid;
  auto sq = sm.sequence(SEQUENCE4args{c.sessionid, 1, 0, 0, false}, conn);
  if (!sq.ok()) return std::nullopt;
  c.client = sq->client;
  c.session = sq->session;
  c.seq = 1;
  c.session->store_reply(0, {});
  if (sm.reclaim_complete(*c.client, false) != NFS4_OK) return std::nullopt;
  return c;
}

Client41 make41(StateManager& sm, const std::string& owner, uint64_t conn) {
  auto c = try_make41(sm, owner, conn);
  REQUIRE(c.has_value());
  return *c;
}

// One SEQUENCE on slot 0, ended at once (as the COMPOUND loop would).
nfsstat4 sequence(StateManager& sm, Client41& c, uint64_t conn) {
  auto r = sm.sequence(SEQUENCE4args{c.sessionid, c.seq + 1, 0, 0, false}, conn);
  if (!r) return r.error();
  ++c.seq;
  r->session->store_reply(0, {});
  return NFS4_OK;
}

SResult<stateid4> open41(StateManager& sm, Client41& c, const std::string& owner, FileKey file,
                         uint32_t access = OPEN4_SHARE_ACCESS_BOTH) {
  OpenRequest req;
  req.minorversion = 1;
  req.session_client = c.client;
  req.owner = bytes(owner);
  req.access = access;
  auto st = sm.open_begin(req);
  if (st.status != NFS4_OK) return fail(st.status);
  auto g = sm.open_commit(st, req, file);
  if (!g) return fail(g.error());
  return g->sid;
}

// Starts fn on another thread while the caller holds a lock, and says
// whether it finished. The wait is only a safety net: a correct
// implementation never needs the lock the caller holds, while a wrong one
// blocks until the hook lets go, fails this check, and is joined by
// `pending.wait()` after the hook, so the test fails instead of hanging.
struct Elsewhere {
  std::future<void> pending;
  template <class Fn>
  bool finishes(Fn fn) {
    pending = std::async(std::launch::async, fn);
    return pending.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  }
};

// Two files whose state lives in different shards.
std::pair<FileKey, FileKey> files_in_two_shards() {
  FileKey a{1, 100};
  for (uint64_t ino = 101;; ++ino) {
    FileKey b{1, ino};
    if (StateManager::shard_of(b) != StateManager::shard_of(a)) return {a, b};
  }
}

}  // namespace

TEST_CASE("a stateid names its file's shard in other[8]") {
  Clock clock;
  StateManager sm(clock);
  auto c = make41(sm, "c", 1);
  std::set<uint32_t> shards;
  for (uint64_t ino = 1; ino <= 200; ++ino) {
    FileKey f{3, ino};
    auto sid = open41(sm, c, "oo", f);
    REQUIRE(sid.ok());
    CHECK(sid->other[8] == StateManager::shard_of(f));
    shards.insert(sid->other[8]);
  }
  // 200 files spread over (nearly) all 64 shards, not a few.
  CHECK(shards.size() > StateManager::kFileShards / 2);
  CHECK(sm.open_count() == 200);
  CHECK(sm.audit() == "");
}

TEST_CASE("holding one client's record lock: READ checks and SEQUENCEs still complete") {
  Clock clock;
  StateManager sm(clock);
  auto [f1, f2] = files_in_two_shards();
  auto a = make41(sm, "client-a", 1);
  auto b = make41(sm, "client-b", 2);
  auto sa = open41(sm, a, "oo-a", f1);
  auto sb = open41(sm, b, "oo-b", f2);
  REQUIRE(sa.ok());
  REQUIRE(sb.ok());
  std::vector<nfsstat4> got;
  Elsewhere other;
  bool finished = false;
  bool held = sm.hold_client_lock_for_test(a.client->clientid, [&] {
    finished = other.finishes([&] {
      // Client A's own stateid: a READ/WRITE check takes the shard lock only.
      got.push_back(sm.check_io_stateid(*sa, f1, true, 1, a.client.get()));
      got.push_back(sm.check_io_stateid(*sb, f2, false, 1, b.client.get()));
      // SEQUENCE never takes a client record lock (the lease is an atomic).
      got.push_back(sequence(sm, b, 2));
      got.push_back(sequence(sm, a, 1));
      // Client B's opens, locks and closes need only B's lock and a shard.
      auto sb2 = open41(sm, b, "oo-b", f1, OPEN4_SHARE_ACCESS_READ);
      got.push_back(sb2.ok() ? NFS4_OK : sb2.error());
      if (sb2.ok()) got.push_back(sm.close(*sb2, 0, f1, 1, b.client.get()).status);
    });
  });
  other.pending.wait();
  CHECK(held);
  CHECK(finished);
  CHECK(got == std::vector<nfsstat4>(6, NFS4_OK));
}

TEST_CASE("holding one file shard's lock: other files' checks, opens and all SEQUENCEs complete") {
  Clock clock;
  StateManager sm(clock);
  auto [f1, f2] = files_in_two_shards();
  auto a = make41(sm, "client-a", 1);
  auto b = make41(sm, "client-b", 2);
  auto sa = open41(sm, a, "oo-a", f1);  // a's state is in the shard we hold
  auto sb = open41(sm, b, "oo-b", f2);
  REQUIRE(sa.ok());
  REQUIRE(sb.ok());
  std::vector<nfsstat4> got;
  Elsewhere other;
  bool finished = false;
  sm.hold_file_shard_for_test(f1, [&] {
    finished = other.finishes([&] {
      got.push_back(sm.check_io_stateid(*sb, f2, true, 1, b.client.get()));
      // SEQUENCE of the client whose open sits in the held shard.
      got.push_back(sequence(sm, a, 1));
      got.push_back(sequence(sm, b, 2));
      // A new open and a lock of the other file.
      auto sb2 = open41(sm, b, "oo-b2", f2, OPEN4_SHARE_ACCESS_WRITE);
      got.push_back(sb2.ok() ? NFS4_OK : sb2.error());
      LockRequest lr;
      lr.minorversion = 1;
      lr.session_client = b.client;
      lr.write = true;
      lr.offset = 0;
      lr.length = 10;
      lr.file = f2;
      lr.new_lock_owner = true;
      lr.open_sid = *sb;
      lr.lo_owner = bytes("lo-b");
      got.push_back(sm.lock(lr).status);
      LockDenied d;
      got.push_back(sm.lockt(1, b.client.get(), 0, bytes("lo-x"), true, 0, 5, f2, &d));
    });
  });
  other.pending.wait();
  CHECK(finished);
  CHECK(got == std::vector<nfsstat4>{NFS4_OK, NFS4_OK, NFS4_OK, NFS4_OK, NFS4_OK, NFS4ERR_DENIED});
  CHECK(sm.lock_range_count(f2) == 1);
  CHECK(sm.audit() == "");
}

TEST_CASE("many clients open, lock, check and close the same and different files at once") {
  Clock clock;
  StateManager sm(clock);
  constexpr int kThreads41 = 6, kThreads40 = 2, kRounds = 150;
  const FileKey shared{9, 1};
  std::atomic<int> holders{0}, overlaps{0}, unexpected{0}, granted{0};
  std::atomic<bool> stop{false};
  std::vector<Client41> clients;
  for (int t = 0; t < kThreads41; ++t) clients.push_back(make41(sm, "v41-" + std::to_string(t), t));

  // Worker threads only count and remember failures; the test thread asserts.
  std::mutex first_mu;
  std::string first_failure;
  auto expect = [&](bool ok, const char* what, nfsstat4 got) {
    if (ok) return;
    ++unexpected;
    std::lock_guard g(first_mu);
    if (first_failure.empty()) first_failure = std::string(what) + ": " + to_string(got);
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads41; ++t) {
    threads.emplace_back([&, t] {
      Client41& c = clients[t];
      Client* cl = c.client.get();
      const FileKey own{9, uint64_t(100 + t)};
      const std::string oo = "oo-" + std::to_string(t);
      for (int i = 0; i < kRounds; ++i) {
        nfsstat4 s = sequence(sm, c, t);
        expect(s == NFS4_OK, "SEQUENCE", s);
        auto so = open41(sm, c, oo, own);
        auto ss = open41(sm, c, oo, shared);
        if (!so.ok() || !ss.ok()) {
          expect(false, "OPEN", so.ok() ? ss.error() : so.error());
          continue;
        }
        s = sm.check_io_stateid(*so, own, true, 1, cl);
        expect(s == NFS4_OK, "WRITE check", s);
        s = sm.check_io_stateid(*ss, shared, false, 1, cl);
        expect(s == NFS4_OK, "READ check", s);
        // Another client's stateid is not ours (RFC 8881 8.2.4).
        s = sm.check_io_stateid(*ss, shared, false, 1, clients[(t + 1) % kThreads41].client.get());
        expect(s == NFS4ERR_BAD_STATEID, "foreign stateid", s);
        // One write lock on [0, 100) of the shared file at a time.
        LockRequest lr;
        lr.minorversion = 1;
        lr.session_client = c.client;
        lr.write = true;
        lr.offset = 0;
        lr.length = 100;
        lr.file = shared;
        lr.new_lock_owner = true;
        lr.open_sid = *ss;
        lr.lo_owner = bytes("lo-" + std::to_string(t));
        auto lk = sm.lock(lr);
        if (lk.status == NFS4_OK) {
          if (holders.fetch_add(1) != 0) ++overlaps;
          ++granted;
          std::this_thread::yield();
          holders.fetch_sub(1);
          auto u = sm.locku(lk.sid, 0, true, 0, 100, shared, 1, cl);
          expect(u.status == NFS4_OK, "LOCKU", u.status);
        } else {
          expect(lk.status == NFS4ERR_DENIED && lk.denied, "LOCK", lk.status);
        }
        // Read locks of the own file never conflict with anyone.
        lr.write = false;
        lr.file = own;
        lr.open_sid = *so;
        auto rl = sm.lock(lr);
        expect(rl.status == NFS4_OK, "read LOCK", rl.status);
        // CLOSE with a range held is LOCKS_HELD; after LOCKU it closes.
        auto busy = sm.close(*so, 0, own, 1, cl);
        expect(busy.status == NFS4ERR_LOCKS_HELD, "CLOSE with locks", busy.status);
        if (rl.status == NFS4_OK) {
          auto u = sm.locku(rl.sid, 0, false, 0, 100, own, 1, cl);
          expect(u.status == NFS4_OK, "LOCKU own", u.status);
        }
        auto c1 = sm.close(*so, 0, own, 1, cl);
        expect(c1.status == NFS4_OK, "CLOSE own", c1.status);
        auto c2 = sm.close(*ss, 0, shared, 1, cl);
        expect(c2.status == NFS4_OK, "CLOSE shared", c2.status);
      }
    });
  }
  for (int t = 0; t < kThreads40; ++t) {
    threads.emplace_back([&, t] {
      verifier4 v{};
      auto sc = sm.setclientid(v, bytes("v40-" + std::to_string(t)), 1000, 0);
      if (!sc.ok() ||
          sm.setclientid_confirm(sc->clientid, sc->setclientid_confirm, 1000) != NFS4_OK) {
        ++unexpected;
        return;
      }
      uint32_t seqid = 1;
      for (int i = 0; i < kRounds; ++i) {
        OpenRequest req;
        req.clientid = sc->clientid;
        req.owner = bytes("oo40-" + std::to_string(t));
        req.seqid = seqid;
        req.access = OPEN4_SHARE_ACCESS_READ;
        auto st = sm.open_begin(req);
        expect(st.status == NFS4_OK, "4.0 OPEN", st.status);
        if (st.status != NFS4_OK) return;
        auto g = sm.open_commit(st, req, shared);
        expect(g.ok(), "4.0 OPEN commit", g.ok() ? NFS4_OK : g.error());
        if (!g.ok()) return;
        sm.owner_reply(st.owner, seqid++, NFS4_OK, OwnerReply{OP_OPEN, {1}});
        stateid4 sid = g->sid;
        if (g->confirm) {
          auto cf = sm.open_confirm(sid, seqid, shared);
          expect(cf.status == NFS4_OK, "OPEN_CONFIRM", cf.status);
          sm.owner_reply(cf.seqid_owner, seqid++, cf.status, OwnerReply{OP_OPEN_CONFIRM, {}});
          sid = cf.sid;
        }
        nfsstat4 s = sm.check_io_stateid(sid, shared, false, 0, nullptr);
        expect(s == NFS4_OK, "4.0 READ check", s);
        s = sm.check_io_stateid(sid, shared, true, 0, nullptr);
        expect(s == NFS4ERR_OPENMODE, "4.0 WRITE through a read open", s);
        auto cl = sm.close(sid, seqid, shared, 0, nullptr);
        expect(cl.status == NFS4_OK, "4.0 CLOSE", cl.status);
        sm.owner_reply(cl.seqid_owner, seqid++, cl.status, OwnerReply{OP_CLOSE, {}});
      }
    });
  }
  // Client records come and go beside them; housekeeping runs meanwhile.
  threads.emplace_back([&] {
    for (int i = 0; i < kRounds / 3; ++i) {
      auto c = try_make41(sm, "churn-" + std::to_string(i), 1000 + i);
      if (!c) {
        expect(false, "churn client", NFS4ERR_SERVERFAULT);
        continue;
      }
      nfsstat4 s = sm.destroy_session(c->sessionid, 1000 + i);
      expect(s == NFS4_OK, "DESTROY_SESSION", s);
      s = sm.destroy_clientid(c->client->clientid);
      expect(s == NFS4_OK, "DESTROY_CLIENTID", s);
    }
  });
  std::thread housekeeping([&] {
    while (!stop) {
      sm.tick();
      sm.connection_closed(999);
      (void)sm.audit();  // consistent or not mid-run, it must not race
      (void)sm.open_count();
      std::this_thread::yield();
    }
  });
  for (auto& th : threads) th.join();
  stop = true;
  housekeeping.join();

  INFO(first_failure);
  CHECK(unexpected == 0);
  CHECK(overlaps == 0);
  CHECK(granted > 0);
  CHECK(sm.open_count() == 0);
  CHECK(sm.lock_range_count(shared) == 0);
  CHECK(sm.audit() == "");
  CHECK(sm.client_count() == kThreads41 + kThreads40);
}

}  // namespace efs::nfs4
