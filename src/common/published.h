// Published<T>: an immutable value that many threads read on a hot path and
// one writer replaces now and then (the export catalog on every PUTFH, the
// access point roots).
//
// Why not std::atomic<std::shared_ptr<const T>>: libstdc++ (GCC 12) implements
// it with a lock bit in the control-block pointer, so every load() spins on a
// cache line all readers share (is_lock_free() is false). Instead a reader
// keeps a thread-local copy of the shared_ptr with the version it was taken
// at; the fast path is one acquire load of the version and, when it has not
// moved, returns the cached copy: no lock, no write to shared memory other
// than the reference count of the returned shared_ptr. Only a reader that
// sees a new version takes the mutex once to refresh its copy. The price: a
// thread keeps the last value it read alive until it reads again or exits.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

namespace efs {

template <class T>
class Published {
 public:
  explicit Published(std::shared_ptr<const T> initial)
      : id_(next_id()), current_(std::move(initial)) {}
  Published(const Published&) = delete;
  Published& operator=(const Published&) = delete;

  // The value last published (never a torn or half-built one).
  std::shared_ptr<const T> get() const {
    Slot& s = slot();
    const uint64_t v = version_.load(std::memory_order_acquire);
    if (s.owner == id_ && s.version == v) return s.value;
    std::lock_guard lk(mu_);
    s.owner = id_;
    s.version = version_.load(std::memory_order_relaxed);  // changes only under mu_
    s.value = current_;
    return s.value;
  }

  // Replaces the value; readers see it from their next get().
  void publish(std::shared_ptr<const T> next) {
    std::shared_ptr<const T> old;
    {
      std::lock_guard lk(mu_);
      old = std::exchange(current_, std::move(next));
      version_.fetch_add(1, std::memory_order_release);
    }
    // `old` is released here, outside the lock (it may be the last reference).
  }

  // How many times publish() ran.
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

 private:
  // One per thread and T: the value of the Published<T> this thread read last.
  // Keyed by a process-unique id, not the address, so a new Published at a
  // freed one's address never matches a stale slot.
  struct Slot {
    uint64_t owner = 0;
    uint64_t version = 0;
    std::shared_ptr<const T> value;
  };
  static Slot& slot() {
    static thread_local Slot s;
    return s;
  }
  static uint64_t next_id() {
    static std::atomic<uint64_t> n{0};
    return n.fetch_add(1, std::memory_order_relaxed) + 1;
  }

  const uint64_t id_;
  std::atomic<uint64_t> version_{0};
  mutable std::mutex mu_;  // guards current_ (and the version it belongs to)
  std::shared_ptr<const T> current_;
};

}  // namespace efs
