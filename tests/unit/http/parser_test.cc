#include "http/parser.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "http/response.h"

using efs::http::ParserLimits;
using efs::http::Request;
using efs::http::RequestParser;
using Status = RequestParser::Status;

namespace {

struct Outcome {
  std::vector<Request> requests;
  std::vector<bool> keep_alive;
  int error = 0;
};

// Feeds `wire` in pieces of at most `step` bytes and collects everything parsed.
Outcome run(const std::string& wire, std::size_t step, ParserLimits limits = {}) {
  RequestParser p(limits);
  Outcome out;
  for (std::size_t i = 0; i <= wire.size(); i += step) {
    if (i < wire.size()) p.feed(std::string_view(wire).substr(i, step));
    while (true) {
      auto s = p.parse();
      if (s == Status::kComplete) {
        out.requests.push_back(p.take_request());
        out.keep_alive.push_back(p.keep_alive());
        continue;
      }
      if (s == Status::kError) {
        out.error = p.error_status();
        return out;
      }
      break;
    }
  }
  return out;
}

const std::string kPost =
    "POST /2015-02-01/file-systems/fs-0123%2Fx?MaxItems=2&tagKeys=a+b&tagKeys=c%3Dd HTTP/1.1\r\n"
    "Host: localhost\r\nContent-Type: application/json\r\nX-Dup: 1\r\nx-dup: 2\r\n"
    "Content-Length: 11\r\n\r\n{\"a\":\"b\"} \n";

}  // namespace

TEST_CASE("a request split at every byte boundary parses the same") {
  for (std::size_t step = 1; step <= kPost.size(); ++step) {
    auto out = run(kPost, step);
    REQUIRE(out.error == 0);
    REQUIRE(out.requests.size() == 1);
    const Request& r = out.requests[0];
    CHECK(r.method == "POST");
    CHECK(r.raw_path == "/2015-02-01/file-systems/fs-0123%2Fx");
    CHECK(r.path == "/2015-02-01/file-systems/fs-0123/x");
    REQUIRE(r.query.size() == 3);
    CHECK(r.query[0] == std::pair<std::string, std::string>("MaxItems", "2"));
    CHECK(r.query[1].second == "a b");
    CHECK(r.query[2].second == "c=d");
    CHECK(r.headers.at("x-dup") == "1, 2");
    CHECK(r.headers.at("content-type") == "application/json");
    CHECK(r.body == "{\"a\":\"b\"} \n");
    CHECK(out.keep_alive[0]);
  }
}

TEST_CASE("pipelined requests come out in order, in one feed and byte by byte") {
  std::string wire = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n" + kPost +
                     "DELETE /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  for (std::size_t step : {std::size_t{1}, std::size_t{7}, wire.size()}) {
    auto out = run(wire, step);
    REQUIRE(out.error == 0);
    REQUIRE(out.requests.size() == 3);
    CHECK(out.requests[0].path == "/a");
    CHECK(out.requests[1].method == "POST");
    CHECK(out.requests[2].method == "DELETE");
    CHECK(out.keep_alive[0]);
    CHECK_FALSE(out.keep_alive[2]);
  }
}

TEST_CASE("chunked bodies with extensions and trailers") {
  std::string wire =
      "PUT /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value;x\r\nhello\r\n"
      "1A\r\n abcdefghijklmnopqrstuvwxy\r\n"
      "0\r\nX-Trailer: t\r\n\r\n"
      "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
  for (std::size_t step = 1; step <= wire.size(); step += 3) {
    auto out = run(wire, step);
    REQUIRE(out.error == 0);
    REQUIRE(out.requests.size() == 2);
    CHECK(out.requests[0].body == "hello abcdefghijklmnopqrstuvwxy");
    CHECK(out.requests[0].headers.count("x-trailer") == 0);
    CHECK(out.requests[1].path == "/next");
  }
}

TEST_CASE("keep-alive rules for HTTP/1.0 and 1.1") {
  auto out = run("GET / HTTP/1.0\r\n\r\n", 100);
  REQUIRE(out.requests.size() == 1);
  CHECK_FALSE(out.keep_alive[0]);
  out = run("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 100);
  CHECK(out.keep_alive[0]);
  out = run("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, Close\r\n\r\n", 100);
  CHECK_FALSE(out.keep_alive[0]);
}

TEST_CASE("Expect: 100-continue is signalled once, before the body") {
  RequestParser p;
  p.feed("PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  CHECK(p.parse() == Status::kNeedMore);
  CHECK(p.take_continue_needed());
  CHECK_FALSE(p.take_continue_needed());
  p.feed("abc");
  REQUIRE(p.parse() == Status::kComplete);
  CHECK(p.take_request().body == "abc");

  RequestParser q;
  q.feed("PUT /x HTTP/1.1\r\nHost: h\r\nExpect: something-else\r\n\r\n");
  CHECK(q.parse() == Status::kError);
  CHECK(q.error_status() == 417);
}

TEST_CASE("limits: body too large is 413, headers too large is 431") {
  ParserLimits small{256, 10};
  CHECK(run("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", 5, small).error == 413);
  CHECK(run("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789", 5, small)
            .requests.size() == 1);
  std::string chunked =
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n"
      "5\r\nabcde\r\n0\r\n\r\n";
  CHECK(run(chunked, 1, small).error == 413);
  std::string big = "GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(300, 'a') + "\r\n\r\n";
  CHECK(run(big, 1, small).error == 431);
  CHECK(run(big, big.size(), small).error == 431);
  // A header line that never ends still hits the limit.
  CHECK(run("GET / HTTP/1.1\r\nX: " + std::string(1000, 'a'), 10, small).error == 431);
}

TEST_CASE("malformed input gets the right status") {
  struct Case {
    const char* wire;
    int status;
  };
  const Case cases[] = {
      {"GET\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\n\r\n", 400},  // no Host
      {"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
      {"GET / FTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"BREW / HTTP/1.1\r\nHost: h\r\n\r\n", 501},
      {"G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"GET nopath HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"GET /a%00 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"GET /a?x=%4 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: h\rX\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 2\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
       400},
      {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
       "fffffffffffffffff\r\n",
       400},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n",
       400},
  };
  for (const auto& c : cases) {
    INFO(c.wire);
    CHECK(run(c.wire, 1).error == c.status);
    CHECK(run(c.wire, 1000).error == c.status);
  }
}

TEST_CASE("after an error the parser stays failed") {
  RequestParser p;
  p.feed("GARBAGE\r\n");
  CHECK(p.parse() == Status::kError);
  p.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  CHECK(p.parse() == Status::kError);
  CHECK_FALSE(p.keep_alive());
}

TEST_CASE("absolute-form targets and leading empty lines") {
  auto out = run("\r\nGET http://localhost:2050/x/y?a=1 HTTP/1.1\r\nHost: h\r\n\r\n", 3);
  REQUIRE(out.requests.size() == 1);
  CHECK(out.requests[0].path == "/x/y");
  CHECK(out.requests[0].query.size() == 1);
}

TEST_CASE("response serialization") {
  efs::http::Response r;
  r.status = 201;
  r.set_header("Content-Type", "application/json");
  r.set_header("Content-Length", "999");       // replaced
  r.set_header("X-Evil", "a\r\nInjected: 1");  // dropped
  r.body = "{}";
  auto s = efs::http::serialize_response(r, false, false);
  CHECK(s.rfind("HTTP/1.1 201 Created\r\n", 0) == 0);
  CHECK(s.find("Content-Length: 2\r\n") != std::string::npos);
  CHECK(s.find("999") == std::string::npos);
  CHECK(s.find("Injected") == std::string::npos);
  CHECK(s.find("\r\nDate: ") != std::string::npos);
  CHECK(s.find("Connection: close\r\n") != std::string::npos);
  CHECK(s.substr(s.size() - 6) == "\r\n\r\n{}");

  r.status = 204;
  r.body = "ignored";
  s = efs::http::serialize_response(r, true, false);
  CHECK(s.find("Content-Length") == std::string::npos);
  CHECK(s.substr(s.size() - 4) == "\r\n\r\n");

  r.status = 200;
  r.body = "abc";
  s = efs::http::serialize_response(r, true, true);  // HEAD
  CHECK(s.find("Content-Length: 3\r\n") != std::string::npos);
  CHECK(s.substr(s.size() - 4) == "\r\n\r\n");

  CHECK(efs::http::http_date(std::chrono::system_clock::time_point{}) ==
        "Thu, 01 Jan 1970 00:00:00 GMT");
}
