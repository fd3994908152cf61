#include "harness.h"

using namespace efs;
using namespace efs::testing;

TEST_CASE("lifecycle configuration: one transition per policy, archive rules") {
  Harness h;
  auto fs = h.make_available_fs();
  CHECK(
      h.ok("DescribeLifecycleConfiguration", {{"FileSystemId", fs}})["LifecyclePolicies"].empty());
  json ia = {{{"TransitionToIA", "AFTER_30_DAYS"}},
             {{"TransitionToPrimaryStorageClass", "AFTER_1_ACCESS"}}};
  CHECK(h.ok("PutLifecycleConfiguration",
             {{"FileSystemId", fs}, {"LifecyclePolicies", ia}})["LifecyclePolicies"] == ia);
  CHECK(h.ok("DescribeLifecycleConfiguration", {{"FileSystemId", fs}})["LifecyclePolicies"] == ia);
  CHECK(h.err("PutLifecycleConfiguration", {{"FileSystemId", fs},
                                            {"LifecyclePolicies",
                                             {{{"TransitionToIA", "AFTER_30_DAYS"},
                                               {"TransitionToArchive", "AFTER_90_DAYS"}}}}}) ==
        "BadRequest");
  CHECK(h.err("PutLifecycleConfiguration",
              {{"FileSystemId", fs},
               {"LifecyclePolicies",
                {{{"TransitionToIA", "AFTER_30_DAYS"}}, {{"TransitionToIA", "AFTER_7_DAYS"}}}}}) ==
        "BadRequest");
  // Archive needs elastic throughput.
  json archive = {{{"TransitionToIA", "AFTER_30_DAYS"}},
                  {{"TransitionToArchive", "AFTER_90_DAYS"}}};
  CHECK(h.err("PutLifecycleConfiguration",
              {{"FileSystemId", fs}, {"LifecyclePolicies", archive}}) == "BadRequest");
  auto elastic = h.make_available_fs({{"ThroughputMode", "elastic"}});
  CHECK(h.err("PutLifecycleConfiguration",
              {{"FileSystemId", elastic}, {"LifecyclePolicies", archive}}) == "ok");
  // ... and must come after IA.
  CHECK(h.err("PutLifecycleConfiguration", {{"FileSystemId", elastic},
                                            {"LifecyclePolicies",
                                             {{{"TransitionToIA", "AFTER_90_DAYS"}},
                                              {{"TransitionToArchive", "AFTER_30_DAYS"}}}}}) ==
        "BadRequest");
  // An empty list removes the configuration.
  h.ok("PutLifecycleConfiguration", {{"FileSystemId", fs}, {"LifecyclePolicies", json::array()}});
  CHECK(
      h.ok("DescribeLifecycleConfiguration", {{"FileSystemId", fs}})["LifecyclePolicies"].empty());
  CHECK(h.err("DescribeLifecycleConfiguration", {{"FileSystemId", "fs-0123456789abcdef0"}}) ==
        "FileSystemNotFound");
}

TEST_CASE("file system policy: validated as an IAM policy document") {
  Harness h;
  auto fs = h.make_available_fs();
  CHECK(h.err("DescribeFileSystemPolicy", {{"FileSystemId", fs}}) == "PolicyNotFound");
  std::string good = R"({"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Allow",
    "Principal":{"AWS":"*"},"Action":["elasticfilesystem:ClientMount"],
    "Condition":{"Bool":{"aws:SecureTransport":"true"}}}]})";
  auto put =
      h.ok("PutFileSystemPolicy",
           {{"FileSystemId", fs}, {"Policy", good}, {"BypassPolicyLockoutSafetyCheck", true}});
  CHECK(put["FileSystemId"] == fs);
  CHECK(put["Policy"] == good);
  CHECK(h.ok("DescribeFileSystemPolicy", {{"FileSystemId", fs}})["Policy"] == good);
  for (
      std::string bad : {
          std::string("not json"),
          std::string(R"([])"),
          std::string(R"({"Version":"2012-10-17"})"),
          std::string(R"({"Statement":[{"Effect":"Maybe","Principal":"*","Action":"x"}]})"),
          std::string(R"({"Statement":[{"Effect":"Allow","Action":"x"}]})"),
          std::string(R"({"Statement":[{"Effect":"Allow","Principal":"*"}]})"),
          std::string(
              R"({"Version":"2020-01-01","Statement":{"Effect":"Allow","Principal":"*","Action":"x"}})"),
          std::string(R"({"Statement":{"Effect":"Allow","Principal":"*","Action":"x","Bogus":1}})"),
      }) {
    auto r = h.call("PutFileSystemPolicy", {{"FileSystemId", fs}, {"Policy", bad}});
    REQUIRE(!r.ok());
    CHECK(r.error().code == "InvalidPolicyException");
  }
  h.ok("DeleteFileSystemPolicy", {{"FileSystemId", fs}});
  CHECK(h.err("DescribeFileSystemPolicy", {{"FileSystemId", fs}}) == "PolicyNotFound");
  CHECK(h.err("DeleteFileSystemPolicy", {{"FileSystemId", fs}}) == "ok");
}

TEST_CASE("backup policy: DISABLED by default, ENABLING then ENABLED") {
  Harness h;
  auto fs = h.make_available_fs();
  CHECK(h.ok("DescribeBackupPolicy", {{"FileSystemId", fs}})["BackupPolicy"]["Status"] ==
        "DISABLED");
  auto put =
      h.ok("PutBackupPolicy", {{"FileSystemId", fs}, {"BackupPolicy", {{"Status", "ENABLED"}}}});
  CHECK(put["BackupPolicy"]["Status"] == "ENABLING");
  h.wait_states();
  CHECK(h.ok("DescribeBackupPolicy", {{"FileSystemId", fs}})["BackupPolicy"]["Status"] ==
        "ENABLED");
  CHECK(h.err("PutBackupPolicy",
              {{"FileSystemId", fs}, {"BackupPolicy", {{"Status", "ENABLING"}}}}) ==
        "ValidationException");
  auto with_backup = h.make_available_fs({{"Backup", true}});
  CHECK(h.ok("DescribeBackupPolicy", {{"FileSystemId", with_backup}})["BackupPolicy"]["Status"] ==
        "ENABLED");
}

TEST_CASE("tags: both API generations, Name, the 50-tag limit and pagination") {
  Harness h;
  auto fs = h.make_available_fs();
  h.ok("CreateTags",
       {{"FileSystemId", fs},
        {"Tags", {{{"Key", "Name"}, {"Value", "n1"}}, {{"Key", "a"}, {"Value", "1"}}}}});
  CHECK(h.describe_fs(fs)["Name"] == "n1");
  h.ok("TagResource", {{"ResourceId", fs}, {"Tags", {{{"Key", "Name"}, {"Value", "n2"}}}}});
  CHECK(h.describe_fs(fs)["Name"] == "n2");
  CHECK(h.ok("DescribeTags", {{"FileSystemId", fs}})["Tags"].size() == 2);
  h.ok("DeleteTags", {{"FileSystemId", fs}, {"TagKeys", {"a"}}});
  h.ok("UntagResource", {{"ResourceId", fs}, {"TagKeys", {"Name"}}});
  CHECK(h.ok("ListTagsForResource", {{"ResourceId", fs}})["Tags"].empty());
  CHECK(!h.describe_fs(fs).contains("Name"));

  json many = json::array();
  for (int i = 0; i < 50; ++i) many.push_back({{"Key", "k" + std::to_string(i)}, {"Value", "v"}});
  h.ok("CreateTags", {{"FileSystemId", fs}, {"Tags", many}});
  CHECK(h.err("CreateTags", {{"FileSystemId", fs},
                             {"Tags", {{{"Key", "one-more"}, {"Value", ""}}}}}) == "BadRequest");
  // Re-tagging an existing key does not count twice.
  CHECK(h.err("TagResource", {{"ResourceId", fs}, {"Tags", {{{"Key", "k1"}, {"Value", "w"}}}}}) ==
        "ok");

  std::vector<std::string> keys;
  json in = {{"FileSystemId", fs}, {"MaxItems", 20}};
  int pages = 0;
  while (true) {
    auto page = h.ok("DescribeTags", in);
    ++pages;
    for (const auto& t : page["Tags"]) keys.push_back(t["Key"]);
    if (!page.contains("NextMarker")) break;
    in["Marker"] = page["NextMarker"];
  }
  CHECK(pages == 3);
  CHECK(keys.size() == 50);
  auto lt = h.ok("ListTagsForResource", {{"ResourceId", fs}, {"MaxResults", 40}});
  CHECK(lt["Tags"].size() == 40);
  REQUIRE(lt.contains("NextToken"));
  CHECK(h.ok("ListTagsForResource", {{"ResourceId", fs}, {"NextToken", lt["NextToken"]}})["Tags"]
            .size() == 10);

  // Access points, by ID or ARN.
  auto ap = h.ok("CreateAccessPoint", {{"ClientToken", "t"}, {"FileSystemId", fs}});
  h.ok("TagResource",
       {{"ResourceId", ap["AccessPointArn"]}, {"Tags", {{{"Key", "Name"}, {"Value", "ap"}}}}});
  CHECK(h.ok("DescribeAccessPoints",
             {{"AccessPointId", ap["AccessPointId"]}})["AccessPoints"][0]["Name"] == "ap");
  CHECK(h.err("TagResource", {{"ResourceId", "fsap-0123456789abcdef0"},
                              {"Tags", {{{"Key", "x"}, {"Value", "y"}}}}}) ==
        "AccessPointNotFound");
  CHECK(h.err("ListTagsForResource", {{"ResourceId", "fs-0123456789abcdef0"}}) ==
        "FileSystemNotFound");
}

TEST_CASE("replication: a new destination in another Region, describe from both ends, delete") {
  Harness h;
  auto src = h.make_available_fs();
  auto rep = h.ok("CreateReplicationConfiguration",
                  {{"SourceFileSystemId", src}, {"Destinations", {{{"Region", "eu-west-1"}}}}});
  CHECK(rep["SourceFileSystemId"] == src);
  CHECK(rep["SourceFileSystemRegion"] == "us-east-1");
  CHECK(rep["OriginalSourceFileSystemArn"] == rep["SourceFileSystemArn"]);
  REQUIRE(rep["Destinations"].size() == 1);
  std::string dest = rep["Destinations"][0]["FileSystemId"];
  CHECK(rep["Destinations"][0]["Region"] == "eu-west-1");
  CHECK(rep["Destinations"][0]["Status"] == "ENABLING");
  // The destination lives in its Region, read-only.
  CHECK(h.err("DescribeFileSystems", {{"FileSystemId", dest}}) == "FileSystemNotFound");
  RequestContext eu = h.ctx;
  eu.region = "eu-west-1";
  h.wait_states();
  auto d = h.ops["DescribeFileSystems"](eu, {{"FileSystemId", dest}});
  REQUIRE(d.ok());
  CHECK((*d)["FileSystems"][0]["FileSystemProtection"]["ReplicationOverwriteProtection"] ==
        "REPLICATING");
  CHECK((*d)["FileSystems"][0]["Encrypted"] == true);
  auto from_dest = h.ops["DescribeReplicationConfigurations"](eu, {{"FileSystemId", dest}});
  REQUIRE(from_dest.ok());
  CHECK((*from_dest)["Replications"][0]["SourceFileSystemId"] == src);
  // ENABLING until the replicator reports a completed sync.
  CHECK((*from_dest)["Replications"][0]["Destinations"][0]["Status"] == "ENABLING");
  CHECK(!(*from_dest)["Replications"][0]["Destinations"][0].contains("LastReplicatedTimestamp"));
  REQUIRE(h.service->replication_synced(src, 1700000000.0).ok());
  auto synced = h.ok("DescribeReplicationConfigurations", {{"FileSystemId", src}});
  CHECK(synced["Replications"][0]["Destinations"][0]["Status"] == "ENABLED");
  CHECK(synced["Replications"][0]["Destinations"][0]["LastReplicatedTimestamp"] == 1700000000.0);
  REQUIRE(h.service->replication_status(src, "PAUSED", "key disabled").ok());
  auto paused = h.ok("DescribeReplicationConfigurations", {{"FileSystemId", src}});
  CHECK(paused["Replications"][0]["Destinations"][0]["Status"] == "PAUSED");
  CHECK(paused["Replications"][0]["Destinations"][0]["StatusMessage"] == "key disabled");
  auto jobs = h.service->replication_jobs();
  REQUIRE(jobs.ok());
  REQUIRE(jobs->size() == 1);
  CHECK((*jobs)[0].destination == dest);
  CHECK((*jobs)[0].last_replicated == 1700000000.0);
  CHECK(h.ok("DescribeReplicationConfigurations")["Replications"].size() == 1);

  CHECK(h.err("CreateReplicationConfiguration",
              {{"SourceFileSystemId", src}, {"Destinations", {{{"Region", "eu-west-1"}}}}}) ==
        "ValidationException");
  CHECK(h.err("DeleteFileSystem", {{"FileSystemId", src}}) == "FileSystemInUse");
  auto unprotect = h.ops["UpdateFileSystemProtection"](
      eu, {{"FileSystemId", dest}, {"ReplicationOverwriteProtection", "ENABLED"}});
  REQUIRE(!unprotect.ok());
  CHECK(unprotect.error().code == "ReplicationAlreadyExists");

  h.ok("DeleteReplicationConfiguration", {{"SourceFileSystemId", src}});
  CHECK(h.err("DescribeReplicationConfigurations", {{"FileSystemId", src}}) ==
        "ReplicationNotFound");
  CHECK(h.err("DeleteReplicationConfiguration", {{"SourceFileSystemId", src}}) ==
        "ReplicationNotFound");
  CHECK(h.err("DeleteFileSystem", {{"FileSystemId", src}}) == "ok");
}

TEST_CASE("replication to an existing file system needs its overwrite protection off") {
  Harness h;
  auto src = h.make_available_fs();
  auto dest = h.make_available_fs();
  json in = {{"SourceFileSystemId", src}, {"Destinations", {{{"FileSystemId", dest}}}}};
  CHECK(h.err("CreateReplicationConfiguration", in) == "ConflictException");
  h.ok("UpdateFileSystemProtection",
       {{"FileSystemId", dest}, {"ReplicationOverwriteProtection", "DISABLED"}});
  auto rep = h.ok("CreateReplicationConfiguration", in);
  CHECK(rep["Destinations"][0]["FileSystemId"] == dest);
  CHECK(rep["Destinations"][0]["Region"] == "us-east-1");
  CHECK(h.err("CreateReplicationConfiguration", {{"SourceFileSystemId", "fs-0123456789abcdef0"},
                                                 {"Destinations", {{{"Region", "us-east-1"}}}}}) ==
        "FileSystemNotFound");
  h.reopen();
  CHECK(h.ok("DescribeReplicationConfigurations",
             {{"FileSystemId", src}})["Replications"][0]["Destinations"][0]["FileSystemId"] ==
        dest);
}
