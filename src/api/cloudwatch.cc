#include "api/cloudwatch.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>

#include "api/ec2_query.h"
#include "api/sts.h"
#include "api/validation.h"

namespace efs::api {

namespace {

using nlohmann::json;

constexpr const char* kXmlNamespace = "http://monitoring.amazonaws.com/doc/2010-08-01/";
constexpr const char* kRpcPrefix = "/service/GraniteServiceVersion20100801/operation/";
constexpr const char* kJsonType = "application/x-amz-json-1.0";

bool header_has(const http::Request& req, const char* name, const char* text) {
  const auto* h = req.header(name);
  return h != nullptr && h->find(text) != std::string::npos;
}

bool is_form(const http::Request& req) {
  const auto* type = req.header("content-type");
  return type == nullptr || type->rfind("application/x-www-form-urlencoded", 0) == 0;
}

std::map<std::string, std::string> form_params(const http::Request& req) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : req.query) out[k] = v;
  if (req.method == "POST" && is_form(req))
    for (auto& [k, v] : parse_form(req.body)) out[k] = std::move(v);
  return out;
}

efs::ServiceError error_of(const char* code, int status, std::string message) {
  return efs::ServiceError{code, status, std::move(message), json::object()};
}

// Drops JSON nulls (absent members, as the SDKs send them), recursively.
void drop_nulls(json& v) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end();) {
      if (it->is_null()) {
        it = v.erase(it);
      } else {
        drop_nulls(*it);
        ++it;
      }
    }
  } else if (v.is_array()) {
    for (auto& e : v) drop_nulls(e);
  }
}

// JSON output per the shape: members the shape lacks dropped.
json to_wire(const Model& model, const Shape& shape, const json& v) {
  if (shape.type == ShapeType::kStructure && v.is_object()) {
    json out = json::object();
    for (const auto& m : shape.members)
      if (auto it = v.find(m.name); it != v.end() && !it->is_null())
        out[m.name] = to_wire(model, *model.shape(m.shape), *it);
    return out;
  }
  if (shape.type == ShapeType::kList && v.is_array()) {
    json out = json::array();
    for (const auto& e : v) out.push_back(to_wire(model, *model.shape(shape.member), e));
    return out;
  }
  return v;
}

}  // namespace

const Model& cloudwatch_model() {
  static const Model m = [] {
    auto r = Model::parse(cloudwatch_model_json());
    if (!r.ok()) {
      spdlog::critical("api: embedded CloudWatch model does not load: {}", r.error().message);
      std::abort();
    }
    return std::move(r).value();
  }();
  return m;
}

void CloudWatchService::add(const std::string& op_name, efs::JsonOperation handler) {
  if (model_.operation(op_name) == nullptr) {
    spdlog::error("api: no operation {} in the CloudWatch model", op_name);
    return;
  }
  handlers_[op_name] = std::move(handler);
}

bool CloudWatchService::matches(const http::Request& request) const {
  if (request.path.rfind(kRpcPrefix, 0) == 0) return true;
  if (const auto* t = request.header("x-amz-target"))
    return t->rfind(model_.target_prefix() + ".", 0) == 0;
  if (!is_form(request)) return false;
  auto p = form_params(request);
  auto v = p.find("Version");
  return v != p.end() && v->second == model_.api_version() && p.count("Action");
}

efs::ApiResult<json> CloudWatchService::call(const Operation& op, json input,
                                             const efs::RequestContext& ctx) const {
  drop_nulls(input);
  if (!op.input.empty()) {
    std::vector<std::string> errors;
    validate_shape(model_, *model_.shape(op.input), input, "", errors);
    if (!errors.empty()) {
      const bool missing = std::any_of(errors.begin(), errors.end(), [](const std::string& e) {
        return e.find("must not be null") != std::string::npos;
      });
      return fail(error_of(missing ? "MissingParameter" : "InvalidParameterValue", 400,
                           validation_message(errors)));
    }
  }
  auto h = handlers_.find(op.name);
  if (h == handlers_.end()) {
    std::string served;
    for (const auto& [name, _] : handlers_) served += (served.empty() ? "" : ", ") + name;
    return fail(error_of("UnsupportedOperation", 400,
                         "efs-local does not implement CloudWatch " + op.name +
                             "; it serves the AWS/EFS metrics and alarms: " + served));
  }
  return h->second(ctx, input);
}

http::Response CloudWatchService::error(Protocol p, const efs::ServiceError& e,
                                        const efs::RequestContext& ctx, const Operation* op) const {
  const int status = e.http_status == 0 ? 400 : e.http_status;
  if (p == Protocol::kQuery)
    return query_error_response(status, e.code, e.message, ctx.request_id, kXmlNamespace);
  // awsQueryCompatible: __type is the error shape's name, the query code
  // travels in x-amzn-query-error.
  // Two shapes may share a code (ResourceNotFound: DashboardNotFoundError
  // and ResourceNotFound): the operation's own errors come first.
  std::string type;
  if (op != nullptr)
    for (const auto& name : op->errors)
      if (const Shape* s = model_.shape(name); s && s->error_code == e.code) type = name;
  for (const auto& [name, shape] : model_.shapes())
    if (type.empty() && shape.exception && shape.error_code == e.code) type = name;
  if (type.empty()) type = e.code;
  http::Response r;
  r.status = status;
  r.set_header("x-amzn-RequestId", ctx.request_id);
  r.set_header("x-amzn-query-error", e.code + (status >= 500 ? ";Receiver" : ";Sender"));
  if (p == Protocol::kCbor) {
    r.set_header("Content-Type", "application/cbor");
    r.set_header("smithy-protocol", "rpc-v2-cbor");
    std::string body;
    // {"__type": type, "message": text}
    body += static_cast<char>(0xa2);
    auto text = [&body](const std::string& s) {
      nlohmann::json j = s;
      auto bytes = json::to_cbor(j);
      body.append(bytes.begin(), bytes.end());
    };
    text("__type");
    text(type);
    text("message");
    text(e.message);
    r.body = std::move(body);
  } else {
    r.set_header("Content-Type", kJsonType);
    r.set_header("x-amzn-ErrorType", type);
    r.body = json{{"__type", type}, {"message", e.message}}.dump(-1, ' ', false,
                                                                 json::error_handler_t::replace);
  }
  return r;
}

http::Response CloudWatchService::handle(const http::Request& request,
                                         const efs::RequestContext& ctx) const {
  const auto started = std::chrono::steady_clock::now();
  Protocol proto = Protocol::kQuery;
  std::string op_name;
  if (request.path.rfind(kRpcPrefix, 0) == 0 || header_has(request, "smithy-protocol", "rpc-v2")) {
    proto = Protocol::kCbor;
    if (request.path.rfind(kRpcPrefix, 0) == 0)
      op_name = request.path.substr(std::string(kRpcPrefix).size());
  } else if (const auto* t = request.header("x-amz-target")) {
    proto = Protocol::kJson;
    const std::string prefix = model_.target_prefix() + ".";
    if (t->rfind(prefix, 0) == 0) op_name = t->substr(prefix.size());
  }
  std::map<std::string, std::string> params;
  if (proto == Protocol::kQuery) {
    params = form_params(request);
    op_name = params.count("Action") ? params["Action"] : "";
  }

  http::Response response;
  std::string error_code;
  const Operation* op = model_.operation(op_name);
  auto fail_with = [&](const efs::ServiceError& e) {
    response = error(proto, e, ctx, op);
    error_code = e.code;
  };
  try {
    if (request.method != "POST" && !(proto == Protocol::kQuery && request.method == "GET")) {
      fail_with(
          error_of("InvalidAction", 400, "CloudWatch takes POST requests, not " + request.method));
    } else if (op == nullptr) {
      fail_with(error_of(
          proto == Protocol::kQuery ? "InvalidAction" : "UnknownOperationException", 400,
          op_name.empty() ? "The request names no CloudWatch operation"
                          : "No operation " + op_name + " in CloudWatch " + model_.api_version()));
    } else {
      json input = json::object();
      bool ok = true;
      if (proto == Protocol::kCbor) {
        if (!request.body.empty()) {
          auto untagged = cbor_untag(request.body);
          if (untagged)
            input = json::from_cbor(*untagged, true, false, json::cbor_tag_handler_t::ignore);
          if (!untagged || input.is_discarded() || !input.is_object()) {
            fail_with(
                error_of("SerializationException", 400, "The request body is not a CBOR map"));
            ok = false;
          }
        }
      } else if (proto == Protocol::kJson) {
        const bool blank = std::all_of(request.body.begin(), request.body.end(), [](char c) {
          return std::isspace(static_cast<unsigned char>(c));
        });
        if (!blank) {
          if (!nesting_within(request.body, kMaxJsonDepth)) {
            fail_with(
                error_of("SerializationException", 400, "Request body nests JSON too deeply"));
            ok = false;
          } else {
            input = json::parse(request.body, nullptr, false);
            if (input.is_discarded() || !input.is_object()) {
              fail_with(
                  error_of("SerializationException", 400, "The request body is not a JSON object"));
              ok = false;
            }
          }
        }
      } else {
        auto v = params.find("Version");
        if (v == params.end() || v->second != model_.api_version()) {
          fail_with(error_of("InvalidParameterValue", 400,
                             "The query protocol needs Version=" + model_.api_version()));
          ok = false;
        } else if (!op->input.empty()) {
          params.erase("Action");
          params.erase("Version");
          std::vector<std::string> errors;
          input = query_decode(model_, *model_.shape(op->input), params, errors);
          if (!errors.empty()) {
            fail_with(error_of("InvalidParameterValue", 400, validation_message(errors)));
            ok = false;
          }
        }
      }
      if (ok) {
        auto result = call(*op, std::move(input), ctx);
        if (!result.ok()) {
          fail_with(result.error());
        } else {
          const json& out = result.value();
          const Shape* shape = op->output.empty() ? nullptr : model_.shape(op->output);
          response.status = 200;
          response.set_header("x-amzn-RequestId", ctx.request_id);
          if (proto == Protocol::kCbor) {
            response.set_header("Content-Type", "application/cbor");
            response.set_header("smithy-protocol", "rpc-v2-cbor");
            response.body = shape ? cbor_encode(model_, *shape, out) : std::string("\xa0", 1);
          } else if (proto == Protocol::kJson) {
            response.set_header("Content-Type", kJsonType);
            response.body = shape ? to_wire(model_, *shape, out)
                                        .dump(-1, ' ', false, json::error_handler_t::replace)
                                  : "{}";
          } else {
            std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<" + op->name +
                               "Response xmlns=\"" + kXmlNamespace + "\">";
            if (shape)
              body += "<" + op->name + "Result>" + xml_encode(model_, *shape, out) + "</" +
                      op->name + "Result>";
            body += "<ResponseMetadata><RequestId>" + ctx.request_id +
                    "</RequestId></ResponseMetadata></" + op->name + "Response>\n";
            response.set_header("Content-Type", "text/xml");
            response.body = std::move(body);
          }
        }
      }
    }
  } catch (const std::exception& e) {
    spdlog::error("api: CloudWatch {} threw: {}", op_name, e.what());
    fail_with(error_of("InternalServiceError", 500, "internal error"));
  }
  const auto ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started);
  static const char* kNames[] = {"cbor", "json", "query"};
  spdlog::info("api: CloudWatch {} ({}) status={} {:.1f}ms{}{}", op_name.empty() ? "-" : op_name,
               kNames[static_cast<int>(proto)], response.status, ms.count(),
               error_code.empty() ? "" : " error=", error_code);
  return response;
}

}  // namespace efs::api
