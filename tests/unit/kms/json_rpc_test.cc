// api::JsonRpcService over the KMS model: X-Amz-Target routing, validation
// by the model (ValidationException), JSON 1.1 errors, output shapes; and
// the Gateway sending TrentService and SigV4 "kms" requests to it.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "api/ec2_query.h"
#include "api/gateway.h"
#include "api/json_rpc.h"
#include "api/model.h"
#include "api/rest_json.h"
#include "common/ids.h"
#include "ec2/network.h"
#include "meta/db.h"

#include <filesystem>

namespace {

using nlohmann::json;

efs::http::Request kms_request(const std::string& op, const std::string& body) {
  efs::http::Request r;
  r.method = "POST";
  r.path = "/";
  r.headers["x-amz-target"] = "TrentService." + op;
  r.headers["content-type"] = "application/x-amz-json-1.1";
  r.body = body;
  return r;
}

efs::api::JsonRpcService service_with_listkeys(int* calls) {
  efs::api::JsonRpcService s(efs::api::kms_model());
  s.add("ListKeys", [calls](const efs::RequestContext&, const json& in) -> efs::ApiResult<json> {
    ++*calls;
    if (in.contains("Marker")) return efs::unmodeled_error("InvalidMarkerException", 400, "bad");
    return json{{"Keys", json::array({{{"KeyId", "k"}, {"KeyArn", "a"}, {"Stray", 1}}})},
                {"Truncated", false},
                {"NextMarker", nullptr}};
  });
  return s;
}

}  // namespace

TEST_CASE("JSON 1.1: routes by X-Amz-Target and serializes the output shape") {
  int calls = 0;
  auto s = service_with_listkeys(&calls);
  efs::RequestContext ctx;
  ctx.request_id = "rid";
  auto r = s.handle(kms_request("ListKeys", "{}"), ctx);
  CHECK(r.status == 200);
  CHECK(calls == 1);
  json body = json::parse(r.body);
  CHECK(body == json{{"Keys", json::array({{{"KeyId", "k"}, {"KeyArn", "a"}}})}, {"Truncated", false}});
  // An empty body is {}.
  CHECK(s.handle(kms_request("ListKeys", ""), ctx).status == 200);
}

TEST_CASE("JSON 1.1: errors carry __type and x-amzn-ErrorType") {
  int calls = 0;
  auto s = service_with_listkeys(&calls);
  efs::RequestContext ctx;
  auto bad = s.handle(kms_request("ListKeys", R"({"Limit":0})"), ctx);
  CHECK(bad.status == 400);
  CHECK(json::parse(bad.body)["__type"] == "ValidationException");
  CHECK(json::parse(bad.body)["message"].get<std::string>().find("'limit'") != std::string::npos);
  CHECK(calls == 0);
  auto unknown = s.handle(kms_request("ListKeys", R"({"Bogus":1})"), ctx);
  CHECK(json::parse(unknown.body)["__type"] == "ValidationException");
  auto handler_error = s.handle(kms_request("ListKeys", R"({"Marker":"x"})"), ctx);
  CHECK(handler_error.status == 400);
  CHECK(json::parse(handler_error.body)["__type"] == "InvalidMarkerException");
  bool typed = false;
  for (const auto& [k, v] : handler_error.headers)
    typed = typed || (k == "x-amzn-ErrorType" && v == "InvalidMarkerException");
  CHECK(typed);
  CHECK(json::parse(s.handle(kms_request("NoSuchOp", "{}"), ctx).body)["__type"] ==
        "UnknownOperationException");
  CHECK(json::parse(s.handle(kms_request("Sign", "{}"), ctx).body)["__type"] ==
        "ValidationException");  // required members first
  CHECK(json::parse(s.handle(kms_request("ListKeys", "[1]"), ctx).body)["__type"] ==
        "SerializationException");
  CHECK(json::parse(s.handle(kms_request("ListKeys", std::string(100, '[')), ctx).body)["__type"] ==
        "SerializationException");
  CHECK(json::parse(s.handle(kms_request("GenerateRandom", "{}"), ctx).body)["__type"] ==
        "UnsupportedOperationException");  // no handler added
}

TEST_CASE("the Gateway sends TrentService and SigV4 kms requests to KMS, and names it when absent") {
  auto dir = std::filesystem::temp_directory_path() / ("kms-gw-" + efs::random_hex(12));
  std::filesystem::create_directories(dir);
  {
    auto db = efs::meta::Db::open((dir / "meta.db").string());
    REQUIRE(db.ok());
    auto network = efs::ec2::Network::open(**db);
    REQUIRE(network.ok());
    efs::api::RestJsonService efs_api(efs::api::efs_model());
    efs::api::Ec2QueryService ec2_api(**network);
    int calls = 0;
    auto kms_api = service_with_listkeys(&calls);
    efs::api::Gateway with_kms(efs_api, ec2_api, &kms_api);
    efs::api::Gateway without(efs_api, ec2_api);
    efs::RequestContext ctx;

    auto routed = with_kms.handle(kms_request("ListKeys", "{}"), ctx);
    CHECK(routed.status == 200);
    CHECK(calls == 1);
    // Signed for kms but without a target: KMS's own answer.
    efs::http::Request signed_kms = kms_request("ListKeys", "{}");
    signed_kms.headers.erase("x-amz-target");
    signed_kms.headers["authorization"] =
        "AWS4-HMAC-SHA256 Credential=AKID/20261201/us-east-1/kms/aws4_request, SignedHeaders=host, "
        "Signature=00";
    CHECK(json::parse(with_kms.handle(signed_kms, ctx).body)["__type"] == "UnknownOperationException");
    // A Region AWS does not have: refused in KMS's protocol.
    efs::http::Request bad_region = kms_request("ListKeys", "{}");
    bad_region.headers["authorization"] =
        "AWS4-HMAC-SHA256 Credential=AKID/20261201/mars-1/kms/aws4_request, SignedHeaders=host, "
        "Signature=00";
    auto refused = with_kms.handle(bad_region, ctx);
    CHECK(refused.status == 403);
    CHECK(json::parse(refused.body)["__type"] == "InvalidSignatureException");
    CHECK(calls == 1);
    // Other JSON services are still named as not emulated.
    auto dynamo = kms_request("x", "{}");
    dynamo.headers["x-amz-target"] = "DynamoDB_20120810.ListTables";
    CHECK(json::parse(with_kms.handle(dynamo, ctx).body)["__type"] == "ServiceNotEmulated");
    // Without a KMS service the gateway says so.
    CHECK(json::parse(without.handle(kms_request("ListKeys", "{}"), ctx).body)["__type"] ==
          "ServiceNotEmulated");
  }
  std::filesystem::remove_all(dir);
}
