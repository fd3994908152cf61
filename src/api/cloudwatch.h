// CloudWatch (monitoring 2010-08-01) on the one API endpoint, in the three
// protocols its clients send, all driven by spec/monitoring-2010-08-01.json:
//  - Smithy RPC v2 CBOR (the current AWS CLI, botocore, the JS SDK v3):
//    POST /service/GraniteServiceVersion20100801/operation/<Op>,
//    "smithy-protocol: rpc-v2-cbor", CBOR bodies, timestamps as CBOR tag 1
//    (epoch seconds);
//  - AWS JSON 1.0: POST / with "X-Amz-Target:
//    GraniteServiceVersion20100801.<Op>", timestamps as epoch seconds;
//  - query (older SDKs, python3-boto3 of Debian): Action=<Op>&Version=
//    2010-08-01 form bodies, XML answers, timestamps in ISO 8601.
// The model's awsQueryCompatible trait: JSON and CBOR errors carry the
// error shape's name in __type and "x-amzn-query-error: <code>;Sender",
// so clients show the query code (InvalidParameterValue, MissingParameter).
//
// Handlers (metrics/cloudwatch.h) see the input keyed by member names with
// timestamps as epoch seconds, validated against the model, whichever
// protocol carried it.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "api/model.h"
#include "efs/error.h"
#include "http/message.h"

namespace efs::api {

const Model& cloudwatch_model();
std::string_view cloudwatch_model_json();

class CloudWatchService {
 public:
  CloudWatchService() : model_(cloudwatch_model()) {}

  void add(const std::string& op_name, efs::JsonOperation handler);
  // True if the request names CloudWatch by its shape: the RPC v2 path, the
  // JSON 1.0 target prefix, or a query form with Version=2010-08-01.
  bool matches(const http::Request& request) const;
  // Never throws; every failure is an error in the request's protocol.
  http::Response handle(const http::Request& request, const efs::RequestContext& ctx) const;
  const Model& model() const { return model_; }

 private:
  enum class Protocol { kCbor, kJson, kQuery };
  // Validates input against op's input shape and runs the handler.
  efs::ApiResult<nlohmann::json> call(const Operation& op, nlohmann::json input,
                                      const efs::RequestContext& ctx) const;
  // op: the operation answered, if known (its errors name the shape first).
  http::Response error(Protocol p, const efs::ServiceError& e, const efs::RequestContext& ctx,
                       const Operation* op = nullptr) const;

  const Model& model_;
  std::map<std::string, efs::JsonOperation> handlers_;
};

// ---- Codecs (cloudwatch_codec.cc), model-driven, for tests as well ----

// CBOR of `value` (member names) per `shape`: maps of structures, arrays,
// text, integers, doubles, booleans, timestamps as tag 1 + epoch seconds.
std::string cbor_encode(const Model& model, const Shape& shape, const nlohmann::json& value);
// The CBOR item `in` without its tags (tag 1 of timestamps: nlohmann/json
// reads only tags of 6 and above); nullopt if `in` is not exactly one
// well-formed item.
std::optional<std::string> cbor_untag(std::string_view in);
// The query form's parameters as the input shape's JSON (member names);
// violations are appended to errors.
nlohmann::json query_decode(const Model& model, const Shape& shape,
                            const std::map<std::string, std::string>& params,
                            std::vector<std::string>& errors);
// The members of `value` per `shape` as query-protocol XML elements.
std::string xml_encode(const Model& model, const Shape& shape, const nlohmann::json& value);

}  // namespace efs::api
