#include <sys/stat.h>

#include <fstream>

#include "vfs/file_handle.h"
#include "vfs_fixture.h"

using namespace efs::vfs;
using efs::vfs::test::Fixture;

namespace {
const HandleKey kKey{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
const std::vector<uint8_t> kBinding{3, 0xaa, 0xbb};
}  // namespace

TEST_CASE("file handle: layout round trip") {
  HandleFields in{"fs-0123456789abcdef0", 0x0102030405060708ULL, 0xdeadbeef};
  auto h = encode_handle(in, kKey, kBinding);
  REQUIRE(h.size() == kHandleSize);
  CHECK(h.size() + 10 <= 128);  // with the largest export prefix (an access point's)
  CHECK(h[0] == kHandleVersion);
  CHECK(h[1] == 0x0);
  CHECK(h[2] == 0x12);
  CHECK(h[9] == 0xf0);
  CHECK(h[10] == 0x01);
  CHECK(h[17] == 0x08);
  CHECK(h[18] == 0xde);
  auto out = decode_handle(h, kKey, kBinding);
  REQUIRE(out);
  CHECK(out->fs_id == in.fs_id);
  CHECK(out->ino == in.ino);
  CHECK(out->generation == in.generation);
  CHECK(encode_handle(HandleFields{"fs-XYZ", 1, 1}, kKey, kBinding).empty());
  // The same fields, key and binding always give the same bytes (stable handles).
  CHECK(encode_handle(in, kKey, kBinding) == h);
}

TEST_CASE("file handle: every edited byte, another key or binding fails the signature") {
  HandleFields in{"fs-0123456789abcdef0", 42, 7};
  auto h = encode_handle(in, kKey, kBinding);
  for (std::size_t i = 0; i < h.size(); ++i) {
    for (uint8_t flip : {uint8_t{0x01}, uint8_t{0x80}}) {
      auto bad = h;
      bad[i] ^= flip;
      INFO("byte " << i << " flip " << int(flip));
      auto r = decode_handle(bad, kKey, kBinding);
      REQUIRE_FALSE(r);
      CHECK(r.error() == Errc::badhandle);
    }
  }
  HandleKey other = kKey;
  other[0] ^= 1;
  CHECK(decode_handle(h, other, kBinding).error() == Errc::badhandle);
  std::vector<uint8_t> binding2 = kBinding;
  binding2[1] ^= 1;
  CHECK(decode_handle(h, kKey, binding2).error() == Errc::badhandle);
  CHECK(decode_handle(h, kKey, {}).error() == Errc::badhandle);
  // The inode number replaced (the access point escape of version 1).
  auto root = h;
  for (std::size_t i = 10; i < 18; ++i) root[i] = i == 17 ? 1 : 0;
  CHECK(decode_handle(root, kKey, kBinding).error() == Errc::badhandle);
}

TEST_CASE("file handle: version-1 handles are stale, other versions badhandle") {
  // Version 1: 22 bytes, no signature (docs/file-handle.md).
  std::vector<uint8_t> v1{1, 0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0,
                          0, 0, 0,    0,    0,    0,    1,    0,    0,    0,    7};
  CHECK(decode_handle(v1, kKey, {}).error() == Errc::stale);
  auto h = encode_handle(HandleFields{"fs-0123456789abcdef0", 1, 1}, kKey, {});
  h[0] = 3;
  CHECK(decode_handle(h, kKey, {}).error() == Errc::badhandle);
  CHECK(decode_handle({}, kKey, {}).error() == Errc::badhandle);
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
  other_fs[5] ^= 0x11;  // another file system: the signature no longer matches
  CHECK(f.err_of(f.vfs->resolve_handle(other_fs)) == Errc::badhandle);
  // A handle bound to an export prefix resolves only with that prefix.
  const std::vector<uint8_t> prefix{2};
  auto bound = f.vfs->make_handle(*f.fs, f.fs->root(), prefix);
  CHECK(f.vfs->resolve_handle(bound, prefix).ok());
  CHECK(f.err_of(f.vfs->resolve_handle(bound)) == Errc::badhandle);
}

TEST_CASE("file handle: the key is made once, 0600, and kept across reopening") {
  Fixture f;
  const std::string path = f.dir + "/handle.key";
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(st.st_size == 16);
  auto h = f.vfs->make_handle(*f.fs, f.fs->root());
  f.reopen();
  CHECK(f.vfs->make_handle(*f.fs, f.fs->root()) == h);
  CHECK(f.vfs->resolve_handle(h).ok());
  // Another data dir has another key: the same fields give other bytes.
  Fixture g;
  CHECK(g.vfs->make_handle(*g.fs, g.fs->root()) != h);
  CHECK(g.err_of(g.vfs->resolve_handle(h)) == Errc::badhandle);
}

TEST_CASE("file handle: a damaged key file stops the vfs from opening") {
  Fixture f;
  f.fs.reset();
  f.vfs.reset();
  {
    std::ofstream out(f.dir + "/handle.key", std::ios::binary | std::ios::trunc);
    out << "short";
  }
  auto v = Vfs::open(*f.db, f.dir);
  REQUIRE_FALSE(v.ok());
  CHECK(v.error().message.find("handle key") != std::string::npos);
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
