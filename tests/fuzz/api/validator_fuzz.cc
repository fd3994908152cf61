// libFuzzer target for the rest-json layer: arbitrary method, path, query and
// body go through routing, input building and validation against the EFS
// model, with a handler that returns {}. Anything but a well-formed AWS
// response (or a crash, leak or UB) is a bug.
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "api/rest_json.h"
#include "http/parser.h"

namespace {

efs::api::RestJsonService& service() {
  static efs::api::RestJsonService* s = [] {
    spdlog::set_level(spdlog::level::off);
    auto* svc = new efs::api::RestJsonService(efs::api::efs_model());
    for (const auto& [name, op] : svc->model().operations()) {
      svc->add(
          name,
          [](const efs::RequestContext&, const nlohmann::json&) -> efs::ApiResult<nlohmann::json> {
            return nlohmann::json::object();
          });
    }
    return svc;
  }();
  return *s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const char* const kMethods[] = {"GET", "POST", "PUT", "DELETE"};
  std::string method = kMethods[data[0] % 4];
  std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto nl = rest.find('\n');
  std::string target = "/2015-02-01/" + rest.substr(0, nl);
  std::string body = nl == std::string::npos ? "" : rest.substr(nl + 1);
  efs::http::RequestParser parser;
  parser.feed(method + " " + target + " HTTP/1.1\r\nHost: h\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\n\r\n" + body);
  if (parser.parse() != efs::http::RequestParser::Status::kComplete) return 0;
  efs::http::Request request = parser.take_request();
  efs::RequestContext ctx;
  ctx.request_id = "fuzz";
  efs::http::Response r = service().handle(request, ctx);
  if (r.status < 200 || r.status > 599) std::abort();
  if (r.status >= 400) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_discarded() || !j.contains("ErrorCode") || !j.contains("Message")) std::abort();
  }
  return 0;
}
