#include "harness.h"

using namespace efs;
using namespace efs::testing;

TEST_CASE("CreateAccessPoint: IDs, ARN, POSIX user, root directory, creating -> available") {
  Harness h;
  auto fs = h.make_available_fs();
  auto ap = h.ok(
      "CreateAccessPoint",
      {{"ClientToken", "c1"},
       {"FileSystemId", fs},
       {"Tags", {{{"Key", "Name"}, {"Value", "app"}}}},
       {"PosixUser", {{"Uid", 1000}, {"Gid", 1000}, {"SecondaryGids", {2000}}}},
       {"RootDirectory",
        {{"Path", "/app/"},
         {"CreationInfo", {{"OwnerUid", 1000}, {"OwnerGid", 1000}, {"Permissions", "0750"}}}}}});
  std::string id = ap["AccessPointId"];
  CHECK(is_id(id, "fsap"));
  CHECK(ap["AccessPointArn"] ==
        "arn:aws:elasticfilesystem:us-east-1:000000000000:access-point/" + id);
  CHECK(ap["Name"] == "app");
  CHECK(ap["ClientToken"] == "c1");
  CHECK(ap["LifeCycleState"] == "creating");
  CHECK(ap["RootDirectory"]["Path"] == "/app");
  CHECK(ap["PosixUser"]["SecondaryGids"] == json({2000}));
  CHECK(!h.service->snapshot()->access_point(id));
  h.wait_states();
  h.service->clock_advanced();  // as POST /_efs-local/clock does
  auto snap = h.service->snapshot();
  auto exported = snap->access_point(id);
  REQUIRE(exported);
  CHECK(exported->fs_id == fs);
  CHECK(exported->root_path == "/app");
  REQUIRE(exported->posix_user);
  CHECK(exported->posix_user->uid == 1000);
  REQUIRE(exported->creation_info);
  CHECK(exported->creation_info->permissions == 0750);
  auto plain = h.ok("CreateAccessPoint", {{"ClientToken", "c2"}, {"FileSystemId", fs}});
  CHECK(plain["RootDirectory"]["Path"] == "/");
  CHECK(!plain.contains("PosixUser"));
}

TEST_CASE("ClientToken is idempotent: AccessPointAlreadyExists with the AccessPointId") {
  Harness h;
  auto fs = h.make_available_fs();
  auto ap = h.ok("CreateAccessPoint", {{"ClientToken", "same"}, {"FileSystemId", fs}});
  auto r = h.call("CreateAccessPoint", {{"ClientToken", "same"}, {"FileSystemId", fs}});
  REQUIRE(!r.ok());
  CHECK(r.error().code == "AccessPointAlreadyExists");
  CHECK(r.error().http_status == 409);
  CHECK(r.error().extra["AccessPointId"] == ap["AccessPointId"]);
}

TEST_CASE("access point errors: file system state, limit, bad paths") {
  ServiceOptions o;
  o.max_access_points_per_file_system = 2;
  Harness h(o);
  auto creating = h.make_fs();
  CHECK(h.err("CreateAccessPoint", {{"ClientToken", "a"}, {"FileSystemId", creating}}) ==
        "IncorrectFileSystemLifeCycleState");
  CHECK(h.err("CreateAccessPoint",
              {{"ClientToken", "a"}, {"FileSystemId", "fs-0123456789abcdef0"}}) ==
        "FileSystemNotFound");
  h.wait_states();
  h.ok("CreateAccessPoint", {{"ClientToken", "1"}, {"FileSystemId", creating}});
  h.ok("CreateAccessPoint", {{"ClientToken", "2"}, {"FileSystemId", creating}});
  auto r = h.call("CreateAccessPoint", {{"ClientToken", "3"}, {"FileSystemId", creating}});
  REQUIRE(!r.ok());
  CHECK(r.error().code == "AccessPointLimitExceeded");
  CHECK(r.error().http_status == 403);
  auto other = h.make_available_fs();
  CHECK(h.err("CreateAccessPoint", {{"ClientToken", "4"},
                                    {"FileSystemId", other},
                                    {"RootDirectory", {{"Path", "/a/../b"}}}}) == "BadRequest");
}

TEST_CASE("DescribeAccessPoints pages with NextToken/MaxResults") {
  Harness h;
  auto fs = h.make_available_fs();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i)
    ids.push_back(h.ok("CreateAccessPoint", {{"ClientToken", std::to_string(i)},
                                             {"FileSystemId", fs}})["AccessPointId"]);
  std::vector<std::string> seen;
  json in = {{"FileSystemId", fs}, {"MaxResults", 2}};
  while (true) {
    auto page = h.ok("DescribeAccessPoints", in);
    for (const auto& ap : page["AccessPoints"]) seen.push_back(ap["AccessPointId"]);
    if (!page.contains("NextToken")) break;
    in["NextToken"] = page["NextToken"];
  }
  CHECK(seen == ids);
  CHECK(h.ok("DescribeAccessPoints")["AccessPoints"].size() == 5);
  CHECK(h.ok("DescribeAccessPoints",
             {{"AccessPointId", ids[2]}})["AccessPoints"][0]["AccessPointId"] == ids[2]);
  CHECK(h.err("DescribeAccessPoints", {{"AccessPointId", "fsap-0123456789abcdef0"}}) ==
        "AccessPointNotFound");
  CHECK(h.err("DescribeAccessPoints", {{"NextToken", "zz"}}) == "BadRequest");
}

TEST_CASE("DeleteAccessPoint; deleting a file system takes its access points") {
  Harness h;
  auto fs = h.make_available_fs();
  auto a = h.ok("CreateAccessPoint", {{"ClientToken", "a"}, {"FileSystemId", fs}});
  auto b = h.ok("CreateAccessPoint", {{"ClientToken", "b"}, {"FileSystemId", fs}});
  h.wait_states();
  h.ok("DeleteAccessPoint", {{"AccessPointId", a["AccessPointId"]}});
  CHECK(!h.service->snapshot()->access_point(a["AccessPointId"].get<std::string>()));
  CHECK(h.service->snapshot()->access_points().size() == 1);
  h.wait_states();
  CHECK(h.err("DeleteAccessPoint", {{"AccessPointId", a["AccessPointId"]}}) ==
        "AccessPointNotFound");
  h.ok("DeleteFileSystem", {{"FileSystemId", fs}});
  CHECK(h.err("DescribeAccessPoints", {{"AccessPointId", b["AccessPointId"]}}) ==
        "AccessPointNotFound");
}

TEST_CASE("restart: access points keep IDs and settings") {
  Harness h;
  auto fs = h.make_available_fs();
  auto ap =
      h.ok("CreateAccessPoint",
           {{"ClientToken", "r"}, {"FileSystemId", fs}, {"PosixUser", {{"Uid", 5}, {"Gid", 6}}}});
  h.reopen();
  auto d = h.ok("DescribeAccessPoints", {{"AccessPointId", ap["AccessPointId"]}});
  CHECK(d["AccessPoints"][0]["PosixUser"]["Uid"] == 5);
  CHECK(d["AccessPoints"][0]["ClientToken"] == "r");
  CHECK(h.err("CreateAccessPoint", {{"ClientToken", "r"}, {"FileSystemId", fs}}) ==
        "AccessPointAlreadyExists");
}
