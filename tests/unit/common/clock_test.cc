#include "common/clock.h"

#include <doctest/doctest.h>

using namespace efs;
using namespace std::chrono;

TEST_CASE("the clock only moves forward by advance") {
  Clock c;
  auto t0 = c.now();
  c.advance(hours(24 * 7));
  auto t1 = c.now();
  CHECK(t1 - t0 >= hours(24 * 7));
  CHECK(t1 - t0 < hours(24 * 7) + seconds(5));
  CHECK(c.offset() == duration_cast<Clock::duration>(hours(24 * 7)));
}

TEST_CASE("format_utc") {
  CHECK(format_utc(Clock::time_point{}) == "1970-01-01T00:00:00Z");
  CHECK(format_utc(Clock::time_point{seconds(86400 + 3661)}) == "1970-01-02T01:01:01Z");
}
