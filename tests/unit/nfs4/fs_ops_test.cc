// File-system ops through Server::handle over a real vfs.
#include <doctest/doctest.h>

#include <algorithm>

#include "fixture.h"
#include "nfs4/attrs.h"

namespace efs::nfs4::test {

namespace {

std::vector<std::string> names(const READDIR4resok& ok) {
  std::vector<std::string> out;
  for (const entry4* e = ok.reply.entries.get(); e; e = e->nextentry.get()) out.push_back(e->name);
  return out;
}

uint64_t attr_u64(const GETATTR4res& r) {
  xdr::Reader rd(r.resok4.obj_attributes.attr_vals);
  return rd.u64();
}

uint32_t attr_u32(const GETATTR4res& r) {
  xdr::Reader rd(r.resok4.obj_attributes.attr_vals);
  return rd.u32();
}

}  // namespace

TEST_CASE("the pseudo-root lists file systems and access points") {
  Fixture f;
  efs::ExportedAccessPoint ap;
  ap.id = "fsap-0123456789abcdef1";
  ap.fs_id = f.fs_id;
  ap.root_path = "/";
  f.catalog.aps.push_back(ap);
  auto res = f.run({putrootfh(), readdir(0, {}, 65536, {A_type, A_fsid, A_mounted_on_fileid})});
  REQUIRE(res.status == NFS4_OK);
  auto got = names(res.resarray[1].opreaddir.resok4);
  CHECK(got == std::vector<std::string>{f.fs_id, ap.id});
  CHECK(res.resarray[1].opreaddir.resok4.reply.eof);
}

TEST_CASE("LOOKUP crosses from the pseudo-root into a new fsid; LOOKUPP comes back") {
  Fixture f;
  auto res = f.run({putrootfh(), getattr({A_fsid}), lookup(f.fs_id), getattr({A_fsid}),
                    getattr({A_fileid}), lookupp(), getattr({A_fileid})});
  REQUIRE(res.status == NFS4_OK);
  xdr::Reader pseudo(res.resarray[1].opgetattr.resok4.obj_attributes.attr_vals);
  xdr::Reader inner(res.resarray[3].opgetattr.resok4.obj_attributes.attr_vals);
  CHECK(pseudo.u64() != inner.u64());
  CHECK(attr_u64(res.resarray[4].opgetattr) == f.fs->root());
  CHECK(attr_u64(res.resarray[6].opgetattr) == kPseudoRootFileid);
  CHECK(f.run({putrootfh(), lookupp()}).status == NFS4ERR_NOENT);
}

TEST_CASE("create, rename, link, symlink, readlink and remove") {
  Fixture f;
  auto root = f.fh_of({});
  auto res = f.run(
      {putfh(root), mkdir("d"), getattr({A_type}), putfh(root), symlink("s", "d/x"), readlink()});
  REQUIRE(res.status == NFS4_OK);
  CHECK(attr_u32(res.resarray[2].opgetattr) == NF4DIR);
  CHECK(res.resarray[5].opreadlink.resok4.link == "d/x");

  f.make_file("a", "hello");
  // LINK: saved = object, current = directory.
  res = f.run({putfh(root), lookup("a"), savefh(), putfh(root), lookup("d"), link("b"), lookup("b"),
               getattr({A_numlinks})});
  REQUIRE(res.status == NFS4_OK);
  CHECK(attr_u32(res.resarray[7].opgetattr) == 2);

  // RENAME: saved = source dir, current = target dir.
  res = f.run({putfh(root), lookup("d"), savefh(), putfh(root), rename("a", "moved")});
  CHECK(res.status == NFS4ERR_NOENT);  // "a" is in the root, not in d
  res = f.run({putfh(root), savefh(), lookup("d"), rename("a", "moved"), lookup("moved")});
  REQUIRE(res.status == NFS4_OK);
  CHECK(f.run({putfh(root), lookup("a")}).status == NFS4ERR_NOENT);

  res = f.run({putfh(root), lookup("d"), remove("moved"), lookup("moved")});
  CHECK(res.status == NFS4ERR_NOENT);
  CHECK(res.resarray.size() == 4);
  CHECK(f.run({putfh(root), remove("d")}).status == NFS4ERR_NOTEMPTY);
  CHECK(f.run({putfh(root), lookup("d"), remove("b")}).status == NFS4_OK);
  CHECK(f.run({putfh(root), remove("d")}).status == NFS4_OK);
}

TEST_CASE("CREATE refuses regular files, devices and bad names") {
  Fixture f;
  auto root = f.fh_of({});
  auto blk = mkdir("dev");
  blk.opcreate.objtype.type = NF4BLK;
  CHECK(f.run({putfh(root), blk}).status == NFS4ERR_BADTYPE);
  auto reg = mkdir("r");
  reg.opcreate.objtype.type = NF4REG;
  CHECK(f.run({putfh(root), reg}).status == NFS4ERR_BADTYPE);
  CHECK(f.run({putfh(root), mkdir("..")}).status == NFS4ERR_BADNAME);
  CHECK(f.run({putfh(root), mkdir("")}).status == NFS4ERR_INVAL);
  CHECK(f.run({putfh(root), mkdir(std::string(256, 'n'))}).status == NFS4ERR_NAMETOOLONG);
  CHECK(f.run({putfh(root), symlink("l", "")}).status == NFS4ERR_INVAL);
  CHECK(f.run({putrootfh(), mkdir("x")}).status == NFS4ERR_ROFS);
}

TEST_CASE("wrong object types give the RFC's errors") {
  Fixture f;
  f.make_file("file", "x");
  auto root = f.fh_of({});
  CHECK(f.run({putfh(root), lookup("file"), lookup("x")}).status == NFS4ERR_NOTDIR);
  CHECK(f.run({putfh(root), read(0, 10)}).status == NFS4ERR_ISDIR);
  // RFC 7530 16.25.5: INVAL for every non-symlink, a directory included.
  CHECK(f.run({putfh(root), readlink()}).status == NFS4ERR_INVAL);
  CHECK(f.run({putfh(root), lookup("file"), readlink()}).status == NFS4ERR_INVAL);
}

TEST_CASE("WRITE then READ with the anonymous stateid; COMMIT returns the verifier") {
  Fixture f;
  f.make_file("data", "");
  auto fh = f.fh_of({"data"});
  auto res =
      f.run({putfh(fh), write(0, "0123456789", UNSTABLE4), commit(), read(2, 5), read(8, 100)});
  REQUIRE(res.status == NFS4_OK);
  CHECK(res.resarray[1].opwrite.resok4.count == 10);
  CHECK(res.resarray[1].opwrite.resok4.writeverf == res.resarray[2].opcommit.resok4.writeverf);
  auto& r1 = res.resarray[3].opread.resok4;
  CHECK(std::string(r1.data.begin(), r1.data.end()) == "23456");
  CHECK_FALSE(r1.eof);
  auto& r2 = res.resarray[4].opread.resok4;
  CHECK(std::string(r2.data.begin(), r2.data.end()) == "89");
  CHECK(r2.eof);
}

TEST_CASE("large WRITEs are written whole and read back") {
  Fixture f;
  f.make_file("big", "");
  auto fh = f.fh_of({"big"});
  std::string data(300000, 'z');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  auto res = f.run({putfh(fh), write(0, data, UNSTABLE4), write(data.size(), data, FILE_SYNC4),
                    read(0, 1 << 20)});
  REQUIRE(res.status == NFS4_OK);
  CHECK(res.resarray[1].opwrite.resok4.count == data.size());
  CHECK(res.resarray[2].opwrite.resok4.count == data.size());
  auto& got = res.resarray[3].opread.resok4.data;
  REQUIRE(got.size() == 2 * data.size());
  std::string back(got.begin(), got.end());
  CHECK(back == data + data);
}

TEST_CASE("READ encodes its data in place: at and past the end, an empty file, ops after it") {
  // READ writes its result straight into the reply record (read_write.cc);
  // the generated decoder reading it back proves the layout and padding.
  Fixture f;
  f.make_file("seven", "abcdefg");
  f.make_file("empty", "");
  auto fh = f.fh_of({"seven"});
  auto res = f.run({putfh(fh), read(7, 10), read(100, 10), read(3, 0), read(5, 1 << 20),
                    getattr({FATTR4_SIZE}), putfh(f.fh_of({"empty"})), read(0, 4096),
                    getattr({FATTR4_SIZE})});
  REQUIRE(res.status == NFS4_OK);
  REQUIRE(res.resarray.size() == 9);
  auto& at_end = res.resarray[1].opread.resok4;
  CHECK(at_end.data.empty());
  CHECK(at_end.eof);
  auto& past_end = res.resarray[2].opread.resok4;
  CHECK(past_end.data.empty());
  CHECK(past_end.eof);
  auto& nothing = res.resarray[3].opread.resok4;
  CHECK(nothing.data.empty());
  CHECK_FALSE(nothing.eof);
  auto& tail = res.resarray[4].opread.resok4;
  CHECK(std::string(tail.data.begin(), tail.data.end()) == "fg");
  CHECK(tail.eof);
  CHECK(res.resarray[5].opgetattr.status == NFS4_OK);
  auto& empty = res.resarray[7].opread.resok4;
  CHECK(empty.data.empty());
  CHECK(empty.eof);
  CHECK(res.resarray[8].opgetattr.status == NFS4_OK);
}

TEST_CASE("READDIR pages with cookies, checks the verifier and reports TOOSMALL") {
  Fixture f;
  auto root = f.fh_of({});
  for (int i = 0; i < 30; ++i)
    REQUIRE(f.run({putfh(root), mkdir("dir" + std::to_string(i))}).status == NFS4_OK);
  std::vector<std::string> all;
  uint64_t cookie = 0;
  verifier4 verf{};
  for (int round = 0; round < 100; ++round) {
    auto res = f.run({putfh(root), readdir(cookie, verf, 400, {A_type, A_fileid})});
    REQUIRE(res.status == NFS4_OK);
    auto& ok = res.resarray[1].opreaddir.resok4;
    auto got = names(ok);
    REQUIRE(!got.empty());
    all.insert(all.end(), got.begin(), got.end());
    for (const entry4* e = ok.reply.entries.get(); e; e = e->nextentry.get()) cookie = e->cookie;
    verf = ok.cookieverf;
    if (ok.reply.eof) break;
  }
  CHECK(all.size() == 30);
  std::sort(all.begin(), all.end());
  CHECK(std::unique(all.begin(), all.end()) == all.end());

  verifier4 bad{};
  bad[0] = 0x5a;
  CHECK(f.run({putfh(root), readdir(cookie, bad)}).status == NFS4ERR_NOT_SAME);
  CHECK(f.run({putfh(root), readdir(0, {}, 20)}).status == NFS4ERR_TOOSMALL);
  CHECK(f.run({putfh(root), readdir(1, {})}).status == NFS4ERR_BAD_COOKIE);
}

TEST_CASE("a removed file's handle is STALE; garbage handles are BADHANDLE") {
  Fixture f;
  f.make_file("gone", "x");
  auto fh = f.fh_of({"gone"});
  auto root = f.fh_of({});
  REQUIRE(f.run({putfh(root), remove("gone")}).status == NFS4_OK);
  CHECK(f.run({putfh(fh), getattr({A_size})}).status == NFS4ERR_STALE);
  CHECK(f.run({putfh(nfs_fh4{0x77, 1, 2})}).status == NFS4ERR_BADHANDLE);
  CHECK(f.run({putfh(nfs_fh4{})}).status == NFS4ERR_BADHANDLE);
}

TEST_CASE("a deleted file system's handles are STALE") {
  Fixture f;
  auto root = f.fh_of({});
  f.catalog.fss.clear();
  CHECK(f.run({putfh(root), getattr({A_type})}).status == NFS4ERR_STALE);
  CHECK(f.run({putrootfh(), lookup(f.fs_id)}).status == NFS4ERR_NOENT);
}

TEST_CASE("ACCESS reports what the caller may do") {
  Fixture f;
  auto root = f.fh_of({});
  auto res = f.run({putfh(root), access(0x3f)});
  REQUIRE(res.status == NFS4_OK);
  constexpr uint32_t kRLM = vfs::kAccessRead | vfs::kAccessLookup | vfs::kAccessModify;
  CHECK((res.resarray[1].opaccess.resok4.access & kRLM) == kRLM);  // root owns "/"
  f.ctx.auth_sys = rpc::AuthSys{0, "u", 1000, 1000, {}};
  res = f.run({putfh(root), access(vfs::kAccessRead | vfs::kAccessModify)});
  REQUIRE(res.status == NFS4_OK);
  CHECK(res.resarray[1].opaccess.resok4.access == vfs::kAccessRead);  // 0755 root:root
  CHECK(f.run({putfh(root), mkdir("nope")}).status == NFS4ERR_ACCESS);
}

TEST_CASE("SECINFO and SECINFO_NO_NAME offer AUTH_SYS") {
  Fixture f;
  auto sec = op(OP_SECINFO);
  sec.opsecinfo.name = f.fs_id;
  auto res = f.run({putrootfh(), sec});
  REQUIRE(res.status == NFS4_OK);
  REQUIRE(res.resarray[1].opsecinfo.resok4.size() == 1);
  CHECK(res.resarray[1].opsecinfo.resok4[0].flavor == AUTH_SYS);
}

}  // namespace efs::nfs4::test
