// The AWS rest-json protocol, driven by a service model: routes a request by
// HTTP method and URI template to an operation, builds its input from URI
// labels, query string, headers and JSON body, validates it against the
// input shape, calls the operation's handler and serializes the output shape
// (or a ServiceError) back to HTTP.
//
// Handlers see input keyed by model member names ("FileSystemId", "MaxItems"),
// values already typed (integers are numbers, query lists are arrays); they
// return output keyed the same way, timestamps as epoch-seconds numbers.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/model.h"
#include "common/result.h"
#include "efs/error.h"
#include "http/message.h"

namespace efs::api {

class RestJsonService {
 public:
  explicit RestJsonService(const Model& model);

  // Registers the handler of one model operation (replacing any earlier one).
  // An unknown op_name is logged and ignored.
  void add(const std::string& op_name, efs::JsonOperation handler);

  // True if the request's path is under the model's URI prefix (/2015-02-01/).
  bool matches(const http::Request& request) const;

  // Never throws; every failure is an AWS-style error response. Runs the
  // steps below in order, stopping at the first that fails:
  //   route -> bind -> validate -> invoke -> serialize.
  http::Response handle(const http::Request& request, const efs::RequestContext& ctx) const;

  // The input of a routed request before validation: members by name, typed
  // where text was converted (labels, query, headers), plus the violations
  // found while converting, reported together with validate()'s.
  struct BoundInput {
    nlohmann::json input = nlohmann::json::object();
    std::vector<std::string> violations;
  };

  // Step 1, route: the operation a request names, or UnknownOperationException
  // (404) / MethodNotAllowedException (405; `allow` gets the methods the path
  // takes, for the Allow header).
  Result<const Operation*, efs::ServiceError> route_request(const http::Request& request,
                                                            std::map<std::string, std::string>& labels,
                                                            std::string& allow) const;
  // Step 2, bind: the op's input from URI labels, query string, headers and
  // JSON body (wire names become member names). A body that is not a JSON
  // object, or nests too deep, is BadRequest.
  Result<BoundInput, efs::ServiceError> bind(const Operation& op,
                                             const std::map<std::string, std::string>& labels,
                                             const http::Request& request) const;
  // Step 3, validate: the bound input against the op's input shape; every
  // violation in one BadRequest ("2 validation errors detected: ...").
  Result<nlohmann::json, efs::ServiceError> validate(const Operation& op, BoundInput bound) const;
  // Step 4, invoke: the op's handler (through the pagination-token wrapper),
  // or NotImplemented (501) if none was added.
  efs::ApiResult<nlohmann::json> invoke(const Operation& op, const efs::RequestContext& ctx,
                                        nlohmann::json input) const;
  // Step 5, serialize: the op's output shape as an HTTP response (status,
  // header-bound members, JSON body in wire names).
  http::Response serialize(const Operation& op, const nlohmann::json& output,
                           const std::string& request_id) const;

  // Model operations with no handler added, sorted.
  std::vector<std::string> unrouted_operations() const;

  // The operation a method and path resolve to, or nullptr: for tests and logs.
  const Operation* route(const std::string& method, const std::string& raw_path) const;

  const Model& model() const { return model_; }

 private:
  struct Segment {
    enum Kind { kLiteral, kLabel, kGreedyLabel } kind;
    std::string text;  // literal text, or label name
  };
  struct Route {
    const Operation* op;
    std::vector<Segment> segments;
    std::vector<std::string> required_query;  // literal "?key" parts of the requestUri
    int literal_count = 0;
  };
  struct Match {
    const Route* route = nullptr;
    std::map<std::string, std::string> labels;
    bool path_known = false;           // some operation has this path
    std::vector<std::string> allowed;  // methods of the operations that do
  };

  Match find_route(const std::string& method, const std::string& raw_path,
                   const std::vector<std::pair<std::string, std::string>>& query) const;

  Model model_;
  std::vector<Route> routes_;
  std::map<std::string, efs::JsonOperation> handlers_;
};

// The AWS error response: status, x-amzn-ErrorType, x-amzn-RequestId and a
// JSON body {"ErrorCode": ..., "Message": ..., <extra members>}. A status of 0
// is taken from the model's error shape of that name (400 if none).
http::Response error_response(const efs::ServiceError& error, const std::string& request_id,
                              const Model* model = nullptr);

}  // namespace efs::api
