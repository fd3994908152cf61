#include "common/background.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace efs {

void become_background_thread(const char* what) {
  const auto tid = static_cast<id_t>(gettid());
  if (setpriority(PRIO_PROCESS, tid, 10) != 0)
    spdlog::debug("{}: cannot lower the thread's CPU priority: {}", what, std::strerror(errno));
  // linux/ioprio.h: IOPRIO_WHO_PROCESS (a thread id), class best-effort,
  // level 7 (the lowest). Not the idle class: that starves the thread for as
  // long as anything else does I/O.
  constexpr int kWhoProcess = 1, kClassBestEffort = 2, kClassShift = 13, kLowest = 7;
  if (syscall(SYS_ioprio_set, kWhoProcess, static_cast<int>(tid),
              (kClassBestEffort << kClassShift) | kLowest) != 0)
    spdlog::debug("{}: cannot lower the thread's I/O priority: {}", what, std::strerror(errno));
}

}  // namespace efs
