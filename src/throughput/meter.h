// The throughput state of one file system: EFS's counters (the figures the
// CloudWatch metrics are made of), its burst credit balance, and the token
// buckets that pace its replies, one for the file system and one per client
// connection. Everything a request touches is an atomic of this file system
// only; the mutex guards the credit balance, which is settled once a second,
// when the balance may have run out, and on the emulator's controls.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "throughput/bucket.h"
#include "throughput/credits.h"
#include "throughput/tally.h"

namespace efs::throughput {

// The figures of one file system, for metrics and the emulator's endpoints.
struct Stats {
  Mode mode = Mode::bursting;
  // Running totals since the server started (CloudWatch sums them per minute).
  uint64_t metered_io_bytes = 0;     // MeteredIOBytes: reads at 1/3 on bursting/provisioned
  uint64_t total_io_bytes = 0;       // TotalIOBytes: data read + data written + metadata
  uint64_t data_read_io_bytes = 0;   // DataReadIOBytes
  uint64_t data_write_io_bytes = 0;  // DataWriteIOBytes
  uint64_t metadata_io_bytes = 0;    // MetadataIOBytes (4 KiB per metadata request)
  double burst_credit_balance = 0;   // BurstCreditBalance (bytes)
  double permitted_throughput = 0;   // PermittedThroughput (bytes/s, after --throughput-scale)
  uint32_t client_connections = 0;   // ClientConnections
};

class FileSystemMeter {
 public:
  // Connections that get a per-client bucket; more are metered but share
  // no per-client limit (EFS allows thousands of clients, a laptop sees few).
  static constexpr std::size_t kClientSlots = 256;

  FileSystemMeter(std::string id, int64_t now_ns);
  const std::string& id() const { return id_; }

  // Applies a file system's settings (mode, provisioned rate, Standard size)
  // and the emulator's --throughput-scale. Settles the balance first, so
  // credits earned under the old settings are kept. With `keep_size`, the
  // Standard size already known stays (s.standard_bytes is not measured).
  void configure(const Settings& s, double scale, int64_t now_ns, bool keep_size = false);
  // Counts one request and returns how long its reply waits (nanoseconds;
  // 0 when `enforce` is false: the counters and credits still move).
  int64_t charge(const Tally& t, uint64_t connection, int64_t now_ns, bool enforce);
  // Accrues and spends credits up to now and updates the permitted rate.
  void settle(int64_t now_ns);
  // PUT /_efs-local/file-systems/{id}/burst-credits: sets the balance (within [0, cap]).
  double set_balance(double bytes, int64_t now_ns);
  // The clock jumped forward: reservations made before no longer hold anyone back.
  void clock_jumped(int64_t now_ns);
  void connection_closed(uint64_t connection);
  Stats stats(int64_t now_ns);

 private:
  struct ClientSlot {
    std::atomic<uint64_t> connection{0};  // 0: free; kGone: freed (probe past it)
    Bucket bucket;
  };
  static constexpr uint64_t kGone = ~uint64_t{0};
  // Credits an empty bursting file system earns back before it bursts again.
  static constexpr double kBurstResumeCredits = 1 * kMiB;

  ClientSlot* client(uint64_t connection);
  void settle_locked(int64_t now_ns);
  void publish_locked();

  const std::string id_;

  // Counters (relaxed atomics: totals, read by the metrics once a minute).
  std::atomic<uint64_t> metered_{0}, total_{0}, data_read_{0}, data_write_{0}, metadata_{0};

  // Published from the settled state for the hot path.
  std::atomic<int> mode_{static_cast<int>(Mode::bursting)};
  std::atomic<double> permitted_{0};     // bytes/s of metered I/O (bursting, provisioned)
  std::atomic<double> read_limit_{0};    // elastic, bytes/s
  std::atomic<double> write_limit_{0};   // elastic, bytes/s
  std::atomic<double> client_limit_{0};  // per connection, bytes/s
  // metered_ at which the balance runs out if nothing accrues: crossing it
  // settles at once, so bursting stops when the credits do, not a tick later.
  std::atomic<uint64_t> spend_limit_{~uint64_t{0}};

  Bucket fs_bucket_;                   // bursting and provisioned: metered bytes
  Bucket read_bucket_, write_bucket_;  // elastic
  std::array<ClientSlot, kClientSlots> clients_;
  std::atomic<uint32_t> client_count_{0};

  std::mutex mu_;  // guards the members below, and client slot insertion
  Settings settings_;
  double scale_ = 1.0;
  double balance_ = kInitialCredits;
  bool bursting_ = true;  // permitted at the burst rate (see publish_locked)
  int64_t settled_ns_;
  uint64_t metered_at_settle_ = 0;
};

}  // namespace efs::throughput
