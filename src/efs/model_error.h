// EFS errors by the model's name: the code and its HTTP status come from the
// error table generated from spec/efs-2015-02-01.json (efs_shapes.h,
// tools/apigen), so a misspelt code does not compile and no status is spelt
// twice.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "efs/error.h"
#include "efs_shapes.h"

namespace efs {

using ErrorCode = shapes::ErrorCode;

inline ServiceError model_error(ErrorCode code, std::string message,
                                nlohmann::json extra = nlohmann::json::object()) {
  return ServiceError{std::string(shapes::error_name(code)), shapes::error_http_status(code),
                      std::move(message), std::move(extra)};
}

inline Unexpected<ServiceError> service_error(ErrorCode code, std::string message,
                                              nlohmann::json extra = nlohmann::json::object()) {
  return {model_error(code, std::move(message), std::move(extra))};
}

}  // namespace efs
