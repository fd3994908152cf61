// The wire forms of CloudWatch's shapes other than plain JSON: CBOR for
// Smithy RPC v2 (RFC 8949; the protocol's rules in the Smithy
// "smithy.protocols#rpcv2Cbor" specification) and the query protocol's
// form parameters and XML.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>

#include "api/cloudwatch.h"
#include "api/ec2_query.h"
#include "api/validation.h"
#include "common/clock.h"

namespace efs::api {

using nlohmann::json;

namespace {

// ---- CBOR ----

void head(std::string& out, unsigned major, uint64_t n) {
  const auto m = static_cast<uint8_t>(major << 5);
  if (n < 24) {
    out += static_cast<char>(m | n);
    return;
  }
  int bytes = 8;
  uint8_t info = 27;
  if (n < 0x100) {
    bytes = 1;
    info = 24;
  } else if (n < 0x10000) {
    bytes = 2;
    info = 25;
  } else if (n < 0x100000000ULL) {
    bytes = 4;
    info = 26;
  }
  out += static_cast<char>(m | info);
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((n >> (8 * i)) & 0xff);
}

void text(std::string& out, const std::string& s) {
  head(out, 3, s.size());
  out += s;
}

void integer(std::string& out, int64_t v) {
  if (v >= 0)
    head(out, 0, static_cast<uint64_t>(v));
  else
    head(out, 1, static_cast<uint64_t>(-(v + 1)));
}

void float64(std::string& out, double v) {
  uint64_t bits = 0;
  static_assert(sizeof bits == sizeof v);
  std::memcpy(&bits, &v, sizeof v);
  out += static_cast<char>(0xfb);
  for (int i = 7; i >= 0; --i) out += static_cast<char>((bits >> (8 * i)) & 0xff);
}

double number_of(const json& v) {
  return v.is_number() ? v.get<double>() : 0.0;
}

void cbor_value(std::string& out, const Model& model, const Shape& shape, const json& v) {
  switch (shape.type) {
    case ShapeType::kStructure: {
      std::vector<const Member*> present;
      for (const auto& m : shape.members)
        if (auto it = v.find(m.name); it != v.end() && !it->is_null()) present.push_back(&m);
      head(out, 5, present.size());
      for (const Member* m : present) {
        text(out, m->name);
        cbor_value(out, model, *model.shape(m->shape), v[m->name]);
      }
      return;
    }
    case ShapeType::kList: {
      const Shape& member = *model.shape(shape.member);
      head(out, 4, v.is_array() ? v.size() : 0);
      if (v.is_array())
        for (const auto& e : v) cbor_value(out, model, member, e);
      return;
    }
    case ShapeType::kMap: {
      const Shape& value = *model.shape(shape.value);
      head(out, 5, v.is_object() ? v.size() : 0);
      if (v.is_object())
        for (const auto& [k, e] : v.items()) {
          text(out, k);
          cbor_value(out, model, value, e);
        }
      return;
    }
    case ShapeType::kString:
      text(out, v.is_string() ? v.get<std::string>() : v.dump());
      return;
    case ShapeType::kInteger:
    case ShapeType::kLong:
      integer(out, v.is_number() ? v.get<int64_t>() : 0);
      return;
    case ShapeType::kBoolean:
      out += static_cast<char>(v.is_boolean() && v.get<bool>() ? 0xf5 : 0xf4);
      return;
    case ShapeType::kTimestamp: {
      // Tag 1: epoch-based date/time; whole seconds as an integer.
      head(out, 6, 1);
      const double t = number_of(v);
      if (t == std::floor(t) && std::fabs(t) < 9e15)
        integer(out, static_cast<int64_t>(t));
      else
        float64(out, t);
      return;
    }
    case ShapeType::kDouble:
    case ShapeType::kFloat:
      float64(out, number_of(v));
      return;
    case ShapeType::kBlob: {
      const std::string s = v.is_string() ? v.get<std::string>() : std::string();
      head(out, 2, s.size());
      out += s;
      return;
    }
  }
}

// Copies one CBOR data item from in[pos] to out without its tags (major
// type 6). False on a truncated or malformed item, or one nested deeper
// than the limit.
bool untag_item(std::string_view in, std::size_t& pos, std::string& out, int depth) {
  if (depth > 64 || pos >= in.size()) return false;
  const auto initial = static_cast<uint8_t>(in[pos]);
  const unsigned major = initial >> 5;
  const unsigned info = initial & 0x1f;
  const std::size_t start = pos++;
  uint64_t arg = info;
  if (info >= 24 && info <= 27) {
    const std::size_t n = std::size_t{1} << (info - 24);
    if (pos + n > in.size()) return false;
    arg = 0;
    for (std::size_t i = 0; i < n; ++i) arg = (arg << 8) | static_cast<uint8_t>(in[pos + i]);
    pos += n;
  } else if (info >= 28 && info <= 30) {
    return false;
  }
  const bool indefinite = info == 31;
  if (major == 6) {
    if (indefinite) return false;
    return untag_item(in, pos, out, depth + 1);  // the tag's content, untagged
  }
  out.append(in.substr(start, pos - start));
  switch (major) {
    case 0:
    case 1:
      return !indefinite;
    case 7:
      return !indefinite;  // a "break" outside an indefinite item is malformed
    case 2:
    case 3:
      if (indefinite) {
        while (pos < in.size() && static_cast<uint8_t>(in[pos]) != 0xff)
          if (!untag_item(in, pos, out, depth + 1)) return false;
        if (pos >= in.size()) return false;
        out += in[pos++];
        return true;
      }
      if (arg > in.size() - pos) return false;
      out.append(in.substr(pos, arg));
      pos += arg;
      return true;
    case 4:
    case 5: {
      if (indefinite) {
        while (pos < in.size() && static_cast<uint8_t>(in[pos]) != 0xff)
          if (!untag_item(in, pos, out, depth + 1)) return false;
        if (pos >= in.size()) return false;
        out += in[pos++];
        return true;
      }
      const uint64_t items = major == 5 ? arg * 2 : arg;
      if (items > in.size() - pos) return false;  // each item takes a byte at least
      for (uint64_t i = 0; i < items; ++i)
        if (!untag_item(in, pos, out, depth + 1)) return false;
      return true;
    }
  }
  return false;
}

// ---- query ----

// The list indices N present under `prefix.member.N`.
std::set<int> list_indices(const std::map<std::string, std::string>& params,
                           const std::string& prefix) {
  std::set<int> out;
  const std::string p = prefix + ".member.";
  for (auto it = params.lower_bound(p); it != params.end() && it->first.rfind(p, 0) == 0; ++it) {
    const std::string rest = it->first.substr(p.size());
    const auto dot = rest.find('.');
    const std::string n = rest.substr(0, dot);
    if (n.empty() || n.size() > 6 || n.find_first_not_of("0123456789") != std::string::npos)
      continue;
    out.insert(std::stoi(n));
  }
  return out;
}

bool has_prefix(const std::map<std::string, std::string>& params, const std::string& prefix) {
  auto it = params.lower_bound(prefix + ".");
  return it != params.end() && it->first.rfind(prefix + ".", 0) == 0;
}

std::optional<json> query_value(const Model& model, const Shape& shape,
                                const std::map<std::string, std::string>& params,
                                const std::string& prefix, std::vector<std::string>& errors,
                                int depth) {
  if (depth > 16) return std::nullopt;
  switch (shape.type) {
    case ShapeType::kStructure: {
      if (!prefix.empty() && !has_prefix(params, prefix)) return std::nullopt;
      json out = json::object();
      for (const auto& m : shape.members) {
        const std::string key = prefix.empty() ? m.name : prefix + "." + m.name;
        if (auto v = query_value(model, *model.shape(m.shape), params, key, errors, depth + 1))
          out[m.name] = std::move(*v);
      }
      return out;
    }
    case ShapeType::kList: {
      // "Name=" with no members is an empty list.
      if (auto it = params.find(prefix); it != params.end() && it->second.empty())
        return json::array();
      auto indices = list_indices(params, prefix);
      if (indices.empty()) return std::nullopt;
      json out = json::array();
      const Shape& member = *model.shape(shape.member);
      for (int n : indices)
        if (auto v = query_value(model, member, params, prefix + ".member." + std::to_string(n),
                                 errors, depth + 1))
          out.push_back(std::move(*v));
      return out;
    }
    case ShapeType::kMap: {
      json out = json::object();
      const std::string p = prefix + ".entry.";
      std::set<int> indices;
      for (auto it = params.lower_bound(p); it != params.end() && it->first.rfind(p, 0) == 0;
           ++it) {
        const std::string n = it->first.substr(p.size(), it->first.find('.', p.size()) - p.size());
        if (!n.empty() && n.size() <= 6 && n.find_first_not_of("0123456789") == std::string::npos)
          indices.insert(std::stoi(n));
      }
      if (indices.empty()) return std::nullopt;
      for (int n : indices) {
        const std::string e = p + std::to_string(n);
        auto k = params.find(e + ".key");
        if (k == params.end()) continue;
        if (auto v = query_value(model, *model.shape(shape.value), params, e + ".value", errors,
                                 depth + 1))
          out[k->second] = std::move(*v);
      }
      return out;
    }
    default: {
      auto it = params.find(prefix);
      if (it == params.end()) return std::nullopt;
      json out;
      if (!typed_from_text(shape, it->second, prefix, out, errors)) return std::nullopt;
      return out;
    }
  }
}

// ---- XML ----

std::string xml_number(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string xml_time(double t) {
  const auto tp = Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(t)));
  return format_utc(tp);
}

void xml_value(std::string& out, const Model& model, const Shape& shape, const json& v);

void xml_members(std::string& out, const Model& model, const Shape& shape, const json& v) {
  for (const auto& m : shape.members) {
    auto it = v.find(m.name);
    if (it == v.end() || it->is_null()) continue;
    out += "<" + m.location_name + ">";
    xml_value(out, model, *model.shape(m.shape), *it);
    out += "</" + m.location_name + ">";
  }
}

void xml_value(std::string& out, const Model& model, const Shape& shape, const json& v) {
  switch (shape.type) {
    case ShapeType::kStructure:
      if (v.is_object()) xml_members(out, model, shape, v);
      return;
    case ShapeType::kList:
      if (v.is_array())
        for (const auto& e : v) {
          out += "<member>";
          xml_value(out, model, *model.shape(shape.member), e);
          out += "</member>";
        }
      return;
    case ShapeType::kMap:
      if (v.is_object())
        for (const auto& [k, e] : v.items()) {
          out += "<entry><key>" + xml_escape(k) + "</key><value>";
          xml_value(out, model, *model.shape(shape.value), e);
          out += "</value></entry>";
        }
      return;
    case ShapeType::kTimestamp:
      out += xml_time(number_of(v));
      return;
    case ShapeType::kBoolean:
      out += v.is_boolean() && v.get<bool>() ? "true" : "false";
      return;
    case ShapeType::kInteger:
    case ShapeType::kLong:
    case ShapeType::kDouble:
    case ShapeType::kFloat:
      out += xml_number(number_of(v));
      return;
    default:
      out += xml_escape(v.is_string() ? v.get<std::string>() : v.dump());
      return;
  }
}

}  // namespace

std::string cbor_encode(const Model& model, const Shape& shape, const json& value) {
  std::string out;
  cbor_value(out, model, shape, value);
  return out;
}

std::optional<std::string> cbor_untag(std::string_view in) {
  std::string out;
  std::size_t pos = 0;
  if (!untag_item(in, pos, out, 0) || pos != in.size()) return std::nullopt;
  return out;
}

json query_decode(const Model& model, const Shape& shape,
                  const std::map<std::string, std::string>& params,
                  std::vector<std::string>& errors) {
  auto v = query_value(model, shape, params, "", errors, 0);
  return v ? *v : json::object();
}

std::string xml_encode(const Model& model, const Shape& shape, const json& value) {
  std::string out;
  xml_value(out, model, shape, value);
  return out;
}

}  // namespace efs::api
