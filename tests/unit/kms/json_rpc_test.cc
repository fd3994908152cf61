// api::JsonRpcService over the KMS model: X-Amz-Target routing, validation
// by the model (ValidationException), JSON 1.1 errors, output shapes; and
// the Gateway sending TrentService and SigV4 "kms" requests to it.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "api/ec2_query.h"
#include "api/gateway.h"
#include "api/json_rpc.h"
#include "api/model.h"

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
    if (in.contains("Marker")) return efs::service_error("InvalidMarkerException", 400, "bad");
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
