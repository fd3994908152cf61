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

inline Unexpected<ServiceError> service_error(std::string code, int status, std::string message,
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
