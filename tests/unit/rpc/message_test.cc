#include "rpc/message.h"

#include <doctest/doctest.h>

#include <vector>

using namespace efs::rpc;

namespace {

void be32(std::vector<uint8_t>& v, uint32_t x) {
  v.push_back(uint8_t(x >> 24));
  v.push_back(uint8_t(x >> 16));
  v.push_back(uint8_t(x >> 8));
  v.push_back(uint8_t(x));
}

}  // namespace

TEST_CASE("decode a NULL call with AUTH_NONE from hand-built bytes") {
  // xid 0x01020304, CALL, rpcvers 2, prog 100003, vers 4, proc 0,
  // cred AUTH_NONE len 0, verf AUTH_NONE len 0, then 4 bytes of args.
  const std::vector<uint8_t> rec = {0x01, 0x02, 0x03, 0x04, 0,    0, 0, 0,    0,    0,    0,
                                    2,    0x00, 0x01, 0x86, 0xa3, 0, 0, 0,    4,    0,    0,
                                    0,    0,    0,    0,    0,    0, 0, 0,    0,    0,    0,
                                    0,    0,    0,    0,    0,    0, 0, 0xde, 0xad, 0xbe, 0xef};
  auto h = decode_call(rec);
  REQUIRE(h.ok());
  CHECK(h->xid == 0x01020304u);
  CHECK(h->rpcvers == 2);
  CHECK(h->prog == 100003);
  CHECK(h->vers == 4);
  CHECK(h->proc == 0);
  CHECK(h->cred_flavor == 0);
  CHECK(h->cred_body.empty());
  CHECK(h->verf_flavor == 0);
  REQUIRE(h->args.size() == 4);
  CHECK(h->args[0] == 0xde);
  CHECK(h->args[3] == 0xef);
}

TEST_CASE("decode_call faults") {
  SUBCASE("empty and short records are truncated") {
    CHECK(decode_call({}).error() == CallFault::truncated);
    std::vector<uint8_t> v;
    be32(v, 7);
    CHECK(decode_call(v).error() == CallFault::truncated);
    be32(v, 0);
    CHECK(decode_call(v).error() == CallFault::truncated);  // no rpcvers
    be32(v, 2);
    be32(v, 100003);
    CHECK(decode_call(v).error() == CallFault::truncated);
  }
  SUBCASE("a REPLY is not a call") {
    std::vector<uint8_t> v;
    be32(v, 7);
    be32(v, 1);
    be32(v, 2);
    CHECK(decode_call(v).error() == CallFault::not_a_call);
    std::vector<uint8_t> w;
    be32(w, 7);
    be32(w, 99);
    CHECK(decode_call(w).error() == CallFault::not_a_call);
  }
  SUBCASE("a credential length past the record") {
    std::vector<uint8_t> v;
    for (uint32_t x : {7u, 0u, 2u, 100003u, 4u, 1u, 1u, 0xfffffff0u}) be32(v, x);
    CHECK(decode_call(v).error() == CallFault::bad_auth_length);
  }
  SUBCASE("another RPC version stops after rpcvers") {
    std::vector<uint8_t> v;
    be32(v, 9);
    be32(v, 0);
    be32(v, 3);
    auto h = decode_call(v);
    REQUIRE(h.ok());
    CHECK(h->xid == 9);
    CHECK(h->rpcvers == 3);
  }
}

TEST_CASE("AUTH_SYS parse") {
  AuthSys a{0x5e5e, "client.example", 1000, 100, {4, 24, 27}};
  std::vector<uint8_t> body;
  encode_auth_sys(a, body);
  // stamp, len 14 + 14 bytes + 2 pad, uid, gid, 3, 3 gids
  CHECK(body.size() == 4 + 4 + 16 + 4 + 4 + 4 + 12);
  auto d = decode_auth_sys(body);
  REQUIRE(d.ok());
  CHECK(d->stamp == 0x5e5e);
  CHECK(d->machine_name == "client.example");
  CHECK(d->uid == 1000);
  CHECK(d->gid == 100);
  CHECK(d->gids == std::vector<uint32_t>{4, 24, 27});

  SUBCASE("machinename of 255 bytes is fine, 256 is badcred") {
    AuthSys ok{1, std::string(255, 'm'), 0, 0, {}};
    std::vector<uint8_t> b1;
    encode_auth_sys(ok, b1);
    CHECK(decode_auth_sys(b1).ok());
    AuthSys bad{1, std::string(256, 'm'), 0, 0, {}};
    std::vector<uint8_t> b2;
    encode_auth_sys(bad, b2);
    auto r = decode_auth_sys(b2);
    REQUIRE(!r.ok());
    CHECK(r.error() == AuthStat::badcred);
  }
  SUBCASE("16 gids are fine, 17 are badcred") {
    AuthSys ok{1, "h", 0, 0, std::vector<uint32_t>(16, 5)};
    std::vector<uint8_t> b1;
    encode_auth_sys(ok, b1);
    CHECK(decode_auth_sys(b1).ok());
    AuthSys bad{1, "h", 0, 0, std::vector<uint32_t>(17, 5)};
    std::vector<uint8_t> b2;
    encode_auth_sys(bad, b2);
    CHECK(decode_auth_sys(b2).error() == AuthStat::badcred);
  }
  SUBCASE("truncated and trailing bytes are badcred") {
    std::vector<uint8_t> cut(body.begin(), body.end() - 4);
    CHECK(decode_auth_sys(cut).error() == AuthStat::badcred);
    std::vector<uint8_t> extra = body;
    be32(extra, 0);
    CHECK(decode_auth_sys(extra).error() == AuthStat::badcred);
    CHECK(decode_auth_sys({}).error() == AuthStat::badcred);
  }
}

TEST_CASE("reply encoding matches RFC 5531 layouts byte for byte") {
  SUBCASE("accepted success with results") {
    auto r = accepted_reply(0x11223344, AcceptStat::success, {0xaa, 0xbb, 0xcc, 0xdd});
    const std::vector<uint8_t> want = {0x80, 0,    0,    28,    // last fragment, 28 bytes
                                       0x11, 0x22, 0x33, 0x44,  // xid
                                       0,    0,    0,    1,     // REPLY
                                       0,    0,    0,    0,     // MSG_ACCEPTED
                                       0,    0,    0,    0,
                                       0,    0,    0,    0,      // verifier AUTH_NONE, empty
                                       0,    0,    0,    0,      // SUCCESS
                                       0xaa, 0xbb, 0xcc, 0xdd};  // results
    CHECK(r.joined() == want);
    CHECK(r.body.size() == 4);  // results kept apart from the header
  }
  SUBCASE("prog_mismatch carries low and high") {
    auto r = accepted_reply(5, AcceptStat::prog_mismatch, {}, 4, 4);
    const std::vector<uint8_t> want = {0x80, 0, 0, 32, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
                                       0,    0, 0, 0,  0, 0, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 4};
    CHECK(r.joined() == want);
  }
  SUBCASE("prog_unavail has no body even if one is given") {
    auto r = accepted_reply(5, AcceptStat::prog_unavail, {1, 2, 3, 4});
    CHECK(r.joined().size() == 4 + 24);
    CHECK(r.joined().back() == 1);  // accept_stat PROG_UNAVAIL is last
  }
  SUBCASE("rpc_mismatch") {
    auto r = rpc_mismatch_reply(6);
    const std::vector<uint8_t> want = {0x80, 0, 0, 24, 0, 0, 0, 6, 0, 0, 0, 1, 0, 0,
                                       0,    1, 0, 0,  0, 0, 0, 0, 0, 2, 0, 0, 0, 2};
    CHECK(r.joined() == want);
  }
  SUBCASE("auth_error badcred") {
    auto r = auth_error_reply(7, AuthStat::badcred);
    const std::vector<uint8_t> want = {0x80, 0, 0, 20, 0, 0, 0, 7, 0, 0, 0, 1,
                                       0,    0, 0, 1,  0, 0, 0, 1, 0, 0, 0, 1};
    CHECK(r.joined() == want);
  }
}
