// A blocking RPC client over a loopback socket, for the tests of src/net:
// builds call records, reads reply records, parses accepted replies.
#pragma once

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <vector>

#include "rpc/message.h"
#include "xdr/xdr.h"

namespace efs::net::test {

// A call record (AUTH_SYS as `uid`) with its record mark.
inline std::vector<uint8_t> call_record(uint32_t xid, uint32_t prog, uint32_t proc,
                                        std::vector<uint8_t> args, uint32_t vers = 1,
                                        uint32_t uid = 1000) {
  std::vector<uint8_t> v;
  xdr::Writer w(&v);
  w.u32(0);  // record mark
  for (uint32_t x : {xid, 0u, 2u, prog, vers, proc, 1u}) w.u32(x);
  std::vector<uint8_t> cred;
  rpc::encode_auth_sys({1, "test", uid, uid, {}}, cred);
  w.opaque(cred);
  w.u32(0);
  w.u32(0);
  v.insert(v.end(), args.begin(), args.end());
  rpc::put_record_mark(v.data(), static_cast<uint32_t>(v.size() - 4));
  return v;
}

inline std::vector<uint8_t> u32_args(uint32_t x) {
  std::vector<uint8_t> v;
  xdr::Writer(&v).u32(x);
  return v;
}

// A blocking client socket with a receive timeout, so a broken server fails
// the test instead of hanging it.
class Client {
 public:
  explicit Client(uint16_t port, const char* addr = "127.0.0.1", int family = AF_INET) {
    fd_ = ::socket(family, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (family == AF_INET) {
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(port);
      ::inet_pton(AF_INET, addr, &sa.sin_addr);
      connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    } else {
      sockaddr_in6 sa{};
      sa.sin6_family = AF_INET6;
      sa.sin6_port = htons(port);
      ::inet_pton(AF_INET6, addr, &sa.sin6_addr);
      connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    }
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }
  void send(const std::vector<uint8_t>& bytes) {
    std::size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;  // the server may have closed: the reads will tell
      off += std::size_t(n);
    }
  }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }
  // send() gives up after this long without progress.
  void set_send_timeout(int seconds) {
    timeval tv{seconds, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  // One reply record's payload, or nullopt on EOF, error or timeout.
  std::optional<std::vector<uint8_t>> read_record() {
    uint8_t hdr[4];
    if (!read_exact(hdr, 4)) return std::nullopt;
    uint32_t h =
        (uint32_t(hdr[0]) << 24) | (uint32_t(hdr[1]) << 16) | (uint32_t(hdr[2]) << 8) | hdr[3];
    if (!(h & 0x80000000u)) return std::nullopt;  // the server sends one last fragment
    std::vector<uint8_t> out(h & 0x7fffffffu);
    if (!read_exact(out.data(), out.size())) return std::nullopt;
    return out;
  }
  // True if the server closed the connection (EOF or reset) within the timeout.
  bool closed_by_server() {
    uint8_t b;
    ssize_t n = ::recv(fd_, &b, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  bool read_exact(uint8_t* p, std::size_t n) {
    while (n > 0) {
      ssize_t r = ::recv(fd_, p, n, 0);
      if (r <= 0) return false;
      p += r;
      n -= std::size_t(r);
    }
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
};

struct ParsedReply {
  uint32_t xid = 0, reply_stat = 0, accept_stat = 0;
  std::vector<uint8_t> results;
};

inline ParsedReply parse(const std::vector<uint8_t>& rec) {
  xdr::Reader r(rec);
  ParsedReply p;
  p.xid = r.u32();
  CHECK(r.u32() == 1);  // REPLY
  p.reply_stat = r.u32();
  if (p.reply_stat == 0) {
    r.u32();
    r.opaque(400);  // verifier
    p.accept_stat = r.u32();
    auto rest = r.rest();
    p.results.assign(rest.begin(), rest.end());
  }
  REQUIRE(r.ok());
  return p;
}

}  // namespace efs::net::test
