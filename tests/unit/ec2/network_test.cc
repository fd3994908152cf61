#include "ec2/network.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "common/ids.h"
#include "ec2/network_plan.h"
#include "meta/db.h"

using namespace efs;
using namespace efs::ec2;

namespace {

std::string temp_db(const std::string& name) {
  auto dir =
      std::filesystem::temp_directory_path() / ("efs-network-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto p = dir / (name + ".db");
  std::filesystem::remove(p);
  std::filesystem::remove(p.string() + "-wal");
  std::filesystem::remove(p.string() + "-shm");
  return p.string();
}

struct Fixture {
  explicit Fixture(const std::string& name, NetworkLimits limits = {}) : path(temp_db(name)) {
    open(limits);
  }
  void open(NetworkLimits limits = {}) {
    net.reset();
    db.reset();
    auto d = meta::Db::open(path);
    REQUIRE(d.ok());
    db = std::move(*d);
    auto n = Network::open(*db, limits);
    REQUIRE(n.ok());
    net = std::move(*n);
  }
  std::string path;
  std::unique_ptr<meta::Db> db;
  std::unique_ptr<Network> net;
  RequestContext ctx;
};

Subnet first_subnet(Network& net, const RequestContext& ctx) {
  auto s = net.subnets(ctx);
  REQUIRE(s.ok());
  REQUIRE_FALSE(s->empty());
  return s->front();
}

NetworkInterface make_eni(Network& net, const RequestContext& ctx, const std::string& subnet,
                          std::optional<std::string> ip = std::nullopt) {
  auto n = net.create_network_interface(ctx, subnet, ip, true, false, std::nullopt, {}, "test");
  REQUIRE(n.ok());
  return *n;
}

}  // namespace

TEST_CASE("default VPC: us-east-1 has six /20 subnets inside 127.16.0.0/16") {
  Fixture f("layout");
  auto vpc = f.net->default_vpc(f.ctx);
  REQUIRE(vpc.ok());
  CHECK(is_id(vpc->id, "vpc"));
  CHECK(vpc->cidr_block == "127.16.0.0/16");
  CHECK(vpc->is_default);
  CHECK(vpc->owner_id == "000000000000");
  CHECK(vpc->ipv6_cidr_block == "fd00:ec2:10::/48");
  CHECK(vpc->dhcp_options_id.rfind("dopt-", 0) == 0);

  auto subnets = f.net->subnets(f.ctx);
  REQUIRE(subnets.ok());
  REQUIRE(subnets->size() == 6);
  std::set<std::string> ids;
  for (size_t i = 0; i < subnets->size(); ++i) {
    const auto& s = (*subnets)[i];
    CHECK(is_id(s.id, "subnet"));
    CHECK(s.vpc_id == vpc->id);
    CHECK(s.availability_zone == std::string("us-east-1") + static_cast<char>('a' + i));
    CHECK(s.availability_zone_id == "use1-az" + std::to_string(i + 1));
    CHECK(s.cidr_block == "127.16." + std::to_string(16 * i) + ".0/20");
    CHECK(s.available_ip_address_count == 4091);  // 4096 - 5 reserved
    ids.insert(s.ipv6_cidr_block);
  }
  CHECK((*subnets)[0].ipv6_cidr_block == "fd00:ec2:10::/64");
  CHECK((*subnets)[1].ipv6_cidr_block == "fd00:ec2:10:1::/64");
  CHECK(ids.size() == 6);

  auto sg = f.net->default_security_group(f.ctx, vpc->id);
  REQUIRE(sg.ok());
  CHECK(sg->name == "default");
  CHECK(is_id(sg->id, "sg"));
}

TEST_CASE("each (account, region) gets the next /16; zone tables per region") {
  Fixture f("regions");
  RequestContext eu{"eu-west-1", "000000000000", ""};
  RequestContext other{"us-east-1", "111122223333", ""};
  RequestContext odd{"xx-middle-7", "000000000000", ""};
  CHECK(f.net->default_vpc(f.ctx)->cidr_block == "127.16.0.0/16");
  CHECK(f.net->default_vpc(eu)->cidr_block == "127.17.0.0/16");
  CHECK(f.net->default_vpc(other)->cidr_block == "127.18.0.0/16");
  CHECK(f.net->default_vpc(eu)->cidr_block == "127.17.0.0/16");  // not reallocated
  CHECK(f.net->subnets(eu)->size() == 3);
  CHECK(f.net->subnets(eu)->at(2).availability_zone_id == "euw1-az3");
  auto odd_zones = f.net->availability_zones("xx-middle-7");
  REQUIRE(odd_zones.size() == 3);
  CHECK(odd_zones[0].first == "xx-middle-7a");
  CHECK(f.net->availability_zones("ap-northeast-1")[0].second == "apne1-az4");
  CHECK(f.net->availability_zones("eu-central-1")[1].second == "euc1-az2");
  CHECK(f.net->subnets(odd)->size() == 3);
  // Resources of one account are invisible to another.
  auto eu_subnet = first_subnet(*f.net, eu);
  auto miss = f.net->subnet(f.ctx, eu_subnet.id);
  REQUIRE_FALSE(miss.ok());
  CHECK(miss.error().code == "SubnetNotFound");
  CHECK(miss.error().http_status == 400);
}

TEST_CASE("addresses are allocated lowest-free, skipping the reserved ones") {
  Fixture f("alloc");
  auto s = first_subnet(*f.net, f.ctx);
  auto a = make_eni(*f.net, f.ctx, s.id);
  auto b = make_eni(*f.net, f.ctx, s.id);
  CHECK(a.private_ip == "127.16.0.4");
  CHECK(b.private_ip == "127.16.0.5");
  CHECK(is_id(a.id, "eni"));
  CHECK(a.subnet_id == s.id);
  CHECK(a.availability_zone == "us-east-1a");
  REQUIRE(a.security_groups.size() == 1);  // the VPC's default group
  CHECK(a.security_groups[0] == f.net->default_security_group(f.ctx, s.vpc_id)->id);
  CHECK(f.net->subnet(f.ctx, s.id)->available_ip_address_count == 4089);
  // A freed address is reused first.
  REQUIRE(f.net->delete_network_interface(f.ctx, a.id).ok());
  CHECK(make_eni(*f.net, f.ctx, s.id).private_ip == "127.16.0.4");
  auto gone = f.net->delete_network_interface(f.ctx, a.id);
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().code == "InvalidNetworkInterfaceID.NotFound");
  // The second subnet starts at its own base.
  auto second = f.net->subnets(f.ctx)->at(1);
  CHECK(make_eni(*f.net, f.ctx, second.id).private_ip == "127.16.16.4");
}

TEST_CASE("explicit addresses: honoured, in use, outside the CIDR, reserved, malformed") {
  Fixture f("explicit");
  auto s = first_subnet(*f.net, f.ctx);
  CHECK(make_eni(*f.net, f.ctx, s.id, "127.16.3.200").private_ip == "127.16.3.200");
  auto taken = f.net->create_network_interface(f.ctx, s.id, "127.16.3.200", true, false,
                                               std::nullopt, {}, "");
  REQUIRE_FALSE(taken.ok());
  CHECK(taken.error().code == "IpAddressInUse");
  CHECK(taken.error().http_status == 409);
  for (const char* bad : {"127.16.16.4", "10.0.0.4", "127.17.0.4"}) {
    auto r = f.net->create_network_interface(f.ctx, s.id, std::string(bad), true, false,
                                             std::nullopt, {}, "");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "BadRequest");
    CHECK(r.error().message.find("not within") != std::string::npos);
  }
  for (const char* reserved : {"127.16.0.0", "127.16.0.1", "127.16.0.3", "127.16.15.255"}) {
    auto r = f.net->create_network_interface(f.ctx, s.id, std::string(reserved), true, false,
                                             std::nullopt, {}, "");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "BadRequest");
  }
  auto junk = f.net->create_network_interface(f.ctx, s.id, std::string("127.16.0.300"), true, false,
                                              std::nullopt, {}, "");
  REQUIRE_FALSE(junk.ok());
  CHECK(junk.error().code == "BadRequest");
  CHECK(make_eni(*f.net, f.ctx, s.id, "127.16.15.254").private_ip == "127.16.15.254");
  // Auto allocation skips the explicitly taken address.
  CHECK(make_eni(*f.net, f.ctx, s.id).private_ip == "127.16.0.4");
}

TEST_CASE("unknown subnet and security groups are EFS errors") {
  Fixture f("errors");
  auto s = first_subnet(*f.net, f.ctx);
  auto r = f.net->create_network_interface(f.ctx, "subnet-00000000000000000", std::nullopt, true,
                                           false, std::nullopt, {}, "");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "SubnetNotFound");
  r = f.net->create_network_interface(f.ctx, s.id, std::nullopt, true, false, std::nullopt,
                                      {"sg-00000000000000000"}, "");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "SecurityGroupNotFound");
  CHECK(r.error().http_status == 400);
  auto eu = RequestContext{"eu-west-1", "000000000000", ""};
  auto eu_sg = f.net->default_security_group(eu, f.net->default_vpc(eu)->id);
  REQUIRE(eu_sg.ok());
  r = f.net->create_network_interface(f.ctx, s.id, std::nullopt, true, false, std::nullopt,
                                      {eu_sg->id}, "");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "SecurityGroupNotFound");
  std::vector<std::string> six;
  for (int i = 0; i < 6; ++i)
    six.push_back(f.net->create_security_group(f.ctx, "g" + std::to_string(i), "d", "")->id);
  r = f.net->create_network_interface(f.ctx, s.id, std::nullopt, true, false, std::nullopt, six,
                                      "");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "SecurityGroupLimitExceeded");
  six.pop_back();
  r = f.net->create_network_interface(f.ctx, s.id, std::nullopt, true, false, std::nullopt, six,
                                      "");
  REQUIRE(r.ok());
  CHECK(r->security_groups == six);
  REQUIRE(f.net->set_security_groups(f.ctx, r->id, {six[2]}).ok());
  CHECK(f.net->network_interface(f.ctx, r->id)->security_groups ==
        std::vector<std::string>{six[2]});
  auto none = f.net->create_network_interface(f.ctx, s.id, std::nullopt, false, false, std::nullopt,
                                              {}, "");
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code == "BadRequest");
}

TEST_CASE("security groups: create, duplicate, reserved names, unknown VPC") {
  Fixture f("groups");
  auto g = f.net->create_security_group(f.ctx, "efs-clients", "NFS <clients> & co", "");
  REQUIRE(g.ok());
  CHECK(g->vpc_id == f.net->default_vpc(f.ctx)->id);
  CHECK(f.net->security_group(f.ctx, g->id)->description == "NFS <clients> & co");
  CHECK(f.net->security_groups(f.ctx)->size() == 2);
  auto dup = f.net->create_security_group(f.ctx, "efs-clients", "again", "");
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().code == "InvalidGroup.Duplicate");
  CHECK(f.net->create_security_group(f.ctx, "default", "x", "").error().code ==
        "InvalidGroup.Reserved");
  CHECK(f.net->create_security_group(f.ctx, "sg-1", "x", "").error().code ==
        "InvalidParameterValue");
  CHECK(f.net->create_security_group(f.ctx, "x", "", "").error().code == "MissingParameter");
  CHECK(f.net->create_security_group(f.ctx, "x", "y", "vpc-00000000000000000").error().code ==
        "InvalidVpcID.NotFound");
  auto miss = f.net->security_group(f.ctx, "sg-00000000000000000");
  REQUIRE_FALSE(miss.ok());
  CHECK(miss.error().code == "SecurityGroupNotFound");
}

TEST_CASE(
    "a full subnet answers NoFreeAddressesInSubnet; the region quota "
    "NetworkInterfaceLimitExceeded") {
  NetworkLimits limits;
  limits.max_network_interfaces_per_region = 4100;
  Fixture f("full", limits);
  auto s = first_subnet(*f.net, f.ctx);
  // Fill the 4091 usable addresses in one transaction, then ask for one more.
  REQUIRE(f.db->write([&](meta::Conn& c) -> Status<> {
                for (uint32_t a = (127u << 24 | 16u << 16) + 4;
                     a < (127u << 24 | 16u << 16 | 0x0fff); ++a) {
                  auto& q = c.stmt(
                      "INSERT INTO ec2_network_interfaces(id, subnet_id, vpc_id, account, region, "
                      "az, ipv4, ipv6, description, status) VALUES(?, ?, ?, ?, ?, ?, ?, NULL, "
                      "'', 'in-use')");
                  if (!q.bind_all("eni-x" + std::to_string(a), s.id, s.vpc_id, f.ctx.account_id,
                                  f.ctx.region, s.availability_zone, static_cast<int64_t>(a))
                           .run())
                    return fail(Error{q.error()});
                }
                return {};
              })
              .ok());
  CHECK(f.net->subnet(f.ctx, s.id)->available_ip_address_count == 0);
  auto r =
      f.net->create_network_interface(f.ctx, s.id, std::nullopt, true, false, std::nullopt, {}, "");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "NoFreeAddressesInSubnet");
  CHECK(r.error().http_status == 409);
  // Other subnets still have room until the regional quota is reached.
  auto other = f.net->subnets(f.ctx)->at(1);
  for (int i = 0; i < 9; ++i) make_eni(*f.net, f.ctx, other.id);
  r = f.net->create_network_interface(f.ctx, other.id, std::nullopt, true, false, std::nullopt, {},
                                      "");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "NetworkInterfaceLimitExceeded");
  CHECK(r.error().http_status == 409);
}

TEST_CASE("IPv6: dual stack and IPv6-only interfaces get addresses in the subnet's /64") {
  Fixture f("ipv6");
  auto s = first_subnet(*f.net, f.ctx);
  auto dual =
      f.net->create_network_interface(f.ctx, s.id, std::nullopt, true, true, std::nullopt, {}, "");
  REQUIRE(dual.ok());
  CHECK(dual->private_ip == "127.16.0.4");
  CHECK(dual->ipv6_address == "fd00:ec2:10::4");
  auto only = f.net->create_network_interface(f.ctx, s.id, std::nullopt, false, true,
                                              std::string("fd00:ec2:10:0:0:0:0:99"), {}, "");
  REQUIRE(only.ok());
  CHECK(only->private_ip.empty());
  CHECK(only->ipv6_address == "fd00:ec2:10::99");
  auto again = f.net->create_network_interface(f.ctx, s.id, std::nullopt, false, true,
                                               std::string("fd00:ec2:10::99"), {}, "");
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code == "IpAddressInUse");
  auto outside = f.net->create_network_interface(f.ctx, s.id, std::nullopt, false, true,
                                                 std::string("fd00:ec2:10:1::99"), {}, "");
  REQUIRE_FALSE(outside.ok());
  CHECK(outside.error().code == "BadRequest");
  // IPv6-only interfaces do not use IPv4 addresses.
  CHECK(f.net->subnet(f.ctx, s.id)->available_ip_address_count == 4090);
}

TEST_CASE("IDs and addresses survive reopening the database") {
  Fixture f("restart");
  RequestContext eu{"eu-west-1", "000000000000", ""};
  auto vpc = *f.net->default_vpc(f.ctx);
  auto eu_vpc = *f.net->default_vpc(eu);
  auto subnets = *f.net->subnets(f.ctx);
  auto sg = *f.net->create_security_group(f.ctx, "web", "web tier", "");
  auto eni = make_eni(*f.net, f.ctx, subnets[2].id);
  f.open();
  CHECK(f.net->default_vpc(f.ctx)->id == vpc.id);
  CHECK(f.net->default_vpc(f.ctx)->dhcp_options_id == vpc.dhcp_options_id);
  CHECK(f.net->default_vpc(eu)->id == eu_vpc.id);
  CHECK(f.net->default_vpc(eu)->cidr_block == "127.17.0.0/16");
  auto again = *f.net->subnets(f.ctx);
  REQUIRE(again.size() == subnets.size());
  for (size_t i = 0; i < again.size(); ++i) CHECK(again[i].id == subnets[i].id);
  CHECK(f.net->security_group(f.ctx, sg.id)->name == "web");
  auto n = f.net->network_interface(f.ctx, eni.id);
  REQUIRE(n.ok());
  CHECK(n->private_ip == eni.private_ip);
  CHECK(n->security_groups == eni.security_groups);
  // A new region after the restart still gets a fresh /16.
  RequestContext west{"us-west-2", "000000000000", ""};
  CHECK(f.net->default_vpc(west)->cidr_block == "127.18.0.0/16");
}

TEST_CASE("address plan helpers: CIDR parsing and membership, IPv6 text, zone IDs") {
  auto c = parse_ipv4_cidr("127.16.32.0/20");
  REQUIRE(c.has_value());
  CHECK(c->size() == 4096);
  CHECK(c->contains(*parse_ipv4("127.16.47.255")));
  CHECK_FALSE(c->contains(*parse_ipv4("127.16.48.0")));
  CHECK_FALSE(c->contains(*parse_ipv4("127.16.31.255")));
  CHECK(parse_ipv4_cidr("0.0.0.0/0")->contains(*parse_ipv4("255.255.255.255")));
  for (const char* bad : {"127.16.0.0", "127.16.0.0/33", "127.16.0.0/", "127.16.0.0/x",
                          "127.16.0/20", "127.16.0.0/-1"})
    CHECK_FALSE(parse_ipv4_cidr(bad).has_value());
  CHECK(ipv4_text(*parse_ipv4("127.18.0.4")) == "127.18.0.4");
  CHECK_FALSE(parse_ipv4("1.2.3.4.5").has_value());
  CHECK(ipv6_text(ipv6_prefix(16, 0)) == "fd00:ec2:10::");
  CHECK(ipv6_text(ipv6_prefix(255, 15)) == "fd00:ec2:ff:f::");
  CHECK_FALSE(parse_ipv6("fd00::ec2::1").has_value());
  CHECK(zone_id_prefix("us-east-1") == "use1");
  CHECK(zone_id_prefix("ap-southeast-2") == "apse2");
  CHECK(zone_id_prefix("us-gov-west-1") == "usgw1");  // AWS: usgw1-az1
  CHECK(zones_of("us-west-1").size() == 2);
  CHECK(zones_of("us-east-1").back() ==
        std::make_pair(std::string("us-east-1f"), std::string("use1-az6")));
}

TEST_CASE("an emptied database (emulator reset) gets a fresh default VPC on the same /16") {
  Fixture f("reset");
  auto before = *f.net->default_vpc(f.ctx);
  REQUIRE(f.db->write([](meta::Conn& c) -> Status<> {
                return c.exec(
                    "DELETE FROM ec2_vpcs; DELETE FROM ec2_subnets; "
                    "DELETE FROM ec2_security_groups;");
              })
              .ok());
  auto after = f.net->default_vpc(f.ctx);
  REQUIRE(after.ok());
  CHECK(after->id != before.id);
  CHECK(after->cidr_block == before.cidr_block);
  CHECK(f.net->subnets(f.ctx)->size() == 6);
  CHECK(f.net->default_security_group(f.ctx, after->id).ok());
}

TEST_CASE("concurrent first use and allocation: one VPC, distinct addresses") {
  Fixture f("threads");
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<std::string> vpcs, ips;
  int failures = 0;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto v = f.net->default_vpc(f.ctx);
      auto s = f.net->subnets(f.ctx);
      for (int i = 0; i < 20; ++i) {
        auto n = (v.ok() && s.ok())
                     ? f.net->create_network_interface(f.ctx, s->front().id, std::nullopt, true,
                                                       false, std::nullopt, {}, "")
                     : ApiResult<NetworkInterface>(unmodeled_error("x", 500, "setup"));
        std::lock_guard lock(mu);
        if (!n.ok())
          ++failures;
        else
          ips.insert(n->private_ip);
        if (v.ok()) vpcs.insert(v->id);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(vpcs.size() == 1);
  CHECK(ips.size() == 80);
  CHECK(ips.count("127.16.0.4") == 1);
  CHECK(ips.count("127.16.0.83") == 1);
  CHECK(f.net->vpcs(f.ctx)->size() == 1);
}
