// The metadata cache (src/vfs/metadata_cache.h): hot trees read no SQLite,
// the cached view always equals what SQLite holds (a second Vfs with the
// cache disabled reads the same database), rolled-back changes never show,
// the entry budget holds, and READDIR cookies survive eviction.
#include <atomic>
#include <random>
#include <sstream>
#include <thread>

#include "vfs_fixture.h"

namespace efs::vfs::test {

namespace {

std::string show(const Attr& a) {
  std::ostringstream o;
  o << "ino=" << a.ino << " type=" << static_cast<int>(a.type) << " mode=" << std::oct << a.mode
    << std::dec << " nlink=" << a.nlink << " uid=" << a.uid << " gid=" << a.gid
    << " size=" << a.size << " used=" << a.space_used << " atime=" << a.atime.sec << "."
    << a.atime.nsec << " mtime=" << a.mtime.sec << "." << a.mtime.nsec << " ctime=" << a.ctime.sec
    << "." << a.ctime.nsec << " btime=" << a.btime.sec << "." << a.btime.nsec
    << " change=" << a.change;
  return o.str();
}

template <class R>
std::string show_result(const R& r) {
  if (!r) return "error " + std::to_string(static_cast<uint32_t>(r.error()));
  return show(*r);
}

const std::vector<std::string> kNames = {"a", "b", "c", "d", "e", "f"};

// What a client can see of the tree below dir: READDIR in small pages (with
// cookies), LOOKUP and GETATTR of every entry, LOOKUP of every name of the
// pool (negative entries), "..", recursively; then GETATTR of `extra`.
void dump(FileSystem& fs, Ino dir, std::ostringstream& o, int depth = 0) {
  Cred root;
  o << "dir " << dir << " " << show_result(fs.getattr(dir)) << "\n";
  o << " .. " << show_result(fs.lookup_parent(root, dir)) << "\n";
  for (const auto& n : kNames) o << " lookup " << n << " " << show_result(fs.lookup(root, dir, n)) << "\n";
  uint64_t cookie = 0;
  std::vector<std::pair<std::string, Attr>> subdirs;
  for (;;) {
    auto r = fs.readdir(root, dir, cookie, 3);
    if (!r) {
      o << " readdir error " << static_cast<uint32_t>(r.error()) << "\n";
      break;
    }
    for (const auto& e : r->entries) {
      o << " entry " << e.name << " cookie=" << e.cookie << " " << show(e.attr) << "\n";
      o << "  getattr " << show_result(fs.getattr(e.attr.ino)) << "\n";
      if (e.attr.type == FileType::dir) subdirs.emplace_back(e.name, e.attr);
      cookie = e.cookie;
    }
    if (r->eof) break;
  }
  if (depth < 8) {
    for (const auto& [name, a] : subdirs) dump(fs, a.ino, o, depth + 1);
  }
}

std::string dump(FileSystem& fs, const std::vector<Ino>& extra) {
  std::ostringstream o;
  dump(fs, fs.root(), o);
  for (Ino i : extra) o << "inode " << i << " " << show_result(fs.getattr(i)) << "\n";
  return o.str();
}

// A Vfs without a cache on the fixture's database: reads SQLite every time.
std::unique_ptr<Vfs> reference_vfs(Fixture& f) {
  VfsOptions o;
  o.metadata_cache_entries = 0;
  auto v = Vfs::open(*f.db, f.dir, o);
  REQUIRE(v.ok());
  return std::move(*v);
}

// A Fixture whose Vfs has a cache of `entries`.
void reopen_with_cache(Fixture& f, std::size_t entries) {
  f.fs.reset();
  f.vfs.reset();
  VfsOptions o;
  o.metadata_cache_entries = entries;
  auto v = Vfs::open(*f.db, f.dir, o);
  REQUIRE(v.ok());
  f.vfs = std::move(*v);
  f.fs = f.vfs->file_system(f.fs_id);
  REQUIRE(f.fs);
}

void walk(Vfs& vfs, FileSystem& fs, Ino dir) {
  Cred root;
  REQUIRE(fs.getattr(dir).ok());
  auto h = vfs.make_handle(fs, dir);
  REQUIRE(vfs.resolve_handle(h).ok());
  auto r = fs.readdir(root, dir, 0, 1000);
  REQUIRE(r.ok());
  for (const auto& e : r->entries) {
    REQUIRE(fs.lookup(root, dir, e.name).ok());
    REQUIRE(fs.getattr(e.attr.ino).ok());
    REQUIRE(vfs.resolve_handle(vfs.make_handle(fs, e.attr.ino)).ok());
    if (e.attr.type == FileType::dir) walk(vfs, fs, e.attr.ino);
  }
  CHECK(fs.lookup(root, dir, "no-such-name").error() == Errc::noent);
  CHECK(fs.lookup_parent(root, dir).ok());
}

void make_tree(Fixture& f) {
  Ino d1 = f.mkdir("d1");
  Ino d2 = f.mkdir(f.fs->root(), "d2", f.root);
  Ino sub = f.mkdir(d2, "sub", f.root);
  for (int i = 0; i < 20; ++i) f.mkfile(d1, "f" + std::to_string(i), f.root);
  for (int i = 0; i < 5; ++i) f.mkfile(sub, "g" + std::to_string(i), f.root);
  REQUIRE(f.fs->symlink(f.root, d2, "ln", "../d1", {}).ok());
}

// One random mutation of the tree, through the cached file system.
struct Mutator {
  Fixture& f;
  std::mt19937 rng;
  std::vector<Ino> dirs, files;
  std::vector<std::pair<Ino, std::shared_ptr<OpenHold>>> holds;
  std::string last;

  Mutator(Fixture& fx, uint32_t seed) : f(fx), rng(seed) { dirs.push_back(f.fs->root()); }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng)];
  }
  int roll(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }

  void step() {
    Cred root;
    Ino d = pick(dirs);
    const std::string& n = pick(kNames);
    switch (roll(15)) {
      case 0:
      case 1: {
        last = "create " + n;
        auto r = f.fs->create_file(root, d, n, CreateMode::guarded, {});
        if (r) files.push_back(r->attr.ino);
        break;
      }
      case 2: {
        last = "mkdir " + n;
        auto r = f.fs->mkdir(root, d, n, {});
        if (r) dirs.push_back(r->attr.ino);
        break;
      }
      case 3:
        last = "symlink " + n;
        (void)f.fs->symlink(root, d, n, "target-" + n, {});
        break;
      case 4:
        last = "mknod " + n;
        (void)f.fs->mknod(root, d, n, FileType::fifo, {});
        break;
      case 5:
        if (files.empty()) break;
        last = "link " + n;
        (void)f.fs->link(root, pick(files), d, n);
        break;
      case 6:
      case 7:
        last = "remove " + n;
        (void)f.fs->remove(root, d, n);
        break;
      case 8:
      case 9: {
        Ino d2 = pick(dirs);
        const std::string& n2 = pick(kNames);
        last = "rename " + n + " -> " + n2;
        (void)f.fs->rename(root, d, n, d2, n2);
        break;
      }
      case 10: {
        if (files.empty()) break;
        SetAttr sa;
        switch (roll(5)) {
          case 0: sa.mode = static_cast<uint32_t>(roll(07777)); break;
          case 1: sa.size = static_cast<uint64_t>(roll(10000)); break;
          case 2: sa.uid = static_cast<uint32_t>(roll(3)); sa.gid = 7; break;
          case 3: sa.mtime_how = TimeHow::client_time; sa.mtime = Time{1000 + roll(100), 5}; break;
          default: sa.atime_how = TimeHow::server_time; break;
        }
        last = "setattr";
        (void)f.fs->setattr(root, pick(files), sa);
        break;
      }
      case 11: {
        if (files.empty()) break;
        std::string data(static_cast<std::size_t>(1 + roll(5000)), 'x');
        Ino ino = pick(files);
        last = "write";
        if (roll(2)) {
          (void)f.fs->write(ino, static_cast<uint64_t>(roll(8000)), as_bytes(data),
                            Stability::file_sync, 0);
        } else {
          // The overlay lives in the cached Vfs only: COMMIT makes it a row.
          (void)f.fs->write(ino, static_cast<uint64_t>(roll(8000)), as_bytes(data),
                            Stability::unstable, 0);
          (void)f.fs->commit(ino);
        }
        break;
      }
      case 12: {
        if (files.empty()) break;
        Ino ino = pick(files);
        last = "hold";
        auto h = f.fs->hold(ino);
        if (h) holds.emplace_back(ino, *h);
        break;
      }
      case 13:
        if (holds.empty()) break;
        last = "release";
        holds.erase(holds.begin() + roll(static_cast<int>(holds.size())));
        break;
      default: {
        Ino sd = pick(dirs);
        last = "rmdir-ish remove of a directory entry " + n;
        (void)f.fs->remove(root, sd, n);
        break;
      }
    }
  }
  std::vector<Ino> held() const {
    std::vector<Ino> out;
    for (const auto& [ino, h] : holds) out.push_back(ino);
    return out;
  }
};

void random_ops_match_reference(std::size_t cache_entries, uint32_t seed, int steps) {
  Fixture f;
  auto ref = reference_vfs(f);
  reopen_with_cache(f, cache_entries);
  auto rfs = ref->file_system(f.fs_id);
  REQUIRE(rfs);
  Mutator m(f, seed);
  for (int i = 0; i < steps; ++i) {
    m.step();
    // Read everything once through the cache (filling it), then compare a
    // second cached read with SQLite's truth.
    (void)dump(*f.fs, m.held());
    std::string cached = dump(*f.fs, m.held());
    std::string truth = dump(*rfs, m.held());
    if (cached != truth) {
      INFO("step " << i << ": " << m.last);
      CHECK(cached == truth);
      return;
    }
  }
}

}  // namespace

TEST_CASE("metadata cache: repeated LOOKUP, GETATTR, READDIR of a hot tree run no SQLite") {
  Fixture f;
  make_tree(f);
  walk(*f.vfs, *f.fs, f.fs->root());  // fills the cache
  const uint64_t before = meta::statement_steps();
  for (int i = 0; i < 3; ++i) walk(*f.vfs, *f.fs, f.fs->root());
  CHECK(meta::statement_steps() == before);

  // The counter counts: the same walk without a cache runs statements.
  auto ref = reference_vfs(f);
  auto rfs = ref->file_system(f.fs_id);
  const uint64_t r0 = meta::statement_steps();
  walk(*ref, *rfs, rfs->root());
  CHECK(meta::statement_steps() > r0 + 50);
}

TEST_CASE("metadata cache: a write's change is served from memory after it returns") {
  Fixture f;
  make_tree(f);
  walk(*f.vfs, *f.fs, f.fs->root());
  auto d1 = f.fs->lookup(f.root, f.fs->root(), "d1");
  REQUIRE(d1.ok());
  // Write-through: the new file, its name and the directory's new change
  // attribute are in the cache, so GETATTR and LOOKUP read no SQLite.
  auto made = f.fs->create_file(f.root, d1->ino, "new", CreateMode::guarded, {});
  REQUIRE(made.ok());
  const uint64_t before = meta::statement_steps();
  auto dir_now = f.fs->getattr(d1->ino);
  REQUIRE(dir_now.ok());
  CHECK(dir_now->change == made->dir.after);
  auto found = f.fs->lookup(f.root, d1->ino, "new");
  REQUIRE(found.ok());
  CHECK(found->ino == made->attr.ino);
  auto page = f.fs->readdir(f.root, d1->ino, 0, 100);
  REQUIRE(page.ok());
  CHECK(page->entries.size() == 21);
  CHECK(page->entries.back().name == "new");
  CHECK(meta::statement_steps() == before);
}

TEST_CASE("metadata cache: after every kind of change the cached view equals SQLite's") {
  SUBCASE("default budget") { random_ops_match_reference(VfsOptions{}.metadata_cache_entries, 1, 400); }
  SUBCASE("a budget that evicts all the time") { random_ops_match_reference(24, 2, 400); }
  SUBCASE("another sequence") { random_ops_match_reference(1000, 3, 400); }
}

TEST_CASE("metadata cache: a rolled-back operation leaves nothing in the cache") {
  Fixture f;
  auto ref = reference_vfs(f);
  auto rfs = ref->file_system(f.fs_id);
  Ino a = f.mkfile("a");
  Ino d = f.mkdir("d");
  (void)dump(*f.fs, {});  // warm: the root's listing, "a", "bad" negative
  auto root_before = f.fs->getattr(f.fs->root());
  REQUIRE(root_before.ok());
  // Any new entry named bad* fails inside the transaction, after the
  // operation already changed other rows (the source name of a rename, the
  // new inode of a create).
  REQUIRE(f.db->write([](meta::Conn& c) {
                 return c.exec(
                     "CREATE TRIGGER refuse_bad BEFORE INSERT ON vfs_dirents "
                     "WHEN CAST(NEW.name AS TEXT) LIKE 'bad%' BEGIN SELECT RAISE(ABORT, 'injected'); END");
               }).ok());
  CHECK(f.err_of(f.fs->rename(f.root, f.fs->root(), "a", d, "bad")) == Errc::io);
  CHECK(f.err_of(f.fs->create_file(f.root, f.fs->root(), "bad2", CreateMode::guarded, {})) ==
        Errc::io);
  CHECK(f.err_of(f.fs->mkdir(f.root, d, "bad3", {})) == Errc::io);
  auto still = f.fs->lookup(f.root, f.fs->root(), "a");
  REQUIRE(still.ok());
  CHECK(still->ino == a);
  CHECK(f.err_of(f.fs->lookup(f.root, d, "bad")) == Errc::noent);
  CHECK(f.fs->getattr(f.fs->root())->change == root_before->change);
  CHECK(dump(*f.fs, {}) == dump(*rfs, {}));
}

TEST_CASE("metadata cache: the entry budget holds, and evicted entries read back right") {
  Fixture f;
  reopen_with_cache(f, 200);
  auto ref = reference_vfs(f);
  auto rfs = ref->file_system(f.fs_id);
  std::vector<Ino> inos;
  for (int i = 0; i < 600; ++i) inos.push_back(f.mkfile("f" + std::to_string(i)));
  for (Ino i : inos) REQUIRE(f.fs->getattr(i).ok());
  CHECK(f.vfs->metadata_cache_size() <= 200);
  CHECK(f.vfs->metadata_cache_size() >= 150);
  // Everything still reads as SQLite has it (and re-reading the first files,
  // long evicted, asks SQLite again).
  const uint64_t before = meta::statement_steps();
  for (Ino i : inos) CHECK(show_result(f.fs->getattr(i)) == show_result(rfs->getattr(i)));
  CHECK(meta::statement_steps() > before);
  CHECK(f.vfs->metadata_cache_size() <= 200);
}

TEST_CASE("metadata cache: READDIR cookies stay valid across eviction and refill") {
  Fixture f;
  reopen_with_cache(f, 400);
  Ino d = f.mkdir("d");
  for (int i = 0; i < 40; ++i) f.mkfile(d, "n" + std::to_string(i), f.root);
  REQUIRE(f.fs->remove(f.root, d, "n5").ok());  // a gap in the cookies
  auto first = f.fs->readdir(f.root, d, 0, 1000);  // served from memory after this
  REQUIRE(first.ok());
  REQUIRE(first->entries.size() == 39);
  uint64_t resume = first->entries[9].cookie;
  // Evict the listing: fill the cache with other entries.
  Ino other = f.mkdir("other");
  for (int i = 0; i < 500; ++i) f.mkfile(other, "o" + std::to_string(i), f.root);
  auto again = f.fs->readdir(f.root, d, resume, 1000);
  REQUIRE(again.ok());
  REQUIRE(again->entries.size() == 29);
  for (std::size_t i = 0; i < again->entries.size(); ++i) {
    CHECK(again->entries[i].name == first->entries[10 + i].name);
    CHECK(again->entries[i].cookie == first->entries[10 + i].cookie);
  }
  CHECK(again->eof);
  // A cookie past the directory's last one is still bad, cached or not.
  CHECK(f.err_of(f.fs->readdir(f.root, d, 1u << 30, 10)) == Errc::bad_cookie);
}

TEST_CASE("metadata cache: concurrent readers and writers end as SQLite has it") {
  Fixture f;
  reopen_with_cache(f, 300);  // small: eviction races with fills and applies
  auto ref = reference_vfs(f);
  auto rfs = ref->file_system(f.fs_id);
  REQUIRE(f.db->write([](meta::Conn& c) {
                 return c.exec(
                     "CREATE TRIGGER refuse_bad BEFORE INSERT ON vfs_dirents "
                     "WHEN CAST(NEW.name AS TEXT) LIKE 'bad%' BEGIN SELECT RAISE(ABORT, 'injected'); END");
               }).ok());
  std::vector<Ino> dirs;
  for (int i = 0; i < 3; ++i) dirs.push_back(f.mkdir("d" + std::to_string(i)));
  std::atomic<int> wrong{0}, wrong_create{0}, wrong_remove{0}, wrong_bad{0}, wrong_readdir{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Cred root;
      std::mt19937 rng(static_cast<uint32_t>(t));
      for (int i = 0; i < 150; ++i) {
        Ino d = dirs[rng() % dirs.size()];
        std::string n = "w" + std::to_string(t) + "_" + std::to_string(rng() % 10);
        switch (rng() % 4) {
          case 0: {
            auto r = f.fs->create_file(root, d, n, CreateMode::unchecked, {});
            // Read your own write: the answer is in the cache before return.
            if (r) {
              auto l = f.fs->lookup(root, d, n);
              if (!l || l->ino != r->attr.ino) ++wrong_create;
              auto g = f.fs->getattr(d);
              if (!g || g->change < r->dir.after) ++wrong_create;
            }
            break;
          }
          case 1:
            if (f.fs->remove(root, d, n).ok() && f.fs->lookup(root, d, n).ok()) ++wrong_remove;
            break;
          case 2: {
            Ino d2 = dirs[rng() % dirs.size()];
            std::string n2 = "w" + std::to_string(t) + "_" + std::to_string(rng() % 10);
            (void)f.fs->rename(root, d, n, d2, n2);
            break;
          }
          default:
            // A member of a group commit that fails while the others commit.
            if (f.fs->create_file(root, d, "bad" + n, CreateMode::guarded, {}).ok()) ++wrong_bad;
            break;
        }
      }
    });
  }
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      Cred root;
      while (!stop) {
        for (Ino d : dirs) {
          auto r = f.fs->readdir(root, d, 0, 1000);
          if (!r) {
            ++wrong_readdir;
            continue;
          }
          for (const auto& e : r->entries) {
            (void)f.fs->lookup(root, d, e.name);
            (void)f.fs->getattr(e.attr.ino);
            if (e.name.rfind("bad", 0) == 0) ++wrong;
          }
        }
      }
    });
  }
  for (int t = 0; t < 4; ++t) threads[t].join();
  stop = true;
  for (std::size_t t = 4; t < threads.size(); ++t) threads[t].join();
  CHECK(wrong == 0);
  CHECK(wrong_create == 0);
  CHECK(wrong_remove == 0);
  CHECK(wrong_bad == 0);
  CHECK(wrong_readdir == 0);
  (void)dump(*f.fs, {});
  CHECK(dump(*f.fs, {}) == dump(*rfs, {}));
}

TEST_CASE("metadata cache: a deleted file system's entries go, and it reads as stale") {
  Fixture f;
  Ino a = f.mkfile("a");
  REQUIRE(f.fs->getattr(a).ok());
  CHECK(f.vfs->metadata_cache_size() > 0);
  REQUIRE(f.vfs->delete_file_system(f.fs_id).ok());
  CHECK(f.vfs->metadata_cache_size() == 0);
  CHECK(f.err_of(f.fs->getattr(a)) == Errc::stale);
  CHECK(f.err_of(f.fs->lookup(f.root, f.fs->root(), "a")) == Errc::stale);
}

}  // namespace efs::vfs::test
