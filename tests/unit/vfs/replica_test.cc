// Replication's copy (vfs/replica_sync.h) between two file systems of one
// vfs: the first sync, incremental syncs (renames, removals, hard links,
// special files), replacing an existing destination's contents, and a crash
// at every disk call of a sync, after which the next sync converges.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "crash_fixture.h"
#include "vfs/replica_sync.h"

namespace efs::vfs {
namespace {

using test::CrashFixture;

const std::string kDest = "fs-0fedcba9876543210";

struct Node {
  FileType type = FileType::reg;
  uint32_t mode = 0, uid = 0, gid = 0;
  Time mtime;
  std::string content;  // data, or a symlink's target
  friend bool operator==(const Node&, const Node&) = default;
};

struct Tree {
  std::map<std::string, Node> nodes;
  // The paths of each inode with more than one name: hard links.
  std::set<std::set<std::string>> links;
  bool operator==(const Tree& o) const { return nodes == o.nodes && links == o.links; }
};

std::string read_data(FileSystem& fs, Ino ino) {
  std::string out;
  for (;;) {
    auto r = fs.read_for_copy(ino, out.size(), 1 << 20);
    REQUIRE(r.ok());
    out.append(r->data.begin(), r->data.end());
    if (r->eof || r->data.empty()) return out;
  }
}

void walk(FileSystem& fs, Ino dir, const std::string& path, Tree& t,
          std::map<Ino, std::set<std::string>>& names) {
  Cred root;
  uint64_t cookie = 0;
  for (;;) {
    auto r = fs.readdir(root, dir, cookie, 100);
    REQUIRE(r.ok());
    for (const auto& e : r->entries) {
      cookie = e.cookie;
      const std::string p = path + "/" + e.name;
      Node n{e.attr.type, e.attr.mode, e.attr.uid, e.attr.gid, e.attr.mtime, ""};
      if (e.attr.type == FileType::reg) n.content = read_data(fs, e.attr.ino);
      if (e.attr.type == FileType::lnk) n.content = *fs.readlink(e.attr.ino);
      t.nodes[p] = n;
      if (e.attr.type != FileType::dir) names[e.attr.ino].insert(p);
      if (e.attr.type == FileType::dir) walk(fs, e.attr.ino, p, t, names);
    }
    if (r->eof || r->entries.empty()) break;
  }
}

Tree tree_of(FileSystem& fs) {
  Tree t;
  std::map<Ino, std::set<std::string>> names;
  walk(fs, fs.root(), "", t, names);
  auto a = fs.getattr(fs.root());
  REQUIRE(a.ok());
  t.nodes["/"] = Node{FileType::dir, a->mode, a->uid, a->gid, a->mtime, ""};
  for (auto& [ino, paths] : names)
    if (paths.size() > 1) t.links.insert(paths);
  return t;
}

std::string pattern(std::size_t n, int seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 13 + i / 977);
  return s;
}

struct Pair {
  CrashFixture f;
  std::shared_ptr<FileSystem> dst;
  Cred root;

  Pair() {
    REQUIRE(f.vfs->create_file_system(kDest).ok());
    dst = f.vfs->file_system(kDest);
    REQUIRE(dst);
  }
  FileSystem& src() { return *f.fs; }
  void restart(bool power_loss) {
    dst.reset();
    f.restart(power_loss);
    dst = f.vfs->file_system(kDest);
    REQUIRE(dst);
  }
  Ino file(Ino dir, const std::string& name, const std::string& data, uint32_t mode = 0644,
           uint32_t uid = 0) {
    SetAttr sa;
    sa.mode = mode;
    sa.uid = uid;
    sa.gid = uid;
    auto c = src().create_file(root, dir, name, CreateMode::guarded, sa);
    REQUIRE(c.ok());
    if (!data.empty()) {
      auto w = src().write(
          c->attr.ino, 0,
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()),
          Stability::file_sync);
      REQUIRE(w.ok());
    }
    return c->attr.ino;
  }
  Ino dir(Ino parent, const std::string& name, uint32_t mode = 0755, uint32_t uid = 0) {
    SetAttr sa;
    sa.mode = mode;
    sa.uid = uid;
    sa.gid = uid;
    auto d = src().mkdir(root, parent, name, sa);
    REQUIRE(d.ok());
    return d->attr.ino;
  }
  // A tree with a bit of everything.
  void populate() {
    Ino r = src().root();
    file(r, "empty", "");
    file(r, "small", "hello, replica\n", 0600, 1000);
    file(r, "big", pattern(3 * (1 << 20) + 123, 5), 0640, 1001);
    Ino d = dir(r, "dir", 0750, 1000);
    Ino sub = dir(d, "sub");
    Ino leaf = file(sub, "leaf", pattern(5000, 9), 04755);
    REQUIRE(src().link(root, leaf, d, "leaf-link").ok());
    REQUIRE(src().symlink(root, d, "to-small", "../small", {}).ok());
    REQUIRE(src().mknod(root, d, "fifo", FileType::fifo, {}).ok());
    REQUIRE(src().mknod(root, sub, "sock", FileType::sock, {}).ok());
    // A hole in the middle of a file.
    Ino sparse = file(r, "sparse", "");
    REQUIRE(src()
                .write(sparse, 2 << 20,
                       std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("end"), 3),
                       Stability::file_sync)
                .ok());
  }
};

Result<ReplicaSyncStats, ReplicaSyncError> sync(Pair& p, Disk* disk = nullptr) {
  ReplicaSync rs(*p.f.db, disk);
  return rs.sync(p.src(), *p.dst);
}

TEST_CASE("replica: the first sync copies the whole tree, later ones only what changed") {
  Pair p;
  p.populate();
  ReplicaSync rs(*p.f.db);
  REQUIRE(rs.attach(p.src(), *p.dst).ok());
  CHECK(p.src().change_log_on());
  auto first = rs.sync(p.src(), *p.dst);
  REQUIRE(first.ok());
  CHECK(first->full);
  CHECK(first->created >= 10);
  CHECK(tree_of(*p.dst) == tree_of(p.src()));
  CHECK(tree_of(*p.dst).links.size() == 1);
  CHECK(tree_of(*p.dst).nodes["/dir/sub/leaf"].mode == 04755);  // chown kept set-ID
  CHECK(tree_of(*p.dst).nodes["/small"].uid == 1000);

  // Nothing changed: nothing copied.
  auto idle = rs.sync(p.src(), *p.dst);
  REQUIRE(idle.ok());
  CHECK(!idle->full);
  CHECK(idle->bytes == 0);
  CHECK(idle->created == 0);

  // Renames (a big file and a directory), a removal, a change of content and
  // of mode, a new hard link and a new subtree.
  Cred root;
  Ino r = p.src().root();
  auto dir = p.src().lookup(root, r, "dir");
  REQUIRE(dir.ok());
  REQUIRE(p.src().rename(root, r, "big", dir->ino, "big-moved").ok());
  REQUIRE(p.src().rename(root, dir->ino, "sub", r, "sub-moved").ok());
  REQUIRE(p.src().remove(root, r, "empty").ok());
  auto small = p.src().lookup(root, r, "small");
  REQUIRE(small.ok());
  const std::string more = "changed content";
  REQUIRE(p.src()
              .write(small->ino, 0,
                     std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(more.data()),
                                              more.size()),
                     Stability::unstable)
              .ok());
  REQUIRE(p.src().commit(small->ino).ok());
  SetAttr chmod;
  chmod.mode = 0444;
  REQUIRE(p.src().setattr(root, small->ino, chmod).ok());
  REQUIRE(p.src().link(root, small->ino, r, "small-link").ok());
  Ino fresh = p.dir(r, "fresh");
  p.file(fresh, "inside", "new file");
  auto second = rs.sync(p.src(), *p.dst);
  REQUIRE(second.ok());
  CHECK(!second->full);
  CHECK(second->changes_read > 0);
  // The big file and the directory were moved, not copied again.
  CHECK(second->bytes < 1024);
  CHECK(second->linked >= 3);
  CHECK(tree_of(*p.dst) == tree_of(p.src()));

  // A name that changes type, and a swap of two names.
  REQUIRE(p.src().remove(root, r, "sparse").ok());
  p.dir(r, "sparse");
  REQUIRE(p.src().rename(root, r, "small", r, "tmp").ok());
  REQUIRE(p.src().rename(root, r, "sub-moved", r, "small").ok());
  REQUIRE(p.src().rename(root, r, "tmp", r, "sub-moved").ok());
  auto third = rs.sync(p.src(), *p.dst);
  REQUIRE(third.ok());
  CHECK(tree_of(*p.dst) == tree_of(p.src()));

  // Detached: the destination keeps everything, the log goes off.
  const Tree before = tree_of(*p.dst);
  REQUIRE(rs.detach(&p.src(), *p.dst).ok());
  CHECK(!p.src().change_log_on());
  CHECK(tree_of(*p.dst) == before);
}

TEST_CASE("replica: the change log survives a restart, and a new pairing starts over") {
  Pair p;
  p.populate();
  {
    ReplicaSync rs(*p.f.db);
    REQUIRE(rs.attach(p.src(), *p.dst).ok());
    REQUIRE(rs.sync(p.src(), *p.dst).ok());
  }
  p.restart(false);
  CHECK(p.src().change_log_on());
  Cred root;
  REQUIRE(p.src().remove(root, p.src().root(), "small").ok());
  auto s = sync(p);
  REQUIRE(s.ok());
  CHECK(!s->full);
  CHECK(s->removed == 1);
  CHECK(tree_of(*p.dst) == tree_of(p.src()));
}

TEST_CASE("replica: replicating into an existing file system replaces its contents") {
  Pair p;
  p.populate();
  Cred root;
  // The destination's own files, one of them with a name the source has.
  SetAttr sa;
  sa.mode = 0600;
  REQUIRE(p.dst->create_file(root, p.dst->root(), "small", CreateMode::guarded, sa).ok());
  auto d = p.dst->mkdir(root, p.dst->root(), "old-dir", sa);
  REQUIRE(d.ok());
  REQUIRE(p.dst->create_file(root, d->attr.ino, "old", CreateMode::guarded, sa).ok());
  ReplicaSync rs(*p.f.db);
  REQUIRE(rs.attach(p.src(), *p.dst).ok());
  auto s = rs.sync(p.src(), *p.dst);
  REQUIRE(s.ok());
  CHECK(s->full);
  CHECK(tree_of(*p.dst) == tree_of(p.src()));
}

TEST_CASE("replica: a crash at every disk call of a sync; the next sync converges") {
  for (bool first : {true, false}) {
    uint64_t n = 1;
    bool done_once = false;
    for (; n <= 400; n += (n < 40 ? 1 : 7)) {
      CAPTURE(first);
      CAPTURE(n);
      Pair p;
      p.populate();
      {
        ReplicaSync rs(*p.f.db);
        REQUIRE(rs.attach(p.src(), *p.dst).ok());
        if (!first) {
          REQUIRE(rs.sync(p.src(), *p.dst).ok());
          Cred root;
          Ino r = p.src().root();
          auto dir = p.src().lookup(root, r, "dir");
          REQUIRE(dir.ok());
          REQUIRE(p.src().rename(root, r, "big", dir->ino, "big-moved").ok());
          REQUIRE(p.src().remove(root, r, "small").ok());
          p.file(r, "new", pattern(300000, 3));
        }
      }
      const Tree want = tree_of(p.src());
      p.f.disk.crash_at(n);
      auto r = sync(p, &p.f.disk);
      const bool crashed = p.f.disk.crashed();
      p.restart(false);
      CHECK(p.f.integrity() == "ok");
      CHECK(tree_of(p.src()) == want);
      auto again = sync(p, &p.f.disk);
      REQUIRE(again.ok());
      CHECK(tree_of(*p.dst) == want);
      if (!crashed) {
        CHECK(r.ok());
        done_once = true;
        break;
      }
      // A crash after the position moved (in the trim of the log, which is
      // only tidying) still leaves a completed sync.
    }
    CHECK(done_once);
    CHECK(n > 5);
  }
}

}  // namespace
}  // namespace efs::vfs
