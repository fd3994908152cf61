// The export catalog: efs::Service publishes an immutable CatalogSnapshot
// after every change that commits, at each lifecycle transition's due time on
// the emulator clock, and after a clock advance; readers never poll.
#include <algorithm>
#include <atomic>
#include <thread>

#include "harness.h"

using namespace efs;
using namespace efs::testing;

namespace {

ServiceOptions with_delay(std::chrono::milliseconds d) {
  ServiceOptions o;
  o.state_delay = d;
  return o;
}

bool exported(const Service& s, const std::string& fs_id) {
  auto snap = s.snapshot();
  return snap->file_system(fs_id) != nullptr;
}

// Internal consistency every published snapshot must have.
void check_consistent(const CatalogSnapshot& snap) {
  for (const auto& f : snap.file_systems()) CHECK(snap.file_system(f.id) == &f);
  for (const auto& ap : snap.access_points()) {
    CHECK(snap.access_point(ap.id) == &ap);
    CHECK(snap.file_system(ap.fs_id) != nullptr);  // never an orphan access point
  }
  for (const auto& mt : snap.mount_targets()) CHECK(snap.mount_target_at(mt.ip) != nullptr);
}

}  // namespace

TEST_CASE("a new file system is exported exactly when its state delay elapses on the clock") {
  Harness h(with_delay(std::chrono::seconds(10)));
  auto id = h.make_fs();
  CHECK(!exported(*h.service, id));
  // Just before the delay: still creating. No tick(), no wait: the clock
  // advance itself (POST /_efs-local/clock calls clock_advanced()) settles.
  h.clock.advance(std::chrono::milliseconds(9900));
  h.service->clock_advanced();
  CHECK(!exported(*h.service, id));
  CHECK(h.created.empty());
  h.clock.advance(std::chrono::milliseconds(200));
  h.service->clock_advanced();
  CHECK(exported(*h.service, id));
  // The data plane made the root before the snapshot showed the file system.
  REQUIRE(h.created.size() == 1);
  CHECK(h.created[0] == id);
}

TEST_CASE("the transition timer publishes at the due time with no call into the service") {
  Harness h(with_delay(std::chrono::milliseconds(300)));
  h.service->start_transition_timer();
  auto t0 = std::chrono::steady_clock::now();
  auto id = h.make_fs();
  const uint64_t gen_created = h.service->snapshot()->generation();
  CHECK(!exported(*h.service, id));
  // Only reads of the published snapshot from here on (what PUTFH does).
  while (!exported(*h.service, id) &&
         std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5))
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  auto elapsed = std::chrono::steady_clock::now() - t0;
  REQUIRE(exported(*h.service, id));
  CHECK(elapsed >= std::chrono::milliseconds(300));
  CHECK(elapsed < std::chrono::seconds(2));
  CHECK(h.service->snapshot()->generation() > gen_created);
  // Seen through the snapshot's publication, so this read is ordered after the hook.
  REQUIRE(h.created.size() == 1);

  // deleting -> gone is due state_delay after the delete: the data plane
  // hears it then, again with nobody calling.
  h.ok("DeleteFileSystem", {{"FileSystemId", id}});
  CHECK(!exported(*h.service, id));  // invisible at once
  const uint64_t gen_deleting = h.service->snapshot()->generation();
  t0 = std::chrono::steady_clock::now();
  while (h.service->snapshot()->generation() == gen_deleting &&
         std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5))
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(250));
  REQUIRE(h.service->snapshot()->generation() > gen_deleting);
  REQUIRE(h.deleted.size() == 1);
  CHECK(h.deleted[0] == id);
}

TEST_CASE("a clock advance wakes the transition timer's work at once") {
  // A day-long delay: only the advance can make the file system available in time.
  Harness h(with_delay(std::chrono::hours(24)));
  h.service->start_transition_timer();
  auto id = h.make_fs();
  h.clock.advance(std::chrono::hours(25));
  h.service->clock_advanced();
  CHECK(exported(*h.service, id));
}

TEST_CASE("deletes are invisible at once; a snapshot already taken does not change") {
  Harness h;
  auto fs = h.make_available_fs();
  auto ap = h.ok("CreateAccessPoint", {{"ClientToken", "a"}, {"FileSystemId", fs}});
  std::string ap_id = ap["AccessPointId"];
  auto mt =
      h.ok("CreateMountTarget", {{"FileSystemId", fs}, {"SubnetId", "subnet-00000000000000001"}});
  h.wait_states();
  h.service->clock_advanced();
  auto before = h.service->snapshot();
  REQUIRE(before->access_point(ap_id));
  REQUIRE(before->mount_targets().size() == 1);

  h.ok("DeleteAccessPoint", {{"AccessPointId", ap_id}});
  CHECK(!h.service->snapshot()->access_point(ap_id));
  h.ok("DeleteMountTarget", {{"MountTargetId", mt["MountTargetId"]}});
  CHECK(h.service->snapshot()->mount_targets().empty());
  auto other = h.make_available_fs();
  REQUIRE(exported(*h.service, other));
  h.ok("DeleteFileSystem", {{"FileSystemId", other}});
  CHECK(!exported(*h.service, other));
  // Immutable: a reader holding the old snapshot still sees what it saw.
  CHECK(before->access_point(ap_id) != nullptr);
  CHECK(before->mount_target_at(mt["IpAddress"].get<std::string>()) != nullptr);
}

TEST_CASE("tag and policy changes publish a new snapshot with the same exports") {
  Harness h;
  auto fs = h.make_available_fs();
  auto ap =
      h.ok("CreateAccessPoint",
           {{"ClientToken", "a"}, {"FileSystemId", fs}, {"PosixUser", {{"Uid", 7}, {"Gid", 8}}}});
  h.ok("CreateMountTarget", {{"FileSystemId", fs}, {"SubnetId", "subnet-00000000000000001"}});
  h.wait_states();
  h.service->clock_advanced();
  auto s0 = h.service->snapshot();
  REQUIRE(s0->file_systems().size() == 1);
  REQUIRE(s0->access_points().size() == 1);
  REQUIRE(s0->mount_targets().size() == 1);
  auto same_exports = [&](const CatalogSnapshot& s) {
    check_consistent(s);
    REQUIRE(s.file_systems().size() == 1);
    CHECK(s.file_systems()[0].id == fs);
    REQUIRE(s.access_points().size() == 1);
    CHECK(s.access_points()[0].id == ap["AccessPointId"]);
    REQUIRE(s.access_points()[0].posix_user);
    CHECK(s.access_points()[0].posix_user->uid == 7);
    REQUIRE(s.mount_targets().size() == 1);
    CHECK(s.mount_targets()[0].ip == s0->mount_targets()[0].ip);
  };
  uint64_t gen = s0->generation();
  std::string policy = R"({"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Allow",
    "Principal":{"AWS":"*"},"Action":["elasticfilesystem:ClientMount"]}]})";
  const std::vector<std::pair<std::string, json>> changes = {
      {"CreateTags", {{"FileSystemId", fs}, {"Tags", {{{"Key", "Name"}, {"Value", "n"}}}}}},
      {"TagResource",
       {{"ResourceId", ap["AccessPointId"]}, {"Tags", {{{"Key", "k"}, {"Value", "v"}}}}}},
      {"PutFileSystemPolicy", {{"FileSystemId", fs}, {"Policy", policy}}},
      {"PutLifecycleConfiguration",
       {{"FileSystemId", fs}, {"LifecyclePolicies", {{{"TransitionToIA", "AFTER_30_DAYS"}}}}}},
      {"PutBackupPolicy", {{"FileSystemId", fs}, {"BackupPolicy", {{"Status", "ENABLED"}}}}},
  };
  for (const auto& [op, in] : changes) {
    CAPTURE(op);
    h.ok(op, in);
    auto s = h.service->snapshot();
    CHECK(s->generation() > gen);
    gen = s->generation();
    same_exports(*s);
  }
  // A call that fails commits nothing and publishes nothing.
  CHECK(h.err("CreateTags", {{"FileSystemId", "fs-0123456789abcdef0"},
                             {"Tags", {{{"Key", "a"}, {"Value", "b"}}}}}) == "FileSystemNotFound");
  CHECK(h.service->snapshot()->generation() == gen);
}

TEST_CASE("readers see whole snapshots while another thread creates and deletes") {
  // Delay 0: every resource is available when its Create call returns.
  Harness h(with_delay(std::chrono::milliseconds(0)));
  h.service->start_transition_timer();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      uint64_t last = 0;
      bool ok = true;
      while (!stop.load(std::memory_order_relaxed)) {
        auto snap = h.service->snapshot();
        ok = ok && snap->generation() >= last;
        last = snap->generation();
        for (const auto& ap : snap->access_points()) ok = ok && snap->file_system(ap.fs_id);
        for (const auto& f : snap->file_systems()) ok = ok && snap->file_system(f.id) == &f;
        ok = ok && std::is_sorted(snap->file_systems().begin(), snap->file_systems().end(),
                                  [](const auto& a, const auto& b) { return a.id < b.id; });
        reads.fetch_add(1, std::memory_order_relaxed);
      }
      CHECK(ok);  // one doctest call per thread: doctest's asserts are not free
    });
  }
  std::vector<std::string> kept;
  for (int i = 0; i < 20; ++i) {
    auto fs = h.make_fs();
    CHECK(exported(*h.service, fs));
    auto ap = h.ok("CreateAccessPoint", {{"ClientToken", std::to_string(i)}, {"FileSystemId", fs}});
    std::string ap_id = ap["AccessPointId"];
    CHECK(h.service->snapshot()->access_point(ap_id));
    if (i % 2 == 0) {
      kept.push_back(fs);
      continue;
    }
    h.ok("DeleteAccessPoint", {{"AccessPointId", ap_id}});
    CHECK(!h.service->snapshot()->access_point(ap_id));
    h.ok("DeleteFileSystem", {{"FileSystemId", fs}});
    CHECK(!exported(*h.service, fs));
  }
  stop = true;
  for (auto& t : readers) t.join();
  CHECK(reads.load() > 0);
  auto last = h.service->snapshot();
  check_consistent(*last);
  CHECK(last->file_systems().size() == kept.size());
  for (const auto& fs : kept) CHECK(last->file_system(fs));
}
