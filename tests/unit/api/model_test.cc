#include "api/model.h"

#include <doctest/doctest.h>

#include "api/pattern.h"

using efs::api::Pattern;

TEST_CASE("the embedded EFS model loads with all 31 operations") {
  const auto& m = efs::api::efs_model();
  CHECK(m.operations().size() == 31);
  CHECK(m.protocol() == "rest-json");
  CHECK(m.uri_prefix() == "/2015-02-01/");
  const auto* op = m.operation("CreateFileSystem");
  REQUIRE(op != nullptr);
  CHECK(op->method == "POST");
  CHECK(op->response_code == 201);
  CHECK(op->input == "CreateFileSystemRequest");
  const auto* in = m.shape("CreateFileSystemRequest");
  REQUIRE(in != nullptr);
  CHECK(in->is_required("CreationToken"));
  CHECK(in->find_member("CreationToken")->idempotency_token);
  const auto* q = m.shape("DescribeFileSystemsRequest")->find_member("MaxItems");
  CHECK(q->location == efs::api::Location::kQueryString);
  CHECK(m.shape("CreationToken")->max == 64);
  CHECK(m.shape("PerformanceMode")->enum_values.size() == 2);
  CHECK(m.error_status("FileSystemNotFound") == 404);
  CHECK(m.error_status("FileSystemAlreadyExists") == 409);
  CHECK(m.error_status("BadRequest") == 400);
  CHECK(m.error_status("NoSuchThing") == 0);
  // Every EFS pattern compiles (the Unicode classes of TagKey included).
  for (const auto& [name, s] : m.shapes()) {
    INFO(name);
    if (!s.pattern.empty()) CHECK(s.compiled != nullptr);
  }
}

TEST_CASE("the embedded KMS model loads") {
  const auto& m = efs::api::kms_model();
  CHECK(m.protocol() == "json");
  CHECK(m.target_prefix() == "TrentService");
  CHECK(m.operation("Encrypt") != nullptr);
}

TEST_CASE("a broken model is an error, not a crash") {
  CHECK_FALSE(efs::api::Model::parse("not json").ok());
  CHECK_FALSE(efs::api::Model::parse("[]").ok());
  CHECK_FALSE(
      efs::api::Model::parse(
          R"({"shapes":{"A":{"type":"structure","members":{"x":{"shape":"Missing"}}}},"operations":{}})")
          .ok());
  CHECK_FALSE(efs::api::Model::parse(R"({"shapes":{"A":{"type":"weird"}},"operations":{}})").ok());
  CHECK(efs::api::Model::parse(
            R"({"shapes":{"A":{"type":"string","pattern":"(unclosed"}},"operations":{}})")
            .ok());
}

TEST_CASE("patterns: searched, anchored, Unicode classes, per-character mode") {
  auto tag_key =
      Pattern::compile(R"(^(?![aA]{1}[wW]{1}[sS]{1}:)([\p{L}\p{Z}\p{N}_.:/=+\-@]+)$)", nullptr);
  REQUIRE(tag_key);
  CHECK(tag_key->matches("Name"));
  CHECK(tag_key->matches("team:owner 1"));
  CHECK(
      tag_key->matches("\xc3\xb1"
                       "ame"));  // "ñame"
  CHECK_FALSE(tag_key->matches("aws:reserved"));
  CHECK_FALSE(tag_key->matches("AwS:reserved"));
  CHECK_FALSE(tag_key->matches("semi;colon"));

  auto any = Pattern::compile(".+", nullptr);
  REQUIRE(any);
  CHECK(any->matches("x"));
  CHECK_FALSE(any->matches(""));
  CHECK(any->matches("\n\nx"));  // searched: some character matches
  auto policy = Pattern::compile(R"([\s\S]+)", nullptr);
  REQUIRE(policy);
  CHECK(policy->matches(std::string(1'000'000, 'p')));  // no recursion per character
  auto sg = Pattern::compile("^sg-[0-9a-f]{8,40}", nullptr);
  REQUIRE(sg);
  CHECK(sg->matches("sg-0123456789abcdef"));
  CHECK(sg->matches("sg-01234567-trailing"));
  CHECK_FALSE(sg->matches("xsg-01234567"));
  auto anchored = Pattern::compile("^[0-7]{3,4}$", nullptr);
  CHECK(anchored->matches("0755"));
  CHECK_FALSE(anchored->matches("0855"));

  std::string why;
  CHECK_FALSE(Pattern::compile("(unclosed", &why));
  CHECK_FALSE(why.empty());
  CHECK_FALSE(Pattern::compile(R"(\p{Greek}+)", &why));
}

TEST_CASE("EFS Path and KMS Latin-1 patterns are adapted, not skipped") {
  const auto* path = efs::api::efs_model().shape("Path");
  REQUIRE(path->compiled);
  CHECK(path->compiled->matches("/"));
  CHECK(path->compiled->matches("/data/app"));
  CHECK_FALSE(path->compiled->matches("/.hidden"));
  CHECK_FALSE(path->compiled->matches("/a/b/c/d/e"));  // at most 4 components
  CHECK_FALSE(path->compiled->matches("relative"));
  const auto* marker = efs::api::kms_model().shape("MarkerType");
  REQUIRE(marker->compiled);
  CHECK(marker->compiled->matches("abc \xc3\xa9"));
  // Unanchored, so searched: it fails only when no character qualifies.
  const auto* policy = efs::api::kms_model().shape("PolicyType");
  REQUIRE(policy->compiled);
  CHECK(policy->compiled->matches("{\"Version\": \"2012-10-17\"}\n\xc3\xa9"));
  CHECK_FALSE(policy->compiled->matches("\x01\x02"));
}
