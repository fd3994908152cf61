#include "throughput/meter.h"

#include <algorithm>

namespace efs::throughput {

namespace {

// A burst this short passes without a wait: a lone small request is never
// delayed, and the pacing error stays under the tolerance over any span.
constexpr int64_t kToleranceNs = 50'000'000;
// A reply never waits longer than this at once (an RPC client retransmits
// after about a minute): a pathological rate (--throughput-scale 0.0001)
// then slows clients down without making them time out.
constexpr int64_t kMaxWaitNs = 30'000'000'000;

uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

}  // namespace

FileSystemMeter::FileSystemMeter(std::string id, int64_t now_ns)
    : id_(std::move(id)), settled_ns_(now_ns) {
  std::lock_guard lk(mu_);
  publish_locked();
}

void FileSystemMeter::configure(const Settings& s, double scale, int64_t now_ns, bool keep_size) {
  std::lock_guard lk(mu_);
  settle_locked(now_ns);
  const uint64_t size = keep_size ? settings_.standard_bytes : s.standard_bytes;
  settings_ = s;
  settings_.standard_bytes = size;
  scale_ = scale;
  balance_ = std::min(balance_, credit_cap(size));
  publish_locked();
}

void FileSystemMeter::settle(int64_t now_ns) {
  std::lock_guard lk(mu_);
  settle_locked(now_ns);
  publish_locked();
}

void FileSystemMeter::settle_locked(int64_t now_ns) {
  const uint64_t metered = metered_.load(std::memory_order_relaxed);
  const double seconds = static_cast<double>(now_ns - settled_ns_) / 1e9;
  // The baseline earns credits in every mode; only bursting spends them on
  // throughput above the baseline ([credits]). Requests metered but whose
  // replies are still held back may leave a debt (credits.h), at most what
  // the longest reply wait holds at the baseline.
  const double baseline = baseline_rate(settings_.standard_bytes);
  balance_ =
      settle_balance(balance_, baseline, seconds, static_cast<double>(metered - metered_at_settle_),
                     credit_cap(settings_.standard_bytes),
                     -baseline * scale_ * (static_cast<double>(kMaxWaitNs) / 1e9));
  if (now_ns > settled_ns_) settled_ns_ = now_ns;
  metered_at_settle_ = metered;
}

void FileSystemMeter::publish_locked() {
  // Bursting stops when the balance is spent and resumes once a little has
  // been earned back: without that margin, the microseconds of baseline
  // earned between two settles would flip an empty file system back to its
  // burst rate at every look.
  if (balance_ <= 0) bursting_ = false;
  if (balance_ >= kBurstResumeCredits) bursting_ = true;
  const bool credits = bursting_;
  mode_.store(static_cast<int>(settings_.mode), std::memory_order_relaxed);
  permitted_.store(permitted_rate(settings_, credits) * scale_, std::memory_order_relaxed);
  read_limit_.store(kElasticReadRate * scale_, std::memory_order_relaxed);
  write_limit_.store(kElasticWriteRate * scale_, std::memory_order_relaxed);
  client_limit_.store(per_client_rate(settings_.mode) * scale_, std::memory_order_relaxed);
  // While bursting on credits, running out is noticed by the request that
  // crosses the balance; at the baseline, the once-a-second settle notices
  // credits earned back.
  uint64_t limit = ~uint64_t{0};
  if (settings_.mode == Mode::bursting && credits && balance_ > 0)
    limit = metered_at_settle_ + static_cast<uint64_t>(balance_);
  spend_limit_.store(limit, std::memory_order_relaxed);
}

double FileSystemMeter::set_balance(double bytes, int64_t now_ns) {
  std::lock_guard lk(mu_);
  settle_locked(now_ns);
  balance_ = std::clamp(bytes, 0.0, credit_cap(settings_.standard_bytes));
  publish_locked();
  return balance_;
}

void FileSystemMeter::clock_jumped(int64_t now_ns) {
  settle(now_ns);
  fs_bucket_.reset();
  read_bucket_.reset();
  write_bucket_.reset();
  for (auto& c : clients_) c.bucket.reset();
}

FileSystemMeter::ClientSlot* FileSystemMeter::client(uint64_t connection) {
  if (connection == 0 || connection == kGone) return nullptr;
  const std::size_t start = mix(connection) % kClientSlots;
  // Lock-free lookup: probe until the connection or a never-used slot.
  for (std::size_t i = 0; i < kClientSlots; ++i) {
    auto& s = clients_[(start + i) % kClientSlots];
    uint64_t c = s.connection.load(std::memory_order_acquire);
    if (c == connection) return &s;
    if (c == 0) break;
  }
  // First request of this connection here: insert under the lock, reusing
  // a freed slot on the probe path (a lookup probing past it still finds
  // entries further on, since it only stops at never-used slots).
  std::lock_guard lk(mu_);
  ClientSlot* reuse = nullptr;
  for (std::size_t i = 0; i < kClientSlots; ++i) {
    auto& s = clients_[(start + i) % kClientSlots];
    uint64_t c = s.connection.load(std::memory_order_relaxed);
    if (c == connection) return &s;
    if (c == kGone && !reuse) reuse = &s;
    if (c == 0) {
      if (!reuse) reuse = &s;
      break;
    }
  }
  if (!reuse) return nullptr;  // table full: no per-client limit for this one
  reuse->bucket.reset();
  reuse->connection.store(connection, std::memory_order_release);
  client_count_.fetch_add(1, std::memory_order_relaxed);
  return reuse;
}

void FileSystemMeter::connection_closed(uint64_t connection) {
  if (connection == 0 || connection == kGone) return;
  std::lock_guard lk(mu_);
  const std::size_t start = mix(connection) % kClientSlots;
  for (std::size_t i = 0; i < kClientSlots; ++i) {
    auto& s = clients_[(start + i) % kClientSlots];
    uint64_t c = s.connection.load(std::memory_order_relaxed);
    if (c == 0) return;
    if (c == connection) {
      s.connection.store(kGone, std::memory_order_release);
      client_count_.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
  }
}

int64_t FileSystemMeter::charge(const Tally& t, uint64_t connection, int64_t now_ns, bool enforce) {
  const auto mode = static_cast<Mode>(mode_.load(std::memory_order_relaxed));
  // [modes] "Understanding metered throughput": at least 4 KiB a request
  // (Tally applies it per READ and WRITE), a metadata request is one 4 KiB
  // unit, reads at one third on bursting and provisioned.
  const uint64_t metadata = uint64_t{t.metadata_ops} * kMinMeteredRequest;
  const double read_metered = metered_read_bytes(mode, t.read_units);
  const uint64_t metered = static_cast<uint64_t>(read_metered + 0.5) + t.write_units + metadata;
  data_read_.fetch_add(t.read_bytes, std::memory_order_relaxed);
  data_write_.fetch_add(t.write_bytes, std::memory_order_relaxed);
  if (metadata) metadata_.fetch_add(metadata, std::memory_order_relaxed);
  total_.fetch_add(t.read_bytes + t.write_bytes + metadata, std::memory_order_relaxed);
  // The request that spends the last credits still goes at the burst rate;
  // the ones after it at the baseline.
  const double permitted = permitted_.load(std::memory_order_relaxed);
  const uint64_t after = metered_.fetch_add(metered, std::memory_order_relaxed) + metered;
  if (after >= spend_limit_.load(std::memory_order_relaxed)) settle(now_ns);
  // Every connection that used the file system counts (ClientConnections),
  // enforced or not.
  ClientSlot* per_client = client(connection);
  if (!enforce) return 0;

  int64_t wait = 0;
  if (mode == Mode::elastic) {
    wait = read_bucket_.reserve(now_ns, static_cast<double>(t.read_units),
                                read_limit_.load(std::memory_order_relaxed), kToleranceNs);
    wait = std::max(
        wait, write_bucket_.reserve(now_ns, static_cast<double>(t.write_units + metadata),
                                    write_limit_.load(std::memory_order_relaxed), kToleranceNs));
  } else {
    wait = fs_bucket_.reserve(now_ns, static_cast<double>(metered), permitted, kToleranceNs);
  }
  // [perf] per-client read/write: the data itself, reads at full size.
  if (per_client && t.has_data()) {
    wait = std::max(wait, per_client->bucket.reserve(
                              now_ns, static_cast<double>(t.read_bytes + t.write_bytes),
                              client_limit_.load(std::memory_order_relaxed), kToleranceNs));
  }
  return std::min(wait, kMaxWaitNs);
}

Stats FileSystemMeter::stats(int64_t now_ns) {
  std::lock_guard lk(mu_);
  settle_locked(now_ns);
  publish_locked();
  Stats s;
  s.mode = settings_.mode;
  s.metered_io_bytes = metered_.load(std::memory_order_relaxed);
  s.total_io_bytes = total_.load(std::memory_order_relaxed);
  s.data_read_io_bytes = data_read_.load(std::memory_order_relaxed);
  s.data_write_io_bytes = data_write_.load(std::memory_order_relaxed);
  s.metadata_io_bytes = metadata_.load(std::memory_order_relaxed);
  s.burst_credit_balance = std::max(0.0, balance_);
  s.permitted_throughput = permitted_.load(std::memory_order_relaxed);
  s.client_connections = client_count_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace efs::throughput
