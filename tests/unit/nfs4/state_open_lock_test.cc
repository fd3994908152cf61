// Opens, stateids and byte-range locks in the state layer (RFC 7530 9, 16.10-
// 16.20; RFC 8881 8, 18.10-18.20), without the COMPOUND loop.
#include <doctest/doctest.h>

#include "nfs4/state/state_manager.h"

namespace efs::nfs4 {

namespace {

std::vector<uint8_t> bytes(const std::string& s) {
  return {s.begin(), s.end()};
}

constexpr FileKey kFile{1, 10};
constexpr FileKey kOther{1, 11};
constexpr uint64_t kEof = UINT64_MAX;

// A confirmed 4.0 client.
uint64_t client40(StateManager& sm, const std::string& owner) {
  verifier4 v{};
  auto a = sm.setclientid(v, bytes(owner), 1000, 0);
  REQUIRE(a.ok());
  REQUIRE(sm.setclientid_confirm(a->clientid, a->setclientid_confirm, 1000) == NFS4_OK);
  return a->clientid;
}

// A 4.0 OPEN (state part) with OPEN_CONFIRM; returns the confirmed stateid.
stateid4 open40(StateManager& sm, uint64_t clientid, const std::string& owner, uint32_t seqid,
                uint32_t access, FileKey file = kFile) {
  OpenRequest req;
  req.clientid = clientid;
  req.owner = bytes(owner);
  req.seqid = seqid;
  req.access = access;
  auto st = sm.open_begin(req);
  REQUIRE(st.status == NFS4_OK);
  auto g = sm.open_commit(st, req, file);
  REQUIRE(g.ok());
  sm.owner_reply(st.owner, seqid, NFS4_OK, OwnerReply{18, {9}});
  if (!g->confirm) return g->sid;
  auto c = sm.open_confirm(g->sid, seqid + 1, file);
  REQUIRE(c.status == NFS4_OK);
  sm.owner_reply(c.seqid_owner, c.seqid, c.status, OwnerReply{20, {}});
  return c.sid;
}

LockRequest new_lock(const stateid4& open, uint32_t open_seqid, uint64_t clientid,
                     const std::string& lo, bool write, uint64_t off, uint64_t len) {
  LockRequest r;
  r.write = write;
  r.offset = off;
  r.length = len;
  r.file = kFile;
  r.new_lock_owner = true;
  r.open_sid = open;
  r.open_seqid = open_seqid;
  r.lo_clientid = clientid;
  r.lo_owner = bytes(lo);
  r.lock_seqid = 0;
  return r;
}

}  // namespace

TEST_CASE("4.0 OPEN needs OPEN_CONFIRM; the stateid's seqid moves on each change") {
  Clock clock;
  StateManager sm(clock);
  uint64_t cid = client40(sm, "c");
  OpenRequest req;
  req.clientid = cid;
  req.owner = bytes("oo");
  req.seqid = 5;
  req.access = OPEN4_SHARE_ACCESS_READ;
  auto st = sm.open_begin(req);
  REQUIRE(st.status == NFS4_OK);
  auto g = sm.open_commit(st, req, kFile);
  REQUIRE(g.ok());
  CHECK(g->confirm);
  CHECK(g->sid.seqid == 1);
  sm.owner_reply(st.owner, 5, NFS4_OK, OwnerReply{18, {1, 2}});
  // Not usable before OPEN_CONFIRM.
  CHECK(sm.check_io_stateid(g->sid, kFile, false, 0, nullptr) == NFS4ERR_BAD_STATEID);
  // Wrong seqid for the owner.
  CHECK(sm.open_confirm(g->sid, 9, kFile).status == NFS4ERR_BAD_SEQID);
  auto conf = sm.open_confirm(g->sid, 6, kFile);
  REQUIRE(conf.status == NFS4_OK);
  CHECK(conf.sid.seqid == 2);
  sm.owner_reply(conf.seqid_owner, 6, conf.status, OwnerReply{20, {7}});
  // The old seqid is now OLD_STATEID; a future one BAD_STATEID.
  CHECK(sm.check_io_stateid(g->sid, kFile, false, 0, nullptr) == NFS4ERR_OLD_STATEID);
  stateid4 future = conf.sid;
  future.seqid = 9;
  CHECK(sm.check_io_stateid(future, kFile, false, 0, nullptr) == NFS4ERR_BAD_STATEID);
  CHECK(sm.check_io_stateid(conf.sid, kFile, false, 0, nullptr) == NFS4_OK);
  // Read-only open used for writing.
  CHECK(sm.check_io_stateid(conf.sid, kFile, true, 0, nullptr) == NFS4ERR_OPENMODE);
  // Another file's stateid.
  CHECK(sm.check_io_stateid(conf.sid, kOther, false, 0, nullptr) == NFS4ERR_BAD_STATEID);
  // Special stateids pass; a stateid of another boot is stale.
  CHECK(sm.check_io_stateid(stateid4{}, kFile, true, 0, nullptr) == NFS4_OK);
  stateid4 stale = conf.sid;
  stale.other[0] ^= 0xff;
  CHECK(sm.check_io_stateid(stale, kFile, false, 0, nullptr) == NFS4ERR_STALE_STATEID);
  // A retransmitted OPEN_CONFIRM is answered from the owner's reply cache.
  auto replay = sm.open_confirm(g->sid, 6, kFile);
  REQUIRE(replay.replay);
  CHECK(replay.replay->bytes == std::vector<uint8_t>{7});
}

TEST_CASE("share deny is NOTSUPP (EFS); access 0 is INVAL") {
  Clock clock;
  StateManager sm(clock);
  uint64_t cid = client40(sm, "c");
  OpenRequest req;
  req.clientid = cid;
  req.owner = bytes("oo");
  req.access = OPEN4_SHARE_ACCESS_READ;
  req.deny = 1;
  CHECK(sm.open_begin(req).status == NFS4ERR_NOTSUPP);
  req.deny = 0;
  req.access = 0;
  CHECK(sm.open_begin(req).status == NFS4ERR_INVAL);
  req.clientid = cid + 1000;
  req.access = OPEN4_SHARE_ACCESS_READ;
  CHECK(sm.open_begin(req).status == NFS4ERR_STALE_CLIENTID);
}

TEST_CASE("upgrade, OPEN_DOWNGRADE and CLOSE; a retransmitted CLOSE is replayed") {
  Clock clock;
  StateManager sm(clock);
  uint64_t cid = client40(sm, "c");
  stateid4 r = open40(sm, cid, "oo", 1, OPEN4_SHARE_ACCESS_READ);  // seqids 1, 2
  OpenRequest req;
  req.clientid = cid;
  req.owner = bytes("oo");
  req.seqid = 3;
  req.access = OPEN4_SHARE_ACCESS_WRITE;
  auto st = sm.open_begin(req);
  REQUIRE(st.status == NFS4_OK);
  auto up = sm.open_commit(st, req, kFile);
  REQUIRE(up.ok());
  CHECK(!up->confirm);
  CHECK(up->sid.other == r.other);
  CHECK(up->sid.seqid == r.seqid + 1);
  sm.owner_reply(st.owner, 3, NFS4_OK, OwnerReply{18, {}});
  CHECK(sm.check_io_stateid(up->sid, kFile, true, 0, nullptr) == NFS4_OK);
  CHECK(sm.open_count() == 1);

  // Down to READ (opened before) is fine; to BOTH is not a subset of what
  // is left afterwards.
  auto dg = sm.open_downgrade(up->sid, 4, OPEN4_SHARE_ACCESS_READ, 0, kFile, 0, nullptr);
  REQUIRE(dg.status == NFS4_OK);
  sm.owner_reply(dg.seqid_owner, 4, dg.status, OwnerReply{21, {}});
  CHECK(sm.check_io_stateid(dg.sid, kFile, true, 0, nullptr) == NFS4ERR_OPENMODE);
  auto bad = sm.open_downgrade(dg.sid, 5, OPEN4_SHARE_ACCESS_BOTH, 0, kFile, 0, nullptr);
  CHECK(bad.status == NFS4ERR_INVAL);
  sm.owner_reply(bad.seqid_owner, 5, bad.status, OwnerReply{21, {}});

  auto cl = sm.close(dg.sid, 6, kFile, 0, nullptr);
  REQUIRE(cl.status == NFS4_OK);
  sm.owner_reply(cl.seqid_owner, 6, cl.status, OwnerReply{4, {4, 4}});
  CHECK(sm.open_count() == 0);
  auto again = sm.close(dg.sid, 6, kFile, 0, nullptr);
  REQUIRE(again.replay);
  CHECK(again.replay->bytes == std::vector<uint8_t>{4, 4});
  CHECK(sm.check_io_stateid(cl.sid, kFile, false, 0, nullptr) == NFS4ERR_BAD_STATEID);
}

TEST_CASE("locks: conflicts, read sharing, to-EOF ranges, split on LOCKU, LOCKT") {
  Clock clock;
  StateManager sm(clock);
  uint64_t a = client40(sm, "a");
  uint64_t b = client40(sm, "b");
  stateid4 oa = open40(sm, a, "oa", 1, OPEN4_SHARE_ACCESS_BOTH);
  stateid4 ob = open40(sm, b, "ob", 1, OPEN4_SHARE_ACCESS_BOTH);

  auto la = sm.lock(new_lock(oa, 3, a, "la", true, 0, 100));
  REQUIRE(la.status == NFS4_OK);
  sm.owner_reply(la.seqid_owner, la.seqid, la.status, OwnerReply{12, {}});
  auto lb = sm.lock(new_lock(ob, 3, b, "lb", false, 50, 10));
  CHECK(lb.status == NFS4ERR_DENIED);
  REQUIRE(lb.denied);
  CHECK(lb.denied->offset == 0);
  CHECK(lb.denied->length == 100);
  CHECK(lb.denied->write);
  CHECK(lb.denied->owner == bytes("la"));
  sm.owner_reply(lb.seqid_owner, lb.seqid, lb.status, OwnerReply{12, {}});
  // Beyond a's range it works; a read lock to EOF.
  auto lb2 = sm.lock(new_lock(ob, 4, b, "lb", false, 100, kEof));
  REQUIRE(lb2.status == NFS4_OK);
  sm.owner_reply(lb2.seqid_owner, lb2.seqid, lb2.status, OwnerReply{12, {}});

  LockDenied d;
  CHECK(sm.lockt(0, nullptr, a, bytes("other"), true, 1000000, 1, kFile, &d) == NFS4ERR_DENIED);
  CHECK(d.length == kEof);
  CHECK(sm.lockt(0, nullptr, a, bytes("other"), false, 1000000, 1, kFile, &d) == NFS4_OK);
  CHECK(sm.lockt(0, nullptr, a, bytes("la"), true, 0, 100, kFile, &d) == NFS4_OK);
  CHECK(sm.lockt(0, nullptr, a, bytes("x"), true, 5, 0, kFile, &d) == NFS4ERR_INVAL);
  CHECK(sm.lockt(0, nullptr, a, bytes("x"), true, 10, kEof - 5, kFile, &d) == NFS4ERR_INVAL);

  // a unlocks the middle: [0,39] and [60,99] remain.
  auto u = sm.locku(la.sid, 1, true, 40, 20, kFile, 0, nullptr);
  REQUIRE(u.status == NFS4_OK);
  CHECK(u.sid.seqid == la.sid.seqid + 1);
  sm.owner_reply(u.seqid_owner, u.seqid, u.status, OwnerReply{14, {}});
  CHECK(sm.lock_range_count(kFile) == 3);
  CHECK(sm.lockt(0, nullptr, b, bytes("lb"), true, 45, 10, kFile, &d) == NFS4_OK);
  CHECK(sm.lockt(0, nullptr, b, bytes("lb"), true, 30, 20, kFile, &d) == NFS4ERR_DENIED);
  CHECK(sm.lockt(0, nullptr, b, bytes("lb"), true, 55, 10, kFile, &d) == NFS4ERR_DENIED);

  // An old lock stateid and a wrong lock seqid.
  LockRequest ex;
  ex.write = true;
  ex.offset = 200;
  ex.length = 1;
  ex.file = kFile;
  ex.lock_sid = la.sid;
  ex.lock_seqid = 2;
  CHECK(sm.lock(ex).status == NFS4ERR_OLD_STATEID);
  ex.lock_sid = u.sid;
  ex.lock_seqid = 7;
  CHECK(sm.lock(ex).status == NFS4ERR_BAD_SEQID);

  // CLOSE with locks held; RELEASE_LOCKOWNER with locks held.
  auto cl = sm.close(oa, 2 + 1 + 1, kFile, 0, nullptr);  // open owner seqid after LOCK was 3
  CHECK(cl.status == NFS4ERR_LOCKS_HELD);
  CHECK(sm.release_lockowner(a, bytes("la")) == NFS4ERR_LOCKS_HELD);
  auto u2 = sm.locku(u.sid, 2, true, 0, kEof, kFile, 0, nullptr);
  REQUIRE(u2.status == NFS4_OK);
  CHECK(sm.release_lockowner(a, bytes("la")) == NFS4_OK);
  CHECK(sm.lock_range_count(kFile) == 1);  // b's read lock
}

TEST_CASE("lock upgrade and downgrade by the same owner replace the overlapped part") {
  Clock clock;
  StateManager sm(clock);
  uint64_t a = client40(sm, "a");
  uint64_t b = client40(sm, "b");
  stateid4 oa = open40(sm, a, "oa", 1, OPEN4_SHARE_ACCESS_BOTH);
  auto l = sm.lock(new_lock(oa, 3, a, "la", false, 0, 100));
  REQUIRE(l.status == NFS4_OK);
  sm.owner_reply(l.seqid_owner, l.seqid, l.status, OwnerReply{12, {}});
  LockRequest up;
  up.write = true;
  up.offset = 10;
  up.length = 10;
  up.file = kFile;
  up.lock_sid = l.sid;
  up.lock_seqid = 1;
  auto u = sm.lock(up);
  REQUIRE(u.status == NFS4_OK);
  sm.owner_reply(u.seqid_owner, u.seqid, u.status, OwnerReply{12, {}});
  CHECK(sm.lock_range_count(kFile) == 3);  // read [0,9], write [10,19], read [20,99]
  LockDenied d;
  CHECK(sm.lockt(0, nullptr, b, bytes("x"), false, 12, 1, kFile, &d) == NFS4ERR_DENIED);
  CHECK(sm.lockt(0, nullptr, b, bytes("x"), false, 25, 1, kFile, &d) == NFS4_OK);
  // Downgrade back: the ranges merge into one.
  up.write = false;
  up.lock_sid = u.sid;
  up.lock_seqid = 2;
  REQUIRE(sm.lock(up).status == NFS4_OK);
  CHECK(sm.lock_range_count(kFile) == 1);
}

TEST_CASE("512 locks per file (EFS): the next one is DENIED") {
  Clock clock;
  StateOptions o;
  StateManager sm(clock, o);
  uint64_t a = client40(sm, "a");
  stateid4 oa = open40(sm, a, "oa", 1, OPEN4_SHARE_ACCESS_BOTH);
  auto l = sm.lock(new_lock(oa, 3, a, "la", true, 0, 1));
  REQUIRE(l.status == NFS4_OK);
  sm.owner_reply(l.seqid_owner, l.seqid, l.status, OwnerReply{12, {}});
  stateid4 sid = l.sid;
  uint32_t seqid = 0;
  for (std::size_t i = 1; i < o.max_locks_per_file; ++i) {
    LockRequest r;
    r.write = true;
    r.offset = i * 2;  // not adjacent: no merging
    r.length = 1;
    r.file = kFile;
    r.lock_sid = sid;
    r.lock_seqid = ++seqid;
    auto x = sm.lock(r);
    REQUIRE(x.status == NFS4_OK);
    sm.owner_reply(x.seqid_owner, x.seqid, x.status, OwnerReply{12, {}});
    sid = x.sid;
  }
  CHECK(sm.lock_range_count(kFile) == 512);
  LockRequest r;
  r.write = true;
  r.offset = 5000;
  r.length = 1;
  r.file = kFile;
  r.lock_sid = sid;
  r.lock_seqid = ++seqid;
  auto x = sm.lock(r);
  CHECK(x.status == NFS4ERR_DENIED);
  CHECK(sm.lock_range_count(kFile) == 512);
}

TEST_CASE("4.1: no seqids, seqid 0 means current, CLOSE returns the invalid stateid") {
  Clock clock;
  StateManager sm(clock);
  verifier4 v{};
  auto ex = sm.exchange_id(v, bytes("c41"), 0, 0, 0);
  REQUIRE(ex.ok());
  CREATE_SESSION4args a{
      ex->eir_clientid, ex->eir_sequenceid, 0, {0, 1 << 20, 1 << 20, 4096, 16, 4}, {}, 0};
  auto cs = sm.create_session(a, 0, 1);
  REQUIRE(cs.ok());
  auto seq = sm.sequence(SEQUENCE4args{cs->csr_sessionid, 1, 0, 0, false}, 1);
  REQUIRE(seq.ok());
  // RFC 8881 18.51.3: no new locking state before RECLAIM_COMPLETE.
  REQUIRE(sm.reclaim_complete(*seq->client, false) == NFS4_OK);
  OpenRequest req;
  req.minorversion = 1;
  req.session_client = seq->client;
  req.owner = bytes("oo");
  req.access = OPEN4_SHARE_ACCESS_BOTH;
  auto st = sm.open_begin(req);
  REQUIRE(st.status == NFS4_OK);
  auto g = sm.open_commit(st, req, kFile);
  REQUIRE(g.ok());
  CHECK(!g->confirm);
  stateid4 zero = g->sid;
  zero.seqid = 0;
  CHECK(sm.check_io_stateid(zero, kFile, true, 1, seq->client.get()) == NFS4_OK);
  CHECK(sm.test_stateid(*seq->client, g->sid) == NFS4_OK);
  CHECK(sm.free_stateid(*seq->client, g->sid) == NFS4ERR_LOCKS_HELD);
  LockRequest lr = new_lock(g->sid, 0, 0, "lo", true, 0, 10);
  lr.minorversion = 1;
  lr.session_client = seq->client;
  auto l = sm.lock(lr);
  REQUIRE(l.status == NFS4_OK);
  CHECK(sm.free_stateid(*seq->client, l.sid) == NFS4ERR_LOCKS_HELD);
  auto u = sm.locku(l.sid, 0, true, 0, 10, kFile, 1, seq->client.get());
  REQUIRE(u.status == NFS4_OK);
  CHECK(sm.free_stateid(*seq->client, u.sid) == NFS4_OK);
  CHECK(sm.test_stateid(*seq->client, u.sid) == NFS4ERR_BAD_STATEID);
  auto cl = sm.close(zero, 0, kFile, 1, seq->client.get());
  REQUIRE(cl.status == NFS4_OK);
  CHECK(same_stateid(cl.sid, invalid_stateid()));
  CHECK(sm.open_count() == 0);
}

}  // namespace efs::nfs4
