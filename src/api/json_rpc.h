// The AWS JSON 1.1 protocol (KMS and the other X-Amz-Target services),
// driven by a service model: POST / with "X-Amz-Target: <targetPrefix>.<Op>"
// and a JSON body of the operation's input shape. The body is validated
// against the model (ValidationException, AWS's wording), the handler is
// called, and the output shape is sent back; errors are
// {"__type": code, "message": text} with x-amzn-ErrorType, which botocore,
// the AWS CLI and the JS SDK v3 all read.
//
// Handlers see input keyed by member names, blobs as base64 text, and return
// output the same way, timestamps as epoch-seconds numbers.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "api/model.h"
#include "efs/error.h"
#include "http/message.h"

namespace efs::api {

class JsonRpcService {
 public:
  explicit JsonRpcService(const Model& model) : model_(model) {}

  void add(const std::string& op_name, efs::JsonOperation handler);
  // True if X-Amz-Target names this model's target prefix.
  bool matches(const http::Request& request) const;
  // Never throws; every failure is a JSON 1.1 error response.
  http::Response handle(const http::Request& request, const efs::RequestContext& ctx) const;
  std::vector<std::string> unrouted_operations() const;
  const Model& model() const { return model_; }

 private:
  const Model& model_;
  std::map<std::string, efs::JsonOperation> handlers_;
};

// A JSON 1.1 error response. A status of 0 means 400.
http::Response json_rpc_error(const efs::ServiceError& error, const std::string& request_id);

}  // namespace efs::api
