#include <fstream>
#include <set>

#include "harness.h"

using namespace efs;
using namespace efs::testing;

TEST_CASE("operations() has one handler per operation of the model, by exact name") {
  Harness h;
  std::ifstream f(EFS_SPEC_DIR "/efs-2015-02-01.json");
  REQUIRE(f.good());
  auto model = json::parse(f);
  std::set<std::string> want, have;
  for (const auto& [name, op] : model["operations"].items()) want.insert(name);
  for (const auto& [name, op] : h.service->operations()) have.insert(name);
  CHECK(want.size() == 31);
  CHECK(have == want);
}

TEST_CASE("every operation reads its request as the model's input shape, not by string keys") {
  // The operation table decodes the input shape (efs_shapes.h from_json)
  // before a handler runs, so a string member sent as an object is refused
  // as "<Operation>: malformed input" whatever else the request says. A
  // handler reading JSON by key answers otherwise: its own checks first, or
  // an unprefixed message from inside its transaction.
  Harness h;
  std::ifstream f(EFS_SPEC_DIR "/efs-2015-02-01.json");
  REQUIRE(f.good());
  auto model = json::parse(f);
  int checked = 0;
  for (const auto& [name, op] : model["operations"].items()) {
    CAPTURE(name);
    const auto& shape = model["shapes"][op["input"]["shape"].get<std::string>()];
    std::string member;
    for (const auto& [m, ref] : shape["members"].items())
      if (model["shapes"][ref["shape"].get<std::string>()]["type"] == "string") {
        member = m;
        break;
      }
    REQUIRE_FALSE(member.empty());
    json in = json::object();
    in[member] = json::object();
    auto r = h.call(name, in);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "BadRequest");
    CHECK(r.error().message.rfind(name + ": malformed input", 0) == 0);
    ++checked;
  }
  CHECK(checked == 31);
}

TEST_CASE("CreateFileSystem describes the file system as EFS does") {
  Harness h;
  auto fs = h.ok("CreateFileSystem",
                 {{"CreationToken", "tok-1"}, {"Tags", {{{"Key", "Name"}, {"Value", "data"}}}}});
  std::string id = fs["FileSystemId"];
  CHECK(is_id(id, "fs"));
  CHECK(fs["FileSystemArn"] ==
        "arn:aws:elasticfilesystem:us-east-1:000000000000:file-system/" + id);
  CHECK(fs["OwnerId"] == "000000000000");
  CHECK(fs["CreationToken"] == "tok-1");
  CHECK(fs["LifeCycleState"] == "creating");
  CHECK(fs["PerformanceMode"] == "generalPurpose");
  CHECK(fs["ThroughputMode"] == "bursting");
  CHECK(fs["Encrypted"] == false);
  CHECK(fs["Name"] == "data");
  CHECK(fs["NumberOfMountTargets"] == 0);
  CHECK(fs["SizeInBytes"]["Value"] == 6144);
  CHECK(fs["SizeInBytes"]["ValueInStandard"] == 6144);
  CHECK(fs["SizeInBytes"]["ValueInIA"] == 0);
  CHECK(fs["FileSystemProtection"]["ReplicationOverwriteProtection"] == "ENABLED");
  CHECK(fs["CreationTime"].is_number());
  CHECK(!fs.contains("AvailabilityZoneName"));
}

TEST_CASE("creating becomes available after state_delay; the data plane hears it once") {
  Harness h;
  auto id = h.make_fs();
  h.service->tick();
  CHECK(h.created.empty());
  CHECK(h.service->snapshot()->file_systems().empty());
  h.wait_states();
  CHECK(h.describe_fs(id)["LifeCycleState"] == "available");
  h.service->tick();
  h.service->tick();
  REQUIRE(h.created.size() == 1);
  CHECK(h.created[0] == id);
  auto snap = h.service->snapshot();
  auto exported = snap->file_system(id);
  REQUIRE(exported);
  CHECK(exported->id == id);
}

TEST_CASE("the creation hook fires from tick() even if nobody describes the file system") {
  Harness h;
  auto id = h.make_fs();
  h.wait_states();
  h.service->tick();
  REQUIRE(h.created.size() == 1);
  CHECK(h.created[0] == id);
}

TEST_CASE("CreationToken is idempotent: FileSystemAlreadyExists with the FileSystemId") {
  Harness h;
  auto id = h.make_fs({{"CreationToken", "same"}});
  auto r = h.call("CreateFileSystem", {{"CreationToken", "same"}});
  REQUIRE(!r.ok());
  CHECK(r.error().code == "FileSystemAlreadyExists");
  CHECK(r.error().http_status == 409);
  CHECK(r.error().extra["FileSystemId"] == id);
  // Another account may use the same token.
  h.ctx.account_id = "111111111111";
  CHECK(h.err("CreateFileSystem", {{"CreationToken", "same"}}) == "ok");
}

TEST_CASE("FileSystemLimitExceeded at the per-account quota") {
  ServiceOptions o;
  o.max_file_systems = 3;
  Harness h(o);
  for (int i = 0; i < 3; ++i) h.make_fs();
  auto r = h.call("CreateFileSystem", {{"CreationToken", "x"}});
  REQUIRE(!r.ok());
  CHECK(r.error().code == "FileSystemLimitExceeded");
  CHECK(r.error().http_status == 403);
  h.ctx.region = "eu-west-1";  // the quota is per Region
  CHECK(h.err("CreateFileSystem", {{"CreationToken", "x"}}) == "ok");
}

TEST_CASE("throughput settings are checked at creation") {
  Harness h;
  CHECK(h.err("CreateFileSystem", {{"CreationToken", "a"}, {"ThroughputMode", "provisioned"}}) ==
        "BadRequest");
  CHECK(h.err("CreateFileSystem", {{"CreationToken", "b"},
                                   {"ThroughputMode", "elastic"},
                                   {"PerformanceMode", "maxIO"}}) == "BadRequest");
  CHECK(h.err("CreateFileSystem",
              {{"CreationToken", "c"}, {"ProvisionedThroughputInMibps", 10.0}}) == "BadRequest");
  CHECK(h.err("CreateFileSystem", {{"CreationToken", "d"},
                                   {"ThroughputMode", "provisioned"},
                                   {"ProvisionedThroughputInMibps", 5000.0}}) ==
        "ThroughputLimitExceeded");
  auto fs = h.ok("CreateFileSystem", {{"CreationToken", "e"},
                                      {"ThroughputMode", "provisioned"},
                                      {"ProvisionedThroughputInMibps", 64.0}});
  CHECK(fs["ThroughputMode"] == "provisioned");
  CHECK(fs["ProvisionedThroughputInMibps"] == 64.0);
}

TEST_CASE("throughput changes: 24-hour cooldown read from the clock") {
  Harness h;
  auto id = h.make_available_fs();
  // bursting -> provisioned: allowed, 202 with the description.
  auto up = h.ok("UpdateFileSystem", {{"FileSystemId", id},
                                      {"ThroughputMode", "provisioned"},
                                      {"ProvisionedThroughputInMibps", 100.0}});
  CHECK(up["ThroughputMode"] == "provisioned");
  CHECK(up["ProvisionedThroughputInMibps"] == 100.0);
  // An increase is allowed at any time.
  CHECK(h.err("UpdateFileSystem",
              {{"FileSystemId", id}, {"ProvisionedThroughputInMibps", 200.0}}) == "ok");
  // A decrease or a mode change is not, for 24 hours.
  auto r =
      h.call("UpdateFileSystem", {{"FileSystemId", id}, {"ProvisionedThroughputInMibps", 50.0}});
  REQUIRE(!r.ok());
  CHECK(r.error().code == "TooManyRequests");
  CHECK(r.error().http_status == 429);
  CHECK(r.error().message.find("You have reached the maximum number of throughput mode changes "
                               "or provisioned throughput value decreases. Wait until ") == 0);
  CHECK(r.error().message.find(" UTC and try again.") != std::string::npos);
  CHECK(h.err("UpdateFileSystem", {{"FileSystemId", id}, {"ThroughputMode", "bursting"}}) ==
        "TooManyRequests");
  h.clock.advance(23h);
  CHECK(h.err("UpdateFileSystem", {{"FileSystemId", id}, {"ThroughputMode", "bursting"}}) ==
        "TooManyRequests");
  h.clock.advance(2h);
  auto down = h.ok("UpdateFileSystem", {{"FileSystemId", id}, {"ThroughputMode", "elastic"}});
  CHECK(down["ThroughputMode"] == "elastic");
  CHECK(!down.contains("ProvisionedThroughputInMibps"));
  // The mode change started a new window.
  CHECK(h.err("UpdateFileSystem", {{"FileSystemId", id}, {"ThroughputMode", "bursting"}}) ==
        "TooManyRequests");
}

TEST_CASE("UpdateFileSystem needs an available file system and a change") {
  Harness h;
  auto id = h.make_fs();
  CHECK(h.err("UpdateFileSystem", {{"FileSystemId", id}, {"ThroughputMode", "elastic"}}) ==
        "IncorrectFileSystemLifeCycleState");
  h.wait_states();
  CHECK(h.err("UpdateFileSystem", {{"FileSystemId", id}}) == "BadRequest");
  CHECK(h.err("UpdateFileSystem", {{"FileSystemId", "fs-0123456789abcdef0"},
                                   {"ThroughputMode", "elastic"}}) == "FileSystemNotFound");
}

TEST_CASE("encryption, One Zone and the model's errors for them") {
  Harness h;
  auto fs = h.ok("CreateFileSystem", {{"CreationToken", "enc"}, {"Encrypted", true}});
  CHECK(fs["Encrypted"] == true);
  CHECK(fs["KmsKeyId"] == "arn:aws:kms:us-east-1:000000000000:alias/aws/elasticfilesystem");
  auto k = h.ok("CreateFileSystem", {{"CreationToken", "enc2"},
                                     {"Encrypted", true},
                                     {"KmsKeyId", "1234abcd-12ab-34cd-56ef-1234567890ab"}});
  CHECK(k["KmsKeyId"] ==
        "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab");
  CHECK(h.err("CreateFileSystem",
              {{"CreationToken", "enc3"}, {"KmsKeyId", "1234abcd-12ab-34cd-56ef-1234567890ab"}}) ==
        "BadRequest");
  auto oz =
      h.ok("CreateFileSystem", {{"CreationToken", "oz"}, {"AvailabilityZoneName", "us-east-1b"}});
  CHECK(oz["AvailabilityZoneName"] == "us-east-1b");
  CHECK(oz["AvailabilityZoneId"] == "use1-az2");
  CHECK(h.err("CreateFileSystem",
              {{"CreationToken", "oz2"}, {"AvailabilityZoneName", "us-east-1z"}}) ==
        "UnsupportedAvailabilityZone");
}

TEST_CASE("DescribeFileSystems pages with Marker/MaxItems; a bad marker is BadRequest") {
  Harness h;
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(h.make_fs());
  std::vector<std::string> seen;
  json in = {{"MaxItems", 2}};
  int pages = 0;
  while (true) {
    auto page = h.ok("DescribeFileSystems", in);
    ++pages;
    CHECK(page["FileSystems"].size() <= 2);
    for (const auto& fs : page["FileSystems"]) seen.push_back(fs["FileSystemId"]);
    if (!page.contains("NextMarker")) break;
    in["Marker"] = page["NextMarker"];
  }
  CHECK(pages == 3);
  CHECK(seen == ids);
  CHECK(h.ok("DescribeFileSystems")["FileSystems"].size() == 5);
  CHECK(h.err("DescribeFileSystems", {{"Marker", "garbage"}}) == "BadRequest");
  auto by_token =
      h.ok("DescribeFileSystems", {{"CreationToken", h.describe_fs(ids[3])["CreationToken"]}});
  REQUIRE(by_token["FileSystems"].size() == 1);
  CHECK(by_token["FileSystems"][0]["FileSystemId"] == ids[3]);
  CHECK(h.err("DescribeFileSystems", {{"FileSystemId", "fs-0123456789abcdef0"}}) ==
        "FileSystemNotFound");
  // Scoped by account: another account sees none of them.
  h.ctx.account_id = "222222222222";
  CHECK(h.ok("DescribeFileSystems")["FileSystems"].empty());
  CHECK(h.err("DescribeFileSystems", {{"FileSystemId", ids[0]}}) == "FileSystemNotFound");
}

TEST_CASE("DeleteFileSystem: deleting, then gone, and the data plane is told") {
  Harness h;
  auto id = h.make_available_fs();
  h.ok("DeleteFileSystem", {{"FileSystemId", id}});
  CHECK(h.describe_fs(id)["LifeCycleState"] == "deleting");
  CHECK(!h.service->snapshot()->file_system(id));
  h.wait_states();
  h.service->tick();
  CHECK(h.err("DescribeFileSystems", {{"FileSystemId", id}}) == "FileSystemNotFound");
  REQUIRE(h.deleted.size() == 1);
  CHECK(h.deleted[0] == id);
  CHECK(h.err("DeleteFileSystem", {{"FileSystemId", id}}) == "FileSystemNotFound");
}

TEST_CASE("UpdateFileSystemProtection") {
  Harness h;
  auto id = h.make_available_fs();
  auto r = h.ok("UpdateFileSystemProtection",
                {{"FileSystemId", id}, {"ReplicationOverwriteProtection", "DISABLED"}});
  CHECK(r["ReplicationOverwriteProtection"] == "DISABLED");
  CHECK(h.describe_fs(id)["FileSystemProtection"]["ReplicationOverwriteProtection"] == "DISABLED");
  CHECK(h.err("UpdateFileSystemProtection",
              {{"FileSystemId", id}, {"ReplicationOverwriteProtection", "REPLICATING"}}) ==
        "BadRequest");
}

TEST_CASE("metered size comes from the data plane when it is wired") {
  Harness h;
  auto id = h.make_available_fs();
  h.service.reset();
  DataPlane dp;
  dp.metered_size = [](const std::string&) { return MeteredSize{10000, 7000, 2000, 1000}; };
  auto s = Service::open(*h.db, h.network, h.clock, h.options, dp);
  REQUIRE(s.ok());
  h.service = std::move(*s);
  h.ops.clear();
  for (auto& [name, op] : h.service->operations()) h.ops[name] = op;
  auto size = h.describe_fs(id)["SizeInBytes"];
  CHECK(size["Value"] == 10000);
  CHECK(size["ValueInStandard"] == 7000);
  CHECK(size["ValueInIA"] == 2000);
  CHECK(size["ValueInArchive"] == 1000);
}

TEST_CASE("restart: file systems keep their IDs, tokens, times and settings") {
  Harness h;
  auto id = h.make_available_fs({{"CreationToken", "keep"},
                                 {"ThroughputMode", "elastic"},
                                 {"Tags", {{{"Key", "Name"}, {"Value", "kept"}}}}});
  auto before = h.describe_fs(id);
  h.reopen();
  auto after = h.describe_fs(id);
  CHECK(after["FileSystemId"] == id);
  CHECK(after["CreationTime"] == before["CreationTime"]);
  CHECK(after["CreationToken"] == "keep");
  CHECK(after["ThroughputMode"] == "elastic");
  CHECK(after["Name"] == "kept");
  CHECK(after["LifeCycleState"] == "available");
  CHECK(h.err("CreateFileSystem", {{"CreationToken", "keep"}}) == "FileSystemAlreadyExists");
  // The creation hook fired before the restart and does not fire again.
  h.created.clear();
  h.service->tick();
  CHECK(h.created.empty());
  CHECK(h.service->snapshot()->file_system(id));
}

TEST_CASE("a file system still creating at shutdown becomes available after restart") {
  Harness h;
  auto id = h.make_fs();
  h.reopen();
  h.wait_states();
  h.service->tick();
  REQUIRE(h.created.size() == 1);
  CHECK(h.created[0] == id);
}

TEST_CASE("SHORT_ID is refused as EFS refuses it since October 2021; IDs stay long") {
  Harness h;
  auto pref = h.ok("DescribeAccountPreferences");
  CHECK(pref["ResourceIdPreference"]["ResourceIdType"] == "LONG_ID");
  CHECK(h.err("PutAccountPreferences", {{"ResourceIdType", "SHORT_ID"}}) == "BadRequest");
  auto put = h.ok("PutAccountPreferences", {{"ResourceIdType", "LONG_ID"}});
  CHECK(put["ResourceIdPreference"]["ResourceIdType"] == "LONG_ID");
  CHECK(put["ResourceIdPreference"]["Resources"] == json({"FILE_SYSTEM", "MOUNT_TARGET"}));
  auto id = h.make_fs();
  CHECK(id.size() == 3 + 17);
  CHECK(h.ok("DescribeAccountPreferences")["ResourceIdPreference"]["ResourceIdType"] == "LONG_ID");
}

TEST_CASE("the default quota is 1,000 file systems per account and Region") {
  Harness h;
  for (int i = 0; i < 1000; ++i)
    REQUIRE(h.err("CreateFileSystem", {{"CreationToken", "q" + std::to_string(i)}}) == "ok");
  CHECK(h.err("CreateFileSystem", {{"CreationToken", "q1000"}}) == "FileSystemLimitExceeded");
  // DescribeFileSystems pages them 100 at a time by default.
  auto page = h.ok("DescribeFileSystems");
  CHECK(page["FileSystems"].size() == 100);
  CHECK(page.contains("NextMarker"));
}

TEST_CASE("input of the wrong JSON type is a BadRequest, never a crash") {
  Harness h;
  auto fs = h.make_available_fs();
  CHECK(h.err("CreateFileSystem", {{"CreationToken", 5}}) == "BadRequest");
  CHECK(h.err("DescribeFileSystems", {{"FileSystemId", json::array()}}) == "BadRequest");
  CHECK(h.err("CreateMountTarget", {{"FileSystemId", fs}, {"SubnetId", 7}}) == "BadRequest");
  CHECK(h.err("DescribeMountTargets", {{"MountTargetId", 1}}) == "BadRequest");
  CHECK(h.err("PutLifecycleConfiguration",
              {{"FileSystemId", fs}, {"LifecyclePolicies", {{{"TransitionToIA", 3}}}}}) ==
        "BadRequest");
  auto r = h.ops["DescribeFileSystems"](h.ctx, json::array());
  REQUIRE(!r.ok());
  CHECK(r.error().code == "BadRequest");
  // The service still works afterwards.
  CHECK(h.describe_fs(fs)["LifeCycleState"] == "available");
}

TEST_CASE("a request without account or Region acts in the configured defaults") {
  ServiceOptions o;
  o.default_region = "ap-south-1";
  o.default_account = "123456789012";
  Harness h(o);
  h.ctx.region.clear();
  h.ctx.account_id.clear();
  auto fs = h.ok("CreateFileSystem", {{"CreationToken", "d"}});
  CHECK(fs["OwnerId"] == "123456789012");
  CHECK(fs["FileSystemArn"].get<std::string>().find(":ap-south-1:123456789012:") !=
        std::string::npos);
}

TEST_CASE("UpdateFileSystem refuses leaving elastic while data is in Archive") {
  Harness h;
  auto id = h.make_available_fs({{"ThroughputMode", "elastic"}});
  // No Archive rule (only IA), but data already in Archive.
  h.ok("PutLifecycleConfiguration",
       {{"FileSystemId", id}, {"LifecyclePolicies", json::array({{{"TransitionToIA", "AFTER_7_DAYS"}}})}});
  MeteredSize in_archive{6144 + 8192, 6144, 0, 8192};
  h.metered = [&](const std::string&) { return in_archive; };
  auto r = h.call("UpdateFileSystem", {{"FileSystemId", id}, {"ThroughputMode", "bursting"}});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "BadRequest");
  CHECK(r.error().message.find("Archive") != std::string::npos);
  CHECK(h.describe_fs(id)["ThroughputMode"] == "elastic");
  // Once nothing is in Archive, the change goes through.
  in_archive = MeteredSize{6144, 6144, 0, 0};
  CHECK(h.err("UpdateFileSystem", {{"FileSystemId", id}, {"ThroughputMode", "bursting"}}) == "ok");
}
