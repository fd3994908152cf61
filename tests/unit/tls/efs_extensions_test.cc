#include "tls/efs_extensions.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace efs::tls;

namespace {

std::vector<uint8_t> der(uint8_t tag, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> out{tag};
  if (body.size() < 0x80) {
    out.push_back(static_cast<uint8_t>(body.size()));
  } else {
    out.push_back(0x82);
    out.push_back(static_cast<uint8_t>(body.size() >> 8));
    out.push_back(static_cast<uint8_t>(body.size()));
  }
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

std::vector<uint8_t> bytes(const std::string& s) {
  return {s.begin(), s.end()};
}

std::vector<uint8_t> utf8(const std::string& s) {
  return der(0x0c, bytes(s));
}

std::vector<uint8_t> cat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// efs_client_auth as efs-utils' openssl config encodes it.
std::vector<uint8_t> client_auth(const std::string& token = "") {
  auto body =
      cat({utf8("AKIAEXAMPLE"), der(0x04, bytes("00ff")), der(0x17, bytes("261202010203Z"))});
  if (!token.empty()) body = cat({body, der(0xa0, utf8(token))});
  return der(0x30, body);
}

}  // namespace

TEST_CASE("tls: the access point and file system extensions are UTF8Strings") {
  auto v = parse_utf8_extension(utf8("fsap-0123456789abcdef0"));
  REQUIRE(v);
  CHECK(*v == "fsap-0123456789abcdef0");
  CHECK_FALSE(parse_utf8_extension(der(0x13, bytes("fs-1"))));     // PrintableString
  CHECK_FALSE(parse_utf8_extension(cat({utf8("fs-1"), {0x00}})));  // trailing byte
  CHECK_FALSE(parse_utf8_extension(utf8("fs-\x01")));              // control character
  CHECK_FALSE(
      parse_utf8_extension(std::vector<uint8_t>{0x0c, 0x05, 'f', 's'}));  // length past the end
  CHECK_FALSE(parse_utf8_extension(
      std::vector<uint8_t>{0x0c, 0x84, 0xff, 0xff, 0xff, 0xff}));  // huge length
  CHECK_FALSE(parse_utf8_extension(std::vector<uint8_t>{}));
}

TEST_CASE("tls: efs_client_auth with and without a session token") {
  auto a = parse_client_auth(client_auth());
  REQUIRE(a);
  CHECK(a->access_key_id == "AKIAEXAMPLE");
  CHECK(a->signature == "00ff");
  CHECK(a->signed_at == 1796173323);  // 2026-12-02T01:02:03Z
  CHECK(a->session_token.empty());

  auto t = parse_client_auth(client_auth("IQoJb3JpZ2lu/+="));
  REQUIRE(t);
  CHECK(t->session_token == "IQoJb3JpZ2lu/+=");
}

TEST_CASE("tls: malformed efs_client_auth is refused with a reason") {
  auto good = client_auth();
  // Not a SEQUENCE.
  auto not_seq = good;
  not_seq[0] = 0x31;
  CHECK_FALSE(parse_client_auth(not_seq));
  // Every truncation fails, none crashes.
  for (std::size_t n = 0; n < good.size(); ++n) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<long>(n));
    CHECK_FALSE(parse_client_auth(cut));
  }
  // Fields out of order: the date where the signature goes.
  auto swapped =
      der(0x30,
          cat({utf8("AKIAEXAMPLE"), der(0x17, bytes("261202010203Z")), der(0x04, bytes("00ff"))}));
  auto r = parse_client_auth(swapped);
  REQUIRE_FALSE(r);
  CHECK(r.error().find("signature") != std::string::npos);
  // An extra field after the token.
  auto extra = der(0x30, cat({utf8("AKIAEXAMPLE"), der(0x04, bytes("00ff")),
                              der(0x17, bytes("261202010203Z")), der(0xa0, utf8("t")), utf8("x")}));
  CHECK_FALSE(parse_client_auth(extra));
  // A bad date.
  auto bad_date =
      der(0x30,
          cat({utf8("AKIAEXAMPLE"), der(0x04, bytes("00ff")), der(0x17, bytes("261302010203Z"))}));
  CHECK_FALSE(parse_client_auth(bad_date));
}

TEST_CASE("tls: UTCTime follows RFC 5280's two-digit years") {
  CHECK(*parse_utc_time("700101000000Z") == 0);
  CHECK(*parse_utc_time("491231235959Z") > *parse_utc_time("500101000000Z"));
  CHECK_FALSE(parse_utc_time("700101000000"));
  CHECK_FALSE(parse_utc_time("7001010000a0Z"));
  CHECK_FALSE(parse_utc_time("701301000000Z"));
}

TEST_CASE("tls: client info is a SEQUENCE of UTF8Strings") {
  auto v = parse_client_info(der(0x30, cat({utf8("efs-utils"), utf8("2.1.0")})));
  REQUIRE(v);
  CHECK(*v == std::vector<std::string>{"efs-utils", "2.1.0"});
  CHECK_FALSE(parse_client_info(der(0x30, cat({utf8("a"), der(0x04, bytes("b"))}))));
  CHECK(parse_client_info(der(0x30, {}))->empty());
}
