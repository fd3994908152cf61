// fattr4 encoding and decoding, GETATTR / SETATTR / VERIFY / NVERIFY.
#include "nfs4/attrs.h"

#include <doctest/doctest.h>

#include "fixture.h"

namespace efs::nfs4::test {

namespace {

fattr4 make_attrs(std::initializer_list<uint32_t> mask, void (*fill)(xdr::Writer&)) {
  fattr4 a;
  a.attrmask = bits(mask);
  xdr::Writer w(&a.attr_vals);
  fill(w);
  return a;
}

}  // namespace

TEST_CASE("parse_owner accepts numeric ids with or without a domain") {
  CHECK(parse_owner("1000") == 1000u);
  CHECK(parse_owner("0@example.com") == 0u);
  CHECK_FALSE(parse_owner("bob"));
  CHECK_FALSE(parse_owner(""));
  CHECK_FALSE(parse_owner("99999999999"));
  CHECK_FALSE(parse_owner("12x"));
}

TEST_CASE("supported_attrs omits what EFS does not support") {
  auto s0 = supported_attrs(0);
  for (uint32_t n : {A_acl, A_archive, A_files_avail, A_files_free, A_files_total, A_fs_locations,
                     A_hidden, A_mimetype, A_quota_avail_hard, A_system, A_time_backup})
    CHECK_FALSE(bitmap_test(s0, n));
  CHECK(bitmap_test(s0, A_mounted_on_fileid));
  CHECK_FALSE(bitmap_test(s0, A_suppattr_exclcreat));
  CHECK(bitmap_test(supported_attrs(1), A_suppattr_exclcreat));
}

TEST_CASE("GETATTR encodes in attribute order and omits unsupported ones") {
  Fixture f;
  f.make_file("f", "12345");
  auto fh = f.fh_of({"f"});
  auto res = f.run({putfh(fh), getattr({A_type, A_size, A_acl, A_maxname, A_owner, A_filehandle,
                                        A_files_total, A_mode})});
  REQUIRE(res.status == NFS4_OK);
  const fattr4& a = res.resarray[1].opgetattr.resok4.obj_attributes;
  CHECK(a.attrmask == bits({A_type, A_size, A_maxname, A_owner, A_filehandle, A_mode}));
  xdr::Reader r(a.attr_vals);
  CHECK(r.u32() == NF4REG);
  CHECK(r.u64() == 5);
  auto handle = r.opaque(128);
  CHECK(std::vector<uint8_t>(handle.begin(), handle.end()) == fh);
  CHECK(r.u32() == 255);
  CHECK(r.u32() == 0644);
  CHECK(r.string(100) == "0");
  CHECK(r.ok());
  CHECK(r.remaining() == 0);
}

TEST_CASE("SETATTR mode, owner and times; attrsset echoes them") {
  Fixture f;
  f.make_file("f", "");
  auto fh = f.fh_of({"f"});
  auto attrs = make_attrs({A_mode, A_owner, A_owner_group, A_time_modify_set}, [](xdr::Writer& w) {
    w.u32(0600);
    w.string("1000@example.com");
    w.string("2000");
    w.u32(SET_TO_CLIENT_TIME4);
    w.i64(1234567890);
    w.u32(5);
  });
  auto res =
      f.run({putfh(fh), setattr(attrs), getattr({A_mode, A_owner, A_owner_group, A_time_modify})});
  REQUIRE(res.status == NFS4_OK);
  CHECK(res.resarray[1].opsetattr.attrsset == attrs.attrmask);
  xdr::Reader r(res.resarray[2].opgetattr.resok4.obj_attributes.attr_vals);
  CHECK(r.u32() == 0600);
  CHECK(r.string(100) == "1000");
  CHECK(r.string(100) == "2000");
  CHECK(r.i64() == 1234567890);
  CHECK(r.u32() == 5);
}

TEST_CASE("SETATTR refusals: BADOWNER, ATTRNOTSUPP, INVAL") {
  Fixture f;
  f.make_file("f", "");
  auto fh = f.fh_of({"f"});
  auto bad_owner = make_attrs({A_owner}, [](xdr::Writer& w) { w.string("bob@example.com"); });
  CHECK(f.run({putfh(fh), setattr(bad_owner)}).status == NFS4ERR_BADOWNER);
  auto acl = make_attrs({A_hidden}, [](xdr::Writer& w) { w.boolean(true); });
  CHECK(f.run({putfh(fh), setattr(acl)}).status == NFS4ERR_ATTRNOTSUPP);
  auto ro = make_attrs({A_type}, [](xdr::Writer& w) { w.u32(NF4DIR); });
  CHECK(f.run({putfh(fh), setattr(ro)}).status == NFS4ERR_INVAL);
  auto truncated = make_attrs({A_mode, A_owner}, [](xdr::Writer& w) { w.u32(0600); });
  CHECK(f.run({putfh(fh), setattr(truncated)}).status == NFS4ERR_BADXDR);
}

TEST_CASE("SETATTR size truncates (anonymous stateid)") {
  Fixture f;
  f.make_file("f", "0123456789");
  auto fh = f.fh_of({"f"});
  auto sz = make_attrs({A_size}, [](xdr::Writer& w) { w.u64(3); });
  auto res = f.run({putfh(fh), setattr(sz), getattr({A_size})});
  REQUIRE(res.status == NFS4_OK);
  xdr::Reader r(res.resarray[2].opgetattr.resok4.obj_attributes.attr_vals);
  CHECK(r.u64() == 3);
}

TEST_CASE("VERIFY and NVERIFY compare encoded attributes") {
  Fixture f;
  f.make_file("f", "abc");
  auto fh = f.fh_of({"f"});
  auto same = make_attrs({A_size}, [](xdr::Writer& w) { w.u64(3); });
  auto other = make_attrs({A_size}, [](xdr::Writer& w) { w.u64(4); });
  auto verify = op(OP_VERIFY);
  verify.opverify.obj_attributes = same;
  auto nverify = op(OP_NVERIFY);
  nverify.opnverify.obj_attributes = same;
  CHECK(f.run({putfh(fh), verify}).status == NFS4_OK);
  CHECK(f.run({putfh(fh), nverify}).status == NFS4ERR_SAME);
  verify.opverify.obj_attributes = other;
  nverify.opnverify.obj_attributes = other;
  CHECK(f.run({putfh(fh), verify}).status == NFS4ERR_NOT_SAME);
  CHECK(f.run({putfh(fh), nverify}).status == NFS4_OK);
  verify.opverify.obj_attributes = make_attrs({A_acl}, [](xdr::Writer& w) { w.u32(0); });
  CHECK(f.run({putfh(fh), verify}).status == NFS4ERR_ATTRNOTSUPP);
}

}  // namespace efs::nfs4::test
