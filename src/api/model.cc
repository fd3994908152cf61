#include "api/model.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace efs::api {
namespace {

// ordered_json keeps members in model order, so validation errors list them as AWS does.
using json = nlohmann::ordered_json;

std::optional<ShapeType> shape_type(const std::string& t) {
  static const std::map<std::string, ShapeType> kTypes = {
      {"structure", ShapeType::kStructure},
      {"list", ShapeType::kList},
      {"map", ShapeType::kMap},
      {"string", ShapeType::kString},
      {"integer", ShapeType::kInteger},
      {"long", ShapeType::kLong},
      {"boolean", ShapeType::kBoolean},
      {"timestamp", ShapeType::kTimestamp},
      {"double", ShapeType::kDouble},
      {"float", ShapeType::kFloat},
      {"blob", ShapeType::kBlob},
  };
  auto it = kTypes.find(t);
  if (it == kTypes.end()) return std::nullopt;
  return it->second;
}

std::optional<Location> location(const std::string& l) {
  if (l.empty()) return Location::kBody;
  if (l == "uri") return Location::kUri;
  if (l == "querystring") return Location::kQueryString;
  if (l == "header") return Location::kHeader;
  if (l == "headers") return Location::kHeaders;
  if (l == "statusCode") return Location::kStatusCode;
  return std::nullopt;
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<double> num(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

Result<Shape, Error> parse_shape(const std::string& name, const json& j) {
  Shape s;
  s.name = name;
  auto type = shape_type(str(j, "type"));
  if (!type) return fail(Error{"shape " + name + ": unknown type '" + str(j, "type") + "'"});
  s.type = *type;
  if (auto it = j.find("members"); it != j.end() && it->is_object()) {
    for (const auto& [mname, mj] : it->items()) {
      Member m;
      m.name = mname;
      m.shape = str(mj, "shape");
      auto loc = location(str(mj, "location"));
      if (!loc) return fail(Error{"shape " + name + "." + mname + ": unknown location"});
      m.location = *loc;
      m.location_name = str(mj, "locationName");
      if (m.location_name.empty()) m.location_name = mname;
      m.json_name = str(mj, "jsonName");
      m.idempotency_token = mj.value("idempotencyToken", false);
      s.members.push_back(std::move(m));
    }
  }
  if (auto it = j.find("required"); it != j.end() && it->is_array()) {
    for (const auto& r : *it) {
      if (r.is_string()) s.required.push_back(r.get<std::string>());
    }
  }
  if (auto it = j.find("member"); it != j.end()) s.member = str(*it, "shape");
  if (auto it = j.find("key"); it != j.end()) s.key = str(*it, "shape");
  if (auto it = j.find("value"); it != j.end()) s.value = str(*it, "shape");
  if (auto it = j.find("enum"); it != j.end() && it->is_array()) {
    for (const auto& e : *it) {
      if (e.is_string()) s.enum_values.push_back(e.get<std::string>());
    }
  }
  s.min = num(j, "min");
  s.max = num(j, "max");
  s.pattern = str(j, "pattern");
  s.timestamp_format = str(j, "timestampFormat");
  s.exception = j.value("exception", false);
  if (auto it = j.find("error"); it != j.end() && it->is_object()) {
    s.http_status = it->value("httpStatusCode", 0);
    s.error_code = str(*it, "code");
  }
  if (s.error_code.empty()) s.error_code = name;
  return s;
}

}  // namespace

const Member* Shape::find_member(std::string_view member_name) const {
  for (const auto& m : members) {
    if (m.name == member_name) return &m;
  }
  return nullptr;
}

bool Shape::is_required(std::string_view member_name) const {
  return std::find(required.begin(), required.end(), member_name) != required.end();
}

Result<Model, Error> Model::parse(std::string_view json_text) {
  json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return fail(Error{"model is not a JSON object"});
  Model m;
  const json& meta = j.contains("metadata") ? j["metadata"] : json::object();
  m.api_version_ = str(meta, "apiVersion");
  m.protocol_ = str(meta, "protocol");
  m.target_prefix_ = str(meta, "targetPrefix");
  m.json_version_ = str(meta, "jsonVersion");
  m.endpoint_prefix_ = str(meta, "endpointPrefix");

  auto shapes = j.find("shapes");
  if (shapes == j.end() || !shapes->is_object()) return fail(Error{"model has no shapes"});
  for (const auto& [name, sj] : shapes->items()) {
    auto shape = parse_shape(name, sj);
    if (!shape.ok()) return fail(shape.error());
    m.shapes_.emplace(name, std::move(shape).value());
  }
  // Compile every pattern once; one that std::regex cannot take is skipped
  // (logged once here) rather than failing every request that uses it.
  for (auto& [name, s] : m.shapes_) {
    if (s.pattern.empty()) continue;
    std::string why;
    auto compiled = Pattern::compile(s.pattern, &why);
    if (compiled) {
      s.compiled = std::make_shared<const Pattern>(std::move(*compiled));
    } else {
      spdlog::warn("api: model {} shape {}: pattern '{}' not checked: {}", m.api_version_, name,
                   s.pattern, why);
    }
  }
  auto ops = j.find("operations");
  if (ops == j.end() || !ops->is_object()) return fail(Error{"model has no operations"});
  for (const auto& [name, oj] : ops->items()) {
    Operation op;
    op.name = name;
    const json& http = oj.contains("http") ? oj["http"] : json::object();
    op.method = str(http, "method");
    op.request_uri = str(http, "requestUri");
    op.response_code = http.value("responseCode", 200);
    if (auto it = oj.find("input"); it != oj.end()) op.input = str(*it, "shape");
    if (auto it = oj.find("output"); it != oj.end()) op.output = str(*it, "shape");
    if (auto it = oj.find("errors"); it != oj.end() && it->is_array()) {
      for (const auto& e : *it) op.errors.push_back(str(e, "shape"));
    }
    for (const auto* ref : {&op.input, &op.output}) {
      if (!ref->empty() && !m.shapes_.count(*ref)) {
        return fail(Error{"operation " + name + " refers to unknown shape " + *ref});
      }
    }
    m.operations_.emplace(name, std::move(op));
  }
  // Every reference must resolve, so the validator never meets a dangling name.
  for (const auto& [name, s] : m.shapes_) {
    std::vector<const std::string*> refs = {&s.member, &s.key, &s.value};
    for (const auto& mem : s.members) refs.push_back(&mem.shape);
    for (const auto* r : refs) {
      if (!r->empty() && !m.shapes_.count(*r)) {
        return fail(Error{"shape " + name + " refers to unknown shape " + *r});
      }
    }
  }
  return m;
}

const Operation* Model::operation(const std::string& name) const {
  auto it = operations_.find(name);
  return it == operations_.end() ? nullptr : &it->second;
}

const Shape* Model::shape(const std::string& name) const {
  auto it = shapes_.find(name);
  return it == shapes_.end() ? nullptr : &it->second;
}

int Model::error_status(const std::string& code) const {
  auto it = shapes_.find(code);
  if (it != shapes_.end() && it->second.exception) return it->second.http_status;
  for (const auto& [name, s] : shapes_) {
    if (s.exception && s.error_code == code) return s.http_status;
  }
  return 0;
}

namespace {

Model load_embedded(std::string_view text, const char* what) {
  auto m = Model::parse(text);
  if (!m.ok()) {
    // The embedded model is part of the build; failing here is a build defect.
    spdlog::critical("api: embedded {} model does not load: {}", what, m.error().message);
    std::abort();
  }
  return std::move(m).value();
}

}  // namespace

const Model& efs_model() {
  static const Model m = load_embedded(efs_model_json(), "EFS");
  return m;
}

const Model& kms_model() {
  static const Model m = load_embedded(kms_model_json(), "KMS");
  return m;
}

}  // namespace efs::api
