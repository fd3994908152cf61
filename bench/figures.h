// The figures nfsbench measures. Each test does its untimed preparation
// (files to rename, a directory of its own), then times only the work it is
// named after, and checks what the server answered: a failed request, data
// read back that differs from what was written, or a directory listing of
// the wrong length ends the run (die), so a fast wrong answer never counts.
#pragma once

#include <string>
#include <vector>

#include "cpu_meter.h"
#include "nfs_client.h"

namespace nfsbench {

struct Figures {
  double seconds = 0;
  uint64_t ops = 0;
  uint64_t bytes = 0;
  std::vector<double> latency_s;  // per operation, for the many-client figures
  CpuDelta cpu;
};

// The timed phase: CPU accounting starts before the clock and stops after it.
inline Clock::time_point begin_timed(CpuMeter& m) {
  m.start();
  return Clock::now();
}
inline void end_timed(CpuMeter& m, Clock::time_point t0, Figures& f) {
  f.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  f.cpu = m.stop();
}

// figures_data.cc: 1 MiB WRITEs (then COMMIT) and READs, 4 KiB random READs.
Figures seq_write(Session& s, CpuMeter& m, const x::nfs_fh4& dir, uint64_t size, uint32_t qd);
Figures reads(Session& s, CpuMeter& m, const x::nfs_fh4& dir, uint64_t size, uint32_t len,
              uint64_t count, bool random, uint32_t qd);

// figures_meta.cc
Figures creates(Session& s, CpuMeter& m, const x::nfs_fh4& dir, uint64_t n, uint32_t qd);
Figures stats(Session& s, CpuMeter& m, const x::nfs_fh4& dir, uint64_t n, uint32_t qd);
Figures readdir_walk(Session& s, CpuMeter& m, const x::nfs_fh4& dir, uint64_t expect);
Figures renames(Session& s, CpuMeter& m, const x::nfs_fh4& parent, uint64_t n, uint32_t qd);
Figures removes(Session& s, CpuMeter& m, const x::nfs_fh4& parent, uint64_t n, uint32_t qd);
Figures untar(Session& s, CpuMeter& m, const x::nfs_fh4& parent, uint64_t files);

// figures_clients.cc: `clients` sessions at once, each on its own TCP
// connection with one slot (like as many mounts), sharing `count` operations.
struct Target {
  std::string host;
  uint16_t port = 0;
  std::string dir_path;  // from the server's root
};
Figures clients_randread(const Target& t, CpuMeter& m, uint64_t size, uint64_t count, uint32_t clients);
Figures clients_create(const Target& t, Session& s, CpuMeter& m, uint64_t count, uint32_t clients);

// The name of the file the data figures write and read.
inline const char* kBigFile = "big";

}  // namespace nfsbench
