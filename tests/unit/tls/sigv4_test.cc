#include "tls/sigv4.h"

#include <doctest/doctest.h>

using namespace efs::tls;

namespace {

ConnectRequest example() {
  ConnectRequest r;
  r.access_key_id = "AKIDEXAMPLE";
  r.region = "us-east-1";
  r.file_system_id = "fs-0123456789abcdef0";
  r.public_key_hash = "3b5d5c3712955042212316173ccf37be80000000";
  r.signed_at = 1796173323;  // 2026-12-02T01:02:03Z
  return r;
}

}  // namespace

TEST_CASE("tls: quote_plus as Python's urllib") {
  CHECK(quote_plus("AKID/20261202/us-east-1/elasticfilesystem/aws4_request") ==
        "AKID%2F20261202%2Fus-east-1%2Felasticfilesystem%2Faws4_request");
  CHECK(quote_plus("a+b=c d~_.-") == "a%2Bb%3Dc+d~_.-");
}

TEST_CASE("tls: the Connect canonical request is efs-utils'") {
  auto r = example();
  r.session_token = "tok/en";
  CHECK(connect_canonical_request(r) ==
        "GET\n/\n"
        "Action=Connect&PublicKeyHash=3b5d5c3712955042212316173ccf37be80000000&"
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&"
        "X-Amz-Credential=AKIDEXAMPLE%2F20261202%2Fus-east-1%2Felasticfilesystem%2Faws4_request&"
        "X-Amz-Date=20261202T010203Z&X-Amz-Expires=86400&X-Amz-Security-Token=tok%2Fen&"
        "X-Amz-SignedHeaders=host\n"
        "host:fs-0123456789abcdef0\nhost\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("tls: Connect signatures match efs-utils' algorithm") {
  // The expected values come from tests/integration/efs_tls.py's
  // connect_signature, a line-by-line port of efs-utils'
  // certificate_utils.py (calculate_signature and what it calls).
  const char* secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  auto r = example();
  CHECK(connect_signature(r, secret) ==
        "6e6783f9cdc4f195b2abf2c6e9605e08aa7395b8a8eb7658c3618cedf42f8ce4");
  r.region = "eu-west-1";
  r.session_token = "IQoJb3JpZ2luX2VjE/+x=";
  CHECK(connect_signature(r, secret) ==
        "24a877410a86cc3b722f1800ec3a80a58337a222c7ee645ceef90c34bf8d7882");
  // Anything signed changes the signature.
  auto other = example();
  other.file_system_id = "fs-0123456789abcdef1";
  CHECK(connect_signature(other, secret) != connect_signature(example(), secret));
  other = example();
  other.public_key_hash[0] = '4';
  CHECK(connect_signature(other, secret) != connect_signature(example(), secret));
}

TEST_CASE("tls: signatures compare by length and content") {
  CHECK(same_signature("abcd", "abcd"));
  CHECK_FALSE(same_signature("abcd", "abce"));
  CHECK_FALSE(same_signature("abcd", "abc"));
}
