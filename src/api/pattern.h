// A model's `pattern` constraint compiled once into an ECMAScript std::regex.
//
// Two adaptations keep std::regex usable on AWS patterns:
//  - Unicode classes (\p{L}, \p{N}, \p{Z}) are not ECMAScript; they become
//    their ASCII ranges and every non-ASCII byte of the input is read as a
//    letter, so "aws:"-prefix rules in TagKey still work.
//  - libstdc++'s matcher recurses once per character, so a pattern that is a
//    single repeated class ("[\s\S]+", ".+") is checked character by character
//    instead, which keeps 20,000-character policies off the stack.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>

namespace efs::api {

class Pattern {
 public:
  // nullopt (with *why set) if the pattern cannot be compiled.
  static std::optional<Pattern> compile(const std::string& source, std::string* why);

  // Smithy/botocore semantics: the regex is searched for, not implicitly
  // anchored; the pattern's own ^ and $ anchor it.
  bool matches(std::string_view value) const;

  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::shared_ptr<const std::regex> regex_;
  std::shared_ptr<const std::array<bool, 256>> accepts_;  // per-character mode
  bool fold_non_ascii_ = false;
  // Per-character mode: regex_ is one atom; `repeat` is '+' or '*'.
  bool per_char_ = false;
  char repeat_ = '+';
  bool anchored_start_ = false, anchored_end_ = false;
};

}  // namespace efs::api
