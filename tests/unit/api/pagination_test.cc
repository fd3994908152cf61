#include "api/pagination.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "efs/regions.h"

using nlohmann::json;

namespace {

// A list operation that records what it was called with and answers a
// next token of its own form.
struct Recorder {
  json last;
  efs::JsonOperation op() {
    return [this](const efs::RequestContext&, const json& in) -> efs::ApiResult<json> {
      last = in;
      return json{{"NextMarker", "p0000000000000002"},
                  {"Marker", in.value("Marker", "")},
                  {"FileSystems", json::array()}};
    };
  }
};

}  // namespace

TEST_CASE("list calls get the documented default and maximum page size") {
  Recorder r;
  efs::RequestContext ctx;
  REQUIRE(efs::api::call_paged("DescribeFileSystems", r.op(), ctx, json::object()).ok());
  CHECK(r.last["MaxItems"] == 100);
  REQUIRE(efs::api::call_paged("DescribeFileSystems", r.op(), ctx, {{"MaxItems", 1001}}).ok());
  CHECK(r.last["MaxItems"] == 100);
  REQUIRE(efs::api::call_paged("DescribeFileSystems", r.op(), ctx, {{"MaxItems", 7}}).ok());
  CHECK(r.last["MaxItems"] == 7);
  REQUIRE(
      efs::api::call_paged("DescribeMountTargets", r.op(), ctx, {{"FileSystemId", "fs-1"}}).ok());
  CHECK(r.last["MaxItems"] == 10);
  CHECK(efs::api::list_paging("CreateFileSystem") == nullptr);
}

TEST_CASE("a token works only for the call and filters that issued it") {
  Recorder r;
  efs::RequestContext ctx;
  json in = {{"FileSystemId", "fs-a"}};
  auto first = efs::api::call_paged("DescribeMountTargets", r.op(), ctx, in);
  REQUIRE(first.ok());
  std::string token = (*first)["NextMarker"];
  CHECK(token.rfind("p0000000000000002.", 0) == 0);
  in["Marker"] = token;
  auto next = efs::api::call_paged("DescribeMountTargets", r.op(), ctx, in);
  REQUIRE(next.ok());
  CHECK(r.last["Marker"] == "p0000000000000002");  // the service sees its own token
  CHECK((*next)["Marker"] == token);               // the client sees its echo
  in["FileSystemId"] = "fs-b";
  auto other = efs::api::call_paged("DescribeMountTargets", r.op(), ctx, in);
  REQUIRE(!other.ok());
  CHECK(other.error().code == "BadRequest");
  auto elsewhere = efs::api::call_paged("DescribeTags", r.op(), ctx,
                                        {{"FileSystemId", "fs-a"}, {"Marker", token}});
  REQUIRE(!elsewhere.ok());
  CHECK(elsewhere.error().code == "BadRequest");
}

TEST_CASE("Regions have partitions; made-up names have none") {
  CHECK(efs::partition_of("us-east-1") == "aws");
  CHECK(efs::partition_of("cn-northwest-1") == "aws-cn");
  CHECK(efs::partition_of("us-gov-east-1") == "aws-us-gov");
  CHECK(!efs::partition_of("xx-nowhere-9"));
  CHECK(efs::arn_partition("cn-north-1") == "aws-cn");
}
