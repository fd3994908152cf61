#include "metrics/sampler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "throughput/credits.h"

namespace efs::metrics {

namespace {

constexpr const char* kIoNames[5] = {"MeteredIOBytes", "TotalIOBytes", "DataReadIOBytes",
                                     "DataWriteIOBytes", "MetadataIOBytes"};
// EFS publishes StorageBytes every 15 minutes.
constexpr int64_t kStorageEveryMinutes = 15;
// General Purpose mode's operations a second (EFS performance specifications).
constexpr double kGeneralPurposeOps = 35000;

Point single(const std::string& fs, const char* name, const char* unit, int64_t minute, double v) {
  Point p;
  p.metric = MetricId{kEfsNamespace, name, {{"FileSystemId", fs}}};
  p.unit = unit;
  p.minute = minute;
  p.value.add(v);
  return p;
}

uint64_t grown(uint64_t now, uint64_t before) {
  // A counter that went back (its meter was made anew) counts from zero.
  return now >= before ? now - before : now;
}

void storage_points(std::vector<Point>& out, const FileSystemFigures& f, int64_t minute) {
  const std::pair<const char*, uint64_t> classes[] = {{"Total", f.total_bytes},
                                                      {"Standard", f.standard_bytes},
                                                      {"IA", f.ia_bytes},
                                                      {"Archive", f.archive_bytes}};
  for (const auto& [cls, bytes] : classes) {
    Point p;
    p.metric = MetricId{kEfsNamespace, "StorageBytes",
                        sorted({{"FileSystemId", f.id}, {"StorageClass", cls}})};
    p.unit = "Bytes";
    p.minute = minute;
    p.value.add(static_cast<double>(bytes));
    out.push_back(std::move(p));
  }
}

}  // namespace

double percent_io_limit(double total_io_bytes, double seconds) {
  if (seconds <= 0) return 0;
  const double ops = total_io_bytes / static_cast<double>(throughput::kMinMeteredRequest);
  return std::clamp(100.0 * ops / seconds / kGeneralPurposeOps, 0.0, 100.0);
}

Sampler::Sampler(MetricStore& store, Clock& clock, FileSystemSource source)
    : store_(store), clock_(clock), source_(std::move(source)) {}

Sampler::~Sampler() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Sampler::add_source(DatumSource source) {
  std::lock_guard lk(pass_mu_);
  sources_.push_back(std::move(source));
}

void Sampler::on_pass(Listener l) {
  std::lock_guard lk(pass_mu_);
  listeners_.push_back(std::move(l));
}

void Sampler::start() {
  thread_ = std::thread([this] {
    std::unique_lock lk(mu_);
    while (!stop_) {
      cv_.wait_for(lk, std::chrono::duration<double>(kPassSeconds), [&] { return stop_ || wake_; });
      if (stop_) break;
      wake_ = false;
      lk.unlock();
      sample();
      lk.lock();
    }
  });
}

void Sampler::wake() {
  {
    std::lock_guard lk(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

void Sampler::sample() {
  std::lock_guard lk(pass_mu_);
  const double now = clock_.now_epoch_seconds();
  pass_locked(now);
  for (auto& l : listeners_) l(now);
}

void Sampler::write_io(std::vector<Point>& out, const std::string& fs, int64_t minute,
                       const FsState& st, bool general_purpose) const {
  for (int i = 0; i < 5; ++i) {
    if (st.io[i].empty()) continue;
    Point p;
    p.metric = MetricId{kEfsNamespace, kIoNames[i], {{"FileSystemId", fs}}};
    p.unit = "Bytes";
    p.minute = minute;
    p.value = st.io[i];
    out.push_back(std::move(p));
  }
  if (general_purpose && !st.io[1].empty())
    out.push_back(
        single(fs, "PercentIOLimit", "Percent", minute, percent_io_limit(st.io[1].sum, 60)));
}

void Sampler::pass_locked(double now) {
  const int64_t minute = static_cast<int64_t>(std::floor(now / 60));
  std::vector<Point> out;
  std::vector<FileSystemFigures> figures = source_ ? source_() : std::vector<FileSystemFigures>{};
  std::map<std::string, FsState> next;
  for (const auto& f : figures) {
    const auto& s = f.stats;
    const Counters c{s.metered_io_bytes, s.total_io_bytes, s.data_read_io_bytes,
                     s.data_write_io_bytes, s.metadata_io_bytes};
    auto it = state_.find(f.id);
    FsState st;
    if (it != state_.end()) {
      st = it->second;
    } else {
      // First sight (a new file system, or the server started): counting
      // starts now.
      st.minute = minute;
      st.last_t = now;
      st.last = c;
      st.last_balance = s.burst_credit_balance;
      st.last_permitted = s.permitted_throughput;
    }
    const uint64_t deltas[5] = {grown(c.metered, st.last.metered), grown(c.total, st.last.total),
                                grown(c.read, st.last.read), grown(c.write, st.last.write),
                                grown(c.metadata, st.last.metadata)};
    // The I/O since the last pass happened in the minute that pass sampled
    // or in this one; it is counted in the former, which is exact unless a
    // minute boundary fell between the two passes.
    for (int i = 0; i < 5; ++i)
      if (deltas[i] > 0) st.io[i].add(static_cast<double>(deltas[i]));

    if (minute > st.minute) {
      // Close the minute sampled so far (its gauges were written by the
      // passes in it), then the minutes the clock jumped over.
      write_io(out, f.id, st.minute, st, f.general_purpose);
      for (auto& a : st.io) a = Aggregate{};
      const double baseline = throughput::baseline_rate(f.standard_bytes);
      const double cap = throughput::credit_cap(f.standard_bytes);
      const int64_t first_gap = std::max(st.minute + 1, minute - kRetentionMinutes);
      for (int64_t g = first_gap; g < minute; ++g) {
        // The value at the end of minute g: the credits of the last sample,
        // less what was metered since, plus the baseline's accrual.
        const double at = static_cast<double>(g + 1) * 60;
        const double b = throughput::settle_balance(st.last_balance, baseline, at - st.last_t,
                                                    static_cast<double>(deltas[0]), cap);
        const double permitted = b > 0 ? std::max(st.last_permitted, s.permitted_throughput)
                                       : std::min(st.last_permitted, s.permitted_throughput);
        out.push_back(single(f.id, "BurstCreditBalance", "Bytes", g, std::max(0.0, b)));
        out.push_back(single(f.id, "PermittedThroughput", "Bytes/Second", g, permitted));
        out.push_back(single(f.id, "ClientConnections", "Count", g, s.client_connections));
        if (g % kStorageEveryMinutes == 0) storage_points(out, f, g);
      }
      st.minute = minute;
    }
    // The current minute as it stands.
    out.push_back(single(f.id, "BurstCreditBalance", "Bytes", minute, s.burst_credit_balance));
    out.push_back(
        single(f.id, "PermittedThroughput", "Bytes/Second", minute, s.permitted_throughput));
    out.push_back(single(f.id, "ClientConnections", "Count", minute, s.client_connections));
    write_io(out, f.id, minute, st, f.general_purpose);
    if (minute % kStorageEveryMinutes == 0) storage_points(out, f, minute);

    st.last = c;
    st.last_t = now;
    st.last_balance = s.burst_credit_balance;
    st.last_permitted = s.permitted_throughput;
    next[f.id] = st;
  }
  // File systems gone since the last pass are dropped (their points stay
  // until retention removes them).
  state_ = std::move(next);

  for (auto& src : sources_) {
    for (auto& d : src(now)) {
      Point p;
      p.metric = d.metric;
      p.metric.dims = sorted(std::move(p.metric.dims));
      p.unit = d.unit;
      p.minute = minute;
      p.value.add(d.value);
      out.push_back(std::move(p));
    }
  }
  if (out.empty()) return;
  if (auto s = store_.put(out, minute); !s)
    spdlog::error("metrics: cannot store {} points: {}", out.size(), s.error().message);
}

}  // namespace efs::metrics
