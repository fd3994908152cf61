#include "common/ids.h"

#include <doctest/doctest.h>

#include <set>

using namespace efs;

TEST_CASE("make_id has a prefix and 17 lowercase hex digits") {
  auto id = make_id("fs");
  CHECK(id.size() == 20);
  CHECK(id.rfind("fs-", 0) == 0);
  CHECK(is_id(id, "fs"));
  CHECK_FALSE(is_id(id, "fsap"));
  CHECK_FALSE(is_id("fs-0123456789ABCDEF0", "fs"));
  CHECK_FALSE(is_id("fs-0123456789abcdef", "fs"));
  CHECK(is_id("fsmt-0123456789abcdef0", "fsmt"));
}

TEST_CASE("ids do not repeat") {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) CHECK(seen.insert(make_id("fsap")).second);
}

TEST_CASE("random_uuid is a v4 uuid") {
  auto u = random_uuid();
  CHECK(u.size() == 36);
  CHECK(u[14] == '4');
  CHECK(u[8] == '-');
}
