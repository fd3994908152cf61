#include "cpu_meter.h"

#include "nfs_client.h"  // cat

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

namespace nfsbench {

namespace {

const double kHz = static_cast<double>(sysconf(_SC_CLK_TCK));
constexpr unsigned long kPfKthread = 0x00200000;  // include/linux/sched.h

// Fields of /proc/PID/stat after the command name (which may hold spaces):
// [0] is field 3 (state), [6] field 9 (flags), [11] utime, [12] stime.
bool read_task_stat(const std::string& path, unsigned long& flags, double& ticks) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return false;
  auto close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(line.substr(close + 2));
  std::vector<std::string> f;
  std::string t;
  while (f.size() < 13 && rest >> t) f.push_back(t);
  if (f.size() < 13) return false;
  flags = std::strtoul(f[6].c_str(), nullptr, 10);
  ticks = std::strtod(f[11].c_str(), nullptr) + std::strtod(f[12].c_str(), nullptr);
  return true;
}

double kthread_seconds() {
  double sum = 0;
  unsigned long flags = 0;
  double ticks = 0;
  if (DIR* d = opendir("/proc")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      if (read_task_stat(cat("/proc/", e->d_name, "/stat"), flags, ticks) && (flags & kPfKthread))
        sum += ticks / kHz;
    }
    closedir(d);
  }
  return sum;
}

}  // namespace

// The quick readings (machine, server, client) sit next to each other; the
// slow scan of /proc for kernel threads comes before them at the start and
// after them at the stop, so the scan's own CPU is outside the window.
CpuMeter::Sample CpuMeter::sample() const {
  Sample s;
  s.wall = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  // /proc/stat "cpu" line: user nice system idle iowait irq softirq steal.
  std::ifstream st("/proc/stat");
  std::string cpu;
  double v[8] = {};
  st >> cpu;
  for (double& x : v) st >> x;
  s.busy = (v[0] + v[1] + v[2] + v[7]) / kHz;
  s.irq = (v[5] + v[6]) / kHz;
  s.idle = (v[3] + v[4]) / kHz;
  unsigned long flags = 0;
  double ticks = 0;
  if (pid_ > 0 && read_task_stat(cat("/proc/", pid_, "/stat"), flags, ticks))
    s.server = ticks / kHz;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  s.client = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  return s;
}

void CpuMeter::start() {
  double k = kthread_seconds();
  begin_ = sample();
  begin_.kthread = k;
}

CpuDelta CpuMeter::stop() const {
  Sample e = sample();
  e.kthread = kthread_seconds();
  CpuDelta d;
  d.wall_s = e.wall - begin_.wall;
  d.server_s = e.server - begin_.server;
  d.client_s = e.client - begin_.client;
  d.kthread_s = e.kthread - begin_.kthread;
  d.busy_s = e.busy - begin_.busy;
  d.irq_s = e.irq - begin_.irq;
  d.idle_s = e.idle - begin_.idle;
  d.cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  return d;
}

std::string to_json(const CpuDelta& d) {
  char b[400];
  std::snprintf(b, sizeof b,
                "{\"wall_s\":%.4f,\"server_s\":%.3f,\"client_s\":%.3f,\"kthread_s\":%.3f,"
                "\"busy_s\":%.3f,\"irq_s\":%.3f,\"idle_s\":%.3f,\"cpus\":%d}",
                d.wall_s, d.server_s, d.client_s, d.kthread_s, d.busy_s, d.irq_s, d.idle_s, d.cpus);
  return b;
}

}  // namespace nfsbench
