// A byte vector that grows without zeroing: resize() leaves the new bytes
// as they are, for buffers that a read fills right after (a received RPC
// record). std::vector<uint8_t> value-initializes every byte it adds, and
// zeroing a 1 MiB WRITE's record before recv() overwrote it was 4-8 % of the
// server's CPU in sequential-write profiles.
#pragma once

#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace efs {

// std::allocator, except that construct() with no arguments
// default-initializes (for bytes: does nothing) instead of value-initializing.
template <class T>
class DefaultInitAllocator : public std::allocator<T> {
 public:
  template <class U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  DefaultInitAllocator() = default;
  template <class U>
  DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}

  template <class U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

using UninitBytes = std::vector<uint8_t, DefaultInitAllocator<uint8_t>>;

}  // namespace efs
