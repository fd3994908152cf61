#include "vfs/group_commit.h"

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "common/ids.h"

using efs::vfs::GroupCommit;

namespace {

int64_t count_rows(efs::meta::Db& db, const std::string& where) {
  int64_t n = -1;
  (void)db.read([&](efs::meta::Conn& c) -> efs::Status<> {
    auto& s = c.stmt("SELECT COUNT(*) FROM gc_test WHERE " + where);
    if (s.step()) n = s.i64(0);
    s.reset();
    return {};
  });
  return n;
}

}  // namespace

TEST_CASE("group commit: concurrent operations share transactions; a failure rolls back alone") {
  std::string dir =
      (std::filesystem::temp_directory_path() / ("gc-test-" + efs::random_hex(12))).string();
  std::filesystem::create_directories(dir);
  {
    auto db = efs::meta::Db::open(dir + "/meta.db");
    REQUIRE(db.ok());
    REQUIRE(
        (*db)
            ->write([](efs::meta::Conn& c) { return c.exec("CREATE TABLE gc_test(v INTEGER)"); })
            .ok());
    GroupCommit gc(**db);
    constexpr int kThreads = 8, kOps = 25;
    std::vector<std::thread> ts;
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; ++t) {
      ts.emplace_back([&, t] {
        for (int i = 0; i < kOps; ++i) {
          int v = t * 1000 + i;
          bool should_fail = i % 5 == 0;
          auto s = gc.run([&](efs::meta::Conn& c) -> efs::Status<> {
            auto& ins = c.stmt("INSERT INTO gc_test(v) VALUES (?)");
            ins.bind_all(v);
            if (!ins.run()) return efs::fail(efs::Error{ins.error()});
            // Work that takes a moment inside the transaction (as an fsync
            // does with synchronous=FULL), so the other threads queue up
            // behind the leader and batching is certain rather than a race.
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            if (should_fail) return efs::fail(efs::Error{"planned"});
            return {};
          });
          if (!s.ok()) ++failures;
          CHECK(s.ok() == !should_fail);
        }
      });
    }
    for (auto& t : ts) t.join();
    CHECK(failures == kThreads * kOps / 5);
    CHECK(count_rows(**db, "1") == kThreads * kOps * 4 / 5);
    CHECK(count_rows(**db, "v % 1000 % 5 = 0") == 0);
    // Batching happened: fewer commits than operations.
    CHECK(gc.transactions() < static_cast<uint64_t>(kThreads * kOps));
    MESSAGE("operations: " << kThreads * kOps << ", transactions: " << gc.transactions());
  }
  std::filesystem::remove_all(dir);
}
