// The RPC server with the TLS front (net/connection.cc's sniff and
// handshake), from a real OpenSSL client: one port serves both, and the
// identity reaches the program through CallContext.
#include <doctest/doctest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <asio/executor_work_guard.hpp>
#include <filesystem>
#include <optional>
#include <set>
#include <thread>

#include "net/rpc_server.h"
#include "rpc/record.h"  // rpc_test_client.h uses put_record_mark
// clang-format off
#include "../net/rpc_test_client.h"
// clang-format on
#include "tls/nfs_tls.h"

using namespace efs;
using namespace efs::net::test;
namespace fs = std::filesystem;

namespace {

constexpr uint32_t kWhoProg = 300011;

// proc 1 answers the connection's identity: secure_transport, file system.
class Who : public rpc::Program {
 public:
  uint32_t program() const override { return kWhoProg; }
  uint32_t min_version() const override { return 1; }
  uint32_t max_version() const override { return 1; }
  asio::awaitable<rpc::Reply> call(const rpc::CallContext& ctx, std::span<const uint8_t>) override {
    rpc::Reply r;
    xdr::Writer w(&r.body);
    w.u32(ctx.identity ? 1 : 0);
    w.u32(ctx.identity && ctx.identity->secure_transport ? 1 : 0);
    w.string(ctx.identity ? ctx.identity->file_system_id : "");
    co_return r;
  }
};

// Big records both ways, as READ and WRITE make them. proc 2 (u32 n, u32
// seed): n bytes of pattern(seed) back; proc 3 (opaque data): its length and
// a checksum.
constexpr uint32_t kBulkProg = 300012;

uint8_t pattern(uint32_t seed, std::size_t i) {
  return static_cast<uint8_t>((i * 131 + seed * 7 + (i >> 12)) & 0xff);
}

class Bulk : public rpc::Program {
 public:
  uint32_t program() const override { return kBulkProg; }
  uint32_t min_version() const override { return 1; }
  uint32_t max_version() const override { return 1; }
  asio::awaitable<rpc::Reply> call(const rpc::CallContext& ctx,
                                   std::span<const uint8_t> args) override {
    rpc::Reply r;
    xdr::Reader in(args);
    xdr::Writer w(&r.body);
    if (ctx.proc == 2) {
      uint32_t n = in.u32(), seed = in.u32();
      std::vector<uint8_t> data(n);
      for (std::size_t i = 0; i < n; ++i) data[i] = pattern(seed, i);
      w.opaque(data);
    } else {
      auto data = in.opaque(0xffffffffu);
      uint64_t sum = 0;
      for (std::size_t i = 0; i < data.size(); ++i) sum = sum * 31 + data[i];
      w.u32(static_cast<uint32_t>(data.size()));
      w.u64(sum);
    }
    co_return r;
  }
};

struct OneMountTarget : efs::Catalog {
  std::shared_ptr<const efs::CatalogSnapshot> snap = std::make_shared<efs::CatalogSnapshot>(
      1, std::vector<efs::ExportedFileSystem>{{"fs-0123456789abcdef0", false, "", "", nullptr}},
      std::vector<efs::ExportedAccessPoint>{},
      std::vector<efs::MountTargetAddress>{{"fsmt-1", "fs-0123456789abcdef0", "127.0.0.1"}});
  std::shared_ptr<const efs::CatalogSnapshot> snapshot() const override { return snap; }
};

struct TlsFixture {
  TlsFixture() {
    char tmpl[] = "/tmp/unit-tls-conn-XXXXXX";
    dir = mkdtemp(tmpl);
    tls::NfsTlsOptions o;
    o.dir = (dir / "tls").string();
    auto t = tls::NfsTls::open(o, catalog);
    REQUIRE(t);
    front = *t;
    REQUIRE(dispatcher.add(who).ok());
    REQUIRE(dispatcher.add(bulk).ok());
    net::RpcServerOptions opts;
    opts.tls = front;
    server.emplace(io, dispatcher, opts);
    auto p = server->listen("127.0.0.1", 0);
    REQUIRE(p);
    port = *p;
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
  }
  ~TlsFixture() {
    server->stop();
    work.reset();
    for (auto& t : threads) t.join();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  fs::path dir;
  OneMountTarget catalog;
  std::shared_ptr<tls::NfsTls> front;
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{io.get_executor()};
  Who who;
  Bulk bulk;
  rpc::Dispatcher dispatcher;
  std::optional<net::RpcServer> server;
  uint16_t port = 0;
  std::vector<std::thread> threads;
};

// A blocking TLS client on a connected socket (Client's fd is private:
// this one connects by itself).
struct TlsClient {
  explicit TlsClient(uint16_t port, const std::string& ca_file, const std::string& host) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    REQUIRE(SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) == 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set1_host(ssl, host.c_str());
    handshake = SSL_connect(ssl) == 1;
  }
  ~TlsClient() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ::close(fd);
  }
  bool send(const std::vector<uint8_t>& record) {
    return SSL_write(ssl, record.data(), static_cast<int>(record.size())) > 0;
  }
  std::optional<std::vector<uint8_t>> call(const std::vector<uint8_t>& record) {
    if (!send(record)) return std::nullopt;
    return receive();
  }
  std::optional<std::vector<uint8_t>> receive() {
    auto exact = [&](uint8_t* p, std::size_t n) {
      while (n > 0) {
        int r = SSL_read(ssl, p, static_cast<int>(n));
        if (r <= 0) return false;
        p += r;
        n -= static_cast<std::size_t>(r);
      }
      return true;
    };
    uint8_t hdr[4];
    if (!exact(hdr, 4)) return std::nullopt;
    uint32_t h =
        (uint32_t(hdr[0]) << 24) | (uint32_t(hdr[1]) << 16) | (uint32_t(hdr[2]) << 8) | hdr[3];
    std::vector<uint8_t> out(h & 0x7fffffffu);
    if (!exact(out.data(), out.size())) return std::nullopt;
    return out;
  }
  int fd = -1;
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  bool handshake = false;
};

struct WhoAnswer {
  bool has_identity, secure;
  std::string fs;
};
WhoAnswer who_answer(const std::vector<uint8_t>& rec) {
  auto p = parse(rec);
  REQUIRE(p.accept_stat == 0);
  xdr::Reader r(p.results);
  WhoAnswer a{r.u32() == 1, r.u32() == 1, r.string(100)};
  REQUIRE(r.ok());
  return a;
}

}  // namespace

TEST_CASE("tls: one port serves plain RPC and TLS; the identity reaches the program") {
  TlsFixture f;
  Client plain(f.port);
  REQUIRE(plain.connected());
  TlsClient secure(f.port, f.front->ca_file(), "fs-0123456789abcdef0.efs.us-east-1.amazonaws.com");
  REQUIRE(secure.handshake);
  for (uint32_t xid = 1; xid <= 3; ++xid) {
    plain.send(call_record(xid, kWhoProg, 1, {}));
    auto p = plain.read_record();
    REQUIRE(p);
    auto a = who_answer(*p);
    CHECK_FALSE(a.has_identity);  // plain: no identity, anonymous

    auto s = secure.call(call_record(xid, kWhoProg, 1, {}));
    REQUIRE(s);
    auto b = who_answer(*s);
    CHECK(b.has_identity);
    CHECK(b.secure);
    CHECK(b.fs == "fs-0123456789abcdef0");  // the mount target at 127.0.0.1
  }
}

TEST_CASE("tls: a failed handshake closes only its connection") {
  TlsFixture f;
  Client plain(f.port);
  REQUIRE(plain.connected());
  // The wrong name: the client refuses the server certificate.
  {
    TlsClient wrong(f.port, f.front->ca_file(), "fs-ffffffffffffffff0.efs.us-east-1.amazonaws.com");
    CHECK_FALSE(wrong.handshake);
    ERR_clear_error();
  }
  // A TLS handshake record holding a message of no known type.
  Client garbage(f.port);
  garbage.send({0x16, 0x03, 0x01, 0x00, 0x08, 0xde, 0x00, 0x00, 0x04, 1, 2, 3, 4});
  // The server answers with an alert (a few bytes), then closes.
  bool closed = false;
  for (int i = 0; i < 16 && !closed; ++i) closed = garbage.closed_by_server();
  CHECK(closed);
  plain.send(call_record(9, kWhoProg, 1, {}));
  CHECK(plain.read_record());
  TlsClient again(f.port, f.front->ca_file(), "fs-0123456789abcdef0.efs.us-east-1.amazonaws.com");
  CHECK(again.handshake);
  CHECK(again.call(call_record(10, kWhoProg, 1, {})));
}

TEST_CASE("tls: replies larger than a write slice, pipelined, and a request of many records") {
  // The TLS channel (net/tls_channel.h) encrypts a batch of replies a slice
  // (1 MiB) at a time and takes ciphertext 256 KiB at a time: replies of
  // 1.5 MiB, four in flight at once, must come back whole and in xid order
  // of completion, and a 1 MiB request (64 records) must arrive intact.
  TlsFixture f;
  TlsClient c(f.port, f.front->ca_file(), "fs-0123456789abcdef0.efs.us-east-1.amazonaws.com");
  REQUIRE(c.handshake);
  constexpr uint32_t kReply = 3u << 19;  // 1.5 MiB
  for (uint32_t xid = 1; xid <= 4; ++xid) {
    std::vector<uint8_t> args;
    xdr::Writer w(&args);
    w.u32(kReply);
    w.u32(xid);
    REQUIRE(c.send(call_record(xid, kBulkProg, 2, args)));
  }
  std::set<uint32_t> seen;
  for (int i = 0; i < 4; ++i) {
    auto rec = c.receive();
    REQUIRE(rec);
    auto p = parse(*rec);
    REQUIRE(p.accept_stat == 0);
    xdr::Reader r(p.results);
    auto data = r.opaque(0xffffffffu);
    REQUIRE(r.ok());
    REQUIRE(data.size() == kReply);
    std::size_t bad = 0;
    for (std::size_t k = 0; k < data.size(); ++k) bad += data[k] != pattern(p.xid, k);
    CHECK(bad == 0);
    seen.insert(p.xid);
  }
  CHECK(seen == std::set<uint32_t>{1, 2, 3, 4});

  std::vector<uint8_t> data(1u << 20);
  uint64_t sum = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i] = pattern(99, i);
    sum = sum * 31 + data[i];
  }
  std::vector<uint8_t> args;
  xdr::Writer w(&args);
  w.opaque(data);
  auto rec = c.call(call_record(5, kBulkProg, 3, args));
  REQUIRE(rec);
  auto p = parse(*rec);
  REQUIRE(p.accept_stat == 0);
  xdr::Reader r(p.results);
  CHECK(r.u32() == data.size());
  CHECK(r.u64() == sum);
  // And the small calls after the big ones still work.
  auto who = c.call(call_record(6, kWhoProg, 1, {}));
  REQUIRE(who);
  CHECK(who_answer(*who).secure);
}
