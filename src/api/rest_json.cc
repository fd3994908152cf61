#include "api/rest_json.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "api/pagination.h"
#include "api/validation.h"
#include "efs/model_error.h"
#include "http/parser.h"

namespace efs::api {
namespace {

using nlohmann::json;

constexpr const char* kJsonContentType = "application/json";

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  while (true) {
    auto i = s.find(sep);
    out.emplace_back(s.substr(0, i));
    if (i == std::string_view::npos) break;
    s.remove_prefix(i + 1);
  }
  return out;
}

// Path segments after the leading '/', with one trailing empty segment
// dropped so "/tags/fs-1/" and "/tags/fs-1" both match the model's
// "/tags/{FileSystemId}/".
std::vector<std::string> path_segments(std::string_view path) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  auto segs = split(path, '/');
  if (segs.size() > 1 && segs.back().empty()) segs.pop_back();
  return segs;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Body keys are wire names (jsonName); handlers see member names.
json from_wire(const Model& model, const Shape& shape, const json& v) {
  if (shape.type == ShapeType::kStructure && v.is_object()) {
    json out = json::object();
    for (const auto& [key, value] : v.items()) {
      const Member* member = nullptr;
      for (const auto& m : shape.members) {
        if (m.location == Location::kBody && m.wire_name() == key) member = &m;
      }
      if (member == nullptr) {
        out[key] = value;  // reported as unknown by validation
      } else {
        out[member->name] = from_wire(model, *model.shape(member->shape), value);
      }
    }
    return out;
  }
  if (shape.type == ShapeType::kList && v.is_array()) {
    json out = json::array();
    for (const auto& e : v) out.push_back(from_wire(model, *model.shape(shape.member), e));
    return out;
  }
  if (shape.type == ShapeType::kMap && v.is_object()) {
    json out = json::object();
    for (const auto& [k, e] : v.items()) out[k] = from_wire(model, *model.shape(shape.value), e);
    return out;
  }
  return v;
}

// Output per the shape: wire names, nulls and members the shape lacks
// dropped, timestamps as epoch seconds.
json to_wire(const Model& model, const Shape& shape, const json& v) {
  switch (shape.type) {
    case ShapeType::kStructure: {
      if (!v.is_object()) return v;
      json out = json::object();
      for (const auto& m : shape.members) {
        if (m.location != Location::kBody) continue;
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
    case ShapeType::kMap: {
      if (!v.is_object()) return v;
      json out = json::object();
      for (const auto& [k, e] : v.items()) {
        if (!e.is_null()) out[k] = to_wire(model, *model.shape(shape.value), e);
      }
      return out;
    }
    case ShapeType::kTimestamp: {
      double t = 0;
      if (v.is_string() && parse_iso8601(v.get<std::string>(), t)) return t;
      return v;
    }
    default:
      return v;
  }
}

std::string header_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.dump();
}

efs::ServiceError bad_request(std::string message) {
  return efs::model_error(efs::ErrorCode::BadRequest, std::move(message));
}

}  // namespace

http::Response error_response(const efs::ServiceError& error, const std::string& request_id,
                              const Model* model) {
  http::Response r;
  r.status = error.http_status;
  if (r.status == 0 && model != nullptr) r.status = model->error_status(error.code);
  if (r.status == 0) r.status = 400;
  json body = json::object();
  body["ErrorCode"] = error.code;
  body["Message"] = error.message;
  if (error.extra.is_object()) {
    for (const auto& [k, v] : error.extra.items()) {
      if (k != "ErrorCode" && k != "Message") body[k] = v;
    }
  }
  r.set_header("x-amzn-RequestId", request_id);
  r.set_header("x-amzn-ErrorType", error.code);
  r.set_header("Content-Type", kJsonContentType);
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

RestJsonService::RestJsonService(const Model& model) : model_(model) {
  for (const auto& [name, op] : model_.operations()) {
    Route route;
    route.op = &op;
    auto q = op.request_uri.find('?');
    for (const auto& seg : path_segments(std::string_view(op.request_uri).substr(0, q))) {
      if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
        bool greedy = seg[seg.size() - 2] == '+';
        route.segments.push_back({greedy ? Segment::kGreedyLabel : Segment::kLabel,
                                  seg.substr(1, seg.size() - (greedy ? 3 : 2))});
      } else {
        route.segments.push_back({Segment::kLiteral, seg});
        ++route.literal_count;
      }
    }
    if (q != std::string::npos) {
      for (const auto& part : split(std::string_view(op.request_uri).substr(q + 1), '&')) {
        if (!part.empty()) route.required_query.push_back(part.substr(0, part.find('=')));
      }
    }
    routes_.push_back(std::move(route));
  }
}

void RestJsonService::add(const std::string& op_name, efs::JsonOperation handler) {
  if (model_.operation(op_name) == nullptr) {
    spdlog::error("api: no operation {} in model {}", op_name, model_.api_version());
    return;
  }
  handlers_[op_name] = std::move(handler);
}

bool RestJsonService::matches(const http::Request& request) const {
  return request.path.rfind(model_.uri_prefix(), 0) == 0;
}

std::vector<std::string> RestJsonService::unrouted_operations() const {
  std::vector<std::string> out;
  for (const auto& [name, op] : model_.operations()) {
    if (!handlers_.count(name)) out.push_back(name);
  }
  return out;
}

RestJsonService::Match RestJsonService::find_route(
    const std::string& method, const std::string& raw_path,
    const std::vector<std::pair<std::string, std::string>>& query) const {
  Match best;
  auto segs = path_segments(raw_path);
  std::vector<std::string> decoded(segs.size());
  for (std::size_t i = 0; i < segs.size(); ++i) {
    if (!http::percent_decode(segs[i], false, decoded[i])) return best;
  }
  for (const auto& route : routes_) {
    std::map<std::string, std::string> labels;
    bool ok = true;
    std::size_t i = 0;
    for (std::size_t s = 0; ok && s < route.segments.size(); ++s) {
      const Segment& seg = route.segments[s];
      if (seg.kind == Segment::kGreedyLabel) {
        // A greedy label takes the rest of the path, slashes included.
        if (i >= segs.size()) {
          ok = false;
          break;
        }
        std::string rest;
        for (std::size_t k = i; k < segs.size(); ++k) rest += (k > i ? "/" : "") + decoded[k];
        ok = !rest.empty();
        labels[seg.text] = rest;
        i = segs.size();
        break;
      }
      if (i >= segs.size()) {
        ok = false;
        break;
      }
      if (seg.kind == Segment::kLiteral) {
        ok = decoded[i] == seg.text;
      } else {
        ok = !decoded[i].empty();
        labels[seg.text] = decoded[i];
      }
      ++i;
    }
    if (!ok || i != segs.size()) continue;
    for (const auto& key : route.required_query) {
      bool present =
          std::any_of(query.begin(), query.end(), [&](const auto& kv) { return kv.first == key; });
      if (!present) ok = false;
    }
    if (!ok) continue;
    best.path_known = true;
    best.allowed.push_back(route.op->method);
    if (route.op->method != method) continue;
    // The most literal template wins: /file-systems/replication-configurations
    // beats /file-systems/{FileSystemId}.
    if (best.route == nullptr || route.literal_count > best.route->literal_count) {
      best.route = &route;
      best.labels = std::move(labels);
    }
  }
  return best;
}

const Operation* RestJsonService::route(const std::string& method,
                                        const std::string& raw_path) const {
  auto m = find_route(method, raw_path, {});
  return m.route ? m.route->op : nullptr;
}

Result<const Operation*, efs::ServiceError> RestJsonService::route_request(
    const http::Request& request, std::map<std::string, std::string>& labels,
    std::string& allow) const {
  Match match = find_route(request.method, request.raw_path, request.query);
  if (match.route != nullptr) {
    labels = std::move(match.labels);
    return match.route->op;
  }
  if (!match.path_known) {
    return efs::unmodeled_error("UnknownOperationException", 404,
                                "No operation matches " + request.method + " " + request.path);
  }
  std::sort(match.allowed.begin(), match.allowed.end());
  match.allowed.erase(std::unique(match.allowed.begin(), match.allowed.end()),
                      match.allowed.end());
  allow.clear();
  for (const auto& m : match.allowed) allow += (allow.empty() ? "" : ", ") + m;
  return efs::unmodeled_error("MethodNotAllowedException", 405,
                              "Method " + request.method + " is not allowed on " + request.path +
                                  " (allowed: " + allow + ")");
}

Result<RestJsonService::BoundInput, efs::ServiceError> RestJsonService::bind(
    const Operation& op, const std::map<std::string, std::string>& labels,
    const http::Request& request) const {
  BoundInput bound;
  const Shape* in = op.input.empty() ? nullptr : model_.shape(op.input);
  if (in == nullptr) return bound;
  auto& input = bound.input;
  auto& errors = bound.violations;
  // The JSON body: empty means {}.
  bool blank = std::all_of(request.body.begin(), request.body.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
  });
  if (!blank) {
    if (!nesting_within(request.body, kMaxJsonDepth))
      return fail(bad_request("Request body nests JSON deeper than " +
                              std::to_string(kMaxJsonDepth) + " levels"));
    json body = json::parse(request.body, nullptr, false);
    if (body.is_discarded())
      return fail(bad_request("Could not parse request body into json: malformed JSON"));
    if (!body.is_object()) return fail(bad_request("Request body must be a JSON object"));
    for (const auto& [key, value] : body.items()) {
      const Member* m = in->find_member(key);
      if (m != nullptr && m->location != Location::kBody && m->wire_name() == key) {
        errors.push_back("Unknown member '" + key + "' in request body");
      }
    }
    input = from_wire(model_, *in, body);
  }
  for (const auto& m : in->members) {
    const Shape& target = *model_.shape(m.shape);
    std::string path = member_path("", m.name);
    json value;
    switch (m.location) {
      case Location::kBody:
      case Location::kStatusCode:
        continue;
      case Location::kUri: {
        auto it = labels.find(m.location_name);
        if (it == labels.end()) continue;
        if (typed_from_text(target, it->second, path, value, errors)) input[m.name] = value;
        continue;
      }
      case Location::kQueryString: {
        if (target.type == ShapeType::kList) {
          json list = json::array();
          for (const auto& [k, v] : request.query) {
            json element;
            if (k == m.location_name &&
                typed_from_text(*model_.shape(target.member), v, path, element, errors)) {
              list.push_back(element);
            }
          }
          if (!list.empty()) input[m.name] = list;
        } else if (target.type == ShapeType::kMap) {
          // A query map takes every parameter no other member binds.
          json map = json::object();
          for (const auto& kv : request.query) {
            bool bound_elsewhere =
                std::any_of(in->members.begin(), in->members.end(), [&](const Member& o) {
                  return o.location == Location::kQueryString && o.location_name == kv.first &&
                         &o != &m;
                });
            if (!bound_elsewhere) map[kv.first] = kv.second;
          }
          if (!map.empty()) input[m.name] = map;
        } else {
          for (const auto& [k, v] : request.query) {
            if (k == m.location_name && typed_from_text(target, v, path, value, errors)) {
              input[m.name] = value;
            }
          }
        }
        continue;
      }
      case Location::kHeader: {
        if (const auto* h = request.header(lower(m.location_name))) {
          if (typed_from_text(target, *h, path, value, errors)) input[m.name] = value;
        }
        continue;
      }
      case Location::kHeaders: {
        json map = json::object();
        std::string prefix = lower(m.location_name);
        for (const auto& [k, v] : request.headers) {
          if (k.rfind(prefix, 0) == 0) map[k.substr(prefix.size())] = v;
        }
        if (!map.empty()) input[m.name] = map;
        continue;
      }
    }
  }
  return bound;
}

Result<nlohmann::json, efs::ServiceError> RestJsonService::validate(const Operation& op,
                                                                    BoundInput bound) const {
  if (const Shape* in = op.input.empty() ? nullptr : model_.shape(op.input))
    validate_shape(model_, *in, bound.input, "", bound.violations);
  if (!bound.violations.empty()) return fail(bad_request(validation_message(bound.violations)));
  return std::move(bound.input);
}

efs::ApiResult<nlohmann::json> RestJsonService::invoke(const Operation& op,
                                                       const efs::RequestContext& ctx,
                                                       json input) const {
  auto h = handlers_.find(op.name);
  if (h == handlers_.end())
    return efs::unmodeled_error("NotImplemented", 501,
                                "efs-local does not implement " + op.name + " yet");
  return call_paged(op.name, h->second, ctx, std::move(input));
}

http::Response RestJsonService::serialize(const Operation& op, const json& out,
                                          const std::string& request_id) const {
  http::Response response;
  response.status = op.response_code;
  if (!op.output.empty() && out.is_object()) {
    const Shape& shape = *model_.shape(op.output);
    for (const auto& m : shape.members) {
      auto it = out.find(m.name);
      if (it == out.end() || it->is_null()) continue;
      if (m.location == Location::kHeader) {
        response.set_header(m.location_name, header_text(*it));
      } else if (m.location == Location::kStatusCode && it->is_number_integer()) {
        response.status = it->get<int>();
      }
    }
    if (response.status != 204) {
      response.body =
          to_wire(model_, shape, out).dump(-1, ' ', false, json::error_handler_t::replace);
    }
  } else if (response.status != 204) {
    response.body = "{}";
  }
  response.set_header("x-amzn-RequestId", request_id);
  response.set_header("Content-Type", kJsonContentType);
  return response;
}

http::Response RestJsonService::handle(const http::Request& request,
                                       const efs::RequestContext& ctx) const {
  auto started = std::chrono::steady_clock::now();
  std::string op_name = "-";
  http::Response response;
  std::string error_code;

  auto fail_with = [&](const efs::ServiceError& e) {
    response = error_response(e, ctx.request_id, &model_);
    error_code = e.code;
  };

  try {
    std::map<std::string, std::string> labels;
    std::string allow;
    auto op = route_request(request, labels, allow);
    if (!op.ok()) {
      fail_with(op.error());
      if (!allow.empty()) response.set_header("Allow", allow);
    } else {
      op_name = (*op)->name;
      auto bound = bind(**op, labels, request);
      auto input = bound.ok() ? validate(**op, std::move(*bound))
                              : Result<json, efs::ServiceError>(fail(bound.error()));
      auto output = input.ok() ? invoke(**op, ctx, std::move(*input))
                               : efs::ApiResult<json>(fail(input.error()));
      if (output.ok())
        response = serialize(**op, *output, ctx.request_id);
      else
        fail_with(output.error());
    }
  } catch (const std::exception& e) {
    spdlog::error("api: {} {} ({}) threw: {}", request.method, request.path, op_name, e.what());
    fail_with(efs::model_error(efs::ErrorCode::InternalServerError, "internal error"));
  } catch (...) {
    spdlog::error("api: {} {} ({}) threw", request.method, request.path, op_name);
    fail_with(efs::model_error(efs::ErrorCode::InternalServerError, "internal error"));
  }

  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started);
  std::string target =
      request.target.size() > 200 ? request.target.substr(0, 200) + "..." : request.target;
  spdlog::info("api: {} {} op={} status={} {:.1f}ms{}{}", request.method, target, op_name,
               response.status, ms.count(), error_code.empty() ? "" : " error=", error_code);
  return response;
}

}  // namespace efs::api
