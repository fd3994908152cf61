// The throughput arithmetic of EFS, as pure functions: how a request is
// metered, what each throughput mode permits, and how a bursting file system
// earns and spends burst credits. No clock and no state here (meter.h holds
// the state, throttle.h applies it to NFS replies), so every rule is unit
// tested against EFS's published figures (tests/unit/throughput).
//
// Sources (Amazon EFS User Guide):
//   [perf]    "Amazon EFS performance specifications", table of per-client
//             and per-file-system limits by throughput mode.
//   [modes]   "Throughput modes" -> "Bursting throughput", "Provisioned
//             throughput", "Elastic throughput", "Understanding metered
//             throughput".
//   [credits] "Throughput modes" -> "Understanding burst credits".
//   [news]    AWS What's New, 2020-06-30, "Amazon EFS increases file system
//             minimum throughput" (the 1 MiB/s floor).
#pragma once

#include <cstdint>
#include <string_view>

namespace efs::throughput {

inline constexpr double kKiB = 1024.0;
inline constexpr double kMiB = 1024.0 * kKiB;
inline constexpr double kGiB = 1024.0 * kMiB;
inline constexpr double kTiB = 1024.0 * kGiB;

enum class Mode { bursting, provisioned, elastic };

// "bursting" / "provisioned" / "elastic" (the API's ThroughputMode values);
// anything else is bursting, EFS's default.
Mode mode_from_string(std::string_view s);
std::string_view to_string(Mode m);

// What the throttle needs to know of one file system (from the catalog and
// the file system's metered size).
struct Settings {
  Mode mode = Mode::bursting;
  double provisioned_mibps = 0;  // ProvisionedThroughputInMibps (provisioned only)
  uint64_t standard_bytes = 0;   // SizeInBytes.ValueInStandard
};

// ---- Metering ----

// [modes] "Understanding metered throughput": each NFS request is metered
// as at least 4 KiB (a 100-byte READ costs as much as a 4 KiB one), and a
// metadata request (GETATTR, LOOKUP, CREATE, ...) counts as one 4 KiB unit.
inline constexpr uint64_t kMinMeteredRequest = 4096;

// The bytes one data request counts for before the read discount.
inline uint64_t request_units(uint64_t bytes) {
  return bytes < kMinMeteredRequest ? kMinMeteredRequest : bytes;
}

// [modes]: "Amazon EFS meters read requests at one-third the rate of other
// file system I/O operations" on bursting and provisioned file systems
// (30 MiB/s read + 30 MiB/s write meter as 10 + 30 = 40 MiB/s). Elastic
// throughput meters reads and writes separately, each at full size, against
// separate read and write limits ([perf]).
double metered_read_bytes(Mode m, uint64_t read_units);

// ---- Bursting ----

// [modes] "Bursting throughput": the baseline is 50 KiB/s per GiB of
// Standard storage (50 MiB/s per TiB), and [news] never below 1 MiB/s.
double baseline_rate(uint64_t standard_bytes);
// [modes]: every bursting file system can burst to 100 MiB/s; above 1 TiB
// of Standard storage, to 100 MiB/s per TiB.
double burst_rate(uint64_t standard_bytes);
// [credits]: "A new file system has an initial burst credit balance of
// 2.1 TiB."
inline constexpr double kInitialCredits = 2.1 * kTiB;
// [credits]: the balance is capped at 2.1 TiB for file systems smaller than
// 1 TiB, or 2.1 TiB per TiB of Standard storage above that.
double credit_cap(uint64_t standard_bytes);
// [credits]: credits accrue at the baseline rate all the time and metered
// I/O spends them; the net is a gain while use is below the baseline and a
// loss above it. The balance after `seconds` during which `metered` bytes
// were used, at most `cap` and at least `floor` (<= 0). A balance below zero
// is a debt: the emulator meters a request when it runs and holds its reply
// back afterwards, so requests in flight may spend credits not yet earned;
// EFS, which throttles before the I/O, never shows one (report max(0, b)).
double settle_balance(double balance, double baseline, double seconds, double metered, double cap,
                      double floor = 0);

// ---- What each mode permits ----

// [modes], CloudWatch PermittedThroughput: bursting permits the burst rate
// while credits remain and the baseline once they are gone; provisioned
// permits the provisioned rate, or the bursting baseline of its Standard
// storage when that is higher ("if the amount of storage allows your file
// system to drive a higher amount of throughput than you provisioned");
// elastic has no metered-rate limit of its own (see elastic_*_rate).
// Bytes per second of metered I/O; `with_credits` says whether the balance
// is above zero.
double permitted_rate(const Settings& s, bool with_credits);

// [perf], Regional file systems, default quotas, the lowest value of the
// published range (which every Region grants): elastic reads 20 GiB/s and
// writes 1 GiB/s per file system.
inline constexpr double kElasticReadRate = 20 * kGiB;
inline constexpr double kElasticWriteRate = 1 * kGiB;

// [perf] "Per-client read/write": 500 MiB/s for bursting and provisioned,
// 1,500 MiB/s for elastic. Raw data bytes, reads at full size.
double per_client_rate(Mode m);

}  // namespace efs::throughput
