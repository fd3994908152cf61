#include <set>

#include "vfs_fixture.h"

using namespace efs::vfs;
using efs::vfs::test::Fixture;

TEST_CASE("vfs: root directory of a new file system") {
  Fixture f;
  auto a = f.fs->getattr(f.fs->root());
  REQUIRE(a.ok());
  CHECK(a->type == FileType::dir);
  CHECK(a->mode == 0755);
  CHECK(a->uid == 0);
  CHECK(a->nlink == 2);
  CHECK(f.vfs->create_file_system(f.fs_id).ok());  // idempotent
  auto p = f.fs->lookup_parent(f.root, f.fs->root());
  REQUIRE(p.ok());
  CHECK(p->ino == f.fs->root());
  CHECK(!f.vfs->create_file_system("not-an-id").ok());
  CHECK(f.vfs->file_system("fs-00000000000000000") == nullptr);
}

TEST_CASE("vfs: create, lookup, remove a file; guarded and unchecked create") {
  Fixture f;
  Ino root = f.fs->root();
  auto before = f.fs->getattr(root);
  SetAttr sa;
  sa.mode = 0640;
  auto c = f.fs->create_file(f.root, root, "a.txt", CreateMode::guarded, sa);
  REQUIRE(c.ok());
  CHECK(c->created);
  CHECK(c->attr.type == FileType::reg);
  CHECK(c->attr.mode == 0640);
  CHECK(c->attr.nlink == 1);
  CHECK(c->dir.before == before->change);
  CHECK(c->dir.after > c->dir.before);
  auto l = f.fs->lookup(f.root, root, "a.txt");
  REQUIRE(l.ok());
  CHECK(l->ino == c->attr.ino);
  CHECK(f.err_of(f.fs->create_file(f.root, root, "a.txt", CreateMode::guarded, sa)) == Errc::exist);
  auto u = f.fs->create_file(f.root, root, "a.txt", CreateMode::unchecked, sa);
  REQUIRE(u.ok());
  CHECK(!u->created);
  CHECK(u->attr.ino == c->attr.ino);
  CHECK(f.err_of(f.fs->lookup(f.root, root, "missing")) == Errc::noent);
  auto r = f.fs->remove(f.root, root, "a.txt");
  REQUIRE(r.ok());
  CHECK(r->after > r->before);
  CHECK(f.err_of(f.fs->lookup(f.root, root, "a.txt")) == Errc::noent);
  CHECK(f.err_of(f.fs->getattr(c->attr.ino)) == Errc::stale);
  CHECK(f.err_of(f.fs->remove(f.root, root, "a.txt")) == Errc::noent);
  // Inode numbers are never reused.
  Ino again = f.mkfile("a.txt");
  CHECK(again != c->attr.ino);
}

TEST_CASE("vfs: unchecked create over a directory or symlink") {
  Fixture f;
  f.mkdir("d");
  REQUIRE(f.fs->symlink(f.root, f.fs->root(), "s", "d", {}).ok());
  CHECK(f.err_of(f.fs->create_file(f.root, f.fs->root(), "d", CreateMode::unchecked, {})) ==
        Errc::isdir);
  CHECK(f.err_of(f.fs->create_file(f.root, f.fs->root(), "s", CreateMode::unchecked, {})) ==
        Errc::symlink);
}

TEST_CASE("vfs: unchecked create of an existing file leaves it as it is") {
  Fixture f;
  Ino ino = f.mkfile("t");
  REQUIRE(f.fs->write(ino, 0, efs::vfs::test::as_bytes("data"), Stability::file_sync).ok());
  SetAttr sa;
  sa.size = 0;
  auto u = f.fs->create_file(f.root, f.fs->root(), "t", CreateMode::unchecked, sa);
  REQUIRE(u.ok());
  CHECK(!u->created);
  CHECK(u->attr.size == 4);  // the NFS layer applies the size through setattr()
}

TEST_CASE("vfs: exclusive create replays with the same verifier") {
  Fixture f;
  Ino root = f.fs->root();
  auto c = f.fs->create_file(f.root, root, "x", CreateMode::exclusive, {}, 0xfeed);
  REQUIRE(c.ok());
  CHECK(c->created);
  auto again = f.fs->create_file(f.root, root, "x", CreateMode::exclusive, {}, 0xfeed);
  REQUIRE(again.ok());
  CHECK(!again->created);
  CHECK(again->attr.ino == c->attr.ino);
  CHECK(f.err_of(f.fs->create_file(f.root, root, "x", CreateMode::exclusive, {}, 0xbeef)) ==
        Errc::exist);
  f.reopen();  // the verifier is persistent
  auto after = f.fs->create_file(f.root, root, "x", CreateMode::exclusive, {}, 0xfeed);
  REQUIRE(after.ok());
  CHECK(!after->created);
}

TEST_CASE("vfs: directories: nlink = 2 + subdirectories; rmdir of non-empty") {
  Fixture f;
  Ino root = f.fs->root();
  Ino d = f.mkdir("d");
  CHECK(f.fs->getattr(root)->nlink == 3);
  CHECK(f.fs->getattr(d)->nlink == 2);
  Ino sub = f.mkdir(d, "sub", f.root);
  f.mkfile(d, "file", f.root);
  CHECK(f.fs->getattr(d)->nlink == 3);  // files do not count
  auto p = f.fs->lookup_parent(f.root, sub);
  REQUIRE(p.ok());
  CHECK(p->ino == d);
  CHECK(f.err_of(f.fs->mkdir(f.root, root, "d", {})) == Errc::exist);
  CHECK(f.err_of(f.fs->remove(f.root, root, "d")) == Errc::notempty);
  REQUIRE(f.fs->remove(f.root, d, "sub").ok());
  REQUIRE(f.fs->remove(f.root, d, "file").ok());
  CHECK(f.fs->getattr(d)->nlink == 2);
  REQUIRE(f.fs->remove(f.root, root, "d").ok());
  CHECK(f.fs->getattr(root)->nlink == 2);
  CHECK(f.err_of(f.fs->lookup(f.root, d, "x")) == Errc::stale);
}

TEST_CASE("vfs: names: empty, dot, dotdot, slash, NUL, 255 and 256 bytes") {
  Fixture f;
  Ino root = f.fs->root();
  CHECK(f.err_of(f.fs->mkdir(f.root, root, "", {})) == Errc::inval);
  CHECK(f.err_of(f.fs->mkdir(f.root, root, ".", {})) == Errc::badname);
  CHECK(f.err_of(f.fs->mkdir(f.root, root, "..", {})) == Errc::badname);
  CHECK(f.err_of(f.fs->mkdir(f.root, root, "a/b", {})) == Errc::badname);
  CHECK(f.err_of(f.fs->mkdir(f.root, root, std::string("a\0b", 3), {})) == Errc::badname);
  CHECK(f.fs->mkdir(f.root, root, std::string(255, 'n'), {}).ok());
  CHECK(f.err_of(f.fs->mkdir(f.root, root, std::string(256, 'n'), {})) == Errc::nametoolong);
  CHECK(f.err_of(f.fs->lookup(f.root, root, std::string(256, 'n'))) == Errc::nametoolong);
  CHECK(f.fs->lookup(f.root, root, std::string(255, 'n')).ok());
  // Names are bytes, not necessarily UTF-8.
  CHECK(f.fs->create_file(f.root, root, "\xff\xfe", CreateMode::guarded, {}).ok());
  CHECK(f.fs->lookup(f.root, root, "\xff\xfe").ok());
}

TEST_CASE("vfs: symlinks: 4080 and 4081 byte targets, readlink") {
  Fixture f;
  Ino root = f.fs->root();
  std::string t4080(4080, 't');
  auto s = f.fs->symlink(f.root, root, "ok", t4080, {});
  REQUIRE(s.ok());
  CHECK(s->attr.type == FileType::lnk);
  CHECK(s->attr.size == 4080);
  CHECK(f.fs->readlink(s->attr.ino).value() == t4080);
  CHECK(f.err_of(f.fs->symlink(f.root, root, "long", std::string(4081, 't'), {})) ==
        Errc::nametoolong);
  CHECK(f.err_of(f.fs->symlink(f.root, root, "empty", "", {})) == Errc::inval);
  CHECK(f.err_of(f.fs->symlink(f.root, root, "ok", "x", {})) == Errc::exist);
  CHECK(f.err_of(f.fs->readlink(root)) == Errc::inval);
  CHECK(f.err_of(f.fs->read(s->attr.ino, 0, 10)) == Errc::inval);
}

TEST_CASE("vfs: hard links: counts, 177 allowed, 178th is mlink, link to dir is isdir") {
  Fixture f;
  Ino root = f.fs->root();
  Ino ino = f.mkfile("base");
  auto before = f.fs->getattr(ino);
  auto ci = f.fs->link(f.root, ino, root, "l1");
  REQUIRE(ci.ok());
  CHECK(ci->after > ci->before);
  auto after = f.fs->getattr(ino);
  CHECK(after->nlink == 2);
  CHECK(after->change > before->change);
  CHECK(f.fs->lookup(f.root, root, "l1")->ino == ino);
  CHECK(f.err_of(f.fs->link(f.root, ino, root, "l1")) == Errc::exist);
  for (int i = 2; i < 177; ++i)
    REQUIRE(f.fs->link(f.root, ino, root, "l" + std::to_string(i)).ok());
  CHECK(f.fs->getattr(ino)->nlink == 177);
  CHECK(f.err_of(f.fs->link(f.root, ino, root, "l177")) == Errc::mlink);
  Ino d = f.mkdir("dir");
  CHECK(f.err_of(f.fs->link(f.root, d, root, "dl")) == Errc::isdir);
  // Removing names drops the count; the inode lives while one remains.
  REQUIRE(f.fs->remove(f.root, root, "base").ok());
  CHECK(f.fs->getattr(ino)->nlink == 176);
  CHECK(f.fs->getattr(ino).ok());
}

TEST_CASE("vfs: rename: files, replace, same inode, dir rules") {
  Fixture f;
  Ino root = f.fs->root();
  Ino a = f.mkfile("a");
  Ino b = f.mkfile("b");
  Ino d1 = f.mkdir("d1");
  Ino d2 = f.mkdir("d2");
  Ino full = f.mkdir("full");
  f.mkfile(full, "x", f.root);

  SUBCASE("simple rename within a directory") {
    auto r = f.fs->rename(f.root, root, "a", root, "a2");
    REQUIRE(r.ok());
    CHECK(r->source_dir.after > r->source_dir.before);
    CHECK(f.err_of(f.fs->lookup(f.root, root, "a")) == Errc::noent);
    CHECK(f.fs->lookup(f.root, root, "a2")->ino == a);
  }
  SUBCASE("rename over a file replaces it and drops the old one") {
    REQUIRE(f.fs->rename(f.root, root, "a", root, "b").ok());
    CHECK(f.fs->lookup(f.root, root, "b")->ino == a);
    CHECK(f.err_of(f.fs->getattr(b)) == Errc::stale);
  }
  SUBCASE("rename onto a hard link of itself changes nothing") {
    REQUIRE(f.fs->link(f.root, a, root, "a_link").ok());
    auto before = f.fs->getattr(root)->change;
    auto r = f.fs->rename(f.root, root, "a", root, "a_link");
    REQUIRE(r.ok());
    CHECK(r->source_dir.before == r->source_dir.after);
    CHECK(f.fs->getattr(root)->change == before);
    CHECK(f.fs->lookup(f.root, root, "a")->ino == a);
    CHECK(f.fs->getattr(a)->nlink == 2);
  }
  SUBCASE("rename to the same name") {
    REQUIRE(f.fs->rename(f.root, root, "a", root, "a").ok());
    CHECK(f.fs->lookup(f.root, root, "a")->ino == a);
  }
  SUBCASE("file over dir is isdir; dir over file is notdir") {
    CHECK(f.err_of(f.fs->rename(f.root, root, "a", root, "d1")) == Errc::isdir);
    CHECK(f.err_of(f.fs->rename(f.root, root, "d1", root, "a")) == Errc::notdir);
  }
  SUBCASE("dir over non-empty dir is notempty; over empty dir replaces it") {
    CHECK(f.err_of(f.fs->rename(f.root, root, "d1", root, "full")) == Errc::notempty);
    uint32_t links = f.fs->getattr(root)->nlink;
    REQUIRE(f.fs->rename(f.root, root, "d1", root, "d2").ok());
    CHECK(f.fs->lookup(f.root, root, "d2")->ino == d1);
    CHECK(f.err_of(f.fs->getattr(d2)) == Errc::stale);
    CHECK(f.fs->getattr(root)->nlink == links - 1);
  }
  SUBCASE("dir into its own subtree is inval") {
    Ino inner = f.mkdir(d1, "inner", f.root);
    CHECK(f.err_of(f.fs->rename(f.root, root, "d1", inner, "moved")) == Errc::inval);
    CHECK(f.err_of(f.fs->rename(f.root, root, "d1", d1, "moved")) == Errc::inval);
  }
  SUBCASE("moving a dir between parents fixes nlink and ..") {
    REQUIRE(f.fs->rename(f.root, root, "d1", d2, "d1").ok());
    CHECK(f.fs->getattr(d2)->nlink == 3);
    CHECK(f.fs->getattr(root)->nlink == 2 + 2);  // d2, full
    CHECK(f.fs->lookup_parent(f.root, d1)->ino == d2);
  }
  SUBCASE("missing source") {
    CHECK(f.err_of(f.fs->rename(f.root, root, "nope", root, "x")) == Errc::noent);
  }
  SUBCASE("bad names") {
    CHECK(f.err_of(f.fs->rename(f.root, root, "a", root, "..")) == Errc::badname);
    CHECK(f.err_of(f.fs->rename(f.root, root, "a", root, std::string(256, 'z'))) ==
          Errc::nametoolong);
  }
}

TEST_CASE("vfs: readdir cookies stay valid while entries come and go") {
  Fixture f;
  Ino root = f.fs->root();
  for (int i = 0; i < 10; ++i) f.mkfile("f" + std::to_string(i));
  auto page1 = f.fs->readdir(f.root, root, 0, 4);
  REQUIRE(page1.ok());
  REQUIRE(page1->entries.size() == 4);
  CHECK(!page1->eof);
  std::set<std::string> seen;
  for (auto& e : page1->entries) {
    CHECK(e.cookie >= 3);
    seen.insert(e.name);
  }
  uint64_t resume = page1->entries.back().cookie;
  // Remove the entry the cookie points at and one not yet listed; add one.
  REQUIRE(f.fs->remove(f.root, root, page1->entries.back().name).ok());
  REQUIRE(f.fs->remove(f.root, root, "f9").ok());
  f.mkfile("new");
  std::vector<DirEntry> rest;
  uint64_t cookie = resume;
  for (;;) {
    auto page = f.fs->readdir(f.root, root, cookie, 3);
    REQUIRE(page.ok());
    for (auto& e : page->entries) rest.push_back(e);
    if (page->eof) break;
    REQUIRE(!page->entries.empty());
    cookie = page->entries.back().cookie;
  }
  for (auto& e : rest) {
    CHECK(seen.count(e.name) == 0);  // nothing listed twice
    seen.insert(e.name);
  }
  CHECK(seen.count("new") == 1);
  CHECK(seen.count("f9") == 0);
  CHECK(seen.size() == 10);  // 4 first + f4..f8 + new
  auto all = f.fs->readdir(f.root, root, 0, 100);
  REQUIRE(all.ok());
  CHECK(all->eof);
  CHECK(all->entries.size() == 9);
  CHECK(all->entries[0].attr.type == FileType::reg);
  CHECK(f.err_of(f.fs->readdir(f.root, root, 1, 10)) == Errc::bad_cookie);
  CHECK(f.err_of(f.fs->readdir(f.root, root, 1u << 30, 10)) == Errc::bad_cookie);
  CHECK(f.err_of(f.fs->readdir(f.root, f.mkfile("plain"), 0, 10)) == Errc::notdir);
  auto empty = f.fs->readdir(f.root, f.mkdir("empty"), 0, 10);
  REQUIRE(empty.ok());
  CHECK(empty->entries.empty());
  CHECK(empty->eof);
}

TEST_CASE("vfs: depth limit of 1000 directories") {
  Fixture f;
  Ino cur = f.fs->root();
  for (uint32_t i = 1; i <= kMaxDepth; ++i) cur = f.mkdir(cur, "d", f.root);
  CHECK(f.err_of(f.fs->mkdir(f.root, cur, "deeper", {})) == Errc::inval);
  CHECK(f.fs->create_file(f.root, cur, "file", CreateMode::guarded, {}).ok());
}

TEST_CASE("vfs: resolve_path with and without CreationInfo") {
  Fixture f;
  CHECK(f.fs->resolve_path("/", std::nullopt).value() == f.fs->root());
  CHECK(f.err_of(f.fs->resolve_path("/a/b", std::nullopt)) == Errc::noent);
  CHECK(f.err_of(f.fs->resolve_path("relative", std::nullopt)) == Errc::inval);
  efs::CreationInfo ci{1000, 2000, 0750};
  auto r = f.fs->resolve_path("/a/b/", ci);
  REQUIRE(r.ok());
  auto a = f.fs->getattr(*r);
  CHECK(a->type == FileType::dir);
  CHECK(a->uid == 1000);
  CHECK(a->gid == 2000);
  CHECK(a->mode == 0750);
  CHECK(f.fs->resolve_path("/a//b", std::nullopt).value() == *r);
  f.mkfile("file");
  CHECK(f.err_of(f.fs->resolve_path("/file/x", ci)) == Errc::notdir);
  CHECK(f.err_of(f.fs->resolve_path("/a/../b", ci)) == Errc::inval);
}

TEST_CASE("vfs: metered size as EFS meters it") {
  Fixture f;
  CHECK(f.fs->metered_size().total == 6144);  // the empty root: 4 KiB + 2 KiB
  Ino ino = f.mkfile("one");
  // An empty file: metadata and one 4 KiB increment (EFS's example: `du -k`
  // of an empty file says 4).
  CHECK(f.fs->metered_size().total == 6144 + 2048 + 4096);
  REQUIRE(f.fs->write(ino, 0, efs::vfs::test::as_bytes("x"), Stability::file_sync).ok());
  CHECK(f.fs->metered_size().total == 6144 + 2048 + 4096);
  CHECK(f.fs->getattr(ino)->space_used == 4096);
  f.mkdir("d");
  REQUIRE(f.fs->symlink(f.root, f.fs->root(), "l", "one", {}).ok());
  auto m = f.fs->metered_size();
  CHECK(m.total == 6144 + 6144 + 6144 + 6144);
  CHECK(m.standard == m.total);
  // A large sparse file is metered by the storage it really uses.
  Ino sparse = f.mkfile("sparse");
  REQUIRE(
      f.fs->write(sparse, uint64_t{1} << 32, efs::vfs::test::as_bytes("x"), Stability::file_sync)
          .ok());
  auto after = f.fs->metered_size().total;
  CHECK(after >= m.total + 2048 + 4096);
  CHECK(after < m.total + 2048 + (1 << 20));
}

TEST_CASE("vfs: delete_file_system makes handles stale and drops the namespace") {
  Fixture f;
  Ino ino = f.mkfile("x");
  auto h = f.vfs->make_handle(*f.fs, ino);
  REQUIRE(f.vfs->delete_file_system(f.fs_id).ok());
  CHECK(f.vfs->delete_file_system(f.fs_id).ok());  // idempotent
  CHECK(f.vfs->file_system(f.fs_id) == nullptr);
  CHECK(f.err_of(f.vfs->resolve_handle(h)) == Errc::stale);
  CHECK(f.err_of(f.fs->getattr(ino)) == Errc::stale);  // the old object too
  // Recreated under the same id: old handles stay stale.
  REQUIRE(f.vfs->create_file_system(f.fs_id).ok());
  auto fresh = f.vfs->file_system(f.fs_id);
  REQUIRE(fresh);
  CHECK(f.err_of(f.vfs->resolve_handle(f.vfs->make_handle(*f.fs, f.fs->root()))) == Errc::stale);
  CHECK(f.vfs->resolve_handle(f.vfs->make_handle(*fresh, fresh->root())).ok());
}
