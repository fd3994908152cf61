#include "meta/space_reserve.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace efs::meta {

namespace {

std::string dir_of(const std::string& path) {
  auto p = std::filesystem::path(path).parent_path();
  return p.empty() ? std::string(".") : p.string();
}

}  // namespace

SpaceReserve::SpaceReserve(std::string path, uint64_t bytes) : path_(std::move(path)) {
  target_ = bytes;
  if (target_ == 0) {
    target_ = kSpaceReserveBytes;
    struct statvfs st;
    if (::statvfs(dir_of(path_).c_str(), &st) == 0) {
      uint64_t total = static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
      if (total / kSpaceReserveFraction < target_) target_ = total / kSpaceReserveFraction;
    }
  }
}

Status<uint64_t> SpaceReserve::free_bytes() const {
  struct statvfs st;
  if (::statvfs(dir_of(path_).c_str(), &st) != 0) {
    int e = errno;
    return fail(Error{"statvfs " + dir_of(path_) + ": " + std::strerror(e), e});
  }
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

uint64_t SpaceReserve::held_locked() {
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

uint64_t SpaceReserve::held() {
  std::lock_guard lk(mu_);
  return held_locked();
}

uint64_t SpaceReserve::release(uint64_t bytes) {
  std::lock_guard lk(mu_);
  uint64_t have = held_locked();
  if (have == 0) return 0;
  uint64_t keep = bytes >= have ? 0 : have - bytes;
  // truncate(2) needs no new blocks, so it works on a disk full to the last
  // block; the blocks past `keep` are free once it returns.
  if (::truncate(path_.c_str(), static_cast<off_t>(keep)) != 0) {
    spdlog::error("space reserve: cannot release {}: {}", path_, std::strerror(errno));
    return 0;
  }
  spdlog::warn("space reserve: released {} of {} bytes of {} (the disk is full)", have - keep,
               have, path_);
  return have - keep;
}

bool SpaceReserve::restore(uint64_t spare) {
  std::lock_guard lk(mu_);
  uint64_t have = held_locked();
  if (have >= target_) return true;
  auto avail = free_bytes();
  if (!avail || *avail < (target_ - have) + spare) return false;
  int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    spdlog::warn("space reserve: cannot open {}: {}", path_, std::strerror(errno));
    return false;
  }
  // posix_fallocate allocates real blocks (writing zeros where the file
  // system has no fallocate), so the space is truly set aside.
  int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(target_));
  if (rc != 0) {
    // A partial allocation would hold blocks the reserve does not count.
    if (::ftruncate(fd, static_cast<off_t>(have)) != 0) {
      spdlog::warn("space reserve: cannot shrink {} back: {}", path_, std::strerror(errno));
    }
    ::close(fd);
    spdlog::warn("space reserve: cannot allocate {} bytes in {}: {}", target_, path_,
                 std::strerror(rc));
    return false;
  }
  ::close(fd);
  if (have > 0) spdlog::info("space reserve: {} is whole again ({} bytes)", path_, target_);
  return true;
}

}  // namespace efs::meta
