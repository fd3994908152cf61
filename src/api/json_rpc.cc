#include "api/json_rpc.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "api/validation.h"

namespace efs::api {
namespace {

using nlohmann::json;

constexpr const char* kContentType = "application/x-amz-json-1.1";

// Output per the shape: nulls and members the shape lacks dropped.
json to_wire(const Model& model, const Shape& shape, const json& v) {
  switch (shape.type) {
    case ShapeType::kStructure: {
      if (!v.is_object()) return v;
      json out = json::object();
      for (const auto& m : shape.members) {
        auto it = v.find(m.name);
        if (it == v.end() || it->is_null()) continue;
        out[m.wire_name()] = to_wire(model, *model.shape(m.shape), *it);
      }
      return out;
    }
    case ShapeType::kList: {
      if (!v.is_array()) return v;
      json out = json::array();
      for (const auto& e : v) out.push_back(to_wire(model, *model.shape(shape.member), e));
      return out;
    }
    default:
      return v;
  }
}

efs::ServiceError error_of(const char* code, std::string message) {
  return efs::ServiceError{code, 400, std::move(message), json::object()};
}

}  // namespace

http::Response json_rpc_error(const efs::ServiceError& error, const std::string& request_id) {
  http::Response r;
  r.status = error.http_status == 0 ? 400 : error.http_status;
  json body = json::object();
  if (error.extra.is_object())
    for (const auto& [k, v] : error.extra.items()) body[k] = v;
  body["__type"] = error.code;
  body["message"] = error.message;
  r.set_header("x-amzn-RequestId", request_id);
  r.set_header("x-amzn-ErrorType", error.code);
  r.set_header("Content-Type", kContentType);
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

void JsonRpcService::add(const std::string& op_name, efs::JsonOperation handler) {
  if (model_.operation(op_name) == nullptr) {
    spdlog::error("api: no operation {} in model {}", op_name, model_.api_version());
    return;
  }
  handlers_[op_name] = std::move(handler);
}

bool JsonRpcService::matches(const http::Request& request) const {
  const auto* target = request.header("x-amz-target");
  return target != nullptr && target->rfind(model_.target_prefix() + ".", 0) == 0;
}

std::vector<std::string> JsonRpcService::unrouted_operations() const {
  std::vector<std::string> out;
  for (const auto& [name, op] : model_.operations())
    if (!handlers_.count(name)) out.push_back(name);
  return out;
}

http::Response JsonRpcService::handle(const http::Request& request,
                                      const efs::RequestContext& ctx) const {
  auto started = std::chrono::steady_clock::now();
  std::string op_name = "-";
  http::Response response;
  std::string error_code;
  auto fail_with = [&](const efs::ServiceError& e) {
    response = json_rpc_error(e, ctx.request_id);
    error_code = e.code;
  };

  try {
    const auto* target = request.header("x-amz-target");
    const std::string prefix = model_.target_prefix() + ".";
    const Operation* op = nullptr;
    if (target != nullptr && target->rfind(prefix, 0) == 0)
      op = model_.operation(target->substr(prefix.size()));
    if (request.method != "POST") {
      fail_with(error_of("UnknownOperationException",
                         model_.target_prefix() + " takes POST requests, not " + request.method));
    } else if (op == nullptr) {
      fail_with(error_of("UnknownOperationException",
                         target == nullptr ? "The request has no X-Amz-Target header"
                                           : "No operation " + *target + " in " +
                                                 model_.target_prefix()));
    } else {
      op_name = op->name;
      bool blank = std::all_of(request.body.begin(), request.body.end(), [](char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
      });
      json input = json::object();
      bool ok = true;
      if (!blank) {
        if (!nesting_within(request.body, kMaxJsonDepth)) {
          fail_with(error_of("SerializationException", "Request body nests JSON deeper than " +
                                                           std::to_string(kMaxJsonDepth) +
                                                           " levels"));
          ok = false;
        } else {
          input = json::parse(request.body, nullptr, false);
          if (input.is_discarded() || !input.is_object()) {
            fail_with(error_of("SerializationException",
                               "The request body is not a JSON object"));
            ok = false;
          }
        }
      }
      if (ok && !op->input.empty()) {
        // JSON nulls count as absent, as the SDKs send them.
        for (auto it = input.begin(); it != input.end();) {
          if (it->is_null())
            it = input.erase(it);
          else
            ++it;
        }
        std::vector<std::string> errors;
        validate_shape(model_, *model_.shape(op->input), input, "", errors);
        if (!errors.empty()) {
          fail_with(error_of("ValidationException", validation_message(errors)));
          ok = false;
        }
      }
      if (ok) {
        auto h = handlers_.find(op->name);
        if (h == handlers_.end()) {
          fail_with(error_of("UnsupportedOperationException",
                             "efs-local does not implement " + op->name + " of " +
                                 model_.target_prefix()));
        } else {
          auto result = h->second(ctx, input);
          if (!result.ok()) {
            fail_with(result.error());
          } else {
            response.status = 200;
            const json& out = result.value();
            response.body = op->output.empty() || !out.is_object()
                                ? "{}"
                                : to_wire(model_, *model_.shape(op->output), out)
                                      .dump(-1, ' ', false, json::error_handler_t::replace);
            response.set_header("x-amzn-RequestId", ctx.request_id);
            response.set_header("Content-Type", kContentType);
          }
        }
      }
    }
  } catch (const std::exception& e) {
    spdlog::error("api: {} ({}) threw: {}", model_.target_prefix(), op_name, e.what());
    fail_with({"KMSInternalException", 500, "internal error", json::object()});
  }

  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started);
  spdlog::info("api: POST {}.{} status={} {:.1f}ms{}{}", model_.target_prefix(), op_name,
               response.status, ms.count(), error_code.empty() ? "" : " error=", error_code);
  return response;
}

}  // namespace efs::api
