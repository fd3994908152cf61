#include "vfs/file_handle.h"
#include "vfs_fixture.h"

using namespace efs::vfs;
using efs::vfs::test::Fixture;

TEST_CASE("file handle: layout round trip") {
  HandleFields in{"fs-0123456789abcdef0", 0x0102030405060708ULL, 0xdeadbeef};
  auto h = encode_handle(in);
  REQUIRE(h.size() == kHandleSize);
  CHECK(h.size() <= 128);
  CHECK(h[0] == kHandleVersion);
  CHECK(h[1] == 0x0);
  CHECK(h[2] == 0x12);
  CHECK(h[9] == 0xf0);
  CHECK(h[10] == 0x01);
  CHECK(h[17] == 0x08);
  CHECK(h[18] == 0xde);
  auto out = decode_handle(h);
  REQUIRE(out);
  CHECK(out->fs_id == in.fs_id);
  CHECK(out->ino == in.ino);
  CHECK(out->generation == in.generation);
  CHECK(encode_handle(HandleFields{"fs-XYZ", 1, 1}).empty());
}

TEST_CASE("file handle: malformed bytes are badhandle") {
  Fixture f;
  auto good = f.vfs->make_handle(*f.fs, f.fs->root());
  CHECK(f.vfs->resolve_handle(good).ok());
  auto shorter = good;
  shorter.pop_back();
  CHECK(f.err_of(f.vfs->resolve_handle(shorter)) == Errc::badhandle);
  auto version = good;
  version[0] = 9;
  CHECK(f.err_of(f.vfs->resolve_handle(version)) == Errc::badhandle);
  auto digit = good;
  digit[1] = 0x10;
  CHECK(f.err_of(f.vfs->resolve_handle(digit)) == Errc::badhandle);
  CHECK(f.err_of(f.vfs->resolve_handle(std::vector<uint8_t>{})) == Errc::badhandle);
  std::vector<uint8_t> junk(128, 0xff);
  CHECK(f.err_of(f.vfs->resolve_handle(junk)) == Errc::badhandle);
  auto other_fs = good;
  other_fs[5] ^= 0x11;  // a file system that does not exist
  CHECK(f.err_of(f.vfs->resolve_handle(other_fs)) == Errc::stale);
}

TEST_CASE("file handle: stable across reopening; stale after remove") {
  Fixture f;
  Ino d = f.mkdir("dir");
  Ino file = f.mkfile(d, "file", f.root);
  auto hd = f.vfs->make_handle(*f.fs, d);
  auto hf = f.vfs->make_handle(*f.fs, file);
  f.reopen();
  auto rd = f.vfs->resolve_handle(hd);
  REQUIRE(rd.ok());
  CHECK(rd->second == d);
  CHECK(rd->first->id() == f.fs_id);
  auto rf = f.vfs->resolve_handle(hf);
  REQUIRE(rf.ok());
  CHECK(rf->second == file);
  CHECK(f.vfs->make_handle(*f.fs, file) == hf);
  REQUIRE(f.fs->remove(f.root, d, "file").ok());
  CHECK(f.err_of(f.vfs->resolve_handle(hf)) == Errc::stale);
  CHECK(f.err_of(f.fs->getattr(file)) == Errc::stale);
  CHECK(f.err_of(f.fs->write(file, 0, efs::vfs::test::as_bytes("x"), Stability::unstable)) ==
        Errc::stale);
}
