// Sockets and FIFOs, set-ID bits, and the depth limit across RENAME.
#include "vfs_fixture.h"

using namespace efs::vfs;
using efs::vfs::test::as_bytes;
using efs::vfs::test::Fixture;

TEST_CASE("vfs mknod: sockets and FIFOs are nodes that persist; devices are refused") {
  Fixture f;
  Ino root = f.fs->root();
  SetAttr sa;
  sa.mode = 0640;
  auto fifo = f.fs->mknod(f.root, root, "pipe", FileType::fifo, sa);
  REQUIRE(fifo.ok());
  CHECK(fifo->attr.type == FileType::fifo);
  CHECK(fifo->attr.mode == 0640);
  CHECK(fifo->attr.nlink == 1);
  CHECK(fifo->attr.size == 0);
  CHECK(fifo->dir.after > fifo->dir.before);
  auto sock = f.fs->mknod(f.root, root, "sock", FileType::sock, SetAttr{});
  REQUIRE(sock.ok());
  CHECK(sock->attr.type == FileType::sock);
  CHECK(f.err_of(f.fs->mknod(f.root, root, "pipe", FileType::fifo, sa)) == Errc::exist);
  CHECK(f.err_of(f.fs->mknod(f.root, root, "blk", FileType::blk, sa)) == Errc::badtype);
  CHECK(f.err_of(f.fs->mknod(f.root, root, "chr", FileType::chr, sa)) == Errc::badtype);
  CHECK(f.err_of(f.fs->mknod(f.root, root, "reg", FileType::reg, sa)) == Errc::badtype);
  CHECK(f.err_of(f.fs->mknod(f.root, root, "a/b", FileType::fifo, sa)) == Errc::badname);
  // Data ops do not apply to them.
  CHECK(f.err_of(f.fs->read(fifo->attr.ino, 0, 10)) == Errc::inval);
  CHECK(f.err_of(f.fs->write(fifo->attr.ino, 0, as_bytes("x"), Stability::file_sync)) ==
        Errc::inval);
  SetAttr size;
  size.size = 1;
  CHECK(f.err_of(f.fs->setattr(f.root, fifo->attr.ino, size)) == Errc::inval);
  SetAttr chmod;
  chmod.mode = 0600;
  auto ch = f.fs->setattr(f.root, fifo->attr.ino, chmod);
  REQUIRE(ch.ok());
  CHECK(ch->mode == 0600);
  // Link, rename, readdir.
  REQUIRE(f.fs->link(f.root, fifo->attr.ino, root, "pipe2").ok());
  REQUIRE(f.fs->rename(f.root, root, "sock", root, "sock2").ok());
  auto rd = f.fs->readdir(f.root, root, 0, 10);
  REQUIRE(rd.ok());
  REQUIRE(rd->entries.size() == 3);
  for (auto& e : rd->entries) {
    CHECK(e.attr.type == (e.name == "sock2" ? FileType::sock : FileType::fifo));
  }
  // After a restart.
  f.reopen();
  auto l = f.fs->lookup(f.root, root, "pipe2");
  REQUIRE(l.ok());
  CHECK(l->type == FileType::fifo);
  CHECK(l->nlink == 2);
  CHECK(l->mode == 0600);
  auto s = f.fs->lookup(f.root, root, "sock2");
  REQUIRE(s.ok());
  CHECK(s->type == FileType::sock);
  REQUIRE(f.fs->remove(f.root, root, "pipe").ok());
  REQUIRE(f.fs->remove(f.root, root, "pipe2").ok());
  REQUIRE(f.fs->remove(f.root, root, "sock2").ok());
  CHECK(f.err_of(f.fs->getattr(fifo->attr.ino)) == Errc::stale);
  CHECK(f.fs->metered_size().total == 6144);
}

namespace {

Cred user(uint32_t uid, uint32_t gid = 100) { return Cred{uid, gid, {}}; }

uint32_t mode_of(Fixture& f, Ino ino) {
  auto a = f.fs->getattr(ino);
  REQUIRE(a.ok());
  return a->mode;
}

Ino setid_file(Fixture& f, const std::string& name, uint32_t mode) {
  Ino ino = f.mkfile(name);
  SetAttr sa;
  sa.mode = mode;
  REQUIRE(f.fs->setattr(f.root, ino, sa).ok());
  REQUIRE(mode_of(f, ino) == mode);
  return ino;
}

}  // namespace

TEST_CASE("vfs set-ID: a write by anyone but root clears S_ISUID, and S_ISGID with g+x") {
  Fixture f;
  Ino both = setid_file(f, "both", 06777);
  Ino gid_only = setid_file(f, "gid", 02767);  // S_ISGID without group-execute: kept
  Ino by_root = setid_file(f, "root", 06777);
  for (auto how : {Stability::unstable, Stability::file_sync}) {
    SetAttr sa;
    sa.mode = 06777;
    REQUIRE(f.fs->setattr(f.root, both, sa).ok());
    auto before = f.fs->getattr(both);
    REQUIRE(f.fs->write(both, 0, as_bytes("x"), how, 1000).ok());
    auto after = f.fs->getattr(both);
    REQUIRE(after.ok());
    CHECK(after->mode == 0777);
    CHECK(after->change > before->change);
    CHECK(after->size == 1);
  }
  REQUIRE(f.fs->write(gid_only, 0, as_bytes("x"), Stability::unstable, 1000).ok());
  CHECK(mode_of(f, gid_only) == 02767);
  REQUIRE(f.fs->write(by_root, 0, as_bytes("x"), Stability::file_sync, 0).ok());
  CHECK(mode_of(f, by_root) == 06777);
  // The bits survive a restart as cleared (the clearing is durable even for
  // an UNSTABLE write).
  f.reopen();
  CHECK(mode_of(f, both) == 0777);
}

TEST_CASE("vfs set-ID: truncation by a non-root user and chown by anyone clear the bits") {
  Fixture f;
  Ino t = setid_file(f, "t", 06777);
  SetAttr same;
  same.size = 0;  // no size change: nothing cleared
  REQUIRE(f.fs->setattr(user(1000), t, same).ok());
  CHECK(mode_of(f, t) == 06777);
  SetAttr grow;
  grow.size = 10;
  REQUIRE(f.fs->setattr(user(1000), t, grow).ok());
  CHECK(mode_of(f, t) == 0777);
  Ino r = setid_file(f, "r", 06777);
  REQUIRE(f.fs->setattr(f.root, r, grow).ok());  // root truncating keeps them
  CHECK(mode_of(f, r) == 06777);
  // chown by root clears S_ISUID, and S_ISGID with group-execute...
  SetAttr chown;
  chown.uid = 1000;
  REQUIRE(f.fs->setattr(f.root, r, chown).ok());
  CHECK(mode_of(f, r) == 0777);
  // ...also when the same SETATTR sets the mode (nfsd_sanitize_attrs).
  Ino m = setid_file(f, "m", 06755);
  SetAttr both;
  both.gid = 50;
  both.mode = 06755;
  REQUIRE(f.fs->setattr(f.root, m, both).ok());
  CHECK(mode_of(f, m) == 0755);
  // S_ISGID without group-execute stays through a chown.
  Ino g = setid_file(f, "g", 02745);
  REQUIRE(f.fs->setattr(f.root, g, chown).ok());
  CHECK(mode_of(f, g) == 02745);
  // chown to the same owner is no change.
  Ino s = setid_file(f, "s", 04755);
  SetAttr self;
  self.uid = 0;
  REQUIRE(f.fs->setattr(f.root, s, self).ok());
  CHECK(mode_of(f, s) == 04755);
}

TEST_CASE("vfs set-ID: set-user-ID on a directory is dropped (EFS does not support it)") {
  Fixture f;
  Ino d = f.mkdir("d");
  SetAttr sa;
  sa.mode = 07755;
  auto r = f.fs->setattr(f.root, d, sa);
  REQUIRE(r.ok());
  CHECK(r->mode == 03755);  // S_ISGID and sticky kept
  SetAttr mk;
  mk.mode = 04755;
  auto made = f.fs->mkdir(f.root, f.fs->root(), "e", mk);
  REQUIRE(made.ok());
  CHECK(made->attr.mode == 0755);
}

TEST_CASE("vfs depth: renaming a subtree under a deep directory keeps the 1000-level limit") {
  Fixture f;
  // A chain of 990 directories from the root: /c/c/.../c (depth 990).
  Ino deep = f.fs->root();
  for (uint32_t i = 0; i < 990; ++i) deep = f.mkdir(deep, "c", f.root);
  // A subtree of height 10 (top at depth 1, deepest at 11): /t/s/s/...
  Ino top = f.mkdir("t");
  Ino cur = top;
  for (int i = 0; i < 10; ++i) cur = f.mkdir(cur, "s", f.root);
  // Under `deep` its deepest directory would be at 990 + 1 + 10 = 1001.
  CHECK(f.err_of(f.fs->rename(f.root, f.fs->root(), "t", deep, "t")) == Errc::inval);
  // The same error mkdir gives past the limit, and nothing moved.
  CHECK(f.fs->lookup(f.root, f.fs->root(), "t").ok());
  // One level shallower fits exactly (989 + 1 + 10 = 1000).
  auto parent = f.fs->lookup_parent(f.root, deep);
  REQUIRE(parent.ok());
  REQUIRE(f.fs->rename(f.root, f.fs->root(), "t", parent->ino, "t").ok());
  CHECK(f.err_of(f.fs->mkdir(f.root, cur, "x", SetAttr{})) == Errc::inval);
  // Moving it back up needs no height check and works.
  REQUIRE(f.fs->rename(f.root, parent->ino, "t", f.fs->root(), "t").ok());
  CHECK(f.fs->mkdir(f.root, cur, "x", SetAttr{}).ok());
}
