#include "common/clock.h"

#include <ctime>

namespace efs {

double Clock::now_epoch_seconds() const {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now().time_since_epoch());
  return static_cast<double>(us.count()) / 1e6;
}

Clock& Clock::global() {
  static Clock clock;
  return clock;
}

std::string format_utc(Clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace efs
