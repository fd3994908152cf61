#include "metrics/prometheus.h"

#include <cstdio>

namespace efs::metrics {

namespace {

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string braces(const std::string& labels) {
  return labels.empty() ? "" : "{" + labels + "}";
}

std::string with(const std::string& labels, const std::string& more) {
  return labels.empty() ? more : labels + "," + more;
}

}  // namespace

std::string label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

namespace {

std::size_t my_cell(std::size_t cells) {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed);
  return mine % cells;
}

// A bucket bound as people write it (5e-05, 0.1), not its nearest double.
std::string bound(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

void Histogram::observe(std::chrono::nanoseconds d) {
  const double s = std::chrono::duration<double>(d).count();
  std::size_t i = 0;
  while (i < kLatencyBuckets.size() && s > kLatencyBuckets[i]) ++i;
  Cell& c = cells_[my_cell(kCells)];
  c.buckets[i].fetch_add(1, std::memory_order_relaxed);
  c.sum_ns.fetch_add(static_cast<uint64_t>(std::max<int64_t>(0, d.count())),
                     std::memory_order_relaxed);
  c.count.fetch_add(1, std::memory_order_relaxed);
}

uint64_t Histogram::count() const {
  uint64_t n = 0;
  for (const Cell& c : cells_) n += c.count.load(std::memory_order_relaxed);
  return n;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  // Prometheus buckets are cumulative.
  // Read bucket by bucket while others record, the total of the cells can
  // run ahead of the buckets read before it: _count is the last bucket's
  // cumulative figure, so the page stays self-consistent.
  uint64_t seen = 0, sum_ns = 0;
  for (std::size_t i = 0; i <= kLatencyBuckets.size(); ++i) {
    for (const Cell& c : cells_) seen += c.buckets[i].load(std::memory_order_relaxed);
    const std::string le = i < kLatencyBuckets.size() ? bound(kLatencyBuckets[i]) : "+Inf";
    out +=
        name + "_bucket{" + with(labels, "le=\"" + le + "\"") + "} " + std::to_string(seen) + "\n";
  }
  for (const Cell& c : cells_) sum_ns += c.sum_ns.load(std::memory_order_relaxed);
  out += name + "_sum" + braces(labels) + " " + number(static_cast<double>(sum_ns) / 1e9) + "\n";
  out += name + "_count" + braces(labels) + " " + std::to_string(seen) + "\n";
}

Registry& Registry::global() {
  static Registry r;
  return r;
}

void Registry::observe_nfs_op(uint32_t op, const char* name, std::chrono::nanoseconds d) {
  if (op >= kMaxNfsOp) return;
  // Written once: a store on every call would bounce the line between the
  // I/O threads for nothing.
  if (!nfs_[op].name.load(std::memory_order_relaxed))
    nfs_[op].name.store(name, std::memory_order_relaxed);
  nfs_[op].latency.observe(d);
}

void Registry::observe_api_op(const std::string& service, const std::string& op, bool error,
                              std::chrono::nanoseconds d) {
  ApiOp* a = nullptr;
  {
    std::lock_guard lk(api_mu_);
    auto& slot = api_[{service, op}];
    if (!slot) slot = std::make_unique<ApiOp>();
    a = slot.get();
  }
  a->latency.observe(d);
  if (error) a->errors.fetch_add(1, std::memory_order_relaxed);
}

std::string Registry::render(const std::vector<Family>& extra) const {
  std::string out;
  out +=
      "# HELP efs_local_nfs_operation_seconds Time to run one NFSv4 COMPOUND operation, by "
      "operation.\n# TYPE efs_local_nfs_operation_seconds histogram\n";
  for (const auto& op : nfs_) {
    const char* name = op.name.load(std::memory_order_relaxed);
    if (!name) continue;
    op.latency.render(out, "efs_local_nfs_operation_seconds", "op=\"" + label_value(name) + "\"");
  }
  out +=
      "# HELP efs_local_api_request_seconds Time to run one management API operation, by "
      "service and operation.\n# TYPE efs_local_api_request_seconds histogram\n";
  std::vector<std::pair<std::string, const ApiOp*>> api;
  {
    std::lock_guard lk(api_mu_);
    for (const auto& [key, a] : api_)
      api.emplace_back("service=\"" + label_value(key.first) + "\",operation=\"" +
                           label_value(key.second) + "\"",
                       a.get());
  }
  for (const auto& [labels, a] : api)
    a->latency.render(out, "efs_local_api_request_seconds", labels);
  out +=
      "# HELP efs_local_api_errors_total Management API operations that answered an AWS "
      "error.\n# TYPE efs_local_api_errors_total counter\n";
  for (const auto& [labels, a] : api)
    out += "efs_local_api_errors_total{" + labels + "} " +
           std::to_string(a->errors.load(std::memory_order_relaxed)) + "\n";
  for (const auto& f : extra) {
    out += "# HELP " + f.name + " " + f.help + "\n# TYPE " + f.name + " " + f.type + "\n";
    for (const auto& s : f.samples) out += f.name + braces(s.labels) + " " + number(s.value) + "\n";
  }
  return out;
}

}  // namespace efs::metrics
