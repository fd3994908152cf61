// Storage classes: the rules (lifecycle_rules.h), the metering arithmetic
// (metering.h) and the mover over a real vfs, with crashes at every disk
// call of a move (chunk/class_move.cc's protocol).
#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "crash_fixture.h"
#include "vfs/lifecycle_rules.h"
#include "vfs/metering.h"

namespace efs::vfs::test {

namespace {

constexpr double kDay = 86400.0;

FileFacts file(uint64_t size, double idle_days, StorageClass cls = StorageClass::standard) {
  FileFacts f;
  f.size = size;
  f.idle_seconds = idle_days * kDay;
  f.cls = cls;
  return f;
}

// Every value of the TransitionToIARules / TransitionToArchiveRules enums
// of the EFS model.
constexpr int kRuleDays[] = {1, 7, 14, 30, 60, 90, 180, 270, 365};

std::string rule_name(int days) {
  return "AFTER_" + std::to_string(days) + (days == 1 ? "_DAY" : "_DAYS");
}

}  // namespace

TEST_CASE("lifecycle rules: every TransitionToIA value moves a file idle that long, not earlier") {
  for (int days : kRuleDays) {
    CAPTURE(days);
    REQUIRE(transition_days(rule_name(days)) == days);
    LifecyclePolicy p;
    p.ia_days = days;
    CHECK_FALSE(transition_due(p, file(1 << 20, days - 1.0 / 86400)).has_value());
    CHECK(transition_due(p, file(1 << 20, days)) == StorageClass::ia);
    // Already there: nothing to do.
    CHECK_FALSE(transition_due(p, file(1 << 20, days + 10, StorageClass::ia)).has_value());
  }
  CHECK_FALSE(transition_days("AFTER_1_ACCESS").has_value());
  CHECK_FALSE(transition_days("AFTER_7_DAY").has_value());
  CHECK_FALSE(transition_days("AFTER_0_DAYS").has_value());
  CHECK_FALSE(transition_days("7").has_value());
}

TEST_CASE("lifecycle rules: every TransitionToArchive value, directly from Standard or from IA") {
  for (int days : kRuleDays) {
    CAPTURE(days);
    LifecyclePolicy p;
    p.archive_days = days;
    CHECK_FALSE(transition_due(p, file(1 << 20, days - 0.01)).has_value());
    CHECK(transition_due(p, file(1 << 20, days)) == StorageClass::archive);
    CHECK(transition_due(p, file(1 << 20, days, StorageClass::ia)) == StorageClass::archive);
    CHECK_FALSE(transition_due(p, file(1 << 20, days, StorageClass::archive)).has_value());
  }
  LifecyclePolicy both;
  both.ia_days = 7;
  both.archive_days = 30;
  CHECK(transition_due(both, file(1 << 20, 8)) == StorageClass::ia);
  CHECK_FALSE(transition_due(both, file(1 << 20, 29, StorageClass::ia)).has_value());
  // Both ages count from the last access: a file idle 31 days skips IA.
  CHECK(transition_due(both, file(1 << 20, 31)) == StorageClass::archive);
}

TEST_CASE("lifecycle rules: files under 128 KiB never move; one that shrank goes back") {
  LifecyclePolicy p;
  p.ia_days = 1;
  p.archive_days = 2;
  CHECK_FALSE(transition_due(p, file(kMinTransitionBytes - 1, 400)).has_value());
  CHECK(transition_due(p, file(kMinTransitionBytes, 400)) == StorageClass::archive);
  CHECK(transition_due(p, file(kMinTransitionBytes, 1)) == StorageClass::ia);
  CHECK(transition_due(p, file(1024, 400, StorageClass::ia)) == StorageClass::standard);
}

TEST_CASE("lifecycle rules: directories and symlinks stay in Standard; no policy moves nothing") {
  LifecyclePolicy p;
  p.ia_days = 1;
  FileFacts dir = file(1 << 20, 400);
  dir.regular = false;
  CHECK_FALSE(transition_due(p, dir).has_value());
  LifecyclePolicy none;
  CHECK_FALSE(none.moves_files());
  CHECK_FALSE(transition_due(none, file(1 << 30, 4000)).has_value());
}

TEST_CASE("lifecycle rules: AFTER_1_ACCESS brings a file back on READ; a WRITE always does") {
  LifecyclePolicy back;
  back.ia_days = 7;
  back.to_primary_on_access = true;
  LifecyclePolicy stay;
  stay.ia_days = 7;
  for (StorageClass c : {StorageClass::ia, StorageClass::archive}) {
    CHECK(recall_on_access(back, c, false) == StorageClass::standard);
    CHECK(recall_on_access(back, c, true) == StorageClass::standard);
    CHECK_FALSE(recall_on_access(stay, c, false).has_value());
    CHECK(recall_on_access(stay, c, true) == StorageClass::standard);
  }
  CHECK_FALSE(recall_on_access(back, StorageClass::standard, true).has_value());
}

TEST_CASE("metering: EFS's own examples") {
  // "du -k" of an empty file and "stat" of an empty directory: 4 KiB.
  CHECK(metered_data_bytes(FileType::reg, 0, std::nullopt) == 4096);
  CHECK(metered_data_bytes(FileType::dir, 0, std::nullopt) == 4096);
  // Symbolic links and special files: always 4 KiB.
  CHECK(metered_data_bytes(FileType::lnk, 3000, std::nullopt) == 4096);
  CHECK(metered_data_bytes(FileType::fifo, 0, std::nullopt) == 4096);
  // Regular files: the logical size rounded up to the next 4 KiB.
  CHECK(metered_data_bytes(FileType::reg, 1, std::nullopt) == 4096);
  CHECK(metered_data_bytes(FileType::reg, 4096, std::nullopt) == 4096);
  CHECK(metered_data_bytes(FileType::reg, 4097, std::nullopt) == 8192);
  // Sparse: what is really stored when that is less.
  CHECK(metered_data_bytes(FileType::reg, uint64_t{1} << 30, 8192) == 8192);
  CHECK(metered_data_bytes(FileType::reg, 5000, 1 << 20) == 8192);
  // 2 KiB of metadata per object, always in Standard; data in its class.
  MeteredSize m;
  add_object(m, StorageClass::standard, 4096);  // the root directory
  CHECK(m.total == 6144);                       // an empty file system
  add_object(m, StorageClass::ia, metered_data_bytes(FileType::reg, 200 * 1024, std::nullopt));
  CHECK(m.ia == 200 * 1024);
  CHECK(m.standard == 6144 + 2048);
  add_objects(m, StorageClass::archive, 3, 3 * 8192);
  CHECK(m.archive == 3 * 8192);
  CHECK(m.standard == 6144 + 4 * 2048);
  CHECK(m.total == m.standard + m.ia + m.archive);
}

namespace {

std::vector<uint8_t> pattern(std::size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7 + i / 4096);
  return v;
}

Ino write_file(CrashFixture& f, const std::string& name, const std::vector<uint8_t>& data) {
  SetAttr sa;
  sa.mode = 0644;
  auto c = f.fs->create_file(f.root, f.fs->root(), name, CreateMode::guarded, sa);
  REQUIRE(c.ok());
  REQUIRE(f.fs->write(c->attr.ino, 0, data, Stability::file_sync).ok());
  return c->attr.ino;
}

std::vector<uint8_t> read_all(CrashFixture& f, Ino ino, std::size_t n) {
  std::vector<uint8_t> out;
  while (out.size() < n) {
    auto r = f.fs->read(ino, out.size(), 1 << 20);
    REQUIRE(r.ok());
    if (r->data.empty()) break;
    out.insert(out.end(), r->data.begin(), r->data.end());
  }
  return out;
}

std::string data_path(CrashFixture& f, const char* cls, Ino ino) {
  char shard[3];
  std::snprintf(shard, sizeof shard, "%02x", static_cast<unsigned>(ino & 0xff));
  return f.dir + "/chunks/" + cls + "/" + f.fs_id + "/" + shard + "/" + std::to_string(ino);
}

// The classes whose directory holds a data file for ino.
std::vector<std::string> where(CrashFixture& f, Ino ino) {
  std::vector<std::string> out;
  for (const char* c : {"standard", "ia", "archive"})
    if (std::filesystem::exists(data_path(f, c, ino))) out.push_back(c);
  return out;
}

void advance_days(CrashFixture& f, double days) {
  f.clock.advance(
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(days * kDay)));
}

LifecyclePolicy ia7_back() {
  LifecyclePolicy p;
  p.ia_days = 7;
  p.to_primary_on_access = true;
  return p;
}

}  // namespace

TEST_CASE(
    "lifecycle mover: an idle file goes to IA on disk and in metering, a READ brings it back") {
  CrashFixture f;
  const auto big = pattern(200 * 1024, 3);
  const auto small = pattern(1024, 9);
  Ino b = write_file(f, "big", big);
  Ino s = write_file(f, "small", small);
  auto none = f.fs->run_lifecycle(ia7_back(), false);
  REQUIRE(none.ok());
  CHECK(none->empty());  // nothing is idle yet

  advance_days(f, 8);
  auto moved = f.fs->run_lifecycle(ia7_back(), false);
  REQUIRE(moved.ok());
  REQUIRE(moved->size() == 1);
  CHECK((*moved)[0].ino == b);
  CHECK((*moved)[0].path == "/big");
  CHECK((*moved)[0].from == StorageClass::standard);
  CHECK((*moved)[0].to == StorageClass::ia);
  CHECK((*moved)[0].bytes == big.size());
  CHECK(where(f, b) == std::vector<std::string>{"ia"});
  CHECK(where(f, s) == std::vector<std::string>{"standard"});
  MeteredSize m = f.fs->metered_size();
  CHECK(m.ia == 200 * 1024);
  CHECK(m.standard == 6144 + 2 * 2048 + 4096);
  CHECK(m.total == m.standard + m.ia);

  // Survives a restart: the class is in SQLite.
  f.restart(false);
  CHECK(read_all(f, b, big.size()) == big);
  CHECK(f.fs->metered_size().ia == 200 * 1024);
  // That READ asked for a recall (AFTER_1_ACCESS).
  CHECK(f.fs->recalls_waiting());
  auto back = f.fs->run_lifecycle(ia7_back(), true);
  REQUIRE(back.ok());
  REQUIRE(back->size() == 1);
  CHECK((*back)[0].to == StorageClass::standard);
  CHECK(where(f, b) == std::vector<std::string>{"standard"});
  CHECK(f.fs->metered_size().ia == 0);
  CHECK(read_all(f, b, big.size()) == big);
  // Its timer started again: 6 more days is not enough.
  advance_days(f, 6);
  auto later = f.fs->run_lifecycle(ia7_back(), false);
  REQUIRE(later.ok());
  CHECK(later->empty());
}

TEST_CASE(
    "lifecycle mover: without AFTER_1_ACCESS a READ is served from IA, a WRITE lands in Standard") {
  CrashFixture f;
  const auto big = pattern(300 * 1024, 5);
  Ino b = write_file(f, "big", big);
  LifecyclePolicy p;
  p.ia_days = 7;
  advance_days(f, 7.5);
  REQUIRE(f.fs->run_lifecycle(p, false)->size() == 1);
  CHECK(read_all(f, b, big.size()) == big);
  auto stay = f.fs->run_lifecycle(p, true);
  REQUIRE(stay.ok());
  CHECK(stay->empty());
  CHECK(where(f, b) == std::vector<std::string>{"ia"});
  // A metadata operation does not reset the timer nor recall.
  CHECK(f.fs->getattr(b).ok());
  CHECK_FALSE(f.fs->recalls_waiting());

  std::vector<uint8_t> patch(5000, 0xAB);
  REQUIRE(f.fs->write(b, 4000, patch, Stability::file_sync).ok());
  auto back = f.fs->run_lifecycle(p, false);
  REQUIRE(back.ok());
  REQUIRE(back->size() == 1);
  CHECK((*back)[0].to == StorageClass::standard);
  auto want = big;
  std::copy(patch.begin(), patch.end(), want.begin() + 4000);
  CHECK(read_all(f, b, want.size()) == want);
  CHECK(where(f, b) == std::vector<std::string>{"standard"});
}

TEST_CASE(
    "lifecycle mover: a policy with Archive moves straight from Standard; none moves nothing") {
  CrashFixture f;
  const auto big = pattern(256 * 1024, 1);
  Ino b = write_file(f, "a", big);
  advance_days(f, 31);
  auto none = f.fs->run_lifecycle(LifecyclePolicy{}, false);
  REQUIRE(none.ok());
  CHECK(none->empty());
  CHECK(where(f, b) == std::vector<std::string>{"standard"});
  LifecyclePolicy p;
  p.ia_days = 7;
  p.archive_days = 30;
  auto moved = f.fs->run_lifecycle(p, false);
  REQUIRE(moved.ok());
  REQUIRE(moved->size() == 1);
  CHECK((*moved)[0].to == StorageClass::archive);
  CHECK(where(f, b) == std::vector<std::string>{"archive"});
  CHECK(f.fs->metered_size().archive == 256 * 1024);
  CHECK(read_all(f, b, big.size()) == big);
}

TEST_CASE(
    "lifecycle mover: readers see the right bytes and writers lose nothing while files move") {
  CrashFixture f;
  const auto big = pattern(512 * 1024, 7);
  Ino b = write_file(f, "r", big);
  Ino w = write_file(f, "w", pattern(256 * 1024, 2));
  // The reader and the writer pause while the files age (their accesses
  // would keep them in Standard), then run while the recall their own
  // accesses asked for moves the files back: reads and writes during moves.
  std::atomic<bool> stop{false}, paused{true};
  std::atomic<bool> reader_parked{false}, writer_parked{false};
  std::atomic<int> bad{0}, reads{0};
  std::thread reader([&] {
    while (!stop) {
      if (paused) {
        reader_parked = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      reader_parked = false;
      std::vector<uint8_t> got;
      while (got.size() < big.size()) {
        auto r = f.fs->read(b, got.size(), 64 * 1024);
        if (!r || r->data.empty()) break;
        got.insert(got.end(), r->data.begin(), r->data.end());
      }
      if (got != big) ++bad;
      ++reads;
    }
  });
  std::atomic<int> written{0}, write_errors{0};
  std::thread writer([&] {
    while (!stop) {
      if (paused) {
        writer_parked = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      writer_parked = false;
      int i = written;
      std::vector<uint8_t> piece(4096, static_cast<uint8_t>(i + 1));
      if (f.fs->write(w, 256 * 1024 + uint64_t(i) * 4096, piece, Stability::file_sync))
        written = i + 1;
      else
        ++write_errors;
    }
  });
  auto wait_parked = [&] {
    paused = true;
    reader_parked = writer_parked = false;
    while (!reader_parked || !writer_parked)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  LifecyclePolicy p = ia7_back();
  int recalled = 0;
  for (int round = 0; round < 5; ++round) {
    wait_parked();
    advance_days(f, 8);
    auto aged = f.fs->run_lifecycle(p, false);
    REQUIRE(aged.ok());
    CHECK(aged->size() == 2);
    CHECK(where(f, b) == std::vector<std::string>{"ia"});
    paused = false;
    // Recall passes until both files came back: the reader and the writer
    // touch them in their own time (under ASan on two busy cores a few
    // milliseconds were not always enough), so wait for the outcome, not
    // for a fixed delay.
    int this_round = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (this_round < 2 && std::chrono::steady_clock::now() < deadline) {
      while (!f.fs->recalls_waiting() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      auto back = f.fs->run_lifecycle(p, true);
      REQUIRE(back.ok());
      this_round += static_cast<int>(back->size());
    }
    recalled += this_round;
  }
  wait_parked();
  stop = true;
  reader.join();
  writer.join();
  CHECK(recalled == 10);
  CHECK(bad == 0);
  CHECK(write_errors == 0);
  CHECK(reads > 0);
  const int n = written;
  REQUIRE(n > 0);
  auto all = read_all(f, w, 256 * 1024 + uint64_t(n) * 4096);
  REQUIRE(all.size() == 256 * 1024 + uint64_t(n) * 4096);
  for (int i = 0; i < n; ++i) {
    CAPTURE(i);
    CHECK(all[256 * 1024 + i * 4096] == static_cast<uint8_t>(i + 1));
    CHECK(all[256 * 1024 + i * 4096 + 4095] == static_cast<uint8_t>(i + 1));
  }
  CHECK(where(f, b) == std::vector<std::string>{"standard"});
  CHECK(where(f, w) == std::vector<std::string>{"standard"});
}

TEST_CASE(
    "lifecycle mover: a crash at every disk call of a move leaves each byte in exactly one class") {
  const auto big = pattern(160 * 1024, 11);
  for (bool power_loss : {false, true}) {
    for (StorageClass to : {StorageClass::ia, StorageClass::archive}) {
      uint64_t n = 1;
      bool finished_once = false, rolled_back_once = false;
      for (; n <= 80; ++n) {
        CAPTURE(power_loss);
        CAPTURE(n);
        CrashFixture f;
        Ino b = write_file(f, "f", big);
        advance_days(f, 40);
        LifecyclePolicy p;
        if (to == StorageClass::ia)
          p.ia_days = 7;
        else
          p.archive_days = 30;
        f.disk.crash_at(n);
        auto r = f.fs->run_lifecycle(p, false);
        const bool crashed = f.disk.crashed();
        f.restart(power_loss);
        CHECK(f.integrity() == "ok");
        CHECK(read_all(f, b, big.size()) == big);
        auto at = where(f, b);
        REQUIRE(at.size() == 1);
        // Metering agrees with where the bytes are.
        MeteredSize m = f.fs->metered_size();
        if (at[0] == "standard") {
          rolled_back_once = true;
          CHECK(m.ia + m.archive == 0);
        } else {
          finished_once = true;
          CHECK(at[0] == chunk::storage_class_name(to));
          CHECK(m.ia + m.archive == 160 * 1024);
        }
        // A later pass completes the move from wherever it stood (the READ
        // above restarted the file's timer).
        advance_days(f, 40);
        auto again = f.fs->run_lifecycle(p, false);
        REQUIRE(again.ok());
        CHECK(where(f, b) == std::vector<std::string>{chunk::storage_class_name(to)});
        CHECK(read_all(f, b, big.size()) == big);
        if (!crashed) {
          REQUIRE(r.ok());
          CHECK(r->size() == 1);
          break;
        }
      }
      CHECK(n > 3);
      CHECK(n <= 80);
      CHECK(finished_once);
      CHECK(rolled_back_once);
    }
  }
}

TEST_CASE("lifecycle mover: SETATTR of the size resets the timer, other SETATTRs do not") {
  CrashFixture f;
  LifecyclePolicy p;
  p.ia_days = 7;
  Ino a = write_file(f, "a", pattern(200 * 1024, 1));
  Ino b = write_file(f, "b", pattern(200 * 1024, 2));
  advance_days(f, 6);
  SetAttr mode;
  mode.mode = 0600;
  REQUIRE(f.fs->setattr(f.root, a, mode).ok());
  SetAttr size;
  size.size = 180 * 1024;
  REQUIRE(f.fs->setattr(f.root, b, size).ok());
  advance_days(f, 2);
  auto moved = f.fs->run_lifecycle(p, false);
  REQUIRE(moved.ok());
  REQUIRE(moved->size() == 1);
  CHECK((*moved)[0].ino == a);
  CHECK(where(f, b) == std::vector<std::string>{"standard"});
}

TEST_CASE(
    "vfs schema: a version 2 data dir (no lifecycle tables) opens with every file in Standard") {
  CrashFixture f;
  const auto big = pattern(200 * 1024, 4);
  Ino b = write_file(f, "old", big);
  REQUIRE(f.db->write([](efs::meta::Conn& c) -> efs::Status<> {
                return c.exec(
                    "DROP TABLE vfs_lifecycle; DROP TABLE vfs_lifecycle_moves; DROP TABLE "
                    "vfs_changes; DROP TABLE vfs_change_logs; DROP TABLE vfs_replicas; DROP TABLE "
                    "vfs_replica_inodes;"
                    " UPDATE schema_versions SET version = 2 WHERE module = 'vfs';");
              })
              .ok());
  f.restart(false);
  CHECK(read_all(f, b, big.size()) == big);
  CHECK(f.fs->metered_size().ia == 0);
  // The READ above started its lifecycle timer: idle 8 days, it moves.
  advance_days(f, 8);
  REQUIRE(f.fs->run_lifecycle(ia7_back(), false)->size() == 1);
  CHECK(where(f, b) == std::vector<std::string>{"ia"});
}

}  // namespace efs::vfs::test
