#include "common/wildcard.h"

#include <doctest/doctest.h>

using efs::wildcard_match;

TEST_CASE("wildcard_match: * takes any run, ? one character, the rest literally") {
  CHECK(wildcard_match("*", ""));
  CHECK(wildcard_match("*", "anything"));
  CHECK(wildcard_match("elasticfilesystem:Client*", "elasticfilesystem:ClientMount"));
  CHECK_FALSE(wildcard_match("elasticfilesystem:Client*", "elasticfilesystem:Put"));
  CHECK(wildcard_match("fs-????", "fs-12ab"));
  CHECK_FALSE(wildcard_match("fs-????", "fs-12a"));
  CHECK(wildcard_match("a*b*c", "aXXbYYc"));
  CHECK(wildcard_match("a*b*c", "abc"));
  CHECK_FALSE(wildcard_match("a*b*c", "aXXbYY"));
  // Backtracking: the first b is not the one that matches.
  CHECK(wildcard_match("*bc", "abbc"));
  CHECK_FALSE(wildcard_match("", "x"));
  CHECK(wildcard_match("", ""));
  CHECK(wildcard_match("x**", "x"));
}
