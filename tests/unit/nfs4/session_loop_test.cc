// The COMPOUND loop's 4.1 session rules with the real state layer:
// ca_maxoperations, ca_maxresponsesize, the reply cache, SEQUENCE position.
#include <doctest/doctest.h>

#include "fixture.h"
#include "nfs4/attrs.h"

namespace efs::nfs4::test {

namespace {

struct SessionFixture : Fixture {
  sessionid4 sid{};
  uint32_t seq = 0;

  void open_session(uint32_t max_ops, uint32_t max_response) {
    auto ex = op(OP_EXCHANGE_ID);
    std::string owner = "loop-test";
    ex.opexchange_id.eia_clientowner.co_ownerid.assign(owner.begin(), owner.end());
    ex.opexchange_id.eia_state_protect.spa_how = SP4_NONE;
    auto r1 = run({ex}, 1);
    REQUIRE(r1.status == NFS4_OK);
    const auto& ok = r1.resarray[0].opexchange_id.eir_resok4;
    auto cs = op(OP_CREATE_SESSION);
    cs.opcreate_session.csa_clientid = ok.eir_clientid;
    cs.opcreate_session.csa_sequence = ok.eir_sequenceid;
    auto& fore = cs.opcreate_session.csa_fore_chan_attrs;
    fore.ca_maxrequestsize = 1 << 20;
    fore.ca_maxresponsesize = max_response;
    fore.ca_maxresponsesize_cached = 4096;
    fore.ca_maxoperations = max_ops;
    fore.ca_maxrequests = 4;
    cs.opcreate_session.csa_back_chan_attrs = fore;
    auto r2 = run({cs}, 1);
    REQUIRE(r2.status == NFS4_OK);
    sid = r2.resarray[0].opcreate_session.csr_resok4.csr_sessionid;
  }

  nfs_argop4 sequence(bool cachethis = false, uint32_t seqid = 0) {
    auto s = op(OP_SEQUENCE);
    s.opsequence.sa_sessionid = sid;
    s.opsequence.sa_sequenceid = seqid ? seqid : ++seq;
    s.opsequence.sa_slotid = 0;
    s.opsequence.sa_highest_slotid = 0;
    s.opsequence.sa_cachethis = cachethis;
    return s;
  }
};

}  // namespace

TEST_CASE("4.1: SEQUENCE then file-system ops") {
  SessionFixture f;
  f.open_session(16, 1 << 20);
  auto res = f.run({f.sequence(), putrootfh(), lookup(f.fs_id), getattr({A_type})}, 1);
  CHECK(res.status == NFS4_OK);
  CHECK(res.resarray.size() == 4);
}

TEST_CASE("4.1: SEQUENCE anywhere but first is SEQUENCE_POS") {
  SessionFixture f;
  f.open_session(16, 1 << 20);
  auto res = f.run({f.sequence(), putrootfh(), f.sequence()}, 1);
  CHECK(res.status == NFS4ERR_SEQUENCE_POS);
  CHECK(res.resarray.size() == 3);
}

TEST_CASE("4.1: more ops than ca_maxoperations is TOO_MANY_OPS") {
  SessionFixture f;
  f.open_session(4, 1 << 20);
  auto res = f.run({f.sequence(), putrootfh(), getfh(), getfh(), getfh(), getfh()}, 1);
  CHECK(res.status == NFS4ERR_TOO_MANY_OPS);
}

TEST_CASE("4.1: a reply past ca_maxresponsesize is REP_TOO_BIG") {
  SessionFixture f;
  f.open_session(16, 1024);
  f.make_file("big", std::string(4000, 'x'));
  auto fh = f.fh_of({"big"});
  auto res = f.run({f.sequence(), putfh(fh), read(0, 4000)}, 1);
  CHECK(res.status == NFS4ERR_REP_TOO_BIG);
  REQUIRE(res.resarray.size() == 3);
  CHECK(res.resarray[2].resop == OP_READ);
}

TEST_CASE("4.1: a retransmission is answered from the reply cache") {
  SessionFixture f;
  f.open_session(16, 1 << 20);
  auto root = f.fh_of({});
  auto first = f.run({f.sequence(true), putfh(root), mkdir("once")}, 1);
  REQUIRE(first.status == NFS4_OK);
  // Same slot and sequence id: not executed again (mkdir would say EXIST).
  auto again = f.run({f.sequence(true, f.seq), putfh(root), mkdir("once")}, 1);
  CHECK(again.status == NFS4_OK);
  CHECK(again.resarray.size() == 3);
}

}  // namespace efs::nfs4::test
