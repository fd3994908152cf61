// The 4.1 session rules over the COMPOUND loop: CREATE_SESSION's argument
// checks (RFC 8881 18.36.3-4) and SEQUENCE's reply size limits (18.46.3).
#include <doctest/doctest.h>

#include "fixture.h"
#include "nfs4/attrs.h"

namespace efs::nfs4::test {

namespace {

struct RulesFixture : Fixture {
  clientid4 clientid = 0;
  sequenceid4 cs_seq = 0;
  sessionid4 sid{};
  uint32_t seq = 0;

  void exchange(const std::string& owner) {
    auto ex = op(OP_EXCHANGE_ID);
    ex.opexchange_id.eia_clientowner.co_ownerid.assign(owner.begin(), owner.end());
    ex.opexchange_id.eia_state_protect.spa_how = SP4_NONE;
    auto r = run({ex}, 1);
    REQUIRE(r.status == NFS4_OK);
    clientid = r.resarray[0].opexchange_id.eir_resok4.eir_clientid;
    cs_seq = r.resarray[0].opexchange_id.eir_resok4.eir_sequenceid;
  }
  nfs_argop4 create_session(uint32_t maxreq, uint32_t maxresp, uint32_t cached,
                            uint32_t flags = 0) {
    auto cs = op(OP_CREATE_SESSION);
    cs.opcreate_session.csa_clientid = clientid;
    cs.opcreate_session.csa_sequence = cs_seq;
    cs.opcreate_session.csa_flags = flags;
    auto& fore = cs.opcreate_session.csa_fore_chan_attrs;
    fore.ca_maxrequestsize = maxreq;
    fore.ca_maxresponsesize = maxresp;
    fore.ca_maxresponsesize_cached = cached;
    fore.ca_maxoperations = 16;
    fore.ca_maxrequests = 4;
    cs.opcreate_session.csa_back_chan_attrs = fore;
    return cs;
  }
  void open_session(uint32_t maxresp, uint32_t cached) {
    auto r = run({create_session(1 << 20, maxresp, cached)}, 1);
    REQUIRE(r.status == NFS4_OK);
    sid = r.resarray[0].opcreate_session.csr_resok4.csr_sessionid;
  }
  nfs_argop4 sequence(bool cachethis) {
    auto s = op(OP_SEQUENCE);
    s.opsequence.sa_sessionid = sid;
    s.opsequence.sa_sequenceid = ++seq;
    s.opsequence.sa_cachethis = cachethis;
    return s;
  }
};

}  // namespace

TEST_CASE("CREATE_SESSION over the loop: TOOSMALL and INVAL") {
  RulesFixture f;
  f.exchange("rules-cs");
  CHECK(f.run({f.create_session(20, 1 << 20, 4096)}, 1).status == NFS4ERR_TOOSMALL);
  CHECK(f.run({f.create_session(1 << 20, 0, 4096)}, 1).status == NFS4ERR_TOOSMALL);
  CHECK(f.run({f.create_session(1 << 20, 1 << 20, 4096, 0x100)}, 1).status == NFS4ERR_INVAL);
  // A small but workable channel is accepted.
  CHECK(f.run({f.create_session(400, 400, 400)}, 1).status == NFS4_OK);
}

TEST_CASE("SEQUENCE sa_cachethis: a reply past ca_maxresponsesize_cached is REP_TOO_BIG_TO_CACHE") {
  RulesFixture f;
  f.exchange("rules-seq");
  f.open_session(1 << 20, 1024);
  f.make_file("big", std::string(3000, 'x'));
  auto fh = f.fh_of({"big"});
  auto cached = f.run({f.sequence(true), putfh(fh), read(0, 3000)}, 1);
  CHECK(cached.status == NFS4ERR_REP_TOO_BIG_TO_CACHE);
  REQUIRE(cached.resarray.size() == 3);
  CHECK(cached.resarray[2].resop == OP_READ);
  // Not asked to be cached: the same reply is fine.
  auto plain = f.run({f.sequence(false), putfh(fh), read(0, 3000)}, 1);
  CHECK(plain.status == NFS4_OK);
  // A small reply fits the cache.
  CHECK(f.run({f.sequence(true), putfh(fh), read(0, 100)}, 1).status == NFS4_OK);
}

TEST_CASE("SEQUENCE: a reply past ca_maxresponsesize is REP_TOO_BIG, cachethis or not") {
  RulesFixture f;
  f.exchange("rules-big");
  f.open_session(2048, 1024);
  f.make_file("big", std::string(3000, 'x'));
  auto fh = f.fh_of({"big"});
  CHECK(f.run({f.sequence(true), putfh(fh), read(0, 3000)}, 1).status == NFS4ERR_REP_TOO_BIG);
  CHECK(f.run({f.sequence(false), putfh(fh), read(0, 3000)}, 1).status == NFS4ERR_REP_TOO_BIG);
  // The limit counts the RPC reply header (RFC 8881 18.36.3): this COMPOUND4res
  // is 2028 bytes (status 4, tag 8, count 4, SEQUENCE 44, PUTFH 8, READ
  // 16 + 1944), 2052 with the 24-byte header.
  CHECK(f.run({f.sequence(false), putfh(fh), read(0, 1944)}, 1).status == NFS4ERR_REP_TOO_BIG);
  CHECK(f.run({f.sequence(false), putfh(fh), read(0, 1944 - 24)}, 1).status == NFS4_OK);
}

}  // namespace efs::nfs4::test
