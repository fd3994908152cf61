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

  // Never throws; every failure is an AWS-style error response.
  http::Response handle(const http::Request& request, const efs::RequestContext& ctx) const;

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
