// The AWS/EFS metrics on the emulator clock: samples every file system's
// throughput figures (src/throughput) and storage sizes, and writes them to
// the MetricStore as one point per metric and minute, the way EFS publishes
// them to CloudWatch:
//   BurstCreditBalance (Bytes), PermittedThroughput (Bytes/Second),
//   ClientConnections (Count): one value a minute, the latest sample of
//     that minute;
//   PercentIOLimit (Percent, generalPurpose): for minutes with I/O;
//   MeteredIOBytes, TotalIOBytes, DataReadIOBytes, DataWriteIOBytes,
//   MetadataIOBytes (Bytes): the bytes of the minute, one sample per pass
//     that saw I/O (EFS counts one sample per operation: efs-local's
//     counters are byte totals, so SampleCount is the passes, not the
//     requests); a minute without I/O has no point, as at EFS;
//   StorageBytes (Bytes) with StorageClass Total, Standard, IA, Archive:
//     at every quarter hour.
// Dimension FileSystemId; StorageBytes adds StorageClass.
//
// A pass (sample()) runs every few seconds on the Sampler's thread, after
// POST /_efs-local/clock, and before every CloudWatch read, so a read sees
// the current minute as it stands. The minute being sampled is rewritten
// at each pass; a pass in a later minute closes it. When the clock jumped
// over minutes, the minutes between are computed, not looped in real time:
// no I/O happened in them, and the balance grows at the baseline rate from
// the last sample (throughput::settle_balance), within the retention window
// (metric_store.h). Other modules publish their own per-minute values
// through add_source (replication's TimeSinceLastSync).
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "metrics/metric_store.h"
#include "throughput/meter.h"

namespace efs::metrics {

inline constexpr const char* kEfsNamespace = "AWS/EFS";

// What the sampler reads of one file system at a pass.
struct FileSystemFigures {
  std::string id;
  throughput::Stats stats;  // from throughput::Throttle::stats
  uint64_t total_bytes = 0, standard_bytes = 0, ia_bytes = 0, archive_bytes = 0;  // SizeInBytes
  bool general_purpose = true;  // PerformanceMode generalPurpose (PercentIOLimit)
};

// One value another module publishes for a minute, with its own namespace
// and dimensions.
struct Datum {
  MetricId metric;
  std::string unit;
  double value = 0;
};

class Sampler {
 public:
  using FileSystemSource = std::function<std::vector<FileSystemFigures>()>;
  // Called at every pass with the emulator time (epoch seconds); its values
  // become the points of the current minute (the latest value of a minute wins).
  using DatumSource = std::function<std::vector<Datum>(double now)>;
  // Called after every pass that wrote (alarm evaluation).
  using Listener = std::function<void(double now)>;

  // Real seconds between passes of the thread.
  static constexpr double kPassSeconds = 5.0;

  Sampler(MetricStore& store, Clock& clock, FileSystemSource source);
  ~Sampler();  // stops the thread
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  void add_source(DatumSource source);
  void on_pass(Listener l);
  void start();
  // One pass now. Passes are serialized; errors are logged.
  void sample();
  // A pass soon, on the sampler's thread (after a clock advance: the
  // minutes skipped are written without holding the clock request up; a
  // read in the meantime runs its own pass, which waits for this one).
  void wake();

 private:
  struct Counters {
    uint64_t metered = 0, total = 0, read = 0, write = 0, metadata = 0;
  };
  struct FsState {
    int64_t minute = 0;         // the minute being sampled
    double last_t = 0;          // time of the last pass (epoch seconds)
    double last_balance = 0;    // BurstCreditBalance then
    double last_permitted = 0;  // PermittedThroughput then
    Counters last;              // counters then
    Aggregate io[5];            // this minute's I/O: metered, total, read, write, metadata
  };
  void pass_locked(double now);
  void write_io(std::vector<Point>& out, const std::string& fs, int64_t minute, const FsState& st,
                bool general_purpose) const;

  MetricStore& store_;
  Clock& clock_;
  FileSystemSource source_;
  std::vector<DatumSource> sources_;
  std::vector<Listener> listeners_;
  std::mutex pass_mu_;  // one pass at a time; guards state_
  std::map<std::string, FsState> state_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool wake_ = false;
  std::thread thread_;
};

// PercentIOLimit of a generalPurpose file system from a minute's bytes: EFS
// relates the operations to the General Purpose mode's limit (35,000
// operations a second); efs-local counts bytes, and each request meters as
// at least 4 KiB, so bytes / 4 KiB is an upper bound on the operations.
double percent_io_limit(double total_io_bytes, double seconds);

}  // namespace efs::metrics
