// One spare file descriptor for the listeners of both servers (NFS and HTTP).
//
// When the process has no descriptor left, accept() fails with EMFILE (or
// ENFILE, system-wide) and leaves the connection in the listen backlog: the
// reactor reports the listener readable again at once, the client hangs until
// it gives up, and logging each failure floods the log. With a descriptor kept
// in reserve (on /dev/null, opened at start), an acceptor that hits the limit
// frees the spare, accepts the pending connection, closes it at once (the
// client sees the close and may retry), and takes the spare back. Open
// connections keep working throughout. The failures are logged once per
// kLogInterval with a count, not once per connection.
//
// The slot the spare frees must go to the pending connection, not to the
// other listener's acceptor running on another I/O thread: if it did, the
// spare could not be reopened and no later connection would be shed. So
// every ordinary accept runs under a shared lock (accept()) and shedding
// under the exclusive one. Other threads that open files (the chunk store,
// SQLite) can still take the slot; then the spare is reopened on a later
// attempt, once any descriptor is closed.
//
// Header-only so that both src/http and src/net use the one instance.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/error.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <system_error>

namespace efs::net {

// True for the errors that mean "no descriptor left" on accept.
inline bool is_descriptor_exhaustion(const std::error_code& ec) {
  return ec == std::error_code(EMFILE, std::system_category()) ||
         ec == std::error_code(ENFILE, std::system_category()) || ec == asio::error::no_descriptors;
}

class DescriptorReserve {
 public:
  static constexpr std::chrono::seconds kLogInterval{10};

  static DescriptorReserve& instance() {
    static DescriptorReserve reserve;
    return reserve;
  }

  // Opens the spare if it is not open. Called once at start-up; safe again.
  void ensure() {
    std::unique_lock lock(mu_);
    reopen_locked();
  }

  // One ordinary accept on a non-blocking acceptor, never while the spare is
  // out. ec is would_block when nothing is pending.
  template <class Acceptor, class Socket>
  void accept(Acceptor& acceptor, Socket& socket, asio::error_code& ec) {
    std::shared_lock lock(mu_);
    acceptor.accept(socket, ec);
  }

  // After accept on listen_fd failed with descriptor exhaustion: sheds one
  // pending connection with the spare. Returns true if a connection was shed
  // (the caller may accept again at once), false if there was no spare or
  // nothing pending (the caller should pause before accepting again).
  // `where` names the listener in the log line.
  bool shed_one(int listen_fd, const std::string& where) {
    std::unique_lock lock(mu_);
    reopen_locked();  // lost to another thread's open last time: try again
    bool shed = false;
    if (spare_ >= 0) {
      ::close(spare_);
      spare_ = -1;
      // The listener is non-blocking (Asio made it so for async_accept), and
      // the poll makes sure of it: nothing here may block the strand.
      pollfd p{listen_fd, POLLIN, 0};
      if (::poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
        int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
          ::close(fd);
          shed = true;
        }
      }
      reopen_locked();
    }
    ++failures_;
    if (shed) ++shed_;
    auto now = std::chrono::steady_clock::now();
    if (!logged_once_ || now - last_log_ >= kLogInterval) {
      spdlog::warn(
          "{}: out of file descriptors: {} accept failure(s), {} new connection(s) closed "
          "unserved since the last report (spare descriptor {}); open connections are served",
          where, failures_, shed_, spare_ >= 0 ? "kept" : "unavailable");
      logged_once_ = true;
      last_log_ = now;
      failures_ = 0;
      shed_ = 0;
    }
    return shed;
  }

 private:
  DescriptorReserve() { reopen_locked(); }

  void reopen_locked() {
    if (spare_ < 0) spare_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }

  std::shared_mutex mu_;
  int spare_ = -1;
  bool logged_once_ = false;
  std::chrono::steady_clock::time_point last_log_{};
  std::uint64_t failures_ = 0;
  std::uint64_t shed_ = 0;
};

}  // namespace efs::net
