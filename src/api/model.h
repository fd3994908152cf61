// An AWS service model (botocore JSON) loaded at run time: operations with
// their HTTP bindings, shapes with their constraints, and error shapes with
// their HTTP status. The protocol layers (rest_json) are driven by it, so the
// service's fields, limits and error names come from the model file alone.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/pattern.h"
#include "common/result.h"

namespace efs::api {

enum class ShapeType {
  kStructure,
  kList,
  kMap,
  kString,
  kInteger,
  kLong,
  kBoolean,
  kTimestamp,
  kDouble,
  kFloat,
  kBlob,
};

// Where a member of an input or output structure travels (botocore "location").
enum class Location { kBody, kUri, kQueryString, kHeader, kHeaders, kStatusCode };

struct Member {
  std::string name;   // member name, the key handlers see
  std::string shape;  // target shape name
  Location location = Location::kBody;
  std::string location_name;  // URI label, query key or header name
  std::string json_name;      // body key if it differs from name (else empty)
  bool idempotency_token = false;

  // The key this member has in a JSON body.
  const std::string& wire_name() const { return json_name.empty() ? name : json_name; }
};

struct Shape {
  std::string name;
  ShapeType type = ShapeType::kString;
  std::vector<Member> members;        // structure
  std::vector<std::string> required;  // structure
  std::string member;                 // list element shape
  std::string key, value;             // map key and value shapes
  std::vector<std::string> enum_values;
  std::optional<double> min, max;           // string/list/map length, or numeric range
  std::string pattern;                      // as written in the model
  std::shared_ptr<const Pattern> compiled;  // null if none or not compilable
  std::string timestamp_format;
  bool exception = false;
  int http_status = 0;     // error trait's httpStatusCode
  std::string error_code;  // error trait's code, else the shape name

  const Member* find_member(std::string_view member_name) const;
  bool is_required(std::string_view member_name) const;
};

struct Operation {
  std::string name;
  std::string method;       // "GET", "POST", ...
  std::string request_uri;  // "/2015-02-01/file-systems/{FileSystemId}"
  int response_code = 200;
  std::string input, output;  // shape names, empty if none
  std::vector<std::string> errors;
};

class Model {
 public:
  // Parses a botocore service model. Patterns that std::regex cannot compile
  // are logged once and left unchecked.
  static Result<Model, Error> parse(std::string_view json_text);

  const Operation* operation(const std::string& name) const;
  const Shape* shape(const std::string& name) const;
  const std::map<std::string, Operation>& operations() const { return operations_; }
  const std::map<std::string, Shape>& shapes() const { return shapes_; }

  const std::string& api_version() const { return api_version_; }      // "2015-02-01"
  const std::string& protocol() const { return protocol_; }            // "rest-json", "json"
  const std::string& target_prefix() const { return target_prefix_; }  // "TrentService"
  const std::string& json_version() const { return json_version_; }    // "1.1"
  const std::string& endpoint_prefix() const { return endpoint_prefix_; }
  // "/<apiVersion>/": the path prefix of a rest-json service's URIs.
  std::string uri_prefix() const { return "/" + api_version_ + "/"; }
  // HTTP status of an error shape named code, or 0 if the model has none.
  int error_status(const std::string& code) const;

 private:
  std::map<std::string, Operation> operations_;
  std::map<std::string, Shape> shapes_;
  std::string api_version_, protocol_, target_prefix_, json_version_, endpoint_prefix_;
};

// The models built into the binary (spec/*.json, embedded by tools/embed.py).
// Parsed once, on first use.
const Model& efs_model();
const Model& kms_model();
std::string_view efs_model_json();
std::string_view kms_model_json();

}  // namespace efs::api
