// api::not_emulated_response: the answer for a service efs-local does not emulate.
#include "api/gateway.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

TEST_CASE("a not-emulated service name that is not UTF-8 gets a JSON error, not an exception") {
  // Found by tests/fuzz/api_gateway: the service of the SigV4 scope is quoted
  // in the message, and nlohmann's dump() threw on its bytes (a crash).
  efs::http::Request r;
  r.method = "POST";
  r.headers["content-type"] = "application/x-amz-json-1.1";
  std::string service = "elasti\xff\xff\xffyc";
  efs::http::Response resp;
  REQUIRE_NOTHROW(resp = efs::api::not_emulated_response(r, service, "unknown service", "req-1"));
  CHECK(resp.status == 400);
  auto body = nlohmann::json::parse(resp.body);
  CHECK(body["__type"].get<std::string>().size() > 0);
  CHECK(body["message"].get<std::string>().find("elasti") != std::string::npos);
}
