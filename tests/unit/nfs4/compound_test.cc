// The COMPOUND loop: minor versions, ordering rules, limits, bad input.
#include <doctest/doctest.h>

#include "fixture.h"
#include "nfs4/attrs.h"

namespace efs::nfs4::test {

TEST_CASE("NULL procedure answers an empty success") {
  Fixture f;
  auto reply = f.raw({}, 0);
  CHECK(reply.stat == rpc::AcceptStat::success);
  CHECK(reply.body.empty());
}

TEST_CASE("unknown procedure is PROC_UNAVAIL") {
  Fixture f;
  CHECK(f.raw({}, 7).stat == rpc::AcceptStat::proc_unavail);
}

TEST_CASE("a record shorter than the COMPOUND header is GARBAGE_ARGS") {
  Fixture f;
  std::vector<uint8_t> bytes{0, 0, 0, 1, 'x'};
  CHECK(f.raw(bytes).stat == rpc::AcceptStat::garbage_args);
}

TEST_CASE("minor version 2 gets MINOR_VERS_MISMATCH and no results") {
  Fixture f;
  auto res = f.run({putrootfh(), getfh()}, 2, "mytag");
  CHECK(res.status == NFS4ERR_MINOR_VERS_MISMATCH);
  CHECK(res.tag == "mytag");
  CHECK(res.resarray.empty());
}

TEST_CASE("a 10,000-op compound is refused before any op runs") {
  Fixture f;
  std::vector<nfs_argop4> ops(10000, putrootfh());
  auto res = f.run(std::move(ops), 0);
  CHECK(res.status == NFS4ERR_RESOURCE);
  REQUIRE(res.resarray.size() == 1);
  CHECK(res.resarray[0].resop == OP_PUTROOTFH);
  std::vector<nfs_argop4> ops41(10000, op(OP_SEQUENCE));
  CHECK(f.run(std::move(ops41), 1).status == NFS4ERR_TOO_MANY_OPS);
}

TEST_CASE("the loop stops at the first failing op") {
  Fixture f;
  auto res = f.run({putrootfh(), lookup("fs-00000000000000000"), getfh()});
  CHECK(res.status == NFS4ERR_NOENT);
  CHECK(res.resarray.size() == 2);
}

TEST_CASE("no current filehandle is NOFILEHANDLE") {
  Fixture f;
  auto res = f.run({getfh()});
  CHECK(res.status == NFS4ERR_NOFILEHANDLE);
  CHECK(f.run({getattr({A_type})}).status == NFS4ERR_NOFILEHANDLE);
  CHECK(f.run({restorefh()}).status == NFS4ERR_RESTOREFH);
}

TEST_CASE("4.1: the first op must be SEQUENCE") {
  Fixture f;
  auto res = f.run({putrootfh(), getfh()}, 1);
  CHECK(res.status == NFS4ERR_OP_NOT_IN_SESSION);
  CHECK(res.resarray.size() == 1);
}

TEST_CASE("4.1: session-less ops must be alone") {
  Fixture f;
  auto res = f.run({op(OP_EXCHANGE_ID), putrootfh()}, 1);
  CHECK(res.status == NFS4ERR_NOT_ONLY_OP);
}

TEST_CASE("4.0-only ops in 4.1 are NOTSUPP, 4.1-only ops in 4.0 are OP_ILLEGAL") {
  Fixture f;
  auto res = f.run({op(OP_RENEW)}, 1);
  CHECK(res.status == NFS4ERR_NOTSUPP);
  auto res0 = f.run({putrootfh(), op(OP_SEQUENCE)}, 0);
  CHECK(res0.status == NFS4ERR_OP_ILLEGAL);
  REQUIRE(res0.resarray.size() == 2);
  CHECK(res0.resarray[1].resop == OP_ILLEGAL);
}

TEST_CASE("an op number out of range is OP_ILLEGAL with ILLEGAL4res") {
  Fixture f;
  std::vector<uint8_t> bytes;
  xdr::Writer w(&bytes);
  w.string("");
  w.u32(0);
  w.u32(2);
  w.u32(OP_PUTROOTFH);
  w.u32(9999);
  auto reply = f.raw(bytes);
  REQUIRE(reply.stat == rpc::AcceptStat::success);
  COMPOUND4res res;
  REQUIRE(xdr::nfs4::from_bytes(reply.body, res));
  CHECK(res.status == NFS4ERR_OP_ILLEGAL);
  REQUIRE(res.resarray.size() == 2);
  CHECK(res.resarray[1].resop == OP_ILLEGAL);
  CHECK(res.resarray[1].opillegal.status == NFS4ERR_OP_ILLEGAL);
}

TEST_CASE("undecodable op arguments are BADXDR for that op") {
  Fixture f;
  std::vector<uint8_t> bytes;
  xdr::Writer w(&bytes);
  w.string("");
  w.u32(0);
  w.u32(2);
  w.u32(OP_PUTROOTFH);
  w.u32(OP_LOOKUP);
  w.u32(1000);  // a name length past the end of the record
  auto reply = f.raw(bytes);
  COMPOUND4res res;
  REQUIRE(xdr::nfs4::from_bytes(reply.body, res));
  CHECK(res.status == NFS4ERR_BADXDR);
  REQUIRE(res.resarray.size() == 2);
  CHECK(res.resarray[1].resop == OP_LOOKUP);
}

TEST_CASE("a count larger than the ops present is BADXDR") {
  Fixture f;
  std::vector<uint8_t> bytes;
  xdr::Writer w(&bytes);
  w.string("");
  w.u32(0);
  w.u32(3);
  w.u32(OP_PUTROOTFH);
  auto reply = f.raw(bytes);
  COMPOUND4res res;
  REQUIRE(xdr::nfs4::from_bytes(reply.body, res));
  CHECK(res.status == NFS4ERR_BADXDR);
  CHECK(res.resarray.size() == 2);
}

TEST_CASE("WRITE data shorter than its length is BADXDR") {
  Fixture f;
  f.make_file("w", "");
  auto fh = f.fh_of({"w"});
  std::vector<uint8_t> bytes;
  xdr::Writer w(&bytes);
  w.string("");
  w.u32(0);
  w.u32(2);
  w.u32(OP_PUTFH);
  w.opaque(fh);
  w.u32(OP_WRITE);
  encode(w, stateid4{});
  w.u64(0);
  w.u32(FILE_SYNC4);
  w.u32(100);  // claims 100 bytes, sends 4
  w.u32(0x41414141);
  COMPOUND4res res;
  REQUIRE(xdr::nfs4::from_bytes(f.raw(bytes).body, res));
  CHECK(res.status == NFS4ERR_BADXDR);
  REQUIRE(res.resarray.size() == 2);
  CHECK(res.resarray[1].resop == OP_WRITE);
  auto a = f.fs->getattr(f.fs->lookup({}, f.fs->root(), "w")->ino);
  CHECK(a->size == 0);
}

TEST_CASE("a huge tag is refused without echoing it") {
  Fixture f;
  std::string tag(1 << 20, 'x');
  auto res = f.run({putrootfh()}, 0, tag);
  CHECK(res.status == NFS4ERR_NAMETOOLONG);
  CHECK(res.tag.empty());
  CHECK(res.resarray.empty());
}

TEST_CASE("unsupported features: OPENATTR, LAYOUTGET are NOTSUPP") {
  Fixture f;
  CHECK(f.run({putrootfh(), op(OP_OPENATTR)}).status == NFS4ERR_NOTSUPP);
}

}  // namespace efs::nfs4::test
