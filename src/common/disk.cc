#include "common/disk.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace efs {

namespace {

Error sys_error(const char* what, const std::string& path, int e = errno) {
  return Error{std::string(what) + " " + path + ": " + std::strerror(e), e};
}

Error fd_error(const char* what, int fd, int e = errno) {
  return Error{std::string(what) + " (fd " + std::to_string(fd) + "): " + std::strerror(e), e};
}

class HostDisk final : public Disk {
 public:
  Status<int> open(const std::string& path, bool create) override {
    int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
    int f;
    do {
      f = ::open(path.c_str(), flags, 0600);
    } while (f < 0 && errno == EINTR);
    if (f < 0) return fail(sys_error("open", path));
    return f;
  }
  Status<std::size_t> pread(int fd, std::span<uint8_t> out, uint64_t offset) override {
    for (;;) {
      ssize_t n = ::pread(fd, out.data(), out.size(), static_cast<off_t>(offset));
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) return fail(fd_error("pread", fd));
    }
  }
  Status<std::size_t> pwrite(int fd, std::span<const uint8_t> data, uint64_t offset) override {
    for (;;) {
      ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) return fail(fd_error("pwrite", fd));
    }
  }
  Status<> fdatasync(int fd) override {
    if (::fdatasync(fd) != 0) return fail(fd_error("fdatasync", fd));
    return {};
  }
  Status<> ftruncate(int fd, uint64_t size) override {
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) return fail(fd_error("ftruncate", fd));
    return {};
  }
  void close(int fd) override { ::close(fd); }
  Status<> unlink(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return fail(sys_error("unlink", path));
    return {};
  }
  Status<> rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return fail(sys_error("rename", from + " to"));
    return {};
  }
  Status<> mkdir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0700) != 0) return fail(sys_error("mkdir", path));
    return {};
  }
  Status<> sync_dir(const std::string& path) override {
    int f = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (f < 0) return fail(sys_error("open dir", path));
    int rc = ::fsync(f);
    int e = errno;
    ::close(f);
    if (rc != 0) return fail(sys_error("fsync dir", path, e));
    return {};
  }
  Status<> remove_all(const std::string& path) override {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) return fail(Error{"remove " + path + ": " + ec.message(), ec.value()});
    return {};
  }
  bool exists(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }
  Status<uint64_t> allocated_bytes(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return fail(sys_error("stat", path));
    return static_cast<uint64_t>(st.st_blocks) * 512;
  }
};

}  // namespace

Disk& host_disk() {
  static HostDisk d;
  return d;
}

Status<> make_dirs(Disk& disk, const std::string& path, std::vector<std::string>* made) {
  if (path.empty() || disk.exists(path)) return {};
  auto slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    if (auto s = make_dirs(disk, path.substr(0, slash), made); !s) return s;
  }
  if (auto s = disk.mkdir(path); !s) {
    if (s.error().code == EEXIST) return {};  // made meanwhile by another thread
    return s;
  }
  if (made) made->push_back(path);
  return {};
}

}  // namespace efs
