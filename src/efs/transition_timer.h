// TransitionTimer: wakes efs::Service when the next lifecycle transition is
// due on the emulator clock (creating -> available at created_at +
// state_delay, deleting -> gone at deleting_at + state_delay), so that the
// catalog is republished at that moment instead of being polled.
//
// Times are emulator-clock epoch seconds (Clock::now_epoch_seconds). The
// thread sleeps for (due - now) and re-reads the clock when it wakes, so an
// early wake-up is harmless; a clock advance calls poke() (or reschedules).
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "common/clock.h"

namespace efs {

class TransitionTimer {
 public:
  // Starts the thread; `due` runs on it, never concurrently with itself.
  TransitionTimer(Clock& clock, std::function<void()> due);
  // Stops and joins the thread (waits for a `due` that is running).
  ~TransitionTimer();
  TransitionTimer(const TransitionTimer&) = delete;
  TransitionTimer& operator=(const TransitionTimer&) = delete;

  // Runs `due` once the clock reaches `at` (replacing any earlier request);
  // nullopt: nothing is pending.
  void schedule(std::optional<double> at);
  // The clock moved: re-evaluate the pending time now.
  void poke();

 private:
  void run();

  Clock& clock_;
  std::function<void()> due_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<double> at_;
  bool stop_ = false;
  std::thread thread_;  // last: started after everything it reads
};

}  // namespace efs
