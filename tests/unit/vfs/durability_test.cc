// What the vfs acknowledged as stable must survive the process dying at any
// moment (kill -9): a child process makes changes and dies without any
// cleanup, and the parent reopens the data dir.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vfs_fixture.h"

using namespace efs::vfs;
using efs::vfs::test::as_bytes;
using efs::vfs::test::Fixture;

TEST_CASE("vfs durability: acknowledged changes survive the process being killed") {
  Fixture f;
  Ino d = f.mkdir("dir");
  std::vector<uint8_t> handle_before = f.vfs->make_handle(*f.fs, d);
  // The fixture's own Db stays open in the parent; the child opens its own.
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto db = efs::meta::Db::open(f.dir + "/meta.db");
    if (!db) _exit(2);
    auto vfs = Vfs::open(**db, f.dir);
    if (!vfs) _exit(3);
    auto fs = (*vfs)->file_system(f.fs_id);
    Cred root;
    auto c = fs->create_file(root, d, "stable", CreateMode::guarded, {});
    if (!c) _exit(4);
    if (!fs->write(c->attr.ino, 0, as_bytes("durable"), Stability::file_sync)) _exit(5);
    auto u = fs->create_file(root, d, "committed", CreateMode::guarded, {});
    if (!u) _exit(6);
    if (!fs->write(u->attr.ino, 0, as_bytes("unstable+commit"), Stability::unstable)) _exit(7);
    if (!fs->commit(u->attr.ino)) _exit(8);
    if (!fs->rename(root, d, "stable", d, "renamed")) _exit(9);
    if (!fs->mkdir(root, fs->root(), "made", {})) _exit(10);
    kill(getpid(), SIGKILL);  // no destructors, no close, no checkpoint
    _exit(11);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  f.reopen();
  auto renamed = f.fs->lookup(f.root, d, "renamed");
  REQUIRE(renamed.ok());
  CHECK(renamed->size == 7);
  auto r = f.fs->read(renamed->ino, 0, 100);
  CHECK(std::string(r->data.begin(), r->data.end()) == "durable");
  CHECK(f.err_of(f.fs->lookup(f.root, d, "stable")) == Errc::noent);
  auto committed = f.fs->lookup(f.root, d, "committed");
  REQUIRE(committed.ok());
  CHECK(committed->size == 15);
  CHECK(f.fs->lookup(f.root, f.fs->root(), "made").ok());
  auto h = f.vfs->resolve_handle(handle_before);
  REQUIRE(h.ok());
  CHECK(h->second == d);
}
