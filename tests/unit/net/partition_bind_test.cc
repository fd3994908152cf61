#include "net/partition_bind.h"

#include <doctest/doctest.h>

#include "xdr/xdr.h"

using namespace efs;

namespace {

std::vector<uint8_t> proxy_identifier(std::size_t id_len, std::size_t inc_len) {
  std::vector<uint8_t> out;
  xdr::Writer w(&out);
  w.opaque(std::vector<uint8_t>(id_len, 7));
  w.opaque(std::vector<uint8_t>(inc_len, 1));
  return out;
}

}  // namespace

TEST_CASE("net: bind_client_to_partition answers READY with one connection") {
  std::array<uint8_t, 64> partition{};
  partition[0] = 0xab;
  for (int fields : {3, 4}) {
    auto body = net::bind_client_to_partition(proxy_identifier(16, 8), partition, fields);
    REQUIRE(body);
    xdr::Reader r(*body);
    CHECK(r.u32() == 3);  // READY
    auto id = r.fixed(64);
    REQUIRE(id.size() == 64);
    CHECK(id[0] == 0xab);
    CHECK(r.i32() == 1);  // max_multiplexed_connections
    CHECK(r.i32() == INT32_MAX);
    CHECK(r.i32() == INT32_MAX);
    if (fields == 4) CHECK(r.i32() == INT32_MAX);
    CHECK(r.ok());
    CHECK(r.remaining() == 0);
  }
  // efs-proxy's ConnectionMetrics after the identifier is ignored.
  auto with_metrics = proxy_identifier(16, 8);
  with_metrics.insert(with_metrics.end(), {0, 0, 0, 1, 'v', 0, 0, 0});
  CHECK(net::bind_client_to_partition(with_metrics, partition, 3));
}

TEST_CASE("net: bind_client_to_partition refuses oversized or truncated identifiers") {
  std::array<uint8_t, 64> partition{};
  CHECK_FALSE(net::bind_client_to_partition(proxy_identifier(17, 8), partition, 4));
  CHECK_FALSE(net::bind_client_to_partition(proxy_identifier(16, 9), partition, 4));
  auto cut = proxy_identifier(16, 8);
  cut.resize(cut.size() - 2);
  CHECK_FALSE(net::bind_client_to_partition(cut, partition, 4));
}
