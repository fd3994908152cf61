#include "api/pattern.h"

#include <array>
#include <cctype>
#include <vector>

namespace efs::api {
namespace {

// Beyond this length the general (recursive) matcher is not run; every model
// pattern of this kind sits on a shape whose max length is far below it, and
// the length check runs first.
constexpr std::size_t kMaxGeneralMatchLength = 4096;

// ASCII stand-ins for the Unicode property classes AWS models use.
bool unicode_class(std::string_view name, std::string& ranges) {
  if (name == "L" || name == "Lu" || name == "Ll" || name == "Lt" || name == "Lm" || name == "Lo") {
    ranges = "a-zA-Z";
  } else if (name == "N" || name == "Nd") {
    ranges = "0-9";
  } else if (name == "Z" || name == "Zs") {
    ranges = " ";
  } else {
    return false;
  }
  return true;
}

// Rewrites \p{X} into ECMAScript; false if an unsupported construct remains.
// Also: a quantifier on a lookahead, "(?!\.)+" in EFS's Path, is Annex B
// syntax libstdc++ rejects; an assertion repeated is the assertion itself, so
// a '+' after one is dropped. And "\u00FF"-style bounds above ASCII (KMS) become
// "\u007E" with non-ASCII input folded to a letter, as for \p{L}.
bool translate(const std::string& in, std::string& out, bool& uses_unicode, std::string* why) {
  bool in_class = false;
  std::vector<bool> groups;  // open groups: is it a lookahead?
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '\\' && i + 5 < in.size() && in[i + 1] == 'u' && in.compare(i + 2, 2, "00") == 0 &&
        std::isxdigit(static_cast<unsigned char>(in[i + 4])) &&
        std::isxdigit(static_cast<unsigned char>(in[i + 5])) &&
        std::stoi(in.substr(i + 4, 2), nullptr, 16) >= 0x7f) {
      out += "\\u007E";
      uses_unicode = true;
      i += 5;
      continue;
    }
    if (!in_class && c == '(') {
      groups.push_back(in.compare(i, 3, "(?=") == 0 || in.compare(i, 3, "(?!") == 0);
    } else if (!in_class && c == ')' && !groups.empty()) {
      bool lookahead = groups.back();
      groups.pop_back();
      if (lookahead && i + 1 < in.size() && in[i + 1] == '+') {
        out += c;
        ++i;
        continue;
      }
    }
    if (c == '\\' && i + 1 < in.size()) {
      char n = in[i + 1];
      if (n == 'p' || n == 'P') {
        auto close = in.find('}', i);
        if (n == 'P' || i + 2 >= in.size() || in[i + 2] != '{' || close == std::string::npos) {
          if (why) *why = "unsupported Unicode class";
          return false;
        }
        std::string ranges;
        if (!unicode_class(std::string_view(in).substr(i + 3, close - i - 3), ranges)) {
          if (why) *why = "unsupported Unicode class " + in.substr(i, close - i + 1);
          return false;
        }
        out += in_class ? ranges : "[" + ranges + "]";
        uses_unicode = true;
        i = close;
        continue;
      }
      out += c;
      out += n;
      ++i;
      continue;
    }
    if (c == '[' && !in_class)
      in_class = true;
    else if (c == ']' && in_class)
      in_class = false;
    out += c;
  }
  return true;
}

}  // namespace

std::optional<Pattern> Pattern::compile(const std::string& source, std::string* why) {
  Pattern p;
  p.source_ = source;
  std::string translated;
  if (!translate(source, translated, p.fold_non_ascii_, why)) return std::nullopt;

  // Is it one repeated atom, optionally anchored? Then check per character.
  std::string_view s = translated;
  bool start = !s.empty() && s.front() == '^';
  if (start) s.remove_prefix(1);
  bool end = s.size() >= 2 && s.back() == '$' && s[s.size() - 2] != '\\';
  if (end) s.remove_suffix(1);
  std::size_t atom_len = 0;
  if (!s.empty() && s[0] == '[') {
    std::size_t i = 1;
    if (i < s.size() && s[i] == '^') ++i;
    if (i < s.size() && s[i] == ']') ++i;
    for (; i < s.size(); ++i) {
      if (s[i] == '\\') {
        ++i;
        continue;
      }
      if (s[i] == '[') break;  // nested class syntax: leave to the general matcher
      if (s[i] == ']') {
        atom_len = i + 1;
        break;
      }
    }
  } else if (!s.empty() && s[0] == '.') {
    atom_len = 1;
  } else if (s.size() >= 2 && s[0] == '\\') {
    atom_len = 2;
  }
  bool per_char =
      atom_len > 0 && s.size() == atom_len + 1 && (s[atom_len] == '+' || s[atom_len] == '*');
  try {
    if (per_char) {
      p.per_char_ = true;
      p.repeat_ = s[atom_len];
      p.anchored_start_ = start;
      p.anchored_end_ = end;
      p.regex_ =
          std::make_shared<std::regex>(std::string(s.substr(0, atom_len)), std::regex::ECMAScript);
    } else {
      p.regex_ = std::make_shared<std::regex>(translated, std::regex::ECMAScript);
    }
  } catch (const std::regex_error& e) {
    if (why) *why = e.what();
    return std::nullopt;
  }
  if (p.per_char_) {
    // One lookup table of which bytes the atom accepts.
    auto table = std::make_shared<std::array<bool, 256>>();
    for (int b = 0; b < 256; ++b) {
      char ch = static_cast<char>(b);
      if (p.fold_non_ascii_ && b >= 0x80) ch = 'a';
      (*table)[static_cast<std::size_t>(b)] = std::regex_match(std::string(1, ch), *p.regex_);
    }
    p.accepts_ = std::move(table);
  }
  return p;
}

bool Pattern::matches(std::string_view value) const {
  if (per_char_) {
    const auto& t = *accepts_;
    auto ok = [&](char c) { return t[static_cast<unsigned char>(c)]; };
    if (anchored_start_ && anchored_end_) {
      if (repeat_ == '+' && value.empty()) return false;
      for (char c : value) {
        if (!ok(c)) return false;
      }
      return true;
    }
    if (repeat_ == '*') return true;  // the empty match always exists
    if (value.empty()) return false;
    if (anchored_start_) return ok(value.front());
    if (anchored_end_) return ok(value.back());
    for (char c : value) {
      if (ok(c)) return true;
    }
    return false;
  }
  if (value.size() > kMaxGeneralMatchLength) return true;
  std::string subject(value);
  if (fold_non_ascii_) {
    for (char& c : subject) {
      if (static_cast<unsigned char>(c) >= 0x80) c = 'a';
    }
  }
  try {
    return std::regex_search(subject, *regex_);
  } catch (const std::regex_error&) {
    return true;  // too complex to decide: do not reject on our limitation
  }
}

}  // namespace efs::api
