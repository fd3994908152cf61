#include "api/request_context.h"

#include <doctest/doctest.h>

TEST_CASE("region and account come from the SigV4 credential scope") {
  efs::http::Request r;
  auto ctx = efs::api::request_context(r, "us-east-1", "000000000000");
  CHECK(ctx.region == "us-east-1");
  CHECK(ctx.account_id == "000000000000");
  CHECK(ctx.request_id.size() == 36);

  r.headers["authorization"] =
      "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261125/eu-west-1/elasticfilesystem/aws4_request, "
      "SignedHeaders=host;x-amz-date, Signature=abc";
  ctx = efs::api::request_context(r, "us-east-1", "000000000000");
  CHECK(ctx.region == "eu-west-1");
  CHECK(ctx.account_id == "000000000000");

  r.headers["authorization"] =
      "AWS4-HMAC-SHA256 Credential=123456789012/20261125/ap-south-2/elasticfilesystem/aws4_request,"
      "SignedHeaders=host, Signature=abc";
  auto ctx2 = efs::api::request_context(r, "us-east-1", "000000000000");
  CHECK(ctx2.region == "ap-south-2");
  CHECK(ctx2.account_id == "123456789012");
  CHECK(ctx2.request_id != ctx.request_id);

  r.headers["authorization"] = "AWS4-HMAC-SHA256 Credential=junk";
  ctx = efs::api::request_context(r, "us-west-2", "111111111111");
  CHECK(ctx.region == "us-west-2");
  CHECK(ctx.account_id == "111111111111");

  r.headers["authorization"] = "AWS4-HMAC-SHA256 Credential=A/B/EVIL REGION/x/aws4_request";
  ctx = efs::api::request_context(r, "us-west-2", "111111111111");
  CHECK(ctx.region == "us-west-2");

  r.headers.clear();
  r.query.emplace_back("X-Amz-Credential", "210987654321/20261125/sa-east-1/kms/aws4_request");
  ctx = efs::api::request_context(r, "us-east-1", "000000000000");
  CHECK(ctx.region == "sa-east-1");
  CHECK(ctx.account_id == "210987654321");
}
