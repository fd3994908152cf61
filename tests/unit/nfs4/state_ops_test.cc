// The state ops through real COMPOUNDs (the loop, the vfs and the state layer
// together): 4.0 SETCLIENTID / OPEN / OPEN_CONFIRM / LOCK / CLOSE with owner
// seqid replay, and 4.1 sessions with the current stateid.
#include <doctest/doctest.h>

#include "fixture.h"
#include "nfs4/attrs.h"
#include "nfs4/state/state_manager.h"

namespace efs::nfs4::test {

namespace {

std::vector<uint8_t> bytes(const std::string& s) {
  return {s.begin(), s.end()};
}

nfs_argop4 open_create(uint64_t clientid, const std::string& owner, uint32_t seqid,
                       const std::string& name, uint32_t access = OPEN4_SHARE_ACCESS_BOTH) {
  auto a = op(OP_OPEN);
  a.opopen.seqid = seqid;
  a.opopen.share_access = access;
  a.opopen.share_deny = OPEN4_SHARE_DENY_NONE;
  a.opopen.owner.clientid = clientid;
  a.opopen.owner.owner = bytes(owner);
  a.opopen.openhow.opentype = OPEN4_CREATE;
  a.opopen.openhow.how.mode = UNCHECKED4;
  a.opopen.claim.claim = CLAIM_NULL;
  a.opopen.claim.file = name;
  return a;
}

nfs_argop4 with_stateid(nfs_argop4 a, const stateid4& s) {
  if (a.argop == OP_WRITE) a.opwrite.stateid = s;
  if (a.argop == OP_READ) a.opread.stateid = s;
  return a;
}

struct Client40 : Fixture {
  uint64_t clientid = 0;
  Client40() {
    auto sc = op(OP_SETCLIENTID);
    sc.opsetclientid.client.id = bytes("linux-client-1");
    auto r = run({sc});
    REQUIRE(r.status == NFS4_OK);
    clientid = r.resarray[0].opsetclientid.resok4.clientid;
    auto cf = op(OP_SETCLIENTID_CONFIRM);
    cf.opsetclientid_confirm.clientid = clientid;
    cf.opsetclientid_confirm.setclientid_confirm =
        r.resarray[0].opsetclientid.resok4.setclientid_confirm;
    REQUIRE(run({cf}).status == NFS4_OK);
  }
};

}  // namespace

TEST_CASE("4.0 compound: OPEN creates, OPEN_CONFIRM, WRITE/READ by stateid, CLOSE") {
  Client40 f;
  auto r = f.run({putfh(f.fh_of({})), open_create(f.clientid, "oo", 1, "a.txt"), getfh()});
  REQUIRE(r.status == NFS4_OK);
  const auto& ok = r.resarray[1].opopen.resok4;
  CHECK((ok.rflags & OPEN4_RESULT_CONFIRM) != 0);
  CHECK((ok.rflags & OPEN4_RESULT_LOCKTYPE_POSIX) != 0);
  CHECK(ok.delegation.delegation_type == OPEN_DELEGATE_NONE);
  CHECK(ok.cinfo.after != ok.cinfo.before);
  nfs_fh4 fh = r.resarray[2].opgetfh.resok4.object;
  stateid4 sid = ok.stateid;

  // A retransmitted OPEN (same seqid) is answered from the owner's cache.
  auto again = f.run({putfh(f.fh_of({})), open_create(f.clientid, "oo", 1, "a.txt")});
  REQUIRE(again.status == NFS4_OK);
  CHECK(again.resarray[1].opopen.resok4.stateid.other == sid.other);
  CHECK(again.resarray[1].opopen.resok4.stateid.seqid == sid.seqid);

  auto conf = op(OP_OPEN_CONFIRM);
  conf.opopen_confirm.open_stateid = sid;
  conf.opopen_confirm.seqid = 2;
  auto rc = f.run({putfh(fh), conf});
  REQUIRE(rc.status == NFS4_OK);
  sid = rc.resarray[1].opopen_confirm.resok4.open_stateid;
  CHECK(sid.seqid == 2);

  auto w = f.run({putfh(fh), with_stateid(write(0, "hello"), sid)});
  CHECK(w.status == NFS4_OK);
  auto rd = f.run({putfh(fh), with_stateid(read(0, 5), sid)});
  REQUIRE(rd.status == NFS4_OK);
  auto& data = rd.resarray[1].opread.resok4.data;
  CHECK(std::string(data.begin(), data.end()) == "hello");
  stateid4 bogus = sid;
  bogus.other[11] ^= 0x5a;
  CHECK(f.run({putfh(fh), with_stateid(read(0, 5), bogus)}).status == NFS4ERR_BAD_STATEID);

  auto cl = op(OP_CLOSE);
  cl.opclose.seqid = 3;
  cl.opclose.open_stateid = sid;
  auto rcl = f.run({putfh(fh), cl});
  REQUIRE(rcl.status == NFS4_OK);
  CHECK(f.server->state().open_count() == 0);
  // The same CLOSE again is a replay, not BAD_STATEID.
  CHECK(f.run({putfh(fh), cl}).status == NFS4_OK);
  // A stale seqid is BAD_SEQID.
  cl.opclose.seqid = 9;
  CHECK(f.run({putfh(fh), cl}).status == NFS4ERR_BAD_SEQID);
}

TEST_CASE("4.0 compound: deny and delegation claims are NOTSUPP (EFS)") {
  Client40 f;
  auto o = open_create(f.clientid, "oo", 1, "b.txt");
  o.opopen.share_deny = OPEN4_SHARE_DENY_WRITE;
  CHECK(f.run({putfh(f.fh_of({})), o}).status == NFS4ERR_NOTSUPP);
  auto d = open_create(f.clientid, "oo2", 1, "b.txt");
  d.opopen.claim.claim = CLAIM_DELEGATE_CUR;
  CHECK(f.run({putfh(f.fh_of({})), d}).status == NFS4ERR_NOTSUPP);
  auto nofh = open_create(f.clientid, "oo3", 1, "b.txt");
  CHECK(f.run({nofh}).status == NFS4ERR_NOFILEHANDLE);
  auto purge = op(OP_DELEGPURGE);
  CHECK(f.run({purge}).status == NFS4ERR_NOTSUPP);
}

TEST_CASE("4.0 compound: LOCK, conflicting LOCKT, LOCKU") {
  Client40 f;
  auto r = f.run({putfh(f.fh_of({})), open_create(f.clientid, "oo", 1, "l.txt"), getfh()});
  REQUIRE(r.status == NFS4_OK);
  nfs_fh4 fh = r.resarray[2].opgetfh.resok4.object;
  auto conf = op(OP_OPEN_CONFIRM);
  conf.opopen_confirm.open_stateid = r.resarray[1].opopen.resok4.stateid;
  conf.opopen_confirm.seqid = 2;
  auto rc = f.run({putfh(fh), conf});
  REQUIRE(rc.status == NFS4_OK);
  stateid4 osid = rc.resarray[1].opopen_confirm.resok4.open_stateid;

  auto lk = op(OP_LOCK);
  lk.oplock.locktype = WRITEW_LT;
  lk.oplock.offset = 0;
  lk.oplock.length = 0xffffffffffffffffull;
  lk.oplock.locker.new_lock_owner = true;
  lk.oplock.locker.open_owner.open_seqid = 3;
  lk.oplock.locker.open_owner.open_stateid = osid;
  lk.oplock.locker.open_owner.lock_seqid = 0;
  lk.oplock.locker.open_owner.lock_owner.clientid = f.clientid;
  lk.oplock.locker.open_owner.lock_owner.owner = bytes("pid-1");
  auto rl = f.run({putfh(fh), lk});
  REQUIRE(rl.status == NFS4_OK);
  stateid4 lsid = rl.resarray[1].oplock.resok4.lock_stateid;

  auto t = op(OP_LOCKT);
  t.oplockt.locktype = READ_LT;
  t.oplockt.offset = 100;
  t.oplockt.length = 1;
  t.oplockt.owner.clientid = f.clientid;
  t.oplockt.owner.owner = bytes("pid-2");
  auto rt = f.run({putfh(fh), t});
  CHECK(rt.status == NFS4ERR_DENIED);
  CHECK(rt.resarray[1].oplockt.denied.locktype == WRITE_LT);
  CHECK(rt.resarray[1].oplockt.denied.owner.owner == bytes("pid-1"));

  auto u = op(OP_LOCKU);
  u.oplocku.locktype = WRITE_LT;
  u.oplocku.seqid = 1;
  u.oplocku.lock_stateid = lsid;
  u.oplocku.offset = 0;
  u.oplocku.length = 0xffffffffffffffffull;
  REQUIRE(f.run({putfh(fh), u}).status == NFS4_OK);
  CHECK(f.run({putfh(fh), t}).status == NFS4_OK);
  auto rel = op(OP_RELEASE_LOCKOWNER);
  rel.oprelease_lockowner.lock_owner.clientid = f.clientid;
  rel.oprelease_lockowner.lock_owner.owner = bytes("pid-1");
  CHECK(f.run({rel}).status == NFS4_OK);
}

TEST_CASE("4.1 compound: EXCHANGE_ID, CREATE_SESSION, OPEN + WRITE + CLOSE by current stateid") {
  Fixture f;
  auto ex = op(OP_EXCHANGE_ID);
  ex.opexchange_id.eia_clientowner.co_ownerid = bytes("linux-41");
  ex.opexchange_id.eia_state_protect.spa_how = SP4_NONE;
  auto r1 = f.run({ex}, 1);
  REQUIRE(r1.status == NFS4_OK);
  const auto& eok = r1.resarray[0].opexchange_id.eir_resok4;
  CHECK((eok.eir_flags & EXCHGID4_FLAG_USE_NON_PNFS) != 0);
  CHECK(std::string(eok.eir_server_scope.begin(), eok.eir_server_scope.end()) == "efs-local");
  auto cs = op(OP_CREATE_SESSION);
  cs.opcreate_session.csa_clientid = eok.eir_clientid;
  cs.opcreate_session.csa_sequence = eok.eir_sequenceid;
  auto& fore = cs.opcreate_session.csa_fore_chan_attrs;
  fore.ca_maxrequestsize = 1 << 20;
  fore.ca_maxresponsesize = 1 << 20;
  fore.ca_maxresponsesize_cached = 8192;
  fore.ca_maxoperations = 16;
  fore.ca_maxrequests = 8;
  cs.opcreate_session.csa_back_chan_attrs = fore;
  auto r2 = f.run({cs}, 1);
  REQUIRE(r2.status == NFS4_OK);
  sessionid4 sid = r2.resarray[0].opcreate_session.csr_resok4.csr_sessionid;
  auto seq = [&](uint32_t n) {
    auto s = op(OP_SEQUENCE);
    s.opsequence.sa_sessionid = sid;
    s.opsequence.sa_sequenceid = n;
    return s;
  };
  // Before RECLAIM_COMPLETE a fresh server is not in grace: OPEN works.
  auto rc = op(OP_RECLAIM_COMPLETE);
  CHECK(f.run({seq(1), rc}, 1).status == NFS4_OK);
  CHECK(f.run({seq(2), rc}, 1).status == NFS4ERR_COMPLETE_ALREADY);

  auto o = open_create(0, "oo41", 0, "c.txt");
  o.opopen.share_access = OPEN4_SHARE_ACCESS_BOTH | OPEN4_SHARE_ACCESS_WANT_NO_DELEG;
  stateid4 current{};
  current.seqid = 1;  // the special "current stateid" (RFC 8881 16.2.3.1.2)
  auto cl = op(OP_CLOSE);
  cl.opclose.open_stateid = current;
  auto r3 = f.run({seq(3), putfh(f.fh_of({})), o, with_stateid(write(0, "x41"), current), cl}, 1);
  REQUIRE(r3.status == NFS4_OK);
  const auto& ook = r3.resarray[2].opopen.resok4;
  CHECK((ook.rflags & OPEN4_RESULT_CONFIRM) == 0);
  CHECK(ook.delegation.delegation_type == OPEN_DELEGATE_NONE_EXT);
  CHECK(ook.delegation.od_whynone.ond_why == WND4_NOT_WANTED);
  CHECK(r3.resarray[4].opclose.open_stateid.seqid == 0xffffffffu);
  CHECK(f.server->state().open_count() == 0);
  // The current stateid is not set at the start of a compound.
  auto r4 = f.run({seq(4), putfh(f.fh_of({"c.txt"})), with_stateid(read(0, 3), current)}, 1);
  CHECK(r4.status == NFS4ERR_BAD_STATEID);

  auto ds = op(OP_DESTROY_SESSION);
  ds.opdestroy_session.dsa_sessionid = sid;
  CHECK(f.run({ds}, 1).status == NFS4_OK);
  auto dc = op(OP_DESTROY_CLIENTID);
  dc.opdestroy_clientid.dca_clientid = eok.eir_clientid;
  CHECK(f.run({dc}, 1).status == NFS4_OK);
}

}  // namespace efs::nfs4::test
