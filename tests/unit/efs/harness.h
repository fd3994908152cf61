// Test harness: an efs::Service over a temporary SQLite database, a fake
// Network and a private Clock, called through operations() as the API layer
// calls it.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/ids.h"
#include "efs/service.h"
#include "fake_network.h"
#include "meta/db.h"

namespace efs::testing {

using nlohmann::json;
using namespace std::chrono_literals;

struct Harness {
  std::filesystem::path dir;
  std::unique_ptr<meta::Db> db;
  FakeNetwork network;
  Clock clock;
  ServiceOptions options;
  kms::KeyDirectory* keys = nullptr;  // null: no KMS, as the server runs today
  std::unique_ptr<Service> service;
  std::map<std::string, JsonOperation> ops;
  RequestContext ctx;
  std::vector<std::string> created, deleted;
  int mt_changes = 0;
  std::vector<std::size_t> mt_seen;  // snapshot's mount targets at each hook
  // What DataPlane::metered_size answers (unset: all zeros).
  std::function<MeteredSize(const std::string&)> metered;

  explicit Harness(ServiceOptions o = {}, kms::KeyDirectory* k = nullptr)
      : options(std::move(o)), keys(k) {
    // tmpfs when there is one: the model commits (and fsyncs) every
    // mutating call, and the quota test makes a thousand of them.
    std::filesystem::path base = std::filesystem::exists("/dev/shm")
                                     ? std::filesystem::path("/dev/shm")
                                     : std::filesystem::temp_directory_path();
    dir = base / ("efs-test-" + random_hex(12));
    std::filesystem::create_directories(dir);
    open();
  }
  ~Harness() {
    service.reset();
    db.reset();
    std::filesystem::remove_all(dir);
  }

  void open() {
    auto d = meta::Db::open((dir / "meta.db").string());
    REQUIRE(d.ok());
    db = std::move(*d);
    DataPlane dp;
    dp.file_system_created = [this](const std::string& id) { created.push_back(id); };
    dp.file_system_deleted = [this](const std::string& id) { deleted.push_back(id); };
    dp.mount_targets_changed = [this] {
      ++mt_changes;
      // What a listener reconciling at once would see (server.cc reads the
      // snapshot on the I/O thread when the hook fires).
      mt_seen.push_back(service->snapshot()->mount_targets().size());
    };
    dp.metered_size = [this](const std::string& id) { return metered ? metered(id) : MeteredSize{}; };
    auto s = Service::open(*db, network, clock, options, dp, keys);
    REQUIRE(s.ok());
    service = std::move(*s);
    ops.clear();
    for (auto& [name, op] : service->operations()) ops[name] = op;
  }
  // Simulates a restart: close everything and open the same database again.
  void reopen() {
    service.reset();
    db.reset();
    open();
  }

  ApiResult<json> call(const std::string& op, json in = json::object()) {
    REQUIRE(ops.count(op) == 1);
    return ops[op](ctx, in);
  }
  json ok(const std::string& op, json in = json::object()) {
    auto r = call(op, in);
    if (!r.ok()) FAIL_CHECK(op << " failed: " << r.error().code << ": " << r.error().message);
    REQUIRE(r.ok());
    return *r;
  }
  std::string err(const std::string& op, json in = json::object()) {
    auto r = call(op, in);
    if (r.ok()) return "ok";
    return r.error().code;
  }
  // Past every creating/deleting window.
  void wait_states() { clock.advance(options.state_delay * 2); }

  std::string make_fs(json extra = json::object()) {
    json in = {{"CreationToken", random_hex(8)}};
    in.update(extra);
    return ok("CreateFileSystem", in)["FileSystemId"];
  }
  std::string make_available_fs(json extra = json::object()) {
    auto id = make_fs(extra);
    wait_states();
    service->tick();
    return id;
  }
  json describe_fs(const std::string& id) {
    return ok("DescribeFileSystems", {{"FileSystemId", id}})["FileSystems"][0];
  }
};

}  // namespace efs::testing
