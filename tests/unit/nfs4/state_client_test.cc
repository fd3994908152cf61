// The state layer's client and session rules without the COMPOUND loop:
// SETCLIENTID/CONFIRM (RFC 7530 16.33-16.34), EXCHANGE_ID / CREATE_SESSION /
// SEQUENCE (RFC 8881 18.35, 18.36, 18.46), leases, grace.
#include <doctest/doctest.h>

#include <filesystem>

#include "common/ids.h"
#include "meta/db.h"
#include "nfs4/state/state_manager.h"

namespace efs::nfs4 {

namespace {

std::vector<uint8_t> bytes(const std::string& s) {
  return {s.begin(), s.end()};
}
Verifier verf(uint8_t b) {
  Verifier v;
  v.fill(b);
  return v;
}

ChannelAttrs big_attrs() {
  return ChannelAttrs{0, 4u << 20, 4u << 20, 1u << 20, 1000, 1000};
}

// A confirmed 4.1 client with one session.
struct Client41 {
  uint64_t clientid = 0;
  SessionId sid{};
};
Client41 make41(StateManager& sm, const std::string& owner, uint32_t uid = 1000) {
  auto ex = sm.exchange_id(verf(1), bytes(owner), 0, 0, uid);
  REQUIRE(ex.ok());
  CreateSessionArgs a{ex->clientid, ex->sequenceid, 0, big_attrs(), big_attrs(), 0};
  auto cs = sm.create_session(a, uid, 7);
  REQUIRE(cs.ok());
  return {ex->clientid, cs->sessionid};
}

}  // namespace

TEST_CASE("SETCLIENTID then SETCLIENTID_CONFIRM confirms; a wrong confirm is STALE_CLIENTID") {
  Clock clock;
  StateManager sm(clock);
  auto r = sm.setclientid(verf(1), bytes("linux-a"), 1000, 0x40000000);
  REQUIRE(r.ok());
  Verifier wrong = r->confirm;
  wrong[0] ^= 0xff;
  CHECK(sm.setclientid_confirm(r->clientid, wrong, 1000) == Nfs4Stat::stale_clientid);
  CHECK(sm.renew(r->clientid) == Nfs4Stat::stale_clientid);  // not confirmed yet
  CHECK(sm.setclientid_confirm(r->clientid, r->confirm, 1000) == Nfs4Stat::ok);
  // A retransmitted confirm is fine.
  CHECK(sm.setclientid_confirm(r->clientid, r->confirm, 1000) == Nfs4Stat::ok);
  CHECK(sm.renew(r->clientid) == Nfs4Stat::ok);
  CHECK(sm.client_count() == 1);
  // A client id from another boot.
  CHECK(sm.renew(r->clientid ^ (uint64_t(0xffff) << 40)) == Nfs4Stat::stale_clientid);
}

TEST_CASE("SETCLIENTID callback update keeps the client id; a reboot gets a new one") {
  Clock clock;
  StateManager sm(clock);
  auto a = sm.setclientid(verf(1), bytes("linux-a"), 1000, 1);
  REQUIRE(a.ok());
  REQUIRE(sm.setclientid_confirm(a->clientid, a->confirm, 1000) == Nfs4Stat::ok);
  auto upd = sm.setclientid(verf(1), bytes("linux-a"), 1000, 2);
  REQUIRE(upd.ok());
  CHECK(upd->clientid == a->clientid);
  CHECK(upd->confirm != a->confirm);
  CHECK(sm.setclientid_confirm(a->clientid, upd->confirm, 1000) == Nfs4Stat::ok);
  auto reboot = sm.setclientid(verf(2), bytes("linux-a"), 1000, 2);
  REQUIRE(reboot.ok());
  CHECK(reboot->clientid != a->clientid);
  CHECK(sm.setclientid_confirm(reboot->clientid, reboot->confirm, 1000) == Nfs4Stat::ok);
  CHECK(sm.client_count() == 1);  // the old incarnation is gone
  CHECK(sm.renew(a->clientid) == Nfs4Stat::stale_clientid);
}

TEST_CASE("SETCLIENTID by another principal of an owner with state is CLID_INUSE") {
  Clock clock;
  StateManager sm(clock);
  auto a = sm.setclientid(verf(1), bytes("shared"), 1000, 0);
  REQUIRE(a.ok());
  REQUIRE(sm.setclientid_confirm(a->clientid, a->confirm, 1000) == Nfs4Stat::ok);
  OpenRequest req;
  req.clientid = a->clientid;
  req.owner = bytes("oo");
  req.access = kShareAccessRead;
  auto st = sm.open_begin(req);
  REQUIRE(st.status == Nfs4Stat::ok);
  REQUIRE(sm.open_commit(st, req, FileKey{1, 10}).ok());
  auto other = sm.setclientid(verf(1), bytes("shared"), 2000, 0);
  REQUIRE(!other.ok());
  CHECK(other.error() == Nfs4Stat::clid_inuse);
  // The confirm of a record by a different principal is refused too.
  auto own = sm.setclientid(verf(3), bytes("mine"), 1000, 0);
  REQUIRE(own.ok());
  CHECK(sm.setclientid_confirm(own->clientid, own->confirm, 2000) == Nfs4Stat::clid_inuse);
}

TEST_CASE("EXCHANGE_ID cases: new, same again, update, restart, bad flags") {
  Clock clock;
  StateManager sm(clock);
  auto bad = sm.exchange_id(verf(1), bytes("c"), kExchgIdConfirmedR, 0, 1000);
  REQUIRE(!bad.ok());
  CHECK(bad.error() == Nfs4Stat::inval);
  auto mach = sm.exchange_id(verf(1), bytes("c"), 0, 1, 1000);
  CHECK((!mach.ok() && mach.error() == Nfs4Stat::inval));
  auto ssv = sm.exchange_id(verf(1), bytes("c"), 0, 2, 1000);
  CHECK((!ssv.ok() && ssv.error() == Nfs4Stat::encr_alg_unsupp));
  // Update of a record that is not confirmed: NOENT (case 7/9).
  auto noent = sm.exchange_id(verf(1), bytes("c"), kExchgIdUpdConfirmedRecA, 0, 1000);
  CHECK((!noent.ok() && noent.error() == Nfs4Stat::noent));

  auto c = make41(sm, "c");
  auto again = sm.exchange_id(verf(1), bytes("c"), 0, 0, 1000);
  REQUIRE(again.ok());
  CHECK(again->clientid == c.clientid);
  CHECK((again->flags & kExchgIdConfirmedR) != 0);
  CHECK((again->flags & kExchgIdUseNonPnfs) != 0);
  CHECK(again->sequenceid == 2);

  auto upd = sm.exchange_id(verf(1), bytes("c"), kExchgIdUpdConfirmedRecA, 0, 1000);
  CHECK((upd.ok() && upd->clientid == c.clientid));
  auto perm = sm.exchange_id(verf(1), bytes("c"), kExchgIdUpdConfirmedRecA, 0, 2000);
  CHECK((!perm.ok() && perm.error() == Nfs4Stat::perm));
  auto notsame = sm.exchange_id(verf(9), bytes("c"), kExchgIdUpdConfirmedRecA, 0, 1000);
  CHECK((!notsame.ok() && notsame.error() == Nfs4Stat::not_same));

  // Client restart: new verifier -> a new unconfirmed client id; the old
  // session lives until CREATE_SESSION confirms the new record.
  auto restart = sm.exchange_id(verf(2), bytes("c"), 0, 0, 1000);
  REQUIRE(restart.ok());
  CHECK(restart->clientid != c.clientid);
  CHECK((restart->flags & kExchgIdConfirmedR) == 0);
  SequenceArgs sq{c.sid, 1, 0, 0, false};
  CHECK(sm.sequence(sq, 7).ok());
  CreateSessionArgs a{restart->clientid, restart->sequenceid, 0, big_attrs(), big_attrs(), 0};
  REQUIRE(sm.create_session(a, 1000, 8).ok());
  sq.sequenceid = 2;
  auto gone = sm.sequence(sq, 7);
  CHECK((!gone.ok() && gone.error() == Nfs4Stat::badsession));
}

TEST_CASE("CREATE_SESSION: sequence ids, replay, limits negotiated down") {
  Clock clock;
  StateOptions o;
  StateManager sm(clock, o);
  auto ex = sm.exchange_id(verf(1), bytes("c"), 0, 0, 1000);
  REQUIRE(ex.ok());
  CreateSessionArgs a{ex->clientid, ex->sequenceid + 1, kCreateSessionPersist,
                      big_attrs(),  big_attrs(),        0};
  auto mis = sm.create_session(a, 1000, 1);
  CHECK((!mis.ok() && mis.error() == Nfs4Stat::seq_misordered));
  a.sequence = ex->sequenceid;
  auto wrong_uid = sm.create_session(a, 0, 1);
  CHECK((!wrong_uid.ok() && wrong_uid.error() == Nfs4Stat::clid_inuse));
  auto cs = sm.create_session(a, 1000, 1);
  REQUIRE(cs.ok());
  CHECK(cs->flags == 0);  // no persistent reply cache (EFS)
  CHECK(cs->fore.maxrequestsize == o.max_request_size);
  CHECK(cs->fore.maxresponsesize == o.max_response_size);
  CHECK(cs->fore.maxresponsesize_cached == o.max_response_size_cached);
  CHECK(cs->fore.maxoperations == o.max_operations);
  CHECK(cs->fore.maxrequests == o.max_slots);
  // The same request again: the same answer (the CREATE_SESSION replay).
  auto replay = sm.create_session(a, 1000, 1);
  REQUIRE(replay.ok());
  CHECK(replay->sessionid == cs->sessionid);
  // Small client values are kept.
  a.sequence++;
  a.fore = ChannelAttrs{0, 8192, 8192, 1024, 8, 4};
  auto small = sm.create_session(a, 1000, 1);
  REQUIRE(small.ok());
  CHECK(small->sessionid != cs->sessionid);
  CHECK(small->fore.maxoperations == 8);
  CHECK(small->fore.maxrequests == 4);
  CHECK(sm.create_session(CreateSessionArgs{12345, 1, 0, big_attrs(), big_attrs(), 0}, 1000, 1)
            .error() == Nfs4Stat::stale_clientid);
}

TEST_CASE("SEQUENCE: new request, replay from the cache, misordered, bad slot, in progress") {
  Clock clock;
  StateManager sm(clock);
  auto c = make41(sm, "c");
  SequenceArgs sq{c.sid, 1, 3, 3, true};
  auto r1 = sm.sequence(sq, 7);
  REQUIRE(r1.ok());
  CHECK(!r1->replay);
  CHECK(r1->highest_slotid == 63);
  // While slot 3 runs, a retransmission waits.
  auto busy = sm.sequence(sq, 7);
  CHECK((!busy.ok() && busy.error() == Nfs4Stat::delay));
  r1->session->store_reply(3, {1, 2, 3, 4});
  auto again = sm.sequence(sq, 7);
  REQUIRE(again.ok());
  REQUIRE(again->replay);
  CHECK(*again->replay == std::vector<uint8_t>{1, 2, 3, 4});
  sq.sequenceid = 5;
  CHECK(sm.sequence(sq, 7).error() == Nfs4Stat::seq_misordered);
  sq.sequenceid = 2;
  REQUIRE(sm.sequence(sq, 7).ok());
  // A reply too big for the cache is not kept: a retry is RETRY_UNCACHED_REP.
  r1->session->store_reply(3, std::vector<uint8_t>(r1->session->max_response_cached() + 1));
  CHECK(sm.sequence(sq, 7).error() == Nfs4Stat::retry_uncached_rep);
  sq.slotid = 64;
  sq.sequenceid = 1;
  CHECK(sm.sequence(sq, 7).error() == Nfs4Stat::badslot);
  SessionId nosuch{};
  CHECK(sm.sequence(SequenceArgs{nosuch, 1, 0, 0, false}, 7).error() == Nfs4Stat::badsession);
}

TEST_CASE("DESTROY_CLIENTID is CLIENTID_BUSY while a session remains") {
  Clock clock;
  StateManager sm(clock);
  auto c = make41(sm, "c");
  CHECK(sm.destroy_clientid(c.clientid) == Nfs4Stat::clientid_busy);
  auto b = sm.bind_conn_to_session(c.sid, kCdfcBackOrBoth, 9);
  CHECK((b.ok() && *b == kCdfsBoth));
  CHECK(sm.bind_conn_to_session(c.sid, 5, 9).error() == Nfs4Stat::inval);
  CHECK(sm.destroy_session(c.sid, 7) == Nfs4Stat::ok);
  CHECK(sm.destroy_session(c.sid, 7) == Nfs4Stat::badsession);
  CHECK(sm.destroy_clientid(c.clientid) == Nfs4Stat::ok);
  CHECK(sm.destroy_clientid(c.clientid) == Nfs4Stat::stale_clientid);
  CHECK(sm.client_count() == 0);
}

TEST_CASE("lease expiry releases a 4.0 client's state: EXPIRED afterwards") {
  Clock clock;
  StateOptions o;
  o.lease_time = std::chrono::seconds(10);
  StateManager sm(clock, o);
  auto a = sm.setclientid(verf(1), bytes("c40"), 1000, 0);
  REQUIRE(a.ok());
  REQUIRE(sm.setclientid_confirm(a->clientid, a->confirm, 1000) == Nfs4Stat::ok);
  OpenRequest req;
  req.clientid = a->clientid;
  req.owner = bytes("oo");
  req.seqid = 1;
  req.access = kShareAccessBoth;
  auto st = sm.open_begin(req);
  REQUIRE(st.status == Nfs4Stat::ok);
  auto g = sm.open_commit(st, req, FileKey{1, 10});
  REQUIRE(g.ok());
  clock.advance(std::chrono::seconds(6));
  CHECK(sm.renew(a->clientid) == Nfs4Stat::ok);
  clock.advance(std::chrono::seconds(6));
  sm.tick();
  CHECK(sm.open_count() == 1);  // renewed 6 s ago: still alive
  clock.advance(std::chrono::seconds(11));
  sm.tick();
  CHECK(sm.open_count() == 0);
  CHECK(sm.client_count() == 0);
  CHECK(sm.renew(a->clientid) == Nfs4Stat::expired);
  CHECK(sm.check_io_stateid(g->sid, FileKey{1, 10}, false, 0, nullptr) == Nfs4Stat::expired);
}

TEST_CASE("lease expiry of a 4.1 client drops its sessions: BADSESSION") {
  Clock clock;
  StateOptions o;
  o.lease_time = std::chrono::seconds(10);
  StateManager sm(clock, o);
  auto c = make41(sm, "c");
  clock.advance(std::chrono::seconds(8));
  REQUIRE(sm.sequence(SequenceArgs{c.sid, 1, 0, 0, false}, 7).ok());  // renews
  clock.advance(std::chrono::seconds(8));
  sm.tick();
  CHECK(sm.client_count() == 1);
  clock.advance(std::chrono::seconds(11));
  sm.tick();
  CHECK(sm.client_count() == 0);
  CHECK(sm.sequence(SequenceArgs{c.sid, 2, 0, 0, false}, 7).error() == Nfs4Stat::badsession);
}

TEST_CASE("grace after restart: reclaims from known clients, GRACE for others, then NO_GRACE") {
  auto dir = std::filesystem::temp_directory_path() / ("nfs4state-" + random_hex(8));
  std::filesystem::create_directories(dir);
  auto db = meta::Db::open((dir / "meta.db").string());
  REQUIRE(db.ok());
  Clock clock;
  StateOptions o;
  o.grace_time = std::chrono::seconds(30);
  {
    StateManager before(clock, o, db->get());
    CHECK(!before.in_grace());  // nothing to reclaim on a fresh data dir
    make41(before, "old-client");
  }
  StateManager sm(clock, o, db->get());
  CHECK(sm.in_grace());
  auto oldc = make41(sm, "old-client");
  auto newc = make41(sm, "new-client");
  auto seq = sm.sequence(SequenceArgs{oldc.sid, 1, 0, 0, false}, 7);
  REQUIRE(seq.ok());
  auto seq_new = sm.sequence(SequenceArgs{newc.sid, 1, 0, 0, false}, 7);
  REQUIRE(seq_new.ok());

  OpenRequest req;
  req.minorversion = 1;
  req.owner = bytes("oo");
  req.access = kShareAccessRead;
  req.session_client = seq_new->client;
  CHECK(sm.open_begin(req).status == Nfs4Stat::grace);
  req.reclaim = true;
  CHECK(sm.open_begin(req).status == Nfs4Stat::no_grace);  // never held state here
  req.session_client = seq->client;
  auto st = sm.open_begin(req);
  REQUIRE(st.status == Nfs4Stat::ok);
  REQUIRE(sm.open_commit(st, req, FileKey{1, 10}).ok());
  CHECK(sm.reclaim_complete(*seq->client, false) == Nfs4Stat::ok);
  CHECK(sm.reclaim_complete(*seq->client, false) == Nfs4Stat::complete_already);
  // Every client that held state said it is done: grace ends early.
  CHECK(!sm.in_grace());
  CHECK(sm.open_begin(req).status == Nfs4Stat::no_grace);
  req.reclaim = false;
  CHECK(sm.open_begin(req).status == Nfs4Stat::ok);
  std::filesystem::remove_all(dir);
}

TEST_CASE("grace ends by time when a known client never comes back") {
  auto dir = std::filesystem::temp_directory_path() / ("nfs4state-" + random_hex(8));
  std::filesystem::create_directories(dir);
  auto db = meta::Db::open((dir / "meta.db").string());
  REQUIRE(db.ok());
  Clock clock;
  StateOptions o;
  o.grace_time = std::chrono::seconds(30);
  {
    StateManager before(clock, o, db->get());
    auto a = before.setclientid(verf(1), bytes("c40"), 0, 0);
    REQUIRE(a.ok());
    REQUIRE(before.setclientid_confirm(a->clientid, a->confirm, 0) == Nfs4Stat::ok);
  }
  {
    StateManager sm(clock, o, db->get());
    CHECK(sm.in_grace());
    clock.advance(std::chrono::seconds(31));
    sm.tick();
    CHECK(!sm.in_grace());
  }
  // The record of the client that did not come back is forgotten.
  StateManager later(clock, o, db->get());
  CHECK(!later.in_grace());
  std::filesystem::remove_all(dir);
}

}  // namespace efs::nfs4

// ---------------------------------------------------------------- issue 6 rules

namespace efs::nfs4 {

namespace {

std::vector<uint8_t> owner_bytes(const std::string& s) {
  return {s.begin(), s.end()};
}
Verifier v8(uint8_t b) {
  Verifier v;
  v.fill(b);
  return v;
}
ChannelAttrs roomy() {
  return ChannelAttrs{0, 1u << 20, 1u << 20, 8192, 16, 8};
}

}  // namespace

TEST_CASE("SETCLIENTID reboot: the old client's opens and locks go, its stateids are EXPIRED") {
  Clock clock;
  StateManager sm(clock);
  auto a = sm.setclientid(v8(1), owner_bytes("rebooter"), 0, 0);
  REQUIRE(a.ok());
  REQUIRE(sm.setclientid_confirm(a->clientid, a->confirm, 0) == Nfs4Stat::ok);
  OpenRequest req;
  req.clientid = a->clientid;
  req.owner = owner_bytes("oo");
  req.seqid = 1;
  req.access = kShareAccessBoth;
  auto st = sm.open_begin(req);
  REQUIRE(st.status == Nfs4Stat::ok);
  auto g = sm.open_commit(st, req, FileKey{1, 10});
  REQUIRE(g.ok());
  sm.owner_reply(st.owner, 1, Nfs4Stat::ok, OwnerReply{});
  auto conf = sm.open_confirm(g->sid, 2, FileKey{1, 10});
  REQUIRE(conf.status == Nfs4Stat::ok);
  sm.owner_reply(conf.seqid_owner, 2, Nfs4Stat::ok, OwnerReply{});
  LockRequest lr;
  lr.write = true;
  lr.length = 10;
  lr.file = FileKey{1, 10};
  lr.new_lock_owner = true;
  lr.open_sid = conf.sid;
  lr.open_seqid = 3;
  lr.lo_clientid = a->clientid;
  lr.lo_owner = owner_bytes("lo");
  auto lk = sm.lock(lr);
  REQUIRE(lk.status == Nfs4Stat::ok);
  CHECK(sm.open_count() == 1);
  CHECK(sm.lock_range_count(FileKey{1, 10}) == 1);
  // The client reboots: same id string, new verifier.
  auto b = sm.setclientid(v8(2), owner_bytes("rebooter"), 0, 0);
  REQUIRE(b.ok());
  CHECK(sm.open_count() == 1);  // RFC 7530 16.33.5: nothing goes before the confirm
  REQUIRE(sm.setclientid_confirm(b->clientid, b->confirm, 0) == Nfs4Stat::ok);
  CHECK(sm.open_count() == 0);
  CHECK(sm.lock_range_count(FileKey{1, 10}) == 0);
  CHECK(sm.check_io_stateid(conf.sid, FileKey{1, 10}, false, 0, nullptr) == Nfs4Stat::expired);
  CHECK(sm.check_io_stateid(lk.sid, FileKey{1, 10}, true, 0, nullptr) == Nfs4Stat::expired);
  auto cl = sm.close(conf.sid, 3, FileKey{1, 10}, 0, nullptr);
  CHECK(cl.status == Nfs4Stat::expired);
  CHECK(sm.renew(a->clientid) == Nfs4Stat::stale_clientid);
  CHECK(sm.renew(b->clientid) == Nfs4Stat::ok);
}

TEST_CASE("CREATE_SESSION: TOOSMALL fore channel, INVAL flags, checked before the client id") {
  Clock clock;
  StateManager sm(clock);
  auto ex = sm.exchange_id(v8(1), owner_bytes("cs"), 0, 0, 1000);
  REQUIRE(ex.ok());
  CreateSessionArgs a{ex->clientid, ex->sequenceid, 0, roomy(), roomy(), 0};
  a.fore.maxrequestsize = 20;
  CHECK(sm.create_session(a, 1000, 1).error() == Nfs4Stat::toosmall);
  a.fore.maxrequestsize = kMinForeRequestSize - 1;
  CHECK(sm.create_session(a, 1000, 1).error() == Nfs4Stat::toosmall);
  a.fore = roomy();
  a.fore.maxresponsesize = 0;
  CHECK(sm.create_session(a, 1000, 1).error() == Nfs4Stat::toosmall);
  a.fore.maxresponsesize = kMinForeResponseSize - 1;
  CHECK(sm.create_session(a, 1000, 1).error() == Nfs4Stat::toosmall);
  a.fore = roomy();
  a.flags = 0x8;  // not CREATE_SESSION4_FLAG_PERSIST / CONN_BACK_CHAN / CONN_RDMA
  CHECK(sm.create_session(a, 1000, 1).error() == Nfs4Stat::inval);
  a.flags = 0x80000000u;
  CHECK(sm.create_session(a, 1000, 1).error() == Nfs4Stat::inval);
  // Bad arguments are refused even for an unknown client id.
  CreateSessionArgs unknown{12345, 1, 0x10, roomy(), roomy(), 0};
  CHECK(sm.create_session(unknown, 1000, 1).error() == Nfs4Stat::inval);
  // None of that used the CREATE_SESSION sequence id: the right one works.
  a.flags = kCreateSessionPersist;  // defined, though not granted
  a.fore.maxrequestsize = kMinForeRequestSize;
  a.fore.maxresponsesize = kMinForeResponseSize;
  auto ok = sm.create_session(a, 1000, 1);
  REQUIRE(ok.ok());
  CHECK(ok->flags == 0);
}

TEST_CASE("CREATE_SESSION principal: unconfirmed needs the creator, a confirmed client any") {
  Clock clock;
  StateManager sm(clock);
  auto ex = sm.exchange_id(v8(1), owner_bytes("p"), 0, 0, Principal{1000, "host-a"});
  REQUIRE(ex.ok());
  CreateSessionArgs a{ex->clientid, ex->sequenceid, 0, roomy(), roomy(), 0};
  // AUTH_SYS principal is uid and machine name: another machine is another principal.
  CHECK(sm.create_session(a, Principal{1000, "host-b"}, 1).error() == Nfs4Stat::clid_inuse);
  CHECK(sm.create_session(a, Principal{2000, "host-a"}, 1).error() == Nfs4Stat::clid_inuse);
  auto first = sm.create_session(a, Principal{1000, "host-a"}, 1);
  REQUIRE(first.ok());
  // RFC 8881 18.36.4: confirmed, SP4_NONE: a further session under another principal.
  a.sequence++;
  auto second = sm.create_session(a, Principal{0, "host-a"}, 2);
  REQUIRE(second.ok());
  CHECK(second->sessionid != first->sessionid);
}

TEST_CASE("EXCHANGE_ID: undefined eia_flags bits are INVAL, 4.2's SUPP_FENCE_OPS included") {
  Clock clock;
  StateManager sm(clock);
  for (uint32_t bad : {0x4u, 0x8u, 0x200u, 0x80000u, 0x1000000u, kExchgIdConfirmedR}) {
    auto r = sm.exchange_id(v8(1), owner_bytes("f"), bad, 0, 1000);
    CHECK_MESSAGE((!r.ok() && r.error() == Nfs4Stat::inval), "flags ", bad);
  }
  auto ok = sm.exchange_id(v8(1), owner_bytes("f"),
                           kExchgIdSuppMovedRefer | kExchgIdSuppMovedMigr |
                               kExchgIdBindPrincStateid | kExchgIdUseNonPnfs,
                           0, 1000);
  CHECK(ok.ok());
}

TEST_CASE("EXCHANGE_ID 18.35.4 case 4: an unconfirmed record is replaced; its id goes stale") {
  Clock clock;
  StateManager sm(clock);
  auto first = sm.exchange_id(v8(1), owner_bytes("u"), 0, 0, Principal{1000, "a"});
  REQUIRE(first.ok());
  // Same verifier and principal (a retry before CREATE_SESSION): still a new record.
  auto retry = sm.exchange_id(v8(1), owner_bytes("u"), 0, 0, Principal{1000, "a"});
  REQUIRE(retry.ok());
  CHECK(retry->clientid != first->clientid);
  // New verifier and new principal: replaced again.
  auto other = sm.exchange_id(v8(2), owner_bytes("u"), 0, 0, Principal{2000, "b"});
  REQUIRE(other.ok());
  CHECK(other->clientid != retry->clientid);
  CHECK((other->flags & kExchgIdConfirmedR) == 0);
  CreateSessionArgs old_cs{retry->clientid, retry->sequenceid, 0, roomy(), roomy(), 0};
  CHECK(sm.create_session(old_cs, Principal{1000, "a"}, 1).error() == Nfs4Stat::stale_clientid);
  CreateSessionArgs new_cs{other->clientid, other->sequenceid, 0, roomy(), roomy(), 0};
  CHECK(sm.create_session(new_cs, Principal{2000, "b"}, 1).ok());
}

TEST_CASE("EXCHANGE_ID 18.35.4 cases 2, 3, 5 over a confirmed record") {
  Clock clock;
  StateManager sm(clock);
  auto ex = sm.exchange_id(v8(1), owner_bytes("c"), 0, 0, Principal{1000, "a"});
  REQUIRE(ex.ok());
  CreateSessionArgs cs{ex->clientid, ex->sequenceid, 0, roomy(), roomy(), 0};
  auto sess = sm.create_session(cs, Principal{1000, "a"}, 1);
  REQUIRE(sess.ok());

  // Case 2: same verifier, same principal: the same confirmed client id.
  auto same = sm.exchange_id(v8(1), owner_bytes("c"), 0, 0, Principal{1000, "a"});
  REQUIRE(same.ok());
  CHECK(same->clientid == ex->clientid);
  CHECK((same->flags & kExchgIdConfirmedR) != 0);

  // Case 3: another principal while the record has state (a session):
  // CLID_INUSE, whatever the verifier.
  auto inuse = sm.exchange_id(v8(1), owner_bytes("c"), 0, 0, Principal{2000, "a"});
  CHECK((!inuse.ok() && inuse.error() == Nfs4Stat::clid_inuse));
  auto inuse2 = sm.exchange_id(v8(9), owner_bytes("c"), 0, 0, Principal{1000, "z"});
  CHECK((!inuse2.ok() && inuse2.error() == Nfs4Stat::clid_inuse));

  // Case 3 without state: a new unconfirmed record; confirming it removes
  // the old one, whose CREATE_SESSION is then STALE_CLIENTID.
  REQUIRE(sm.destroy_session(sess->sessionid, 1) == Nfs4Stat::ok);
  auto taken = sm.exchange_id(v8(1), owner_bytes("c"), 0, 0, Principal{2000, "a"});
  REQUIRE(taken.ok());
  CHECK(taken->clientid != ex->clientid);
  CreateSessionArgs tcs{taken->clientid, taken->sequenceid, 0, roomy(), roomy(), 0};
  REQUIRE(sm.create_session(tcs, Principal{2000, "a"}, 1).ok());
  cs.sequence = ex->sequenceid + 1;
  CHECK(sm.create_session(cs, Principal{1000, "a"}, 1).error() == Nfs4Stat::stale_clientid);

  // Case 5: the (new) owner restarts: new verifier, same principal.
  auto restart = sm.exchange_id(v8(3), owner_bytes("c"), 0, 0, Principal{2000, "a"});
  REQUIRE(restart.ok());
  CHECK(restart->clientid != taken->clientid);
  CHECK((restart->flags & kExchgIdConfirmedR) == 0);
  CHECK(restart->sequenceid == 1);
  CreateSessionArgs rcs{restart->clientid, restart->sequenceid, 0, roomy(), roomy(), 0};
  REQUIRE(sm.create_session(rcs, Principal{2000, "a"}, 1).ok());
  tcs.sequence++;
  CHECK(sm.create_session(tcs, Principal{2000, "a"}, 1).error() == Nfs4Stat::stale_clientid);
  CHECK(sm.client_count() == 1);
}

TEST_CASE("RECLAIM_COMPLETE: a 4.1 client's non-reclaim OPEN and LOCK are GRACE until it is sent") {
  Clock clock;
  StateManager sm(clock);  // no database: never in grace
  REQUIRE(!sm.in_grace());
  auto ex = sm.exchange_id(v8(1), owner_bytes("rc"), 0, 0, 0);
  REQUIRE(ex.ok());
  auto cs = sm.create_session({ex->clientid, ex->sequenceid, 0, roomy(), roomy(), 0}, 0, 1);
  REQUIRE(cs.ok());
  auto seq = sm.sequence(SequenceArgs{cs->sessionid, 1, 0, 0, false}, 1);
  REQUIRE(seq.ok());
  OpenRequest req;
  req.minorversion = 1;
  req.session_client = seq->client;
  req.owner = owner_bytes("oo");
  req.access = kShareAccessBoth;
  // RFC 8881 18.51.3: before RECLAIM_COMPLETE, non-reclaim locking ops are GRACE.
  CHECK(sm.open_begin(req).status == Nfs4Stat::grace);
  req.reclaim = true;
  CHECK(sm.open_begin(req).status == Nfs4Stat::no_grace);  // and no grace to reclaim in
  req.reclaim = false;
  REQUIRE(sm.reclaim_complete(*seq->client, false) == Nfs4Stat::ok);
  auto st = sm.open_begin(req);
  REQUIRE(st.status == Nfs4Stat::ok);
  REQUIRE(sm.open_commit(st, req, FileKey{1, 10}).ok());
  // A 4.0 client has no RECLAIM_COMPLETE: its OPEN works outside grace.
  auto a = sm.setclientid(v8(1), owner_bytes("c40"), 0, 0);
  REQUIRE(a.ok());
  REQUIRE(sm.setclientid_confirm(a->clientid, a->confirm, 0) == Nfs4Stat::ok);
  OpenRequest r40;
  r40.clientid = a->clientid;
  r40.owner = owner_bytes("oo");
  r40.seqid = 1;
  r40.access = kShareAccessRead;
  CHECK(sm.open_begin(r40).status == Nfs4Stat::ok);
}

TEST_CASE("grace: non-reclaim OPEN is GRACE for everyone, even after RECLAIM_COMPLETE") {
  auto dir = std::filesystem::temp_directory_path() / ("nfs4state-" + random_hex(8));
  std::filesystem::create_directories(dir);
  auto db = meta::Db::open((dir / "meta.db").string());
  REQUIRE(db.ok());
  Clock clock;
  StateOptions o;
  o.grace_time = std::chrono::seconds(30);
  {
    StateManager before(clock, o, db->get());
    auto ex = before.exchange_id(v8(1), owner_bytes("old-1"), 0, 0, 0);
    REQUIRE(
        before.create_session({ex->clientid, ex->sequenceid, 0, roomy(), roomy(), 0}, 0, 1).ok());
    auto ex2 = before.exchange_id(v8(1), owner_bytes("old-2"), 0, 0, 0);
    REQUIRE(
        before.create_session({ex2->clientid, ex2->sequenceid, 0, roomy(), roomy(), 0}, 0, 1).ok());
  }
  StateManager sm(clock, o, db->get());
  REQUIRE(sm.in_grace());
  auto ex = sm.exchange_id(v8(2), owner_bytes("old-1"), 0, 0, 0);
  auto cs = sm.create_session({ex->clientid, ex->sequenceid, 0, roomy(), roomy(), 0}, 0, 1);
  REQUIRE(cs.ok());
  auto seq = sm.sequence(SequenceArgs{cs->sessionid, 1, 0, 0, false}, 1);
  REQUIRE(seq.ok());
  OpenRequest req;
  req.minorversion = 1;
  req.session_client = seq->client;
  req.owner = owner_bytes("oo");
  req.access = kShareAccessRead;
  req.reclaim = true;
  REQUIRE(sm.open_begin(req).status == Nfs4Stat::ok);
  REQUIRE(sm.reclaim_complete(*seq->client, false) == Nfs4Stat::ok);
  CHECK(sm.in_grace());  // old-2 has not come back yet
  // Done reclaiming, but the server is still in grace: new state is GRACE...
  req.reclaim = false;
  CHECK(sm.open_begin(req).status == Nfs4Stat::grace);
  // ... and a reclaim after RECLAIM_COMPLETE is NO_GRACE.
  req.reclaim = true;
  CHECK(sm.open_begin(req).status == Nfs4Stat::no_grace);
  // Grace over: normal opens work.
  clock.advance(std::chrono::seconds(31));
  sm.tick();
  REQUIRE(!sm.in_grace());
  req.reclaim = false;
  CHECK(sm.open_begin(req).status == Nfs4Stat::ok);
  std::filesystem::remove_all(dir);
}

}  // namespace efs::nfs4
