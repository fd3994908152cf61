#include "cli/http_client.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace efs::cli {

std::string parse_endpoint(const std::string& url, Endpoint* out) {
  std::string rest = url;
  if (rest.rfind("http://", 0) == 0)
    rest = rest.substr(7);
  else if (rest.find("://") != std::string::npos)
    return "only http:// endpoints are supported: " + url;
  rest = rest.substr(0, rest.find('/'));
  if (rest.empty()) return "no host in endpoint " + url;
  Endpoint ep;
  std::string port;
  if (rest.front() == '[') {  // [::1]:2050
    auto close = rest.find(']');
    if (close == std::string::npos) return "unbalanced [ in endpoint " + url;
    ep.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') port = rest.substr(close + 2);
  } else {
    auto colon = rest.rfind(':');
    ep.host = rest.substr(0, colon);
    if (colon != std::string::npos) port = rest.substr(colon + 1);
  }
  if (!port.empty()) {
    char* end = nullptr;
    long p = std::strtol(port.c_str(), &end, 10);
    if (*end != '\0' || p <= 0 || p > 65535) return "bad port in endpoint " + url;
    ep.port = static_cast<uint16_t>(p);
  } else {
    ep.port = 80;
  }
  *out = ep;
  return "";
}

namespace {

int connect_to(const Endpoint& ep, std::string* error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(ep.port);
  int rc = getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res);
  // "localhost" is loopback (RFC 6761). The static binary (-Dstatic=true)
  // cannot load the NSS modules that read /etc/hosts, so where it finds no
  // answer, 127.0.0.1 is the one (numeric addresses need no NSS).
  if (rc != 0 && ep.host == "localhost") rc = getaddrinfo("127.0.0.1", port.c_str(), &hints, &res);
  if (rc != 0) {
    *error = "cannot resolve " + ep.host + ": " + gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  int last_errno = 0;
  for (addrinfo* a = res; a; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    timeval tv{30, 0};  // a server that stops answering must not hang the command
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    last_errno = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0)
    *error = "cannot connect to " + ep.text() + ": " + std::strerror(last_errno) +
             " (is `efs-local serve` running there? --endpoint or EFS_LOCAL_ENDPOINT names it)";
  return fd;
}

}  // namespace

HttpResult http_call(const Endpoint& ep, const std::string& method, const std::string& path,
                     const std::string& body) {
  HttpResult out;
  int fd = connect_to(ep, &out.error);
  if (fd < 0) return out;
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + ep.host + ":" +
                    std::to_string(ep.port) + "\r\nConnection: close\r\nAccept: application/json\r\n";
  if (!body.empty() || method == "POST" || method == "PUT")
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  for (std::size_t sent = 0; sent < req.size();) {
    ssize_t n = send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      out.error = std::string("sending the request failed: ") + std::strerror(errno);
      close(fd);
      return out;
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buf[16384];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      out.error = std::string("reading the answer failed: ") + std::strerror(errno);
      close(fd);
      return out;
    }
    if (n == 0) break;
    raw.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  auto head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos || raw.size() < 12) {
    out.error = "the answer from " + ep.text() + " is not HTTP";
    return out;
  }
  out.status = std::atoi(raw.c_str() + 9);
  out.body = raw.substr(head_end + 4);
  return out;
}

}  // namespace efs::cli
