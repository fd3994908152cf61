#include "api/validation.h"

#include <cctype>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <string_view>

namespace efs::api {
namespace {

using nlohmann::json;

// Long values (an 8 MB string) are cut in messages and logs.
constexpr std::size_t kMaxShownValue = 256;

std::string shown(const json& v) {
  std::string s =
      v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > kMaxShownValue) s = s.substr(0, kMaxShownValue) + "...";
  return s;
}

std::string violation(const json& v, const std::string& path, const std::string& constraint) {
  return "Value '" + shown(v) + "' at '" + path + "' failed to satisfy constraint: " + constraint;
}

std::string number_text(double d) {
  if (std::floor(d) == d && std::fabs(d) < 1e18) return std::to_string(static_cast<long long>(d));
  return std::to_string(d);
}

// Length in characters (UTF-8 code points), as AWS counts string length.
std::size_t char_length(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

void check_length(const Shape& shape, std::size_t length, const json& v, const std::string& path,
                  std::vector<std::string>& errors) {
  if (shape.min && static_cast<double>(length) < *shape.min) {
    errors.push_back(violation(
        v, path, "Member must have length greater than or equal to " + number_text(*shape.min)));
  }
  if (shape.max && static_cast<double>(length) > *shape.max) {
    errors.push_back(violation(
        v, path, "Member must have length less than or equal to " + number_text(*shape.max)));
  }
}

void check_range(const Shape& shape, double value, const json& v, const std::string& path,
                 std::vector<std::string>& errors) {
  if (shape.min && value < *shape.min) {
    errors.push_back(violation(
        v, path, "Member must have value greater than or equal to " + number_text(*shape.min)));
  }
  if (shape.max && value > *shape.max) {
    errors.push_back(violation(
        v, path, "Member must have value less than or equal to " + number_text(*shape.max)));
  }
}

bool is_base64(const std::string& s) {
  if (s.size() % 4 != 0) return false;
  std::size_t pad = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '=') {
      if (i + 2 < s.size()) return false;
      ++pad;
    } else if (pad > 0 || !(std::isalnum(c) || c == '+' || c == '/')) {
      return false;
    }
  }
  return true;
}

std::size_t base64_decoded_length(const std::string& s) {
  std::size_t pad = 0;
  if (!s.empty() && s.back() == '=') ++pad;
  if (s.size() > 1 && s[s.size() - 2] == '=') ++pad;
  return s.size() / 4 * 3 - pad;
}

}  // namespace

std::string member_path(const std::string& parent, const std::string& member_name) {
  std::string name = member_name;
  if (!name.empty()) name[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[0])));
  return parent.empty() ? name : parent + "." + name;
}

std::string validation_message(const std::vector<std::string>& errors) {
  std::string msg =
      std::to_string(errors.size()) +
      (errors.size() == 1 ? " validation error detected: " : " validation errors detected: ");
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (i > 0) msg += "; ";
    msg += errors[i];
  }
  return msg;
}

void validate_shape(const Model& model, const Shape& shape, const json& value,
                    const std::string& path, std::vector<std::string>& errors) {
  const std::string where = path.empty() ? std::string("input") : path;
  switch (shape.type) {
    case ShapeType::kStructure: {
      if (!value.is_object()) {
        errors.push_back(violation(value, where, "Member must be a structure"));
        return;
      }
      for (const auto& name : shape.required) {
        auto it = value.find(name);
        if (it == value.end() || it->is_null()) {
          errors.push_back("Value null at '" + member_path(path, name) +
                           "' failed to satisfy constraint: Member must not be null");
        }
      }
      for (const auto& [key, v] : value.items()) {
        const Member* m = shape.find_member(key);
        if (m == nullptr) {
          errors.push_back("Unknown member '" + key + "' at '" + where + "'");
          continue;
        }
        if (v.is_null()) continue;
        validate_shape(model, *model.shape(m->shape), v, member_path(path, key), errors);
      }
      return;
    }
    case ShapeType::kList: {
      if (!value.is_array()) {
        errors.push_back(violation(value, where, "Member must be a list"));
        return;
      }
      check_length(shape, value.size(), value, where, errors);
      const Shape& element = *model.shape(shape.member);
      for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i].is_null()) {
          errors.push_back("Value null at '" + where + "." + std::to_string(i + 1) +
                           ".member' failed to satisfy constraint: Member must not be null");
          continue;
        }
        validate_shape(model, element, value[i], where + "." + std::to_string(i + 1) + ".member",
                       errors);
      }
      return;
    }
    case ShapeType::kMap: {
      if (!value.is_object()) {
        errors.push_back(violation(value, where, "Member must be a map"));
        return;
      }
      check_length(shape, value.size(), value, where, errors);
      const Shape& key_shape = *model.shape(shape.key);
      const Shape& value_shape = *model.shape(shape.value);
      for (const auto& [k, v] : value.items()) {
        validate_shape(model, key_shape, json(k), where + ".key", errors);
        if (v.is_null()) continue;
        validate_shape(model, value_shape, v, where + "." + k + ".member", errors);
      }
      return;
    }
    case ShapeType::kString: {
      if (!value.is_string()) {
        errors.push_back(violation(value, where, "Member must be a string"));
        return;
      }
      const auto& s = value.get_ref<const std::string&>();
      if (!shape.enum_values.empty()) {
        bool found = false;
        for (const auto& e : shape.enum_values) found = found || e == s;
        if (!found) {
          std::string set;
          for (std::size_t i = 0; i < shape.enum_values.size(); ++i) {
            set += (i ? ", " : "") + shape.enum_values[i];
          }
          errors.push_back(
              violation(value, where, "Member must satisfy enum value set: [" + set + "]"));
          return;
        }
      }
      std::size_t before = errors.size();
      check_length(shape, char_length(s), value, where, errors);
      // The pattern is only worth running (and only safe to run) within length bounds.
      if (errors.size() == before && shape.compiled && !shape.compiled->matches(s)) {
        errors.push_back(violation(
            value, where, "Member must satisfy regular expression pattern: " + shape.pattern));
      }
      return;
    }
    case ShapeType::kInteger:
    case ShapeType::kLong: {
      bool integral = value.is_number_integer();
      if (integral && value.is_number_unsigned() &&
          value.get<std::uint64_t>() > static_cast<std::uint64_t>(LLONG_MAX)) {
        integral = false;
      }
      if (integral && shape.type == ShapeType::kInteger) {
        long long n = value.get<long long>();
        integral = n >= INT_MIN && n <= INT_MAX;
      }
      if (!integral) {
        errors.push_back(violation(value, where,
                                   shape.type == ShapeType::kInteger
                                       ? "Member must be a 32-bit integer"
                                       : "Member must be a 64-bit integer"));
        return;
      }
      check_range(shape, static_cast<double>(value.get<long long>()), value, where, errors);
      return;
    }
    case ShapeType::kDouble:
    case ShapeType::kFloat:
      if (!value.is_number()) {
        errors.push_back(violation(value, where, "Member must be a number"));
        return;
      }
      check_range(shape, value.get<double>(), value, where, errors);
      return;
    case ShapeType::kBoolean:
      if (!value.is_boolean())
        errors.push_back(violation(value, where, "Member must be a boolean"));
      return;
    case ShapeType::kTimestamp:
      if (!value.is_number()) {
        errors.push_back(violation(value, where, "Member must be a timestamp in epoch seconds"));
      }
      return;
    case ShapeType::kBlob: {
      if (!value.is_string() || !is_base64(value.get_ref<const std::string&>())) {
        errors.push_back(violation(value, where, "Member must be base64-encoded binary data"));
        return;
      }
      check_length(shape, base64_decoded_length(value.get_ref<const std::string&>()), value, where,
                   errors);
      return;
    }
  }
}

bool parse_iso8601(const std::string& text, double& epoch_seconds) {
  int y, mo, d, h, mi, s;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &consumed) !=
      6) {
    return false;
  }
  // The tail after the seconds: an optional fraction, then Z or +hh:mm.
  // Parsed in place (no temporary strings: GCC 12 at -O3 reported a false
  // -Wrestrict inside the string concatenation this replaced).
  std::string_view rest(text);
  rest.remove_prefix(static_cast<std::size_t>(consumed));
  double fraction = 0;
  if (!rest.empty() && rest[0] == '.') {
    std::size_t i = 1;
    double scale = 0.1;
    while (i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i]))) {
      fraction += (rest[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == 1) return false;
    rest.remove_prefix(i);
  }
  long offset = 0;
  if (rest == "Z" || rest == "z") {
    offset = 0;
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' &&
             std::isdigit(static_cast<unsigned char>(rest[1])) &&
             std::isdigit(static_cast<unsigned char>(rest[2])) &&
             std::isdigit(static_cast<unsigned char>(rest[4])) &&
             std::isdigit(static_cast<unsigned char>(rest[5]))) {
    offset = ((rest[1] - '0') * 10 + (rest[2] - '0')) * 3600 +
             ((rest[4] - '0') * 10 + (rest[5] - '0')) * 60;
    if (rest[0] == '-') offset = -offset;
  } else {
    return false;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return false;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  epoch_seconds = static_cast<double>(timegm(&tm) - offset) + fraction;
  return true;
}

bool typed_from_text(const Shape& shape, const std::string& text, const std::string& path,
                     json& out, std::vector<std::string>& errors) {
  switch (shape.type) {
    case ShapeType::kInteger:
    case ShapeType::kLong: {
      bool ok = !text.empty() && text.size() <= 20;
      std::size_t i = (ok && text[0] == '-') ? 1 : 0;
      ok = ok && i < text.size();
      for (; ok && i < text.size(); ++i) ok = std::isdigit(static_cast<unsigned char>(text[i]));
      if (ok) {
        errno = 0;
        long long n = std::strtoll(text.c_str(), nullptr, 10);
        ok = errno == 0;
        if (ok) out = n;
      }
      if (!ok) errors.push_back(violation(json(text), path, "Member must be a number"));
      return ok;
    }
    case ShapeType::kDouble:
    case ShapeType::kFloat: {
      char* end = nullptr;
      double d = std::strtod(text.c_str(), &end);
      if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(d)) {
        errors.push_back(violation(json(text), path, "Member must be a number"));
        return false;
      }
      out = d;
      return true;
    }
    case ShapeType::kBoolean:
      if (text == "true" || text == "false") {
        out = text == "true";
        return true;
      }
      errors.push_back(violation(json(text), path, "Member must be a boolean"));
      return false;
    case ShapeType::kTimestamp: {
      double t = 0;
      char* end = nullptr;
      double d = std::strtod(text.c_str(), &end);
      if (!text.empty() && end == text.c_str() + text.size() && std::isfinite(d)) {
        out = d;
        return true;
      }
      if (parse_iso8601(text, t)) {
        out = t;
        return true;
      }
      errors.push_back(violation(json(text), path, "Member must be a timestamp"));
      return false;
    }
    default:
      out = text;
      return true;
  }
}

bool nesting_within(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

}  // namespace efs::api
