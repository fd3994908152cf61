#include "efs/transition_timer.h"

#include <algorithm>
#include <chrono>

namespace efs {

TransitionTimer::TransitionTimer(Clock& clock, std::function<void()> due)
    : clock_(clock), due_(std::move(due)), thread_([this] { run(); }) {}

TransitionTimer::~TransitionTimer() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void TransitionTimer::schedule(std::optional<double> at) {
  {
    std::lock_guard lk(mu_);
    at_ = at;
  }
  cv_.notify_all();
}

void TransitionTimer::poke() {
  cv_.notify_all();
}

void TransitionTimer::run() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    if (!at_) {
      cv_.wait(lk);
      continue;
    }
    const double left = *at_ - clock_.now_epoch_seconds();
    if (left > 0) {
      // At most a day at a time: a far-off transition (a long --state-delay)
      // must not overflow the steady clock's arithmetic.
      cv_.wait_for(lk, std::chrono::duration<double>(std::min(left, 86400.0)));
      continue;
    }
    at_.reset();
    lk.unlock();
    due_();  // typically reschedules
    lk.lock();
  }
}

}  // namespace efs
