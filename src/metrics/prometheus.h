// The counters and latency histograms behind GET /_efs-local/metrics, and
// the Prometheus text exposition format (version 0.0.4) they are served in.
//
// Recording is cheap and lock-free for NFS operations (a fixed array by op
// number: one per COMPOUND op on the I/O threads); API operations, far
// rarer, go through a map under a mutex. Gauges (connections, storage
// bytes) are not kept here: the server computes them when the page is
// rendered and passes them in as samples.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace efs::metrics {

// Upper bounds (seconds) of the latency buckets, plus +Inf.
inline constexpr std::array<double, 14> kLatencyBuckets = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0};

class Histogram {
 public:
  void observe(std::chrono::nanoseconds d);
  uint64_t count() const;
  // Appends `name_bucket{labels,le=...}`, `name_sum` and `name_count` lines.
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  // One cell per I/O thread (threads take cells round robin): every COMPOUND
  // op records here, and one shared cache line written by both threads of a
  // 2-core machine cost more than the counting itself. Rendering adds the
  // cells up.
  struct alignas(64) Cell {
    std::array<std::atomic<uint64_t>, kLatencyBuckets.size() + 1> buckets{};
    std::atomic<uint64_t> sum_ns{0};
    std::atomic<uint64_t> count{0};
  };
  static constexpr std::size_t kCells = 4;
  std::array<Cell, kCells> cells_{};
};

// One gauge or counter value computed at render time.
struct Sample {
  std::string labels;  // `fs="fs-…",class="ia"`, no braces; may be empty
  double value = 0;
};
struct Family {
  std::string name;  // efs_local_…
  std::string type;  // "gauge" or "counter"
  std::string help;
  std::vector<Sample> samples;
};

class Registry {
 public:
  // The process-wide registry.
  static Registry& global();

  // One NFSv4 operation (op number as in RFC 8881 18, its name) finished.
  void observe_nfs_op(uint32_t op, const char* name, std::chrono::nanoseconds d);
  // One API operation (EFS / KMS operation name) finished; error: it
  // answered an AWS error.
  void observe_api_op(const std::string& service, const std::string& op, bool error,
                      std::chrono::nanoseconds d);

  // The page: the histograms above, then `extra` families.
  std::string render(const std::vector<Family>& extra) const;

 private:
  static constexpr std::size_t kMaxNfsOp = 80;
  struct NfsOp {
    std::atomic<const char*> name{nullptr};
    Histogram latency;
  };
  std::array<NfsOp, kMaxNfsOp> nfs_{};
  struct ApiOp {
    Histogram latency;
    std::atomic<uint64_t> errors{0};
  };
  mutable std::mutex api_mu_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<ApiOp>> api_;
};

// `text/plain; version=0.0.4`: the Content-Type of the page.
inline constexpr const char* kContentType = "text/plain; version=0.0.4";

// Escapes a label value (backslash, double quote, newline).
std::string label_value(const std::string& v);

}  // namespace efs::metrics
