// CPU accounting around a figure's timed phase, from /proc: the server's
// utime+stime (all its threads, /proc/PID/stat), this client's (getrusage),
// kernel threads' (writeback, journal: work our run causes), and the whole
// machine's (/proc/stat). bench/drive.py subtracts the first three from the
// machine's busy time to see whether something else ran during the figure.
#pragma once

#include <string>

namespace nfsbench {

struct CpuDelta {
  double wall_s = 0;
  double server_s = 0;   // the server process, all threads
  double client_s = 0;   // nfsbench itself, all threads
  double kthread_s = 0;  // kernel threads (PF_KTHREAD)
  double busy_s = 0;     // machine: user+nice+system+steal
  double irq_s = 0;      // machine: irq+softirq (loopback TCP lands here)
  double idle_s = 0;     // machine: idle+iowait
  int cpus = 1;
};

// Starts and stops the measurement; server_pid 0 measures no server.
class CpuMeter {
 public:
  explicit CpuMeter(int server_pid) : pid_(server_pid) {}
  void start();
  CpuDelta stop() const;

 private:
  struct Sample {
    double server = 0, client = 0, kthread = 0, busy = 0, irq = 0, idle = 0, wall = 0;
  };
  Sample sample() const;
  int pid_;
  Sample begin_;
};

std::string to_json(const CpuDelta& d);

}  // namespace nfsbench
