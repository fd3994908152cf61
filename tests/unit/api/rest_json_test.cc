#include "api/rest_json.h"

#include <doctest/doctest.h>

#include <regex>

#include "api/validation.h"
#include "efs/model_error.h"
#include "http/parser.h"

using efs::api::RestJsonService;
using nlohmann::json;

namespace {

// A request as the HTTP server would hand it over (parsed from the wire).
efs::http::Request make(const std::string& method, const std::string& target,
                        const std::string& body = "") {
  efs::http::RequestParser p;
  p.feed(method + " " + target + " HTTP/1.1\r\nHost: h\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body);
  REQUIRE(p.parse() == efs::http::RequestParser::Status::kComplete);
  return p.take_request();
}

efs::RequestContext ctx() {
  efs::RequestContext c;
  c.request_id = "req-1";
  return c;
}

std::string header(const efs::http::Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<none>";
}

// A service whose every handler records its input and returns {}.
struct Recorder {
  RestJsonService service{efs::api::efs_model()};
  json last_input;
  std::string last_op;
  Recorder() {
    for (const auto& [name, op] : service.model().operations()) {
      service.add(
          name,
          [this, name = name](const efs::RequestContext&, const json& in) -> efs::ApiResult<json> {
            last_op = name;
            last_input = in;
            return json::object();
          });
    }
  }
  efs::http::Response call(const std::string& method, const std::string& target,
                           const std::string& body = "") {
    last_op.clear();
    return service.handle(make(method, target, body), ctx());
  }
};

std::string message(const efs::http::Response& r) {
  return json::parse(r.body).value("Message", std::string());
}

}  // namespace

TEST_CASE("every operation of the model is routed by its URI and method") {
  RestJsonService service(efs::api::efs_model());
  int count = 0;
  for (const auto& [name, op] : service.model().operations()) {
    std::string path =
        std::regex_replace(op.request_uri.substr(0, op.request_uri.find('?')),
                           std::regex(R"(\{[A-Za-z]+\+?\})"), "fs-0123456789abcdef0");
    const auto* routed = service.route(op.method, path);
    INFO(name << " " << op.method << " " << path);
    REQUIRE(routed != nullptr);
    CHECK(routed->name == name);
    ++count;
  }
  CHECK(count == 31);
  CHECK(service.unrouted_operations().size() == 31);
  service.add("DescribeFileSystems", [](auto&, auto&) -> efs::ApiResult<json> { return json{}; });
  service.add("NoSuchOperation", [](auto&, auto&) -> efs::ApiResult<json> { return json{}; });
  CHECK(service.unrouted_operations().size() == 30);
  // The literal path wins over a label in the same position.
  CHECK(service.route("GET", "/2015-02-01/file-systems/replication-configurations")->name ==
        "DescribeReplicationConfigurations");
  CHECK(service.route("GET", "/2015-02-01/tags/fs-0123456789abcdef0")->name == "DescribeTags");
  CHECK(service.matches(make("GET", "/2015-02-01/file-systems")));
  CHECK_FALSE(service.matches(make("GET", "/_efs-local/health")));
}

TEST_CASE("input is built from labels, query string and body, typed") {
  Recorder r;
  auto resp = r.call("GET", "/2015-02-01/file-systems?MaxItems=2&CreationToken=t%20k");
  CHECK(resp.status == 200);
  CHECK(r.last_op == "DescribeFileSystems");
  CHECK(r.last_input["MaxItems"] == 2);
  CHECK(r.last_input["MaxItems"].is_number_integer());
  CHECK(r.last_input["CreationToken"] == "t k");
  // A Marker this API did not issue for the same call is refused (pagination.h).
  resp = r.call("GET", "/2015-02-01/file-systems?MaxItems=2&Marker=abc&CreationToken=t%20k");
  CHECK(resp.status == 400);

  resp = r.call("DELETE", "/2015-02-01/resource-tags/fs-0123456789abcdef0?tagKeys=a&tagKeys=b%20c");
  CHECK(resp.status == 200);
  CHECK(r.last_op == "UntagResource");
  CHECK(r.last_input["ResourceId"] == "fs-0123456789abcdef0");
  CHECK(r.last_input["TagKeys"] == json::array({"a", "b c"}));

  resp = r.call("POST", "/2015-02-01/file-systems",
                R"({"CreationToken":"tok","PerformanceMode":"maxIO","Encrypted":true,
                    "Tags":[{"Key":"Name","Value":"v"}],"KmsKeyId":null})");
  CHECK(resp.status == 201);
  CHECK(r.last_input["CreationToken"] == "tok");
  CHECK(r.last_input["Tags"][0]["Key"] == "Name");
  CHECK(header(resp, "x-amzn-RequestId") == "req-1");
  CHECK(header(resp, "Content-Type") == "application/json");

  resp = r.call("DELETE", "/2015-02-01/file-systems/fs-0123456789abcdef0");
  CHECK(resp.status == 204);
  CHECK(resp.body.empty());
  CHECK(r.last_input == json{{"FileSystemId", "fs-0123456789abcdef0"}});
}

TEST_CASE("validation failures are BadRequest naming the member") {
  Recorder r;
  struct Case {
    std::string method, target, body, expect;
  };
  const Case cases[] = {
      {"POST", "/2015-02-01/file-systems", "{}",
       "1 validation error detected: Value null at 'creationToken' failed to satisfy constraint: "
       "Member must not be null"},
      {"POST", "/2015-02-01/file-systems", "", "Value null at 'creationToken'"},
      {"POST", "/2015-02-01/file-systems", R"({"CreationToken":"t","PerformanceMode":"x"})",
       "1 validation error detected: Value 'x' at 'performanceMode' failed to satisfy "
       "constraint: Member must satisfy enum value set: [generalPurpose, maxIO]"},
      {"POST", "/2015-02-01/file-systems", R"({"CreationToken":")" + std::string(65, 'a') + "\"}",
       "at 'creationToken' failed to satisfy constraint: Member must have length less than or "
       "equal to 64"},
      {"POST", "/2015-02-01/file-systems", R"({"CreationToken":"t","KmsKeyId":"not a key"})",
       "Value 'not a key' at 'kmsKeyId' failed to satisfy constraint: Member must satisfy "
       "regular expression pattern"},
      {"POST", "/2015-02-01/file-systems", R"({"CreationToken":"t","Encrypted":"yes"})",
       "at 'encrypted' failed to satisfy constraint: Member must be a boolean"},
      {"POST", "/2015-02-01/file-systems", R"({"CreationToken":5})",
       "at 'creationToken' failed to satisfy constraint: Member must be a string"},
      {"POST", "/2015-02-01/file-systems", R"({"CreationToken":"t","Bogus":1})",
       "Unknown member 'Bogus'"},
      {"POST", "/2015-02-01/file-systems",
       R"({"CreationToken":"t","Tags":[{"Key":"aws:x","Value":"v"},{"Key":"k"}]})",
       "2 validation errors detected: Value 'aws:x' at 'tags.1.member.key' failed to satisfy "
       "constraint: Member must satisfy regular expression pattern"},
      {"POST", "/2015-02-01/file-systems",
       R"({"CreationToken":"t","ProvisionedThroughputInMibps":"1"})", "Member must be a number"},
      {"POST", "/2015-02-01/file-systems", "{not json", "Could not parse request body"},
      {"POST", "/2015-02-01/file-systems", "[1,2]", "must be a JSON object"},
      {"GET", "/2015-02-01/file-systems?MaxItems=abc", "",
       "Value 'abc' at 'maxItems' failed to satisfy constraint: Member must be a number"},
      {"GET", "/2015-02-01/file-systems?MaxItems=0", "",
       "Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater "
       "than or equal to 1"},
      {"GET", "/2015-02-01/file-systems?MaxItems=99999999999", "",
       "at 'maxItems' failed to satisfy constraint: Member must be a 32-bit integer"},
      {"DELETE", "/2015-02-01/file-systems/not-an-id", "",
       "Value 'not-an-id' at 'fileSystemId' failed to satisfy constraint: Member must satisfy "
       "regular expression pattern"},
      {"DELETE", "/2015-02-01/resource-tags/fs-0123456789abcdef0", "",
       "Value null at 'tagKeys' failed to satisfy constraint: Member must not be null"},
      {"PUT", "/2015-02-01/file-systems/fs-0123456789abcdef0",
       R"({"FileSystemId":"fs-0123456789abcdef1"})", "Unknown member 'FileSystemId'"},
  };
  for (const auto& c : cases) {
    INFO(c.method << " " << c.target << " " << c.body);
    auto resp = r.call(c.method, c.target, c.body);
    CHECK(resp.status == 400);
    CHECK(header(resp, "x-amzn-ErrorType") == "BadRequest");
    CHECK(json::parse(resp.body)["ErrorCode"] == "BadRequest");
    CHECK(message(resp).find(c.expect) != std::string::npos);
    CHECK(r.last_op.empty());  // the handler never ran
  }
}

TEST_CASE("unknown paths are 404, wrong methods 405") {
  Recorder r;
  auto resp = r.call("GET", "/2015-02-01/no-such-thing");
  CHECK(resp.status == 404);
  CHECK(header(resp, "x-amzn-ErrorType") == "UnknownOperationException");
  CHECK(header(resp, "x-amzn-RequestId") == "req-1");
  resp = r.call("PATCH", "/2015-02-01/file-systems");
  CHECK(resp.status == 405);
  CHECK(header(resp, "Allow") == "GET, POST");
  CHECK(json::parse(resp.body).contains("Message"));
  resp = r.call("DELETE", "/2015-02-01/file-systems/");
  CHECK(resp.status != 204);
}

TEST_CASE("service errors and handler exceptions are rendered as AWS errors") {
  RestJsonService s(efs::api::efs_model());
  s.add("DescribeFileSystems", [](const efs::RequestContext&, const json&) -> efs::ApiResult<json> {
    return efs::service_error(efs::ErrorCode::FileSystemNotFound, "File system 'fs-1' does not exist.");
  });
  s.add("CreateFileSystem", [](const efs::RequestContext&, const json&) -> efs::ApiResult<json> {
    return efs::service_error(efs::ErrorCode::FileSystemAlreadyExists, "exists",
                              json{{"FileSystemId", "fs-0123456789abcdef0"}});
  });
  s.add("DeleteFileSystem", [](const efs::RequestContext&, const json&) -> efs::ApiResult<json> {
    throw std::runtime_error("boom");
  });
  auto resp = s.handle(make("GET", "/2015-02-01/file-systems"), ctx());
  CHECK(resp.status == 404);
  CHECK(header(resp, "x-amzn-ErrorType") == "FileSystemNotFound");
  CHECK(json::parse(resp.body) == json{{"ErrorCode", "FileSystemNotFound"},
                                       {"Message", "File system 'fs-1' does not exist."}});

  resp = s.handle(make("POST", "/2015-02-01/file-systems", R"({"CreationToken":"t"})"), ctx());
  CHECK(resp.status == 409);  // from the model's error shape
  CHECK(json::parse(resp.body)["FileSystemId"] == "fs-0123456789abcdef0");

  resp = s.handle(make("DELETE", "/2015-02-01/file-systems/fs-0123456789abcdef0"), ctx());
  CHECK(resp.status == 500);
  CHECK(header(resp, "x-amzn-ErrorType") == "InternalServerError");

  resp = s.handle(make("GET", "/2015-02-01/account-preferences"), ctx());
  CHECK(resp.status == 501);  // no handler yet
}

TEST_CASE("output follows the output shape") {
  RestJsonService s(efs::api::efs_model());
  s.add("CreateFileSystem", [](const efs::RequestContext&, const json&) -> efs::ApiResult<json> {
    return json{{"FileSystemId", "fs-0123456789abcdef0"},
                {"CreationTime", "2026-11-25T10:00:00Z"},
                {"Name", nullptr},
                {"NotInModel", 1},
                {"SizeInBytes", {{"Value", 6144}, {"Timestamp", 1.5}}},
                {"Tags", json::array()}};
  });
  auto resp = s.handle(make("POST", "/2015-02-01/file-systems", R"({"CreationToken":"t"})"), ctx());
  CHECK(resp.status == 201);
  auto body = json::parse(resp.body);
  CHECK(body["FileSystemId"] == "fs-0123456789abcdef0");
  CHECK(body["CreationTime"] == 1795600800.0);
  CHECK_FALSE(body.contains("Name"));
  CHECK_FALSE(body.contains("NotInModel"));
  CHECK(body["SizeInBytes"]["Value"] == 6144);
  CHECK(body["Tags"] == json::array());
}

TEST_CASE("a deeply nested body is refused, not a stack overflow") {
  Recorder r;
  const std::size_t depth = 1'000'000;
  std::string body =
      "{\"CreationToken\":" + std::string(depth, '[') + std::string(depth, ']') + "}";
  auto resp = r.call("POST", "/2015-02-01/file-systems", body);
  CHECK(resp.status == 400);
  CHECK(message(resp).find("deeper than 64") != std::string::npos);
  // Brackets inside strings do not count.
  resp = r.call("POST", "/2015-02-01/file-systems",
                "{\"CreationToken\":\"" + std::string(62, '[') + "\\\"\"}");
  CHECK(resp.status == 201);
}

// The steps of handle(), one by one.

TEST_CASE("route_request names the operation, or the 404/405 with the Allow methods") {
  RestJsonService s(efs::api::efs_model());
  std::map<std::string, std::string> labels;
  std::string allow;
  auto op = s.route_request(make("GET", "/2015-02-01/file-systems/fs-1/lifecycle-configuration"),
                            labels, allow);
  REQUIRE(op.ok());
  CHECK((*op)->name == "DescribeLifecycleConfiguration");
  CHECK(labels == std::map<std::string, std::string>{{"FileSystemId", "fs-1"}});
  auto no = s.route_request(make("PATCH", "/2015-02-01/file-systems"), labels, allow);
  REQUIRE_FALSE(no.ok());
  CHECK(no.error().code == "MethodNotAllowedException");
  CHECK(no.error().http_status == 405);
  CHECK(allow == "GET, POST");
  no = s.route_request(make("GET", "/2015-02-01/nothing"), labels, allow);
  REQUIRE_FALSE(no.ok());
  CHECK(no.error().http_status == 404);
}

TEST_CASE("bind merges labels, query and body by member name and keeps the violations") {
  RestJsonService s(efs::api::efs_model());
  const auto* op = s.model().operation("DescribeMountTargets");
  REQUIRE(op != nullptr);
  auto bound = s.bind(*op, {}, make("GET", "/2015-02-01/mount-targets?MaxItems=x&FileSystemId=fs-1"));
  REQUIRE(bound.ok());
  CHECK(bound->input["FileSystemId"] == "fs-1");
  CHECK_FALSE(bound->input.contains("MaxItems"));
  REQUIRE(bound->violations.size() == 1);
  CHECK(bound->violations[0].find("maxItems") != std::string::npos);

  const auto* create = s.model().operation("CreateFileSystem");
  auto bad = s.bind(*create, {}, make("POST", "/2015-02-01/file-systems", "[1]"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == "BadRequest");
  CHECK(bad.error().http_status == 400);
}

TEST_CASE("validate reports the binding's and the shape's violations together") {
  RestJsonService s(efs::api::efs_model());
  const auto* op = s.model().operation("CreateFileSystem");
  RestJsonService::BoundInput b;
  b.input = {{"PerformanceMode", "fast"}};  // no CreationToken either
  b.violations.push_back("from binding");
  auto v = s.validate(*op, b);
  REQUIRE_FALSE(v.ok());
  CHECK(v.error().code == "BadRequest");
  CHECK(v.error().message.rfind("3 validation errors detected", 0) == 0);
  b = {};
  b.input = {{"CreationToken", "t"}};
  auto ok = s.validate(*op, b);
  REQUIRE(ok.ok());
  CHECK(*ok == json{{"CreationToken", "t"}});
}

TEST_CASE("invoke calls the handler, or answers NotImplemented") {
  RestJsonService s(efs::api::efs_model());
  const auto* op = s.model().operation("DescribeBackupPolicy");
  auto none = s.invoke(*op, ctx(), {{"FileSystemId", "fs-1"}});
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().http_status == 501);
  s.add("DescribeBackupPolicy", [](const efs::RequestContext&, const json& in) -> efs::ApiResult<json> {
    return json{{"BackupPolicy", {{"Status", "ENABLED"}}}, {"Seen", in["FileSystemId"]}};
  });
  auto out = s.invoke(*op, ctx(), {{"FileSystemId", "fs-1"}});
  REQUIRE(out.ok());
  CHECK((*out)["Seen"] == "fs-1");
}

TEST_CASE("serialize writes the op's status and the output shape in wire form") {
  RestJsonService s(efs::api::efs_model());
  auto r = s.serialize(*s.model().operation("CreateAccessPoint"),
                       {{"AccessPointId", "fsap-1"}, {"Extra", 1}}, "rid");
  CHECK(r.status == 200);
  CHECK(json::parse(r.body) == json{{"AccessPointId", "fsap-1"}});
  CHECK(header(r, "x-amzn-RequestId") == "rid");
  r = s.serialize(*s.model().operation("DeleteFileSystem"), json::object(), "rid");
  CHECK(r.status == 204);
  CHECK(r.body.empty());
}

TEST_CASE("an error of status 0 takes its status from the model's error shape") {
  auto r = efs::api::error_response(efs::ServiceError{"FileSystemAlreadyExists", 0, "x", json::object()},
                                    "rid", &efs::api::efs_model());
  CHECK(r.status == 409);
}

TEST_CASE("nesting_within counts arrays and objects, not brackets inside strings") {
  using efs::api::nesting_within;
  CHECK(nesting_within("{\"a\":[1,{\"b\":2}]}", 3));
  CHECK_FALSE(nesting_within("{\"a\":[1,{\"b\":2}]}", 2));
  // Brackets in strings, and escaped quotes before them, do not count.
  CHECK(nesting_within("{\"a\":\"[[[[{{{{\"}", 1));
  CHECK(nesting_within("{\"a\":\"\\\"[[[[\"}", 1));
  std::string deep(efs::api::kMaxJsonDepth + 1, '[');
  CHECK_FALSE(nesting_within(deep));
  CHECK(nesting_within(std::string(efs::api::kMaxJsonDepth, '[')));
}
