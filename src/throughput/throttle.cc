#include "throughput/throttle.h"

#include <spdlog/spdlog.h>

namespace efs::throughput {

namespace {

// FNV-1a; never 0 (0 marks a free slot).
uint64_t hash_id(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h | 1;
}

}  // namespace

Throttle::Throttle(Clock& clock, Options options, SettingsSource source)
    : clock_(clock),
      options_(options),
      source_(std::move(source)),
      slots_(std::make_unique<std::array<Slot, kSlots>>()) {}

Throttle::~Throttle() = default;

int64_t Throttle::now_ns() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             clock_.steady_now().time_since_epoch())
      .count();
}

FileSystemMeter* Throttle::find(std::string_view fs_id, uint64_t h) const {
  auto& slots = *slots_;
  for (std::size_t i = 0; i < kSlots; ++i) {
    auto& s = slots[(h + i) % kSlots];
    FileSystemMeter* m = s.meter.load(std::memory_order_acquire);
    if (!m) return nullptr;
    if (s.hash.load(std::memory_order_relaxed) == h && m->id() == fs_id) return m;
  }
  return nullptr;
}

FileSystemMeter* Throttle::meter(std::string_view fs_id) {
  const uint64_t h = hash_id(fs_id);
  if (auto* m = find(fs_id, h)) return m;
  // First request to this file system since the server started. Meters are
  // never removed (a deleted file system's id never comes back), so a
  // pointer handed out stays valid for the Throttle's life.
  std::optional<Settings> settings;
  if (source_) settings = source_(std::string(fs_id), true);
  std::lock_guard lk(mu_);
  if (auto* m = find(fs_id, h)) return m;
  auto& slots = *slots_;
  for (std::size_t i = 0; i < kSlots; ++i) {
    auto& s = slots[(h + i) % kSlots];
    if (s.meter.load(std::memory_order_relaxed)) continue;
    auto m = std::make_unique<FileSystemMeter>(std::string(fs_id), now_ns());
    m->configure(settings.value_or(Settings{}), options_.scale, now_ns());
    s.hash.store(h, std::memory_order_relaxed);
    s.meter.store(m.get(), std::memory_order_release);
    owned_.push_back(std::move(m));
    spdlog::debug("throughput: metering {} ({})", fs_id,
                  to_string(settings.value_or(Settings{}).mode));
    return owned_.back().get();
  }
  spdlog::warn("throughput: more than {} file systems; {} is not metered", kSlots, fs_id);
  return nullptr;
}

std::chrono::nanoseconds Throttle::charge(FileSystemMeter& m, uint64_t connection, const Tally& t) {
  return std::chrono::nanoseconds(m.charge(t, connection, now_ns(), options_.enforce));
}

std::vector<std::string> Throttle::file_systems() {
  std::lock_guard lk(mu_);
  std::vector<std::string> ids;
  ids.reserve(owned_.size());
  for (auto& m : owned_) ids.push_back(m->id());
  return ids;
}

void Throttle::tick() {
  std::vector<FileSystemMeter*> meters;
  {
    std::lock_guard lk(mu_);
    for (auto& m : owned_) meters.push_back(m.get());
  }
  const bool with_size = ++ticks_ % kSizeEveryTicks == 0;
  for (auto* m : meters) {
    std::optional<Settings> s;
    if (source_) s = source_(m->id(), with_size);
    if (s)
      m->configure(*s, options_.scale, now_ns(), !with_size);
    else
      m->settle(now_ns());
  }
}

void Throttle::clock_advanced() {
  std::vector<FileSystemMeter*> meters;
  {
    std::lock_guard lk(mu_);
    for (auto& m : owned_) meters.push_back(m.get());
  }
  for (auto* m : meters) m->clock_jumped(now_ns());
}

void Throttle::connection_closed(uint64_t connection) {
  std::vector<FileSystemMeter*> meters;
  {
    std::lock_guard lk(mu_);
    for (auto& m : owned_) meters.push_back(m.get());
  }
  for (auto* m : meters) m->connection_closed(connection);
}

std::optional<double> Throttle::set_burst_credits(const std::string& fs_id, double bytes) {
  // A file system no client has touched yet is metered from now on, so a
  // test can empty its credits before the first mount.
  if (source_ && !source_(fs_id, false)) return std::nullopt;
  auto* m = meter(fs_id);
  if (!m) return std::nullopt;
  return m->set_balance(bytes, now_ns());
}

std::optional<Stats> Throttle::stats(const std::string& fs_id) {
  auto* m = find(fs_id, hash_id(fs_id));
  if (!m && source_ && source_(fs_id, false)) m = meter(fs_id);
  if (!m) return std::nullopt;
  return m->stats(now_ns());
}

}  // namespace efs::throughput
