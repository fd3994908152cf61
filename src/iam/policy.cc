#include "iam/policy.h"

#include <arpa/inet.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>

#include "common/wildcard.h"

namespace efs::iam {

namespace {

using nlohmann::json;

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Policy values are strings, or lists of them; conditions also see JSON
// booleans and numbers ({"Bool": {"aws:SecureTransport": false}}).
std::vector<std::string> strings_of(const json& j) {
  std::vector<std::string> out;
  auto one = [&](const json& e) {
    if (e.is_string())
      out.push_back(e.get<std::string>());
    else if (e.is_boolean())
      out.push_back(e.get<bool>() ? "true" : "false");
    else if (e.is_number())
      out.push_back(e.dump());
  };
  if (j.is_array())
    for (const auto& e : j) one(e);
  else
    one(j);
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Splits arn:partition:service:region:account:resource; false if not an ARN.
bool split_arn(std::string_view arn, std::string_view parts[6]) {
  for (int i = 0; i < 5; ++i) {
    auto colon = arn.find(':');
    if (colon == std::string_view::npos) return false;
    parts[i] = arn.substr(0, colon);
    arn.remove_prefix(colon + 1);
  }
  parts[5] = arn;
  return parts[0] == "arn";
}

// IAM: a principal entry names an account (its 12 digits, or its root user's
// ARN, both meaning every principal of the account), or one IAM user or role.
// A role also matches its assumed-role sessions
// (arn:aws:sts::<account>:assumed-role/<role>/<session>).
bool principal_entry_matches(const std::string& entry, const Request& r) {
  if (entry == "*") return true;
  if (r.principal_arn.empty()) return false;  // only "*" names anonymous callers
  if (all_digits(entry)) return entry == r.principal_account;
  std::string_view e[6], p[6];
  if (!split_arn(entry, e)) return false;
  if (e[2] == "iam" && e[5] == "root") return e[4] == r.principal_account;
  if (wildcard_match(entry, r.principal_arn)) return true;
  if (e[2] == "iam" && e[5].starts_with("role/") && split_arn(r.principal_arn, p) &&
      p[2] == "sts" && p[5].starts_with("assumed-role/") && e[4] == p[4] && e[1] == p[1]) {
    std::string_view role_path = e[5].substr(5);  // [path/]name
    std::string_view role = role_path.substr(role_path.rfind('/') + 1);
    std::string_view session = p[5].substr(13);
    return session.substr(0, session.find('/')) == role;
  }
  return false;
}

bool principal_matches(const Statement& s, const Request& r) {
  bool named = s.principal_any;
  for (const auto& e : s.principals)
    if (!named && principal_entry_matches(e, r)) named = true;
  return s.principal_negated ? !named : named;
}

bool any_glob(const std::vector<std::string>& patterns, std::string_view value) {
  for (const auto& p : patterns)
    if (wildcard_match(p, value)) return true;
  return false;
}

std::optional<double> number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return v;
}

// Dates in conditions: ISO 8601 (2026-12-02, 2026-12-02T10:00:00Z, with
// optional fraction) or epoch seconds (IAM accepts both).
std::optional<double> date(const std::string& s) {
  if (all_digits(s)) return number(s);
  int y, mo, d, h = 0, mi = 0, sec = 0, used = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3) return std::nullopt;
  std::string_view rest = std::string_view(s).substr(static_cast<std::size_t>(used));
  double frac = 0;
  if (!rest.empty()) {
    int used2 = 0;
    std::string tail(rest);
    if (std::sscanf(tail.c_str(), "T%2d:%2d:%2d%n", &h, &mi, &sec, &used2) != 3) return std::nullopt;
    rest.remove_prefix(static_cast<std::size_t>(used2));
    if (!rest.empty() && rest.front() == '.') {
      std::size_t n = 1;
      while (n < rest.size() && std::isdigit(static_cast<unsigned char>(rest[n]))) ++n;
      frac = std::strtod(std::string(rest.substr(0, n)).c_str(), nullptr);
      rest.remove_prefix(n);
    }
    if (rest != "Z" && !rest.empty()) return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return static_cast<double>(timegm(&tm)) + frac;
}

// IpAddress: the value is an address, the pattern an address or a CIDR block.
bool in_cidr(const std::string& cidr, const std::string& address) {
  std::string net = cidr;
  int bits = -1;
  if (auto slash = cidr.find('/'); slash != std::string::npos) {
    net = cidr.substr(0, slash);
    auto b = number(cidr.substr(slash + 1));
    if (!b) return false;
    bits = static_cast<int>(*b);
  }
  unsigned char a[16], n[16];
  int len;
  if (inet_pton(AF_INET, net.c_str(), n) == 1 && inet_pton(AF_INET, address.c_str(), a) == 1)
    len = 4;
  else if (inet_pton(AF_INET6, net.c_str(), n) == 1 && inet_pton(AF_INET6, address.c_str(), a) == 1)
    len = 16;
  else
    return false;
  if (bits < 0) bits = len * 8;
  if (bits > len * 8) return false;
  for (int i = 0; i < len && bits > 0; ++i, bits -= 8) {
    unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) & 0xffu;
    if ((a[i] & mask) != (n[i] & mask)) return false;
  }
  return true;
}

enum class Cmp { eq, lt, le, gt, ge };

// One policy value against the request's value, for a positive operator
// (the negated operators are the NOR of these). nullopt: unknown operator.
std::optional<bool> positive_match(std::string_view op, const std::string& want,
                                   const std::string& have) {
  if (op == "StringEquals" || op == "BinaryEquals") return want == have;
  if (op == "StringEqualsIgnoreCase" || op == "Bool") return iequals(want, have);
  if (op == "StringLike" || op == "ArnLike" || op == "ArnEquals") return wildcard_match(want, have);
  if (op == "IpAddress") return in_cidr(want, have);
  auto compare = [&](auto parse, Cmp cmp) -> bool {
    auto w = parse(want), h = parse(have);
    if (!w || !h) return false;
    switch (cmp) {
      case Cmp::eq: return *h == *w;
      case Cmp::lt: return *h < *w;
      case Cmp::le: return *h <= *w;
      case Cmp::gt: return *h > *w;
      case Cmp::ge: return *h >= *w;
    }
    return false;
  };
  static const std::pair<std::string_view, Cmp> kCmp[] = {
      {"Equals", Cmp::eq},          {"LessThan", Cmp::lt},           {"LessThanEquals", Cmp::le},
      {"GreaterThan", Cmp::gt},     {"GreaterThanEquals", Cmp::ge},
  };
  for (const auto& [suffix, cmp] : kCmp) {
    if (op.size() == 7 + suffix.size() && op.starts_with("Numeric") && op.ends_with(suffix))
      return compare(number, cmp);
    if (op.size() == 4 + suffix.size() && op.starts_with("Date") && op.ends_with(suffix))
      return compare(date, cmp);
  }
  return std::nullopt;
}

// The positive operator a negated one negates ("" when op is not negated).
std::string_view negation_of(std::string_view op) {
  static const std::pair<std::string_view, std::string_view> kNegated[] = {
      {"StringNotEquals", "StringEquals"},
      {"StringNotEqualsIgnoreCase", "StringEqualsIgnoreCase"},
      {"StringNotLike", "StringLike"},
      {"ArnNotEquals", "ArnEquals"},
      {"ArnNotLike", "ArnLike"},
      {"NumericNotEquals", "NumericEquals"},
      {"DateNotEquals", "DateEquals"},
      {"NotIpAddress", "IpAddress"},
  };
  for (const auto& [neg, pos] : kNegated)
    if (op == neg) return pos;
  return {};
}

std::optional<bool> condition_holds(const Condition& c, const Request& r, Unknowns unknowns) {
  auto it = r.context.find(c.key);
  const bool present = it != r.context.end();
  if (c.op == "Null") {
    // {"Null": {"key": "true"}}: the key is absent; "false": present.
    if (c.values.empty()) return false;
    return iequals(c.values.front(), "true") ? !present : present;
  }
  const std::string_view positive = negation_of(c.op);
  const bool negated = !positive.empty();
  const std::string_view base = negated ? positive : std::string_view(c.op);
  // positive_match answers nullopt only for an operator it does not know.
  if (!positive_match(base, "", "").has_value()) {
    if (unknowns == Unknowns::skip_statement) return std::nullopt;
    return false;  // an operator IAM would have refused; never matches
  }
  if (!present) {
    if (unknowns == Unknowns::skip_statement) return std::nullopt;
    if (c.if_exists || c.set == Condition::Set::for_all_values) return true;
    return negated;
  }
  bool any = false;
  for (const auto& v : c.values)
    if (positive_match(base, v, it->second).value_or(false)) {
      any = true;
      break;
    }
  return negated ? !any : any;
}

// nullopt: unknown under Unknowns::skip_statement.
std::optional<bool> applies(const Statement& s, const Request& r, Unknowns unknowns) {
  if (!principal_matches(s, r)) return false;
  bool acts = any_glob(s.actions, lower(r.action));
  if (acts == s.action_negated) return false;
  if (s.has_resource && any_glob(s.resources, r.resource) == s.resource_negated) return false;
  for (const auto& c : s.conditions) {
    auto holds = condition_holds(c, r, unknowns);
    if (!holds) return std::nullopt;
    if (!*holds) return false;  // every operator and every key must hold
  }
  return true;
}

std::optional<Statement> compile(const json& s, std::size_t index) {
  if (!s.is_object()) return std::nullopt;
  Statement out;
  out.name = s.contains("Sid") && s["Sid"].is_string() && !s["Sid"].get<std::string>().empty()
                 ? s["Sid"].get<std::string>()
                 : "Statement[" + std::to_string(index) + "]";
  out.deny = s.value("Effect", "") == "Deny";
  out.principal_negated = !s.contains("Principal") && s.contains("NotPrincipal");
  const json& principal = out.principal_negated ? s["NotPrincipal"] : s.value("Principal", json());
  if (principal.is_string() && principal == "*") {
    out.principal_any = true;
  } else if (principal.is_object() && principal.contains("AWS")) {
    out.principals = strings_of(principal["AWS"]);
    out.principal_any =
        std::find(out.principals.begin(), out.principals.end(), "*") != out.principals.end();
  }
  out.action_negated = !s.contains("Action") && s.contains("NotAction");
  for (auto& a : strings_of(out.action_negated ? s["NotAction"] : s.value("Action", json())))
    out.actions.push_back(lower(a));
  out.resource_negated = !s.contains("Resource") && s.contains("NotResource");
  out.has_resource = s.contains("Resource") || s.contains("NotResource");
  if (out.has_resource) out.resources = strings_of(out.resource_negated ? s["NotResource"] : s["Resource"]);
  if (s.contains("Condition")) {
    if (!s["Condition"].is_object()) return std::nullopt;
    for (const auto& [op_name, keys] : s["Condition"].items()) {
      if (!keys.is_object()) return std::nullopt;
      Condition c;
      std::string op = op_name;
      if (op.starts_with("ForAnyValue:")) {
        c.set = Condition::Set::for_any_value;
        op = op.substr(12);
      } else if (op.starts_with("ForAllValues:")) {
        c.set = Condition::Set::for_all_values;
        op = op.substr(13);
      }
      if (op.size() > 8 && op.ends_with("IfExists")) {
        c.if_exists = true;
        op.resize(op.size() - 8);
      }
      c.op = op;
      for (const auto& item : keys.items()) {
        Condition k = c;
        k.key = lower(item.key());
        k.values = strings_of(item.value());
        out.conditions.push_back(std::move(k));
      }
    }
  }
  return out;
}

}  // namespace

std::optional<Policy> Policy::parse(std::string_view document) {
  auto doc = json::parse(document, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("Statement")) return std::nullopt;
  const json& st = doc["Statement"];
  auto statements = std::make_shared<std::vector<Statement>>();
  if (st.is_object()) {
    auto s = compile(st, 0);
    if (!s) return std::nullopt;
    statements->push_back(std::move(*s));
  } else if (st.is_array()) {
    for (std::size_t i = 0; i < st.size(); ++i) {
      auto s = compile(st[i], i);
      if (!s) return std::nullopt;
      statements->push_back(std::move(*s));
    }
  } else {
    return std::nullopt;
  }
  return Policy(std::move(statements));
}

Decision Policy::evaluate(const Request& request, Unknowns unknowns) const {
  Decision allow;
  for (const auto& s : *statements_) {
    auto a = applies(s, request, unknowns);
    if (!a.value_or(false)) continue;
    if (s.deny) return {Effect::deny, s.name};
    if (allow.effect == Effect::none) allow = {Effect::allow, s.name};
  }
  return allow;
}

}  // namespace efs::iam
