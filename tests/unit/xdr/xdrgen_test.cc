// Generator self-test: tests/unit/xdr/sample.x uses every construct xdrgen
// supports; its generated codecs must round-trip and refuse bad input.
#include <doctest/doctest.h>

#include <type_traits>

#include "sample_xdr.h"

namespace s = efs::xdr::sample;
using efs::xdr::Reader;
using efs::xdr::Writer;

namespace {

template <class T>
std::vector<uint8_t> bytes_of(const T& v) {
  std::vector<uint8_t> out;
  Writer w(&out);
  encode(w, v);
  return out;
}

template <class T>
bool parse(const std::vector<uint8_t>& b, T& v) {
  Reader r(b);
  bool ok = decode(r, v);
  CHECK(ok == r.ok());
  return ok && r.remaining() == 0;
}

std::vector<uint8_t> words(std::initializer_list<uint32_t> ws) {
  std::vector<uint8_t> out;
  Writer w(&out);
  for (uint32_t x : ws) w.u32(x);
  return out;
}

}  // namespace

TEST_CASE("generated types follow the conventions") {
  static_assert(std::is_same_v<decltype(s::SAMPLE_MAX), const uint32_t>);
  static_assert(std::is_same_v<decltype(s::SAMPLE_NEG), const int64_t>);
  static_assert(std::is_same_v<decltype(s::SAMPLE_BIG), const uint64_t>);
  static_assert(std::is_same_v<s::blob, std::vector<uint8_t>>);
  static_assert(std::is_same_v<s::label, std::string>);
  static_assert(std::is_same_v<s::counter, uint64_t>);
  static_assert(std::is_same_v<s::labels, std::vector<std::string>>);
  static_assert(std::is_same_v<decltype(s::shapes::corners), std::array<s::point, 3>>);
  static_assert(std::is_same_v<decltype(s::shapes::tag), std::array<uint8_t, 5>>);
  static_assert(std::is_same_v<decltype(s::shapes::origin), std::optional<s::point>>);
  static_assert(std::is_same_v<decltype(s::node::next), std::unique_ptr<s::node>>);
  static_assert(std::is_same_v<decltype(s::list::head), std::unique_ptr<s::node>>);
  static_assert(std::is_same_v<std::underlying_type_t<s::color>, int32_t>);
  static_assert(std::is_same_v<decltype(s::paint::c), s::color>);
  static_assert(std::is_same_v<decltype(s::point::w), uint32_t>);
  CHECK(s::BLUE == 4);
  CHECK(s::SAMPLE_NEG == -7);
  CHECK(s::SAMPLE_BIG == 0x100000000ull);
  CHECK(std::string(s::to_string(s::GREEN)) == "GREEN");
  CHECK(std::string(s::to_string(static_cast<s::color>(99))) == "?");
}

TEST_CASE("a struct with every member kind round-trips") {
  s::shapes v;
  v.corners[1] = {-1, 2, -3, 4};
  v.extra = {{5, 6, 7, 8}};
  v.tag = {1, 2, 3, 4, 5};
  v.hits = 0xfedcba9876543210ull;
  v.flag = true;
  v.tint = s::BLUE;
  v.origin = s::point{9, 10, 11, 12};
  v.names = {"ab", "cdefgh"};
  v.data = {0xaa, 0xbb, 0xcc};
  v.scores = {1, -2, 3};
  auto b = bytes_of(v);
  CHECK(b.size() % 4 == 0);
  s::shapes back;
  REQUIRE(parse(b, back));
  CHECK(back.corners[1].x == -1);
  CHECK(back.corners[1].z == -3);
  CHECK(back.extra.size() == 1);
  CHECK(back.extra[0].w == 8);
  CHECK(back.tag == v.tag);
  CHECK(back.hits == v.hits);
  CHECK(back.flag);
  CHECK(back.tint == s::BLUE);
  REQUIRE(back.origin.has_value());
  CHECK(back.origin->y == 10);
  CHECK(back.names == v.names);
  CHECK(back.data == v.data);
  CHECK(back.scores == v.scores);
  CHECK(bytes_of(back) == b);

  // Every proper prefix is refused without a crash.
  for (std::size_t n = 0; n < b.size(); ++n) {
    std::vector<uint8_t> prefix(b.begin(), b.begin() + n);
    s::shapes t;
    Reader r(prefix);
    CHECK_FALSE(decode(r, t));
  }
}

TEST_CASE("declared bounds are enforced on decode") {
  // label is string<8>: 9 bytes is one too many.
  s::answer a;
  a.kind = 7;
  a.text = "123456789";
  s::answer back;
  CHECK_FALSE(parse(bytes_of(a), back));
  a.text = "12345678";
  CHECK(parse(bytes_of(a), back));
  CHECK(back.text == "12345678");

  // extra is point<SAMPLE_MAX>: five elements fail.
  s::shapes v;
  v.extra.resize(5);
  s::shapes sb;
  CHECK_FALSE(parse(bytes_of(v), sb));
  v.extra.resize(4);
  CHECK(parse(bytes_of(v), sb));

  // blob is opaque<4>, reached through a typedef of a typedef.
  v.data = {1, 2, 3, 4, 5};
  CHECK_FALSE(parse(bytes_of(v), sb));
}

TEST_CASE("unions: shared arms, void arms, default arms, unknown discriminants") {
  s::paint p;
  p.c = s::GREEN;
  p.where = {1, 2, 3, 4};
  s::paint back;
  REQUIRE(parse(bytes_of(p), back));
  CHECK(back.c == s::GREEN);
  CHECK(back.where.z == 3);

  p.c = s::BLUE;  // void arm: only the discriminant is on the wire
  CHECK(bytes_of(p) == words({4}));

  // A discriminant with no case takes the non-void default arm.
  auto b = words({77, 0, 5});
  REQUIRE(parse(b, back));
  CHECK(back.c == 77);
  CHECK(back.unknown_code == 5);
  CHECK(bytes_of(back) == b);

  // Without a default arm an unknown discriminant is an error.
  s::answer a;
  CHECK_FALSE(parse(words({3}), a));
  CHECK(parse(words({0}), a));

  // bool discriminant: TRUE/FALSE arms, and 2 is not a bool.
  s::maybe m;
  REQUIRE(parse(words({1, 0, 9}), m));
  CHECK(m.present);
  CHECK(m.value == 9);
  CHECK(parse(words({0}), m));
  CHECK_FALSE(m.present);
  CHECK_FALSE(parse(words({2}), m));
}

TEST_CASE("linked lists decode iteratively and free without recursion") {
  s::list l;
  s::node* tail = nullptr;
  constexpr int kCount = 200000;  // deep enough to overflow a recursive decoder
  for (int i = 0; i < kCount; ++i) {
    auto n = std::make_unique<s::node>();
    n->value = i;
    n->name = "n";
    s::node* raw = n.get();
    if (tail)
      tail->next = std::move(n);
    else
      l.head = std::move(n);
    tail = raw;
  }
  l.done = true;
  auto b = bytes_of(l);
  CHECK(b.size() == 4 + kCount * 16u + 4);
  s::list back;
  REQUIRE(parse(b, back));
  int count = 0;
  for (const s::node* n = back.head.get(); n; n = n->next.get()) {
    CHECK(n->value == count);
    ++count;
  }
  CHECK(count == kCount);
  CHECK(back.done);

  s::list empty;
  REQUIRE(parse(words({0, 1}), empty));
  CHECK_FALSE(empty.head);

  // A list cut in the middle fails cleanly.
  std::vector<uint8_t> cut(b.begin(), b.begin() + b.size() / 2);
  s::list half;
  CHECK_FALSE(parse(cut, half));
}

TEST_CASE("hostile counts fail before allocating") {
  // scores<> with a count of 0xffffffff: refused by Reader::count.
  s::shapes v;
  auto b = bytes_of(v);
  // The scores count is the last word of an empty shapes value.
  b[b.size() - 4] = b[b.size() - 3] = b[b.size() - 2] = b[b.size() - 1] = 0xff;
  s::shapes back;
  Reader r(b);
  CHECK_FALSE(decode(r, back));
  CHECK(back.scores.capacity() == 0);
}
