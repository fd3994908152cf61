// Throughput enforcement for the NFS server: one FileSystemMeter per file
// system, found without a lock shared across file systems, charged once per
// COMPOUND, and the wait it returns is how long the reply is held back
// (nfs4/server.cc waits on an asio timer: no thread sleeps, and the client's
// next request waits for the reply, as against a throttled EFS). Nothing
// ever fails for want of throughput.
//
// Time is the emulator clock (common/clock.h, steady_now): POST
// /_efs-local/clock moves it forward and the credits earned meanwhile are
// there at once (clock_advanced).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "throughput/meter.h"

namespace efs::throughput {

struct Options {
  // --no-throttle: meter and keep credits, never delay.
  bool enforce = true;
  // --throughput-scale: multiplies every rate limit.
  double scale = 1.0;
};

class Throttle {
 public:
  // A file system's current settings, or nullopt when it is gone. Called
  // when a file system is first seen and once a second (tick); must not
  // call back into the Throttle. Measuring the Standard size costs a
  // database query, so it is asked for (`with_size`) when a file system is
  // first seen and every kSizeEveryTicks ticks (EFS itself meters sizes
  // about hourly); otherwise standard_bytes is ignored.
  using SettingsSource =
      std::function<std::optional<Settings>(const std::string& fs_id, bool with_size)>;
  static constexpr unsigned kSizeEveryTicks = 30;

  Throttle(Clock& clock, Options options, SettingsSource source);
  ~Throttle();
  Throttle(const Throttle&) = delete;
  Throttle& operator=(const Throttle&) = delete;

  const Options& options() const { return options_; }

  // The meter of a file system, created on first use (nullptr only when the
  // table is full). Lock-free once created.
  FileSystemMeter* meter(std::string_view fs_id);
  // Counts a request on `m` and returns how long its reply waits.
  std::chrono::nanoseconds charge(FileSystemMeter& m, uint64_t connection, const Tally& t);

  // Once a second: settings from the catalog, credits settled.
  void tick();
  // After POST /_efs-local/clock: credits earned, held-back reservations dropped.
  void clock_advanced();
  void connection_closed(uint64_t connection);

  // The emulator's control: sets a balance; nullopt when the file system is unknown.
  std::optional<double> set_burst_credits(const std::string& fs_id, double bytes);
  // The figures for metrics; nullopt for an unknown file system (one the
  // catalog has but no client used yet is metered from now on).
  std::optional<Stats> stats(const std::string& fs_id);
  // Every metered file system's id.
  std::vector<std::string> file_systems();

 private:
  static constexpr std::size_t kSlots =
      8192;  // EFS allows 1,000 file systems per account and Region
  struct Slot {
    std::atomic<uint64_t> hash{0};
    std::atomic<FileSystemMeter*> meter{nullptr};
  };
  int64_t now_ns() const;
  FileSystemMeter* find(std::string_view fs_id, uint64_t h) const;

  Clock& clock_;
  const Options options_;
  SettingsSource source_;
  std::unique_ptr<std::array<Slot, kSlots>> slots_;
  unsigned ticks_ = 0;  // tick() runs on one timer
  std::mutex mu_;       // insertion, and owned_
  std::vector<std::unique_ptr<FileSystemMeter>> owned_;
};

}  // namespace efs::throughput
