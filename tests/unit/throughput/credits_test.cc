// EFS's published throughput figures against credits.h. Sources are named
// as in credits.h ([modes], [credits], [perf], [news]).
#include "throughput/credits.h"

#include <doctest/doctest.h>

using namespace efs::throughput;

namespace {
constexpr double kDay = 86400;
}

TEST_CASE("metering: every request counts at least 4 KiB") {
  CHECK(request_units(0) == 4096);
  CHECK(request_units(100) == 4096);
  CHECK(request_units(4096) == 4096);
  CHECK(request_units(1 << 20) == (1u << 20));
}

TEST_CASE("metering: reads at one third on bursting and provisioned, full on elastic") {
  // [modes]: 30 MiB/s read plus 30 MiB/s write meter as 10 + 30 = 40 MiB/s.
  const uint64_t thirty = 30 * (1u << 20);
  CHECK(metered_read_bytes(Mode::bursting, thirty) + thirty == doctest::Approx(40 * kMiB));
  CHECK(metered_read_bytes(Mode::provisioned, thirty) == doctest::Approx(10 * kMiB));
  CHECK(metered_read_bytes(Mode::elastic, thirty) == doctest::Approx(30 * kMiB));
}

TEST_CASE("bursting: baseline of 50 KiB/s per GiB, never below 1 MiB/s") {
  CHECK(baseline_rate(0) == 1 * kMiB);          // [news]
  CHECK(baseline_rate(10 * kGiB) == 1 * kMiB);  // 500 KiB/s by size: the floor
  CHECK(baseline_rate(100 * kGiB) == doctest::Approx(5000 * kKiB));
  CHECK(baseline_rate(1 * kTiB) == doctest::Approx(50 * kMiB));  // [modes] 50 MiB/s per TiB
  CHECK(baseline_rate(10 * kTiB) == doctest::Approx(500 * kMiB));
}

TEST_CASE("bursting: 100 MiB/s, or 100 MiB/s per TiB above 1 TiB") {
  CHECK(burst_rate(0) == 100 * kMiB);
  CHECK(burst_rate(100 * kGiB) == 100 * kMiB);
  CHECK(burst_rate(1 * kTiB) == doctest::Approx(100 * kMiB));
  CHECK(burst_rate(10 * kTiB) == doctest::Approx(1000 * kMiB));  // [modes] 10 TiB bursts to 1 GiB/s
}

TEST_CASE("bursting: 100 GiB earns 432,000 MiB of credit a day") {
  // [modes]' table: 100 GiB -> 5 MiB/s baseline, 100 MiB/s for 72 minutes a
  // day. EFS rounds 100 GiB x 50 KiB/s = 4.88 MiB/s up to 5 MiB/s for the
  // table; the rule itself gives 421,875 MiB, 2.3 % under the rounded figure.
  double earned = settle_balance(0, baseline_rate(100 * kGiB), kDay, 0, credit_cap(100 * kGiB));
  CHECK(earned / kMiB == doctest::Approx(432000).epsilon(0.025));
  CHECK(earned / kMiB == doctest::Approx(421875));
  // Spent at the burst rate, that is the table's 72 minutes (within the same rounding).
  double burst_seconds = earned / burst_rate(100 * kGiB);
  CHECK(burst_seconds / 60 == doctest::Approx(72).epsilon(0.025));
}

TEST_CASE("bursting: 1 TiB may burst 12 hours a day, 100 GiB 72 minutes") {
  // [modes]' table: the share of a day a file system can burst is its
  // baseline over its burst rate: a day's credits pay for that much
  // bursting. 1 TiB: 50 of 100 MiB/s, 12 hours; 10 TiB: 500 of 1,000 MiB/s,
  // 12 hours; 100 GiB: 5 of 100 MiB/s, 72 minutes (4.88 by the rule: 70.3).
  struct Row {
    double size, burst_hours;
  } rows[] = {{1 * kTiB, 12}, {10 * kTiB, 12}, {100 * kGiB, 72.0 * 4.8828125 / 5 / 60}};
  for (auto r : rows) {
    auto s = static_cast<uint64_t>(r.size);
    const double start = 1 * kTiB;
    double after = settle_balance(start, baseline_rate(s), kDay,
                                  burst_rate(s) * r.burst_hours * 3600, credit_cap(s));
    CHECK(after == doctest::Approx(start));
  }
}

TEST_CASE("credits: 2.1 TiB to start, capped at 2.1 TiB or 2.1 TiB per TiB") {
  CHECK(kInitialCredits == doctest::Approx(2.1 * kTiB));
  CHECK(credit_cap(0) == doctest::Approx(2.1 * kTiB));
  CHECK(credit_cap(500 * kGiB) == doctest::Approx(2.1 * kTiB));
  CHECK(credit_cap(5 * kTiB) == doctest::Approx(10.5 * kTiB));
  // A year idle never passes the cap.
  CHECK(settle_balance(0, baseline_rate(100 * kGiB), 365 * kDay, 0, credit_cap(100 * kGiB)) ==
        doctest::Approx(2.1 * kTiB));
}

TEST_CASE("credits: accrue below the baseline, spent above it") {
  const double base = baseline_rate(0);  // 1 MiB/s
  const double cap = credit_cap(0);
  // 10 s at half the baseline: +5 MiB.
  CHECK(settle_balance(0, base, 10, 5 * kMiB, cap) == doctest::Approx(5 * kMiB));
  // 10 s at 11 MiB/s from 200 MiB: 200 + 10 - 110 = 100 MiB.
  CHECK(settle_balance(200 * kMiB, base, 10, 110 * kMiB, cap) == doctest::Approx(100 * kMiB));
  // Overspent: zero, or a debt down to the floor given.
  CHECK(settle_balance(1 * kMiB, base, 1, 50 * kMiB, cap) == 0);
  CHECK(settle_balance(1 * kMiB, base, 1, 50 * kMiB, cap, -30 * kMiB) == -30 * kMiB);
  CHECK(settle_balance(1 * kMiB, base, 1, 10 * kMiB, cap, -30 * kMiB) == -8 * kMiB);
}

TEST_CASE("permitted throughput by mode") {
  Settings burst{Mode::bursting, 0, 0};
  CHECK(permitted_rate(burst, true) == 100 * kMiB);
  CHECK(permitted_rate(burst, false) == 1 * kMiB);
  // Provisioned: the provisioned rate, or the storage's baseline when higher.
  Settings prov{Mode::provisioned, 2, 0};
  CHECK(permitted_rate(prov, true) == 2 * kMiB);
  CHECK(permitted_rate(prov, false) == 2 * kMiB);
  Settings big_prov{Mode::provisioned, 50, static_cast<uint64_t>(2 * kTiB)};
  CHECK(permitted_rate(big_prov, false) == doctest::Approx(100 * kMiB));
  // [perf] per-client ceilings.
  CHECK(per_client_rate(Mode::bursting) == 500 * kMiB);
  CHECK(per_client_rate(Mode::provisioned) == 500 * kMiB);
  CHECK(per_client_rate(Mode::elastic) == 1500 * kMiB);
}

TEST_CASE("mode names") {
  CHECK(mode_from_string("provisioned") == Mode::provisioned);
  CHECK(mode_from_string("elastic") == Mode::elastic);
  CHECK(mode_from_string("bursting") == Mode::bursting);
  CHECK(mode_from_string("") == Mode::bursting);
  CHECK(to_string(Mode::elastic) == "elastic");
}
