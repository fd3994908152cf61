#include "http/server.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

using asio::ip::tcp;

namespace {

// An io_context run by two threads for the lifetime of a test.
struct Running {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::vector<std::thread> threads;
  Running() {
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
  }
  ~Running() {
    work.reset();
    io.stop();
    for (auto& t : threads) t.join();
  }
};

// Reads one response (headers + Content-Length body) from a blocking socket.
std::string read_response(tcp::socket& s, std::string& pending) {
  while (true) {
    auto end = pending.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::size_t length = 0;
      auto cl = pending.find("Content-Length: ");
      if (cl != std::string::npos && cl < end) length = std::stoul(pending.substr(cl + 16));
      if (pending.size() >= end + 4 + length) {
        std::string r = pending.substr(0, end + 4 + length);
        pending.erase(0, r.size());
        return r;
      }
    }
    char buf[4096];
    asio::error_code ec;
    std::size_t n = s.read_some(asio::buffer(buf), ec);
    if (ec) return pending.empty() ? std::string("<closed>") : std::exchange(pending, "");
    pending.append(buf, n);
  }
}

bool closed_by_peer(tcp::socket& s) {
  char c;
  asio::error_code ec;
  s.read_some(asio::buffer(&c, 1), ec);
  return ec == asio::error::eof || ec == asio::error::connection_reset;
}

}  // namespace

TEST_CASE("server answers keep-alive requests, errors close the connection") {
  Running run;
  std::atomic<int> calls{0};
  efs::http::Server server(run.io, {}, [&](const efs::http::Request& r) {
    ++calls;
    efs::http::Response resp;
    resp.body = r.method + " " + r.path + " " + r.body + " " + r.local_address;
    resp.set_header("X-Test", "yes");
    return resp;
  });
  auto port = server.listen("127.0.0.1", 0);
  REQUIRE(port.ok());
  CHECK(*port != 0);
  CHECK_FALSE(server.listen("not-an-address", 0).ok());

  asio::io_context client;
  tcp::socket s(client);
  s.connect({asio::ip::make_address("127.0.0.1"), *port});
  std::string pending;
  asio::write(s, asio::buffer(
                     std::string("GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\n"
                                 "Content-Length: 2\r\n\r\nhi")));
  auto r1 = read_response(s, pending);
  CHECK(r1.find("HTTP/1.1 200 OK") == 0);
  CHECK(r1.find("X-Test: yes") != std::string::npos);
  CHECK(r1.find("Date: ") != std::string::npos);
  CHECK(r1.find("GET /a  127.0.0.1") != std::string::npos);
  auto r2 = read_response(s, pending);
  CHECK(r2.find("POST /b hi 127.0.0.1") != std::string::npos);

  asio::write(s, asio::buffer(std::string("BAD REQUEST LINE HERE\r\n\r\n")));
  auto r3 = read_response(s, pending);
  CHECK(r3.find("HTTP/1.1 400 Bad Request") == 0);
  CHECK(r3.find("Connection: close") != std::string::npos);
  CHECK(closed_by_peer(s));
  CHECK(calls == 2);
}

TEST_CASE("100-continue, idle timeout and stop()") {
  Running run;
  efs::http::Limits limits;
  limits.idle_timeout = std::chrono::seconds(1);
  efs::http::Server server(run.io, limits, [](const efs::http::Request& r) {
    efs::http::Response resp;
    resp.body = r.body;
    return resp;
  });
  auto port = server.listen("127.0.0.1", 0);
  REQUIRE(port.ok());
  asio::io_context client;

  tcp::socket a(client);
  a.connect({asio::ip::make_address("127.0.0.1"), *port});
  std::string pending;
  asio::write(
      a, asio::buffer(std::string(
             "PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")));
  auto cont = read_response(a, pending);
  CHECK(cont.find("HTTP/1.1 100 Continue") == 0);
  asio::write(a, asio::buffer(std::string("body")));
  auto r = read_response(a, pending);
  CHECK(r.find("\r\n\r\nbody") != std::string::npos);
  // Idle for longer than the timeout: the server closes.
  auto t0 = std::chrono::steady_clock::now();
  CHECK(closed_by_peer(a));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));

  tcp::socket b(client);
  b.connect({asio::ip::make_address("127.0.0.1"), *port});
  for (int i = 0; i < 100 && server.connection_count() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(server.connection_count() == 1);
  server.stop();
  CHECK(closed_by_peer(b));
  tcp::socket c(client);
  asio::error_code ec;
  for (int i = 0; i < 50 && !ec; ++i) {  // the acceptor closes asynchronously
    c = tcp::socket(client);
    c.connect({asio::ip::make_address("127.0.0.1"), *port}, ec);
    if (!ec) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(ec);
}

TEST_CASE("a trickled request head is closed at the header deadline, not kept by each byte") {
  Running run;
  efs::http::Limits limits;
  limits.header_timeout = std::chrono::milliseconds(800);
  limits.idle_timeout = std::chrono::seconds(30);
  efs::http::Server server(run.io, limits,
                           [](const efs::http::Request&) { return efs::http::Response{}; });
  auto port = server.listen("127.0.0.1", 0);
  REQUIRE(port.ok());
  asio::io_context client;
  tcp::socket s(client);
  s.connect({asio::ip::make_address("127.0.0.1"), *port});
  auto t0 = std::chrono::steady_clock::now();
  std::string head = "GET / HTTP/1.1\r\nHost: h\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  asio::error_code ec;
  for (char c : head) {  // a byte every 100 ms: each gap is well within the idle timeout
    asio::write(s, asio::buffer(&c, 1), ec);
    if (ec) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (std::chrono::steady_clock::now() - t0 > std::chrono::seconds(2)) break;
  }
  CHECK(closed_by_peer(s));
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took < std::chrono::seconds(3));
  CHECK(took >= std::chrono::milliseconds(700));
}

TEST_CASE("a response the client does not read is abandoned after the write timeout") {
  Running run;
  efs::http::Limits limits;
  limits.write_timeout = std::chrono::milliseconds(500);
  std::atomic<int> calls{0};
  efs::http::Server server(run.io, limits, [&](const efs::http::Request&) {
    ++calls;
    efs::http::Response r;
    r.body.assign(64 << 20, 'x');  // far more than the socket buffers hold
    return r;
  });
  auto port = server.listen("127.0.0.1", 0);
  REQUIRE(port.ok());
  asio::io_context client;
  tcp::socket s(client);
  s.open(tcp::v4());
  s.set_option(asio::socket_base::receive_buffer_size(4096));
  s.connect({asio::ip::make_address("127.0.0.1"), *port});
  asio::write(s, asio::buffer(std::string("GET / HTTP/1.1\r\nHost: h\r\n\r\n")));
  for (int i = 0; i < 100 && calls == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(calls == 1);
  // Never read; the server gives up and closes its side.
  for (int i = 0; i < 100 && server.connection_count() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(server.connection_count() == 0);
}
