// The `*` / `?` wildcards that AWS uses in IAM policy elements (Action,
// Resource, StringLike, ArnLike) and in EC2 filter values: `*` matches any
// run of characters (the empty one too), `?` exactly one. No escapes.
#pragma once

#include <string_view>

namespace efs {

// Greedy match with one backtrack point: on a mismatch after a `*`, the star
// takes one more character and matching resumes (linear for these patterns).
inline bool wildcard_match(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace efs
