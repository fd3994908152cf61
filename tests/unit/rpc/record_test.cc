#include "rpc/record.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <vector>

using efs::rpc::frame_record;
using efs::rpc::RecordAssembler;

namespace {

std::vector<uint8_t> fragment(std::vector<uint8_t> payload, bool last) {
  uint32_t h = uint32_t(payload.size()) | (last ? 0x80000000u : 0);
  // Sized up front: GCC 12 warns falsely (array-bounds) on inserting after a braced init.
  std::vector<uint8_t> out(4 + payload.size());
  out[0] = uint8_t(h >> 24);
  out[1] = uint8_t(h >> 16);
  out[2] = uint8_t(h >> 8);
  out[3] = uint8_t(h);
  std::copy(payload.begin(), payload.end(), out.begin() + 4);
  return out;
}

std::vector<uint8_t> concat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<uint8_t> bytes_of(const efs::rpc::RecordBuffer& r) {
  return {r.begin(), r.end()};
}

}  // namespace

TEST_CASE("one last fragment is one record") {
  RecordAssembler a;
  auto bytes = fragment({1, 2, 3, 4, 5}, true);
  REQUIRE(a.feed(bytes).ok());
  auto r = a.take();
  REQUIRE(r);
  CHECK(bytes_of(*r) == std::vector<uint8_t>{1, 2, 3, 4, 5});
  CHECK(!a.take());
  CHECK(a.idle());
}

TEST_CASE("fragments are joined into one record, and records are kept apart") {
  RecordAssembler a;
  auto bytes = concat({fragment({1, 2}, false), fragment({}, false), fragment({3}, false),
                       fragment({4, 5, 6}, true), fragment({9}, true), fragment({}, true)});
  REQUIRE(a.feed(bytes).ok());
  REQUIRE(a.ready() == 3);
  CHECK(bytes_of(*a.take()) == std::vector<uint8_t>{1, 2, 3, 4, 5, 6});
  CHECK(bytes_of(*a.take()) == std::vector<uint8_t>{9});
  CHECK(a.take()->empty());
}

TEST_CASE("a stream split at every byte boundary gives the same records") {
  auto bytes = concat({fragment({1, 2, 3}, false), fragment({4, 5, 6, 7}, true),
                       fragment({8, 9, 10, 11, 12, 13, 14, 15}, true)});
  for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
    CAPTURE(cut);
    RecordAssembler a;
    REQUIRE(a.feed({bytes.data(), cut}).ok());
    REQUIRE(a.feed({bytes.data() + cut, bytes.size() - cut}).ok());
    REQUIRE(a.ready() == 2);
    CHECK(bytes_of(*a.take()) == std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7});
    CHECK(bytes_of(*a.take()) == std::vector<uint8_t>{8, 9, 10, 11, 12, 13, 14, 15});
  }
  // And one byte at a time.
  RecordAssembler a;
  for (uint8_t b : bytes) REQUIRE(a.feed({&b, 1}).ok());
  CHECK(a.ready() == 2);
}

TEST_CASE("payload window receives fragment bytes without an extra copy") {
  RecordAssembler a;
  auto bytes = fragment({10, 20, 30, 40, 50, 60}, true);
  REQUIRE(a.feed({bytes.data(), 6}).ok());  // header + 2 payload bytes
  auto w = a.payload_window();
  REQUIRE(w.size() == 4);
  std::memcpy(w.data(), bytes.data() + 6, 3);
  a.commit(3);
  CHECK(a.ready() == 0);
  REQUIRE(a.feed({bytes.data() + 9, 1}).ok());
  REQUIRE(a.ready() == 1);
  CHECK(bytes_of(*a.take()) == std::vector<uint8_t>{10, 20, 30, 40, 50, 60});
  CHECK(a.payload_window().empty());
}

TEST_CASE("a big record received partly by feed, partly through the window, across fragments") {
  // As a connection reads: a first 64 KiB recv goes through feed(), the
  // rest of the fragment straight into the window; a second fragment then
  // grows the record past what the first reserved. Every byte survives.
  std::vector<uint8_t> one(300000), two(200000);
  for (std::size_t i = 0; i < one.size(); ++i) one[i] = static_cast<uint8_t>(i * 7 + 1);
  for (std::size_t i = 0; i < two.size(); ++i) two[i] = static_cast<uint8_t>(i * 13 + 5);
  auto stream = concat({fragment(one, false), fragment(two, true)});
  RecordAssembler a(1u << 20);
  std::size_t pos = 0;
  auto feed_some = [&](std::size_t n) {
    n = std::min(n, stream.size() - pos);
    REQUIRE(a.feed({stream.data() + pos, n}).ok());
    pos += n;
  };
  feed_some(65536);
  while (pos < stream.size()) {
    auto w = a.payload_window();
    if (w.empty()) {
      feed_some(1000);  // a fragment header, and a little after it
      continue;
    }
    std::size_t n = std::min<std::size_t>(w.size(), 70000);
    std::memcpy(w.data(), stream.data() + pos, n);
    a.commit(n);
    pos += n;
  }
  REQUIRE(a.ready() == 1);
  std::vector<uint8_t> want = one;
  want.insert(want.end(), two.begin(), two.end());
  CHECK(bytes_of(*a.take()) == want);
}

TEST_CASE("record size limit") {
  SUBCASE("a fragment at the limit passes, one byte more fails") {
    RecordAssembler ok(8);
    REQUIRE(ok.feed(fragment(std::vector<uint8_t>(8, 7), true)).ok());
    CHECK(ok.ready() == 1);
    RecordAssembler big(8);
    auto r = big.feed(fragment(std::vector<uint8_t>(9, 7), true));
    REQUIRE(!r.ok());
    CHECK(r.error().claimed_size == 9);
    CHECK(r.error().limit == 8);
    CHECK(big.failed());
    CHECK(!big.feed(fragment({1}, true)).ok());  // stays failed
  }
  SUBCASE("the limit counts the whole record across fragments") {
    RecordAssembler a(8);
    REQUIRE(a.feed(fragment({1, 2, 3, 4, 5}, false)).ok());
    auto r = a.feed(fragment({6, 7, 8, 9}, true));
    REQUIRE(!r.ok());
    CHECK(r.error().claimed_size == 9);
  }
  SUBCASE("a 2 GiB length fails on the header alone") {
    RecordAssembler a;  // default limit, 1 MiB + 64 KiB
    uint8_t hdr[4] = {0xff, 0xff, 0xff, 0xff};
    auto r = a.feed(hdr);
    REQUIRE(!r.ok());
    CHECK(r.error().claimed_size == 0x7fffffffu);
    CHECK(a.payload_window().empty());
    uint8_t hdr2[4] = {0x7f, 0xff, 0xff, 0xff};  // not last, same length
    RecordAssembler b;
    CHECK(!b.feed(hdr2).ok());
  }
  SUBCASE("the default limit admits a 1 MiB write with headers") {
    RecordAssembler a;
    std::vector<uint8_t> payload((1u << 20) + 4096, 0xab);
    REQUIRE(a.feed(fragment(payload, true)).ok());
    REQUIRE(a.ready() == 1);
    CHECK(a.take()->size() == payload.size());
  }
}

TEST_CASE("frame_record writes one last fragment") {
  std::vector<uint8_t> payload = {1, 2, 3};
  auto f = frame_record(payload);
  CHECK(f == std::vector<uint8_t>{0x80, 0, 0, 3, 1, 2, 3});
  RecordAssembler a;
  REQUIRE(a.feed(f).ok());
  CHECK(bytes_of(*a.take()) == payload);
}
