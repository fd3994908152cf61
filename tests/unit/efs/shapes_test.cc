// The C++ side of tools/apigen: the generated shapes of the EFS model
// (efs_shapes.h) round-trip through JSON by member name, keep absent
// optional members absent, and the error table carries the model's statuses.
#include <doctest/doctest.h>

#include "efs/model_error.h"
#include "efs_shapes.h"

using namespace efs;
using nlohmann::json;

TEST_CASE("A request shape reads JSON by member name; absent members stay absent") {
  auto in = json{{"CreationToken", "tok"},
                 {"PerformanceMode", "maxIO"},
                 {"Encrypted", true},
                 {"Tags", {{{"Key", "Name"}, {"Value", "x"}}}}}
                .get<shapes::CreateFileSystemRequest>();
  CHECK(in.CreationToken == "tok");
  REQUIRE(in.PerformanceMode);
  CHECK(*in.PerformanceMode == shapes::PerformanceMode::maxIO);
  CHECK(in.Encrypted == std::optional<bool>(true));
  CHECK_FALSE(in.KmsKeyId);
  CHECK_FALSE(in.ThroughputMode);
  REQUIRE(in.Tags);
  CHECK((*in.Tags)[0].Key == "Name");
  CHECK((*in.Tags)[0].Value == "x");
}

TEST_CASE("An output shape writes required members always, optional ones when set") {
  shapes::FileSystemDescription d;
  d.FileSystemId = "fs-1";
  d.CreationTime = 1700000000.75;  // EFS returns whole seconds
  d.LifeCycleState = shapes::LifeCycleState::available;
  d.PerformanceMode = shapes::PerformanceMode::generalPurpose;
  json j = d;
  CHECK(j["FileSystemId"] == "fs-1");
  CHECK(j["CreationTime"] == 1700000000);
  CHECK(j["LifeCycleState"] == "available");
  CHECK(j["Tags"] == json::array());
  CHECK(j["SizeInBytes"]["Value"] == 0);
  CHECK_FALSE(j.contains("KmsKeyId"));
  CHECK_FALSE(j["SizeInBytes"].contains("Timestamp"));
  d.KmsKeyId = "arn:aws:kms:us-east-1:000000000000:key/k";
  CHECK(json(d)["KmsKeyId"] == "arn:aws:kms:us-east-1:000000000000:key/k");
}

TEST_CASE("Enums convert to and from the model's values and refuse others") {
  CHECK(shapes::to_string(shapes::TransitionToIARules::AFTER_7_DAYS) == "AFTER_7_DAYS");
  shapes::ThroughputMode m{};
  CHECK(shapes::from_string("elastic", m));
  CHECK(m == shapes::ThroughputMode::elastic);
  CHECK_FALSE(shapes::from_string("Elastic", m));
  CHECK_THROWS_AS(json("turbo").get<shapes::ThroughputMode>(), std::invalid_argument);
}

TEST_CASE("The error table is the model's: code name and HTTP status") {
  CHECK(shapes::error_name(ErrorCode::FileSystemNotFound) == "FileSystemNotFound");
  CHECK(shapes::error_http_status(ErrorCode::FileSystemNotFound) == 404);
  CHECK(shapes::error_http_status(ErrorCode::FileSystemLimitExceeded) == 403);
  CHECK(shapes::error_http_status(ErrorCode::IncorrectMountTargetState) == 409);
  CHECK(shapes::error_http_status(ErrorCode::InsufficientThroughputCapacity) == 503);
  CHECK(shapes::error_http_status(ErrorCode::ThrottlingException) == 429);
  CHECK(shapes::error_code("ReplicationNotFound") == ErrorCode::ReplicationNotFound);
  CHECK_FALSE(shapes::error_code("FileSystemNotFund"));
  auto e = model_error(ErrorCode::FileSystemAlreadyExists, "exists", {{"FileSystemId", "fs-1"}});
  CHECK(e.code == "FileSystemAlreadyExists");
  CHECK(e.http_status == 409);
  CHECK(e.extra["FileSystemId"] == "fs-1");
}
