// An AWS service error, named exactly as in the API model (FileSystemNotFound,
// BadRequest, ...), with its HTTP status and any extra members the model's
// error shape carries (FileSystemAlreadyExists carries FileSystemId).
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <utility>

#include "common/result.h"

namespace efs {

struct ServiceError {
  std::string code;     // ErrorCode, e.g. "FileSystemNotFound"
  int http_status = 400;
  std::string message;
  nlohmann::json extra = nlohmann::json::object();  // merged into the JSON body
};

// An error whose code is not in the EFS model: EC2's codes (src/ec2,
// api/ec2_query.cc) and the protocol's own (UnknownOperationException). EFS
// errors go through service_error(shapes::ErrorCode, ...) in
// efs/model_error.h, whose codes and statuses come from the model.
inline Unexpected<ServiceError> unmodeled_error(std::string code, int status, std::string message,
                                                nlohmann::json extra = nlohmann::json::object()) {
  return {ServiceError{std::move(code), status, std::move(message), std::move(extra)}};
}

template <class T>
using ApiResult = Result<T, ServiceError>;

// Who is calling: from the SigV4 credential scope, else the server's defaults.
struct RequestContext {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::string request_id;  // x-amzn-RequestId of this request
};

// One operation of a JSON-speaking AWS service: input already validated
// against the model's input shape; output is the model's output shape.
using JsonOperation =
    std::function<ApiResult<nlohmann::json>(const RequestContext&, const nlohmann::json& input)>;

}  // namespace efs
