// Crash tests in the style of leveldb's fault_injection_test: each durable
// operation runs with the process "dying" at its 1st, 2nd, ... call to the
// Disk (the SQLite commit counts as one), until it runs through; after each
// crash the data dir is reopened twice over: as after kill -9 (unsynced
// writes survive in the page cache) and as after a power loss (they do not).
// What was acknowledged must be there, nothing half-done may be visible, and
// SQLite's integrity check must pass. The model: docs/crash-consistency.md.
#include <doctest/doctest.h>

#include <functional>
#include <optional>

#include "crash_fixture.h"
#include "vfs_fixture.h"

using namespace efs::vfs;
using efs::vfs::test::as_bytes;
using efs::vfs::test::CrashFixture;

namespace {

struct Scenario {
  std::function<void(CrashFixture&)> setup;
  // Runs the operation; true if it was acknowledged (as stable, for writes).
  std::function<bool(CrashFixture&)> op;
  // After the restart: `acked` is op's answer.
  std::function<void(CrashFixture&, bool acked)> check;
};

constexpr uint64_t kMaxSteps = 64;

void crash_at_every_step(const Scenario& s) {
  for (bool power_loss : {false, true}) {
    uint64_t n = 1;
    for (; n <= kMaxSteps; ++n) {
      CAPTURE(power_loss);
      CAPTURE(n);
      CrashFixture f;
      s.setup(f);
      f.disk.crash_at(n);
      bool acked = s.op(f);
      bool crashed = f.disk.crashed();
      // A crash at a call means the process died there: an answer it gave
      // before dying was sent, so it counts; one after is never seen.
      f.restart(power_loss);
      CHECK(f.integrity() == "ok");
      s.check(f, acked);
      if (!crashed) {
        CHECK(acked);  // without a crash the operation succeeds
        break;
      }
    }
    CHECK(n > 1);  // the operation reached the disk at least once
    CHECK(n <= kMaxSteps);
  }
}

std::optional<Attr> find(CrashFixture& f, const std::string& name) {
  auto r = f.fs->lookup(f.root, f.fs->root(), name);
  if (!r) {
    REQUIRE(r.error() == Errc::noent);
    return std::nullopt;
  }
  return *r;
}

Ino make(CrashFixture& f, const std::string& name, const std::string& data) {
  auto c = f.fs->create_file(f.root, f.fs->root(), name, CreateMode::guarded, {});
  REQUIRE(c.ok());
  if (!data.empty()) {
    auto w = f.fs->write(c->attr.ino, 0, as_bytes(data), Stability::file_sync);
    REQUIRE(w.ok());
  }
  return c->attr.ino;
}

// All bytes of the file, as its size says; the read must give them all.
std::string content(CrashFixture& f, const Attr& a) {
  auto r = f.fs->read(a.ino, 0, static_cast<uint32_t>(a.size + 100));
  REQUIRE(r.ok());
  REQUIRE(r->data.size() == a.size);
  return {r->data.begin(), r->data.end()};
}

// Growing the file must show zeros past its old end: bytes stored by a write
// that was never acknowledged must not reappear (chunk data and the size
// agree).
void check_zeros_past_end(CrashFixture& f, const Attr& a) {
  SetAttr sa;
  sa.size = a.size + 32;
  REQUIRE(f.fs->setattr(f.root, a.ino, sa).ok());
  auto r = f.fs->read(a.ino, a.size, 64);
  REQUIRE(r.ok());
  CHECK(std::string(r->data.begin(), r->data.end()) == std::string(32, '\0'));
}

// Each byte is the old one or the new one (an unacknowledged write may be
// torn), and the file is one of the two sizes.
void check_old_or_new(const std::string& got, const std::string& old_data,
                      const std::string& new_data) {
  REQUIRE((got.size() == old_data.size() || got.size() == new_data.size()));
  if (got.size() == new_data.size() && got.size() > old_data.size()) {
    // The new size is only committed after the data is synced.
    CHECK(got == new_data);
    return;
  }
  for (std::size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CHECK((got[i] == old_data[i] || (i < new_data.size() && got[i] == new_data[i])));
  }
}

const std::string kOld = "old-data";
const std::string kNew = "old-NEWDATA-NEWDATA!";  // kOld with "NEWDATA-NEWDATA!" at 4

bool write_at_4(CrashFixture& f, Stability how) {
  auto a = find(f, "f");
  REQUIRE(a);
  auto w = f.fs->write(a->ino, 4, as_bytes("NEWDATA-NEWDATA!"), how);
  return w.ok() && w->committed == Stability::file_sync;
}

void check_write(CrashFixture& f, bool acked) {
  auto a = find(f, "f");
  REQUIRE(a);
  std::string got = content(f, *a);
  if (acked) CHECK(got == kNew);
  check_old_or_new(got, kOld, kNew);
  check_zeros_past_end(f, *a);
}

}  // namespace

TEST_CASE("crash: WRITE FILE_SYNC over and past the end") {
  crash_at_every_step({[](CrashFixture& f) { make(f, "f", kOld); },
                       [](CrashFixture& f) { return write_at_4(f, Stability::file_sync); },
                       check_write});
}

TEST_CASE("crash: WRITE FILE_SYNC to a file that has no data yet") {
  // The first write makes the chunk file (and its shard directory): a
  // FILE_SYNC reply must also cover those directory entries.
  crash_at_every_step({[](CrashFixture& f) { make(f, "f", ""); },
                       [](CrashFixture& f) {
                         auto a = find(f, "f");
                         auto w = f.fs->write(a->ino, 0, as_bytes("hello"), Stability::file_sync);
                         return w.ok();
                       },
                       [](CrashFixture& f, bool acked) {
                         auto a = find(f, "f");
                         REQUIRE(a);
                         std::string got = content(f, *a);
                         if (acked) CHECK(got == "hello");
                         CHECK((got.empty() || got == "hello"));
                         check_zeros_past_end(f, *a);
                       }});
}

TEST_CASE("crash: WRITE UNSTABLE then COMMIT") {
  crash_at_every_step({[](CrashFixture& f) { make(f, "f", kOld); },
                       [](CrashFixture& f) {
                         auto a = find(f, "f");
                         auto w = f.fs->write(a->ino, 4, as_bytes("NEWDATA-NEWDATA!"),
                                              Stability::unstable);
                         if (!w) return false;
                         return f.fs->commit(a->ino).ok();
                       },
                       check_write});
}

TEST_CASE("crash: WRITE UNSTABLE alone is never stable; the size stays the old one") {
  crash_at_every_step({[](CrashFixture& f) { make(f, "f", kOld); },
                       [](CrashFixture& f) {
                         auto a = find(f, "f");
                         auto w = f.fs->write(a->ino, 4, as_bytes("NEWDATA-NEWDATA!"),
                                              Stability::unstable);
                         return w.ok() && w->committed == Stability::unstable;
                       },
                       [](CrashFixture& f, bool) {
                         auto a = find(f, "f");
                         REQUIRE(a);
                         std::string got = content(f, *a);
                         CHECK(got.size() == kOld.size());
                         check_old_or_new(got, kOld, kNew);
                         check_zeros_past_end(f, *a);
                       }});
}

TEST_CASE("crash: SETATTR size (truncation)") {
  const std::string orig = "0123456789abcdef";
  crash_at_every_step({[&](CrashFixture& f) { make(f, "f", orig); },
                       [](CrashFixture& f) {
                         auto a = find(f, "f");
                         SetAttr sa;
                         sa.size = 4;
                         return f.fs->setattr(f.root, a->ino, sa).ok();
                       },
                       [&](CrashFixture& f, bool acked) {
                         auto a = find(f, "f");
                         REQUIRE(a);
                         std::string got = content(f, *a);
                         if (acked) CHECK(got == "0123");
                         REQUIRE((got.size() == 4 || got.size() == 16));
                         CHECK(got.substr(0, 4) == "0123");
                         // Under the old size, a cut not yet committed reads
                         // as the old bytes or as zeros, never as others.
                         for (std::size_t i = 4; i < got.size(); ++i) {
                           CAPTURE(i);
                           CHECK((got[i] == orig[i] || got[i] == '\0'));
                         }
                         check_zeros_past_end(f, *a);
                       }});
}

TEST_CASE("crash: CREATE") {
  crash_at_every_step(
      {[](CrashFixture&) {},
       [](CrashFixture& f) {
         return f.fs->create_file(f.root, f.fs->root(), "new", CreateMode::guarded, {}).ok();
       },
       [](CrashFixture& f, bool acked) {
         auto a = find(f, "new");
         if (acked) CHECK(a.has_value());
         auto list = f.fs->readdir(f.root, f.fs->root(), 0, 100);
         REQUIRE(list.ok());
         CHECK(list->entries.size() == (a ? 1u : 0u));
         if (a) {
           CHECK(a->size == 0);
           CHECK(a->nlink == 1);
         }
       }});
}

TEST_CASE("crash: REMOVE") {
  crash_at_every_step(
      {[](CrashFixture& f) { make(f, "victim", "precious"); },
       [](CrashFixture& f) { return f.fs->remove(f.root, f.fs->root(), "victim").ok(); },
       [](CrashFixture& f, bool acked) {
         auto a = find(f, "victim");
         if (acked) CHECK(!a.has_value());
         // Still there: whole, data included.
         if (a) CHECK(content(f, *a) == "precious");
       }});
}

TEST_CASE("crash: RENAME over an existing file") {
  crash_at_every_step({[](CrashFixture& f) {
                         make(f, "a", "AAAA");
                         make(f, "b", "BB");
                       },
                       [](CrashFixture& f) {
                         return f.fs->rename(f.root, f.fs->root(), "a", f.fs->root(), "b").ok();
                       },
                       [](CrashFixture& f, bool acked) {
                         auto a = find(f, "a");
                         auto b = find(f, "b");
                         REQUIRE(b);
                         if (acked) CHECK(!a.has_value());
                         if (a) {
                           CHECK(content(f, *a) == "AAAA");
                           CHECK(content(f, *b) == "BB");
                         } else {
                           CHECK(content(f, *b) == "AAAA");
                         }
                       }});
}
