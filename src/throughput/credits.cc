#include "throughput/credits.h"

#include <algorithm>

namespace efs::throughput {

Mode mode_from_string(std::string_view s) {
  if (s == "provisioned") return Mode::provisioned;
  if (s == "elastic") return Mode::elastic;
  return Mode::bursting;
}

std::string_view to_string(Mode m) {
  switch (m) {
    case Mode::provisioned:
      return "provisioned";
    case Mode::elastic:
      return "elastic";
    case Mode::bursting:
      break;
  }
  return "bursting";
}

double metered_read_bytes(Mode m, uint64_t read_units) {
  // [modes] "Understanding metered throughput": the 1:3 read ratio applies
  // to bursting and provisioned file systems only.
  if (m == Mode::elastic) return static_cast<double>(read_units);
  return static_cast<double>(read_units) / 3.0;
}

double baseline_rate(uint64_t standard_bytes) {
  // [modes]: 50 KiB/s per GiB of Standard storage; [news]: at least 1 MiB/s.
  double by_size = static_cast<double>(standard_bytes) / kGiB * 50 * kKiB;
  return std::max(by_size, 1 * kMiB);
}

double burst_rate(uint64_t standard_bytes) {
  // [modes]: 100 MiB/s, or 100 MiB/s per TiB of Standard storage above 1 TiB.
  double by_size = static_cast<double>(standard_bytes) / kTiB * 100 * kMiB;
  return std::max(by_size, 100 * kMiB);
}

double credit_cap(uint64_t standard_bytes) {
  // [credits]: 2.1 TiB below 1 TiB of storage, 2.1 TiB per TiB above.
  double tib = static_cast<double>(standard_bytes) / kTiB;
  return std::max(1.0, tib) * kInitialCredits;
}

double settle_balance(double balance, double baseline, double seconds, double metered, double cap,
                      double floor) {
  double b = balance + baseline * std::max(0.0, seconds) - metered;
  return std::clamp(b, std::min(floor, 0.0), cap);
}

double permitted_rate(const Settings& s, bool with_credits) {
  switch (s.mode) {
    case Mode::bursting:
      return with_credits ? burst_rate(s.standard_bytes) : baseline_rate(s.standard_bytes);
    case Mode::provisioned:
      return std::max(s.provisioned_mibps * kMiB, baseline_rate(s.standard_bytes));
    case Mode::elastic:
      break;
  }
  // Elastic: the per-file-system read and write limits apply instead.
  return kElasticWriteRate;
}

double per_client_rate(Mode m) {
  return m == Mode::elastic ? 1500 * kMiB : 500 * kMiB;
}

}  // namespace efs::throughput
