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
verifier4 verf(uint8_t b) {
  verifier4 v;
  v.fill(b);
  return v;
}

channel_attrs4 big_attrs() {
  return channel_attrs4{0, 4u << 20, 4u << 20, 1u << 20, 1000, 1000};
}

// A confirmed 4.1 client with one session.
struct Client41 {
  uint64_t clientid = 0;
  sessionid4 sid{};
};
Client41 make41(StateManager& sm, const std::string& owner, uint32_t uid = 1000) {
  auto ex = sm.exchange_id(verf(1), bytes(owner), 0, 0, uid);
  REQUIRE(ex.ok());
  CREATE_SESSION4args a{ex->eir_clientid, ex->eir_sequenceid, 0, big_attrs(), big_attrs(), 0};
  auto cs = sm.create_session(a, uid, 7);
  REQUIRE(cs.ok());
  return {ex->eir_clientid, cs->csr_sessionid};
}

}  // namespace

TEST_CASE("SETCLIENTID then SETCLIENTID_CONFIRM confirms; a wrong confirm is STALE_CLIENTID") {
  Clock clock;
  StateManager sm(clock);
  auto r = sm.setclientid(verf(1), bytes("linux-a"), 1000, 0x40000000);
  REQUIRE(r.ok());
  verifier4 wrong = r->setclientid_confirm;
  wrong[0] ^= 0xff;
  CHECK(sm.setclientid_confirm(r->clientid, wrong, 1000) == NFS4ERR_STALE_CLIENTID);
  CHECK(sm.renew(r->clientid) == NFS4ERR_STALE_CLIENTID);  // not confirmed yet
  CHECK(sm.setclientid_confirm(r->clientid, r->setclientid_confirm, 1000) == NFS4_OK);
  // A retransmitted confirm is fine.
  CHECK(sm.setclientid_confirm(r->clientid, r->setclientid_confirm, 1000) == NFS4_OK);
  CHECK(sm.renew(r->clientid) == NFS4_OK);
  CHECK(sm.client_count() == 1);
  // A client id from another boot.
  CHECK(sm.renew(r->clientid ^ (uint64_t(0xffff) << 40)) == NFS4ERR_STALE_CLIENTID);
}

TEST_CASE("SETCLIENTID callback update keeps the client id; a reboot gets a new one") {
  Clock clock;
  StateManager sm(clock);
  auto a = sm.setclientid(verf(1), bytes("linux-a"), 1000, 1);
  REQUIRE(a.ok());
  REQUIRE(sm.setclientid_confirm(a->clientid, a->setclientid_confirm, 1000) == NFS4_OK);
  auto upd = sm.setclientid(verf(1), bytes("linux-a"), 1000, 2);
  REQUIRE(upd.ok());
  CHECK(upd->clientid == a->clientid);
  CHECK(upd->setclientid_confirm != a->setclientid_confirm);
  CHECK(sm.setclientid_confirm(a->clientid, upd->setclientid_confirm, 1000) == NFS4_OK);
  auto reboot = sm.setclientid(verf(2), bytes("linux-a"), 1000, 2);
  REQUIRE(reboot.ok());
  CHECK(reboot->clientid != a->clientid);
  CHECK(sm.setclientid_confirm(reboot->clientid, reboot->setclientid_confirm, 1000) == NFS4_OK);
  CHECK(sm.client_count() == 1);  // the old incarnation is gone
  CHECK(sm.renew(a->clientid) == NFS4ERR_STALE_CLIENTID);
}

TEST_CASE("SETCLIENTID by another principal of an owner with state is CLID_INUSE") {
  Clock clock;
  StateManager sm(clock);
  auto a = sm.setclientid(verf(1), bytes("shared"), 1000, 0);
  REQUIRE(a.ok());
  REQUIRE(sm.setclientid_confirm(a->clientid, a->setclientid_confirm, 1000) == NFS4_OK);
  OpenRequest req;
  req.clientid = a->clientid;
  req.owner = bytes("oo");
  req.access = OPEN4_SHARE_ACCESS_READ;
  auto st = sm.open_begin(req);
  REQUIRE(st.status == NFS4_OK);
  REQUIRE(sm.open_commit(st, req, FileKey{1, 10}).ok());
  auto other = sm.setclientid(verf(1), bytes("shared"), 2000, 0);
  REQUIRE(!other.ok());
  CHECK(other.error() == NFS4ERR_CLID_INUSE);
  // The confirm of a record by a different principal is refused too.
  auto own = sm.setclientid(verf(3), bytes("mine"), 1000, 0);
  REQUIRE(own.ok());
  CHECK(sm.setclientid_confirm(own->clientid, own->setclientid_confirm, 2000) ==
        NFS4ERR_CLID_INUSE);
}

TEST_CASE("EXCHANGE_ID cases: new, same again, update, restart, bad flags") {
  Clock clock;
  StateManager sm(clock);
  auto bad = sm.exchange_id(verf(1), bytes("c"), EXCHGID4_FLAG_CONFIRMED_R, 0, 1000);
  REQUIRE(!bad.ok());
  CHECK(bad.error() == NFS4ERR_INVAL);
  auto mach = sm.exchange_id(verf(1), bytes("c"), 0, 1, 1000);
  CHECK((!mach.ok() && mach.error() == NFS4ERR_INVAL));
  auto ssv = sm.exchange_id(verf(1), bytes("c"), 0, 2, 1000);
  CHECK((!ssv.ok() && ssv.error() == NFS4ERR_ENCR_ALG_UNSUPP));
  // Update of a record that is not confirmed: NOENT (case 7/9).
  auto noent = sm.exchange_id(verf(1), bytes("c"), EXCHGID4_FLAG_UPD_CONFIRMED_REC_A, 0, 1000);
  CHECK((!noent.ok() && noent.error() == NFS4ERR_NOENT));

  auto c = make41(sm, "c");
  auto again = sm.exchange_id(verf(1), bytes("c"), 0, 0, 1000);
  REQUIRE(again.ok());
  CHECK(again->eir_clientid == c.clientid);
  CHECK((again->eir_flags & EXCHGID4_FLAG_CONFIRMED_R) != 0);
  CHECK((again->eir_flags & EXCHGID4_FLAG_USE_NON_PNFS) != 0);
  CHECK(again->eir_sequenceid == 2);

  auto upd = sm.exchange_id(verf(1), bytes("c"), EXCHGID4_FLAG_UPD_CONFIRMED_REC_A, 0, 1000);
  CHECK((upd.ok() && upd->eir_clientid == c.clientid));
  auto perm = sm.exchange_id(verf(1), bytes("c"), EXCHGID4_FLAG_UPD_CONFIRMED_REC_A, 0, 2000);
  CHECK((!perm.ok() && perm.error() == NFS4ERR_PERM));
  auto notsame = sm.exchange_id(verf(9), bytes("c"), EXCHGID4_FLAG_UPD_CONFIRMED_REC_A, 0, 1000);
  CHECK((!notsame.ok() && notsame.error() == NFS4ERR_NOT_SAME));

  // Client restart: new verifier -> a new unconfirmed client id; the old
  // session lives until CREATE_SESSION confirms the new record.
  auto restart = sm.exchange_id(verf(2), bytes("c"), 0, 0, 1000);
  REQUIRE(restart.ok());
  CHECK(restart->eir_clientid != c.clientid);
  CHECK((restart->eir_flags & EXCHGID4_FLAG_CONFIRMED_R) == 0);
  SEQUENCE4args sq{c.sid, 1, 0, 0, false};
  CHECK(sm.sequence(sq, 7).ok());
  CREATE_SESSION4args a{
      restart->eir_clientid, restart->eir_sequenceid, 0, big_attrs(), big_attrs(), 0};
  REQUIRE(sm.create_session(a, 1000, 8).ok());
  sq.sa_sequenceid = 2;
  auto gone = sm.sequence(sq, 7);
  CHECK((!gone.ok() && gone.error() == NFS4ERR_BADSESSION));
}

TEST_CASE("CREATE_SESSION: sequence ids, replay, limits negotiated down") {
  Clock clock;
  StateOptions o;
  StateManager sm(clock, o);
  auto ex = sm.exchange_id(verf(1), bytes("c"), 0, 0, 1000);
  REQUIRE(ex.ok());
  CREATE_SESSION4args a{ex->eir_clientid,
                        ex->eir_sequenceid + 1,
                        CREATE_SESSION4_FLAG_PERSIST,
                        big_attrs(),
                        big_attrs(),
                        0};
  auto mis = sm.create_session(a, 1000, 1);
  CHECK((!mis.ok() && mis.error() == NFS4ERR_SEQ_MISORDERED));
  a.csa_sequence = ex->eir_sequenceid;
  auto wrong_uid = sm.create_session(a, 0, 1);
  CHECK((!wrong_uid.ok() && wrong_uid.error() == NFS4ERR_CLID_INUSE));
  auto cs = sm.create_session(a, 1000, 1);
  REQUIRE(cs.ok());
  CHECK(cs->csr_flags == 0);  // no persistent reply cache (EFS)
  CHECK(cs->csr_fore_chan_attrs.ca_maxrequestsize == o.max_request_size);
  CHECK(cs->csr_fore_chan_attrs.ca_maxresponsesize == o.max_response_size);
  CHECK(cs->csr_fore_chan_attrs.ca_maxresponsesize_cached == o.max_response_size_cached);
  CHECK(cs->csr_fore_chan_attrs.ca_maxoperations == o.max_operations);
  CHECK(cs->csr_fore_chan_attrs.ca_maxrequests == o.max_slots);
  // The same request again: the same answer (the CREATE_SESSION replay).
  auto replay = sm.create_session(a, 1000, 1);
  REQUIRE(replay.ok());
  CHECK(replay->csr_sessionid == cs->csr_sessionid);
  // Small client values are kept.
  a.csa_sequence++;
  a.csa_fore_chan_attrs = channel_attrs4{0, 8192, 8192, 1024, 8, 4};
  auto small = sm.create_session(a, 1000, 1);
  REQUIRE(small.ok());
  CHECK(small->csr_sessionid != cs->csr_sessionid);
  CHECK(small->csr_fore_chan_attrs.ca_maxoperations == 8);
  CHECK(small->csr_fore_chan_attrs.ca_maxrequests == 4);
  CHECK(sm.create_session(CREATE_SESSION4args{12345, 1, 0, big_attrs(), big_attrs(), 0}, 1000, 1)
            .error() == NFS4ERR_STALE_CLIENTID);
}

TEST_CASE("SEQUENCE: new request, replay from the cache, misordered, bad slot, in progress") {
  Clock clock;
  StateManager sm(clock);
  auto c = make41(sm, "c");
  SEQUENCE4args sq{c.sid, 1, 3, 3, true};
  auto r1 = sm.sequence(sq, 7);
  REQUIRE(r1.ok());
  CHECK(!r1->replay);
  CHECK(r1->resok.sr_highest_slotid == 63);
  // While slot 3 runs, a retransmission waits.
  auto busy = sm.sequence(sq, 7);
  CHECK((!busy.ok() && busy.error() == NFS4ERR_DELAY));
  r1->session->store_reply(3, {1, 2, 3, 4});
  auto again = sm.sequence(sq, 7);
  REQUIRE(again.ok());
  REQUIRE(again->replay);
  CHECK(*again->replay == std::vector<uint8_t>{1, 2, 3, 4});
  sq.sa_sequenceid = 5;
  CHECK(sm.sequence(sq, 7).error() == NFS4ERR_SEQ_MISORDERED);
  sq.sa_sequenceid = 2;
  REQUIRE(sm.sequence(sq, 7).ok());
  // A reply too big for the cache is not kept: a retry is RETRY_UNCACHED_REP.
  r1->session->store_reply(3, std::vector<uint8_t>(r1->session->max_response_cached() + 1));
  CHECK(sm.sequence(sq, 7).error() == NFS4ERR_RETRY_UNCACHED_REP);
  sq.sa_slotid = 64;
  sq.sa_sequenceid = 1;
  CHECK(sm.sequence(sq, 7).error() == NFS4ERR_BADSLOT);
  sessionid4 nosuch{};
  CHECK(sm.sequence(SEQUENCE4args{nosuch, 1, 0, 0, false}, 7).error() == NFS4ERR_BADSESSION);
}

TEST_CASE("DESTROY_CLIENTID is CLIENTID_BUSY while a session remains") {
  Clock clock;
  StateManager sm(clock);
  auto c = make41(sm, "c");
  CHECK(sm.destroy_clientid(c.clientid) == NFS4ERR_CLIENTID_BUSY);
  auto b = sm.bind_conn_to_session(c.sid, CDFC4_BACK_OR_BOTH, 9);
  CHECK((b.ok() && *b == CDFS4_BOTH));
  CHECK(sm.bind_conn_to_session(c.sid, static_cast<channel_dir_from_client4>(5), 9).error() ==
        NFS4ERR_INVAL);
  CHECK(sm.destroy_session(c.sid, 7) == NFS4_OK);
  CHECK(sm.destroy_session(c.sid, 7) == NFS4ERR_BADSESSION);
  CHECK(sm.destroy_clientid(c.clientid) == NFS4_OK);
  CHECK(sm.destroy_clientid(c.clientid) == NFS4ERR_STALE_CLIENTID);
  CHECK(sm.client_count() == 0);
}

TEST_CASE("lease expiry releases a 4.0 client's state: EXPIRED afterwards") {
  Clock clock;
  StateOptions o;
  o.lease_time = std::chrono::seconds(10);
  StateManager sm(clock, o);
  auto a = sm.setclientid(verf(1), bytes("c40"), 1000, 0);
  REQUIRE(a.ok());
  REQUIRE(sm.setclientid_confirm(a->clientid, a->setclientid_confirm, 1000) == NFS4_OK);
  OpenRequest req;
  req.clientid = a->clientid;
  req.owner = bytes("oo");
  req.seqid = 1;
  req.access = OPEN4_SHARE_ACCESS_BOTH;
  auto st = sm.open_begin(req);
  REQUIRE(st.status == NFS4_OK);
  auto g = sm.open_commit(st, req, FileKey{1, 10});
  REQUIRE(g.ok());
  clock.advance(std::chrono::seconds(6));
  CHECK(sm.renew(a->clientid) == NFS4_OK);
  clock.advance(std::chrono::seconds(6));
  sm.tick();
  CHECK(sm.open_count() == 1);  // renewed 6 s ago: still alive
  clock.advance(std::chrono::seconds(11));
  sm.tick();
  CHECK(sm.open_count() == 0);
  CHECK(sm.client_count() == 0);
  CHECK(sm.renew(a->clientid) == NFS4ERR_EXPIRED);
  CHECK(sm.check_io_stateid(g->sid, FileKey{1, 10}, false, 0, nullptr) == NFS4ERR_EXPIRED);
}

TEST_CASE("lease expiry of a 4.1 client drops its sessions: BADSESSION") {
  Clock clock;
  StateOptions o;
  o.lease_time = std::chrono::seconds(10);
  StateManager sm(clock, o);
  auto c = make41(sm, "c");
  clock.advance(std::chrono::seconds(8));
  REQUIRE(sm.sequence(SEQUENCE4args{c.sid, 1, 0, 0, false}, 7).ok());  // renews
  clock.advance(std::chrono::seconds(8));
  sm.tick();
  CHECK(sm.client_count() == 1);
  clock.advance(std::chrono::seconds(11));
  sm.tick();
  CHECK(sm.client_count() == 0);
  CHECK(sm.sequence(SEQUENCE4args{c.sid, 2, 0, 0, false}, 7).error() == NFS4ERR_BADSESSION);
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
  auto seq = sm.sequence(SEQUENCE4args{oldc.sid, 1, 0, 0, false}, 7);
  REQUIRE(seq.ok());
  auto seq_new = sm.sequence(SEQUENCE4args{newc.sid, 1, 0, 0, false}, 7);
  REQUIRE(seq_new.ok());

  OpenRequest req;
  req.minorversion = 1;
  req.owner = bytes("oo");
  req.access = OPEN4_SHARE_ACCESS_READ;
  req.session_client = seq_new->client;
  CHECK(sm.open_begin(req).status == NFS4ERR_GRACE);
  req.reclaim = true;
  CHECK(sm.open_begin(req).status == NFS4ERR_NO_GRACE);  // never held state here
  req.session_client = seq->client;
  auto st = sm.open_begin(req);
  REQUIRE(st.status == NFS4_OK);
  REQUIRE(sm.open_commit(st, req, FileKey{1, 10}).ok());
  CHECK(sm.reclaim_complete(*seq->client, false) == NFS4_OK);
  CHECK(sm.reclaim_complete(*seq->client, false) == NFS4ERR_COMPLETE_ALREADY);
  // Every client that held state said it is done: grace ends early.
  CHECK(!sm.in_grace());
  CHECK(sm.open_begin(req).status == NFS4ERR_NO_GRACE);
  req.reclaim = false;
  CHECK(sm.open_begin(req).status == NFS4_OK);
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
    REQUIRE(before.setclientid_confirm(a->clientid, a->setclientid_confirm, 0) == NFS4_OK);
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
verifier4 v8(uint8_t b) {
  verifier4 v;
  v.fill(b);
  return v;
}
channel_attrs4 roomy() {
  return channel_attrs4{0, 1u << 20, 1u << 20, 8192, 16, 8};
}

}  // namespace

TEST_CASE("SETCLIENTID reboot: the old client's opens and locks go, its stateids are EXPIRED") {
  Clock clock;
  StateManager sm(clock);
  auto a = sm.setclientid(v8(1), owner_bytes("rebooter"), 0, 0);
  REQUIRE(a.ok());
  REQUIRE(sm.setclientid_confirm(a->clientid, a->setclientid_confirm, 0) == NFS4_OK);
  OpenRequest req;
  req.clientid = a->clientid;
  req.owner = owner_bytes("oo");
  req.seqid = 1;
  req.access = OPEN4_SHARE_ACCESS_BOTH;
  auto st = sm.open_begin(req);
  REQUIRE(st.status == NFS4_OK);
  auto g = sm.open_commit(st, req, FileKey{1, 10});
  REQUIRE(g.ok());
  sm.owner_reply(st.owner, 1, NFS4_OK, OwnerReply{});
  auto conf = sm.open_confirm(g->sid, 2, FileKey{1, 10});
  REQUIRE(conf.status == NFS4_OK);
  sm.owner_reply(conf.seqid_owner, 2, NFS4_OK, OwnerReply{});
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
  REQUIRE(lk.status == NFS4_OK);
  CHECK(sm.open_count() == 1);
  CHECK(sm.lock_range_count(FileKey{1, 10}) == 1);
  // The client reboots: same id string, new verifier.
  auto b = sm.setclientid(v8(2), owner_bytes("rebooter"), 0, 0);
  REQUIRE(b.ok());
  CHECK(sm.open_count() == 1);  // RFC 7530 16.33.5: nothing goes before the confirm
  REQUIRE(sm.setclientid_confirm(b->clientid, b->setclientid_confirm, 0) == NFS4_OK);
  CHECK(sm.open_count() == 0);
  CHECK(sm.lock_range_count(FileKey{1, 10}) == 0);
  CHECK(sm.check_io_stateid(conf.sid, FileKey{1, 10}, false, 0, nullptr) == NFS4ERR_EXPIRED);
  CHECK(sm.check_io_stateid(lk.sid, FileKey{1, 10}, true, 0, nullptr) == NFS4ERR_EXPIRED);
  auto cl = sm.close(conf.sid, 3, FileKey{1, 10}, 0, nullptr);
  CHECK(cl.status == NFS4ERR_EXPIRED);
  CHECK(sm.renew(a->clientid) == NFS4ERR_STALE_CLIENTID);
  CHECK(sm.renew(b->clientid) == NFS4_OK);
}

TEST_CASE("CREATE_SESSION: TOOSMALL fore channel, INVAL flags, checked before the client id") {
  Clock clock;
  StateManager sm(clock);
  auto ex = sm.exchange_id(v8(1), owner_bytes("cs"), 0, 0, 1000);
  REQUIRE(ex.ok());
  CREATE_SESSION4args a{ex->eir_clientid, ex->eir_sequenceid, 0, roomy(), roomy(), 0};
  a.csa_fore_chan_attrs.ca_maxrequestsize = 20;
  CHECK(sm.create_session(a, 1000, 1).error() == NFS4ERR_TOOSMALL);
  a.csa_fore_chan_attrs.ca_maxrequestsize = kMinForeRequestSize - 1;
  CHECK(sm.create_session(a, 1000, 1).error() == NFS4ERR_TOOSMALL);
  a.csa_fore_chan_attrs = roomy();
  a.csa_fore_chan_attrs.ca_maxresponsesize = 0;
  CHECK(sm.create_session(a, 1000, 1).error() == NFS4ERR_TOOSMALL);
  a.csa_fore_chan_attrs.ca_maxresponsesize = kMinForeResponseSize - 1;
  CHECK(sm.create_session(a, 1000, 1).error() == NFS4ERR_TOOSMALL);
  a.csa_fore_chan_attrs = roomy();
  a.csa_flags = 0x8;  // not CREATE_SESSION4_FLAG_PERSIST / CONN_BACK_CHAN / CONN_RDMA
  CHECK(sm.create_session(a, 1000, 1).error() == NFS4ERR_INVAL);
  a.csa_flags = 0x80000000u;
  CHECK(sm.create_session(a, 1000, 1).error() == NFS4ERR_INVAL);
  // Bad arguments are refused even for an unknown client id.
  CREATE_SESSION4args unknown{12345, 1, 0x10, roomy(), roomy(), 0};
  CHECK(sm.create_session(unknown, 1000, 1).error() == NFS4ERR_INVAL);
  // None of that used the CREATE_SESSION sequence id: the right one works.
  a.csa_flags = CREATE_SESSION4_FLAG_PERSIST;  // defined, though not granted
  a.csa_fore_chan_attrs.ca_maxrequestsize = kMinForeRequestSize;
  a.csa_fore_chan_attrs.ca_maxresponsesize = kMinForeResponseSize;
  auto ok = sm.create_session(a, 1000, 1);
  REQUIRE(ok.ok());
  CHECK(ok->csr_flags == 0);
}

TEST_CASE("CREATE_SESSION principal: unconfirmed needs the creator, a confirmed client any") {
  Clock clock;
  StateManager sm(clock);
  auto ex = sm.exchange_id(v8(1), owner_bytes("p"), 0, 0, Principal{1000, "host-a"});
  REQUIRE(ex.ok());
  CREATE_SESSION4args a{ex->eir_clientid, ex->eir_sequenceid, 0, roomy(), roomy(), 0};
  // AUTH_SYS principal is uid and machine name: another machine is another principal.
  CHECK(sm.create_session(a, Principal{1000, "host-b"}, 1).error() == NFS4ERR_CLID_INUSE);
  CHECK(sm.create_session(a, Principal{2000, "host-a"}, 1).error() == NFS4ERR_CLID_INUSE);
  auto first = sm.create_session(a, Principal{1000, "host-a"}, 1);
  REQUIRE(first.ok());
  // RFC 8881 18.36.4: confirmed, SP4_NONE: a further session under another principal.
  a.csa_sequence++;
  auto second = sm.create_session(a, Principal{0, "host-a"}, 2);
  REQUIRE(second.ok());
  CHECK(second->csr_sessionid != first->csr_sessionid);
}

TEST_CASE("EXCHANGE_ID: undefined eia_flags bits are INVAL, 4.2's SUPP_FENCE_OPS included") {
  Clock clock;
  StateManager sm(clock);
  for (uint32_t bad : {0x4u, 0x8u, 0x200u, 0x80000u, 0x1000000u, EXCHGID4_FLAG_CONFIRMED_R}) {
    auto r = sm.exchange_id(v8(1), owner_bytes("f"), bad, 0, 1000);
    CHECK_MESSAGE((!r.ok() && r.error() == NFS4ERR_INVAL), "flags ", bad);
  }
  auto ok = sm.exchange_id(v8(1), owner_bytes("f"),
                           EXCHGID4_FLAG_SUPP_MOVED_REFER | EXCHGID4_FLAG_SUPP_MOVED_MIGR |
                               EXCHGID4_FLAG_BIND_PRINC_STATEID | EXCHGID4_FLAG_USE_NON_PNFS,
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
  CHECK(retry->eir_clientid != first->eir_clientid);
  // New verifier and new principal: replaced again.
  auto other = sm.exchange_id(v8(2), owner_bytes("u"), 0, 0, Principal{2000, "b"});
  REQUIRE(other.ok());
  CHECK(other->eir_clientid != retry->eir_clientid);
  CHECK((other->eir_flags & EXCHGID4_FLAG_CONFIRMED_R) == 0);
  CREATE_SESSION4args old_cs{retry->eir_clientid, retry->eir_sequenceid, 0, roomy(), roomy(), 0};
  CHECK(sm.create_session(old_cs, Principal{1000, "a"}, 1).error() == NFS4ERR_STALE_CLIENTID);
  CREATE_SESSION4args new_cs{other->eir_clientid, other->eir_sequenceid, 0, roomy(), roomy(), 0};
  CHECK(sm.create_session(new_cs, Principal{2000, "b"}, 1).ok());
}

TEST_CASE("EXCHANGE_ID 18.35.4 cases 2, 3, 5 over a confirmed record") {
  Clock clock;
  StateManager sm(clock);
  auto ex = sm.exchange_id(v8(1), owner_bytes("c"), 0, 0, Principal{1000, "a"});
  REQUIRE(ex.ok());
  CREATE_SESSION4args cs{ex->eir_clientid, ex->eir_sequenceid, 0, roomy(), roomy(), 0};
  auto sess = sm.create_session(cs, Principal{1000, "a"}, 1);
  REQUIRE(sess.ok());

  // Case 2: same verifier, same principal: the same confirmed client id.
  auto same = sm.exchange_id(v8(1), owner_bytes("c"), 0, 0, Principal{1000, "a"});
  REQUIRE(same.ok());
  CHECK(same->eir_clientid == ex->eir_clientid);
  CHECK((same->eir_flags & EXCHGID4_FLAG_CONFIRMED_R) != 0);

  // Case 3: another principal while the record has state (a session):
  // CLID_INUSE, whatever the verifier.
  auto inuse = sm.exchange_id(v8(1), owner_bytes("c"), 0, 0, Principal{2000, "a"});
  CHECK((!inuse.ok() && inuse.error() == NFS4ERR_CLID_INUSE));
  auto inuse2 = sm.exchange_id(v8(9), owner_bytes("c"), 0, 0, Principal{1000, "z"});
  CHECK((!inuse2.ok() && inuse2.error() == NFS4ERR_CLID_INUSE));

  // Case 3 without state: a new unconfirmed record; confirming it removes
  // the old one, whose CREATE_SESSION is then STALE_CLIENTID.
  REQUIRE(sm.destroy_session(sess->csr_sessionid, 1) == NFS4_OK);
  auto taken = sm.exchange_id(v8(1), owner_bytes("c"), 0, 0, Principal{2000, "a"});
  REQUIRE(taken.ok());
  CHECK(taken->eir_clientid != ex->eir_clientid);
  CREATE_SESSION4args tcs{taken->eir_clientid, taken->eir_sequenceid, 0, roomy(), roomy(), 0};
  REQUIRE(sm.create_session(tcs, Principal{2000, "a"}, 1).ok());
  cs.csa_sequence = ex->eir_sequenceid + 1;
  CHECK(sm.create_session(cs, Principal{1000, "a"}, 1).error() == NFS4ERR_STALE_CLIENTID);

  // Case 5: the (new) owner restarts: new verifier, same principal.
  auto restart = sm.exchange_id(v8(3), owner_bytes("c"), 0, 0, Principal{2000, "a"});
  REQUIRE(restart.ok());
  CHECK(restart->eir_clientid != taken->eir_clientid);
  CHECK((restart->eir_flags & EXCHGID4_FLAG_CONFIRMED_R) == 0);
  CHECK(restart->eir_sequenceid == 1);
  CREATE_SESSION4args rcs{restart->eir_clientid, restart->eir_sequenceid, 0, roomy(), roomy(), 0};
  REQUIRE(sm.create_session(rcs, Principal{2000, "a"}, 1).ok());
  tcs.csa_sequence++;
  CHECK(sm.create_session(tcs, Principal{2000, "a"}, 1).error() == NFS4ERR_STALE_CLIENTID);
  CHECK(sm.client_count() == 1);
}

TEST_CASE("RECLAIM_COMPLETE: a 4.1 client's non-reclaim OPEN and LOCK are GRACE until it is sent") {
  Clock clock;
  StateManager sm(clock);  // no database: never in grace
  REQUIRE(!sm.in_grace());
  auto ex = sm.exchange_id(v8(1), owner_bytes("rc"), 0, 0, 0);
  REQUIRE(ex.ok());
  auto cs = sm.create_session({ex->eir_clientid, ex->eir_sequenceid, 0, roomy(), roomy(), 0}, 0, 1);
  REQUIRE(cs.ok());
  auto seq = sm.sequence(SEQUENCE4args{cs->csr_sessionid, 1, 0, 0, false}, 1);
  REQUIRE(seq.ok());
  OpenRequest req;
  req.minorversion = 1;
  req.session_client = seq->client;
  req.owner = owner_bytes("oo");
  req.access = OPEN4_SHARE_ACCESS_BOTH;
  // RFC 8881 18.51.3: before RECLAIM_COMPLETE, non-reclaim locking ops are GRACE.
  CHECK(sm.open_begin(req).status == NFS4ERR_GRACE);
  req.reclaim = true;
  CHECK(sm.open_begin(req).status == NFS4ERR_NO_GRACE);  // and no grace to reclaim in
  req.reclaim = false;
  REQUIRE(sm.reclaim_complete(*seq->client, false) == NFS4_OK);
  auto st = sm.open_begin(req);
  REQUIRE(st.status == NFS4_OK);
  REQUIRE(sm.open_commit(st, req, FileKey{1, 10}).ok());
  // A 4.0 client has no RECLAIM_COMPLETE: its OPEN works outside grace.
  auto a = sm.setclientid(v8(1), owner_bytes("c40"), 0, 0);
  REQUIRE(a.ok());
  REQUIRE(sm.setclientid_confirm(a->clientid, a->setclientid_confirm, 0) == NFS4_OK);
  OpenRequest r40;
  r40.clientid = a->clientid;
  r40.owner = owner_bytes("oo");
  r40.seqid = 1;
  r40.access = OPEN4_SHARE_ACCESS_READ;
  CHECK(sm.open_begin(r40).status == NFS4_OK);
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
        before.create_session({ex->eir_clientid, ex->eir_sequenceid, 0, roomy(), roomy(), 0}, 0, 1)
            .ok());
    auto ex2 = before.exchange_id(v8(1), owner_bytes("old-2"), 0, 0, 0);
    REQUIRE(
        before
            .create_session({ex2->eir_clientid, ex2->eir_sequenceid, 0, roomy(), roomy(), 0}, 0, 1)
            .ok());
  }
  StateManager sm(clock, o, db->get());
  REQUIRE(sm.in_grace());
  auto ex = sm.exchange_id(v8(2), owner_bytes("old-1"), 0, 0, 0);
  auto cs = sm.create_session({ex->eir_clientid, ex->eir_sequenceid, 0, roomy(), roomy(), 0}, 0, 1);
  REQUIRE(cs.ok());
  auto seq = sm.sequence(SEQUENCE4args{cs->csr_sessionid, 1, 0, 0, false}, 1);
  REQUIRE(seq.ok());
  OpenRequest req;
  req.minorversion = 1;
  req.session_client = seq->client;
  req.owner = owner_bytes("oo");
  req.access = OPEN4_SHARE_ACCESS_READ;
  req.reclaim = true;
  REQUIRE(sm.open_begin(req).status == NFS4_OK);
  REQUIRE(sm.reclaim_complete(*seq->client, false) == NFS4_OK);
  CHECK(sm.in_grace());  // old-2 has not come back yet
  // Done reclaiming, but the server is still in grace: new state is GRACE...
  req.reclaim = false;
  CHECK(sm.open_begin(req).status == NFS4ERR_GRACE);
  // ... and a reclaim after RECLAIM_COMPLETE is NO_GRACE.
  req.reclaim = true;
  CHECK(sm.open_begin(req).status == NFS4ERR_NO_GRACE);
  // Grace over: normal opens work.
  clock.advance(std::chrono::seconds(31));
  sm.tick();
  REQUIRE(!sm.in_grace());
  req.reclaim = false;
  CHECK(sm.open_begin(req).status == NFS4_OK);
  std::filesystem::remove_all(dir);
}

}  // namespace efs::nfs4
