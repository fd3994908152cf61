#include "harness.h"

using namespace efs;
using namespace efs::testing;

namespace {
const char* kSubnetA = "subnet-00000000000000001";
const char* kSubnetB = "subnet-00000000000000002";
}  // namespace

TEST_CASE("CreateMountTarget: address, interface, zone, VPC and default security group") {
  Harness h;
  auto fs = h.make_available_fs();
  auto mt = h.ok("CreateMountTarget", {{"FileSystemId", fs}, {"SubnetId", kSubnetA}});
  std::string id = mt["MountTargetId"];
  CHECK(is_id(id, "fsmt"));
  CHECK(mt["FileSystemId"] == fs);
  CHECK(mt["SubnetId"] == kSubnetA);
  CHECK(mt["LifeCycleState"] == "creating");
  CHECK(mt["IpAddress"] == "127.0.1.4");
  CHECK(mt["AvailabilityZoneName"] == "us-east-1a");
  CHECK(mt["AvailabilityZoneId"] == "use1-az1");
  CHECK(mt["VpcId"] == "vpc-00000000000000001");
  CHECK(mt["OwnerId"] == "000000000000");
  REQUIRE(h.network.enis_.count(mt["NetworkInterfaceId"]) == 1);
  CHECK(h.describe_fs(fs)["NumberOfMountTargets"] == 1);
  // Not exported while creating; its security groups are readable already:
  // the network interface exists (API reference, DescribeMountTargetSecurityGroups).
  CHECK(h.service->snapshot()->mount_targets().empty());
  CHECK(h.ok("DescribeMountTargetSecurityGroups", {{"MountTargetId", id}})["SecurityGroups"]
            .size() == 1);
  h.wait_states();
  h.service->tick();
  auto addrs = h.service->snapshot()->mount_targets();
  REQUIRE(addrs.size() == 1);
  CHECK(addrs[0].ip == "127.0.1.4");
  CHECK(addrs[0].fs_id == fs);
  CHECK(h.mt_changes >= 1);
  // The hook fires once the snapshot that exports the mount target is out.
  REQUIRE(!h.mt_seen.empty());
  CHECK(h.mt_seen.back() == 1);
  auto sgs = h.ok("DescribeMountTargetSecurityGroups", {{"MountTargetId", id}});
  CHECK(sgs["SecurityGroups"] == json({"sg-00000000000000001"}));
}

TEST_CASE("CreateMountTarget errors are the model's") {
  Harness h;
  auto creating = h.make_fs();
  CHECK(h.err("CreateMountTarget", {{"FileSystemId", creating}, {"SubnetId", kSubnetA}}) ==
        "IncorrectFileSystemLifeCycleState");
  auto fs = h.make_available_fs();
  CHECK(h.err("CreateMountTarget", {{"FileSystemId", "fs-0123456789abcdef0"},
                                    {"SubnetId", kSubnetA}}) == "FileSystemNotFound");
  CHECK(h.err("CreateMountTarget", {{"FileSystemId", fs},
                                    {"SubnetId", "subnet-0123456789abcdef0"}}) == "SubnetNotFound");
  CHECK(h.err("CreateMountTarget",
              {{"FileSystemId", fs},
               {"SubnetId", kSubnetA},
               {"SecurityGroups",
                {"sg-00000000000000001", "sg-00000000000000002", "sg-00000000000000003",
                 "sg-00000000000000004", "sg-00000000000000005", "sg-00000000000000006"}}}) ==
        "SecurityGroupLimitExceeded");
  CHECK(h.err("CreateMountTarget", {{"FileSystemId", fs},
                                    {"SubnetId", kSubnetA},
                                    {"SecurityGroups", {"sg-0123456789abcdef0"}}}) ==
        "SecurityGroupNotFound");
  CHECK(h.err("CreateMountTarget", {{"FileSystemId", fs},
                                    {"SubnetId", kSubnetA},
                                    {"SecurityGroups", {"sg-00000000000000009"}}}) ==
        "SecurityGroupNotFound");
  CHECK(h.err("CreateMountTarget", {{"FileSystemId", fs},
                                    {"SubnetId", kSubnetA},
                                    {"IpAddressType", "IPV6_ONLY"},
                                    {"IpAddress", "127.0.1.9"}}) == "BadRequest");
  // Nothing failed left an interface behind.
  CHECK(h.network.enis_.empty());

  h.ok("CreateMountTarget",
       {{"FileSystemId", fs}, {"SubnetId", kSubnetA}, {"IpAddress", "127.0.1.20"}});
  auto other = h.make_available_fs();
  CHECK(h.err("CreateMountTarget",
              {{"FileSystemId", other}, {"SubnetId", kSubnetA}, {"IpAddress", "127.0.1.20"}}) ==
        "IpAddressInUse");
  // One mount target per zone per file system.
  auto r = h.call("CreateMountTarget", {{"FileSystemId", fs}, {"SubnetId", kSubnetA}});
  REQUIRE(!r.ok());
  CHECK(r.error().code == "MountTargetConflict");
  CHECK(r.error().http_status == 409);
  CHECK(h.network.enis_.size() == 1);  // the conflicting interface was given back
  CHECK(h.err("CreateMountTarget", {{"FileSystemId", fs}, {"SubnetId", kSubnetB}}) == "ok");
}

TEST_CASE("One Zone file systems take mount targets only in their zone") {
  Harness h;
  auto fs = h.make_available_fs({{"AvailabilityZoneName", "us-east-1a"}});
  CHECK(h.err("CreateMountTarget", {{"FileSystemId", fs}, {"SubnetId", kSubnetB}}) ==
        "AvailabilityZonesMismatch");
  CHECK(h.err("CreateMountTarget", {{"FileSystemId", fs}, {"SubnetId", kSubnetA}}) == "ok");
}

TEST_CASE("IPv6 and dual-stack mount targets") {
  Harness h;
  auto fs = h.make_available_fs();
  auto v6 = h.ok("CreateMountTarget",
                 {{"FileSystemId", fs}, {"SubnetId", kSubnetA}, {"IpAddressType", "IPV6_ONLY"}});
  CHECK(!v6.contains("IpAddress"));
  CHECK(v6.contains("Ipv6Address"));
  auto dual = h.ok("CreateMountTarget",
                   {{"FileSystemId", fs}, {"SubnetId", kSubnetB}, {"IpAddressType", "DUAL_STACK"}});
  CHECK(dual.contains("IpAddress"));
  CHECK(dual.contains("Ipv6Address"));
}

TEST_CASE("DescribeMountTargets: exactly one selector, pagination, by access point") {
  Harness h;
  auto fs = h.make_available_fs();
  std::vector<std::string> ids;
  for (auto subnet :
       {"subnet-00000000000000001", "subnet-00000000000000002", "subnet-00000000000000003"})
    ids.push_back(
        h.ok("CreateMountTarget", {{"FileSystemId", fs}, {"SubnetId", subnet}})["MountTargetId"]);
  CHECK(h.err("DescribeMountTargets") == "BadRequest");
  CHECK(h.err("DescribeMountTargets", {{"FileSystemId", fs}, {"MountTargetId", ids[0]}}) ==
        "BadRequest");
  auto p1 = h.ok("DescribeMountTargets", {{"FileSystemId", fs}, {"MaxItems", 2}});
  CHECK(p1["MountTargets"].size() == 2);
  REQUIRE(p1.contains("NextMarker"));
  auto p2 = h.ok("DescribeMountTargets",
                 {{"FileSystemId", fs}, {"MaxItems", 2}, {"Marker", p1["NextMarker"]}});
  CHECK(p2["MountTargets"].size() == 1);
  CHECK(p2["MountTargets"][0]["MountTargetId"] == ids[2]);
  CHECK(p2["Marker"] == p1["NextMarker"]);
  CHECK(!p2.contains("NextMarker"));
  auto one = h.ok("DescribeMountTargets", {{"MountTargetId", ids[1]}});
  CHECK(one["MountTargets"][0]["MountTargetId"] == ids[1]);
  CHECK(h.err("DescribeMountTargets", {{"MountTargetId", "fsmt-0123456789abcdef0"}}) ==
        "MountTargetNotFound");
  auto ap = h.ok("CreateAccessPoint", {{"ClientToken", "t"}, {"FileSystemId", fs}});
  auto by_ap = h.ok("DescribeMountTargets", {{"AccessPointId", ap["AccessPointId"]}});
  CHECK(by_ap["MountTargets"].size() == 3);
}

TEST_CASE("ModifyMountTargetSecurityGroups replaces the groups of a target not deleted") {
  Harness h;
  auto fs = h.make_available_fs();
  auto mt = h.ok("CreateMountTarget", {{"FileSystemId", fs}, {"SubnetId", kSubnetA}});
  std::string id = mt["MountTargetId"];
  json groups = {"sg-00000000000000002", "sg-00000000000000003"};
  // While creating: the network interface exists, so the groups can change.
  h.ok("ModifyMountTargetSecurityGroups", {{"MountTargetId", id}, {"SecurityGroups", groups}});
  h.wait_states();
  h.ok("ModifyMountTargetSecurityGroups", {{"MountTargetId", id}, {"SecurityGroups", groups}});
  CHECK(h.ok("DescribeMountTargetSecurityGroups", {{"MountTargetId", id}})["SecurityGroups"] ==
        groups);
  CHECK(h.network.enis_[mt["NetworkInterfaceId"]].security_groups.size() == 2);
  CHECK(h.err("ModifyMountTargetSecurityGroups",
              {{"MountTargetId", id}, {"SecurityGroups", {"sg-0123456789abcdef0"}}}) ==
        "SecurityGroupNotFound");
  // Deleting gives the network interface back: nothing left to describe.
  h.ok("DeleteMountTarget", {{"MountTargetId", id}});
  CHECK(h.err("DescribeMountTargetSecurityGroups", {{"MountTargetId", id}}) ==
        "IncorrectMountTargetState");
  CHECK(h.err("ModifyMountTargetSecurityGroups",
              {{"MountTargetId", id}, {"SecurityGroups", groups}}) == "IncorrectMountTargetState");
}

TEST_CASE("a file system with mount targets cannot be deleted until they are gone") {
  Harness h;
  auto fs = h.make_available_fs();
  auto mt = h.ok("CreateMountTarget", {{"FileSystemId", fs}, {"SubnetId", kSubnetA}});
  h.wait_states();
  auto r = h.call("DeleteFileSystem", {{"FileSystemId", fs}});
  REQUIRE(!r.ok());
  CHECK(r.error().code == "FileSystemInUse");
  CHECK(r.error().http_status == 409);
  int changes = h.mt_changes;
  h.ok("DeleteMountTarget", {{"MountTargetId", mt["MountTargetId"]}});
  CHECK(h.mt_changes > changes);
  CHECK(h.mt_seen.back() == 0);
  CHECK(h.service->snapshot()->mount_targets().empty());
  CHECK(h.network.enis_.empty());
  auto d = h.ok("DescribeMountTargets", {{"FileSystemId", fs}});
  CHECK(d["MountTargets"][0]["LifeCycleState"] == "deleting");
  CHECK(h.err("DeleteFileSystem", {{"FileSystemId", fs}}) == "FileSystemInUse");
  h.wait_states();
  CHECK(h.ok("DescribeMountTargets", {{"FileSystemId", fs}})["MountTargets"].empty());
  CHECK(h.err("DeleteFileSystem", {{"FileSystemId", fs}}) == "ok");
  CHECK(h.err("DeleteMountTarget", {{"MountTargetId", mt["MountTargetId"]}}) ==
        "MountTargetNotFound");
}

TEST_CASE("restart: mount targets keep their IDs and addresses") {
  Harness h;
  auto fs = h.make_available_fs();
  auto mt = h.ok("CreateMountTarget", {{"FileSystemId", fs}, {"SubnetId", kSubnetA}});
  h.wait_states();
  h.reopen();
  auto d = h.ok("DescribeMountTargets", {{"FileSystemId", fs}});
  REQUIRE(d["MountTargets"].size() == 1);
  CHECK(d["MountTargets"][0]["MountTargetId"] == mt["MountTargetId"]);
  CHECK(d["MountTargets"][0]["IpAddress"] == mt["IpAddress"]);
  CHECK(d["MountTargets"][0]["LifeCycleState"] == "available");
  CHECK(h.service->snapshot()->mount_targets().size() == 1);
}
