#include <doctest/doctest.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>

#include "api/ec2_query.h"
#include "common/ids.h"
#include "meta/db.h"

using namespace efs;

namespace {

std::string temp_db(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("efs-ec2-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto p = dir / (name + ".db");
  for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(p.string() + suffix);
  return p.string();
}

std::string encode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

struct Fixture {
  explicit Fixture(const std::string& name) {
    auto d = meta::Db::open(temp_db(name));
    REQUIRE(d.ok());
    db = std::move(*d);
    auto n = ec2::Network::open(*db);
    REQUIRE(n.ok());
    net = std::move(*n);
    service = std::make_unique<api::Ec2QueryService>(*net);
    ctx.request_id = "req-0001";
  }
  // POSTs a form-encoded body built from params, as botocore does.
  http::Response post(const std::vector<std::pair<std::string, std::string>>& params) {
    http::Request r;
    r.method = "POST";
    r.target = r.path = r.raw_path = "/";
    r.headers["content-type"] = "application/x-www-form-urlencoded; charset=utf-8";
    for (const auto& [k, v] : params)
      r.body += (r.body.empty() ? "" : "&") + encode(k) + "=" + encode(v);
    REQUIRE(service->matches(r));
    return service->handle(r, ctx);
  }
  std::unique_ptr<meta::Db> db;
  std::unique_ptr<ec2::Network> net;
  std::unique_ptr<api::Ec2QueryService> service;
  RequestContext ctx;
};

size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

// The text of the first <tag>...</tag> in xml.
std::string first(const std::string& xml, const std::string& tag) {
  auto open = xml.find("<" + tag + ">");
  if (open == std::string::npos) return "";
  open += tag.size() + 2;
  return xml.substr(open, xml.find("</" + tag + ">", open) - open);
}

void check_error(const http::Response& r, const std::string& code) {
  CHECK(r.status == 400);
  CHECK(r.body.find("<Response><Errors><Error><Code>" + code + "</Code><Message>") !=
        std::string::npos);
  CHECK(r.body.find("<RequestID>req-0001</RequestID></Response>") != std::string::npos);
}

}  // namespace

TEST_CASE("matches only EC2 query requests") {
  Fixture f("matches");
  http::Request r;
  r.method = "POST";
  r.path = "/";
  r.headers["content-type"] = "application/x-www-form-urlencoded";
  r.body = "Action=DescribeSubnets&Version=2016-11-15";
  CHECK(f.service->matches(r));
  r.headers["x-amz-target"] = "TrentService.ListKeys";
  CHECK_FALSE(f.service->matches(r));
  r.headers.erase("x-amz-target");
  r.path = "/2015-02-01/file-systems";
  CHECK_FALSE(f.service->matches(r));
  http::Request get;
  get.method = "GET";
  get.path = "/";
  get.query = {{"Action", "DescribeVpcs"}, {"Version", "2016-11-15"}};
  CHECK(f.service->matches(get));
  get.query = {{"MaxItems", "2"}};
  CHECK_FALSE(f.service->matches(get));
  auto resp = f.service->handle(
      [] {
        http::Request g;
        g.method = "GET";
        g.path = "/";
        g.query = {{"Action", "DescribeVpcs"}, {"Version", "2016-11-15"}};
        return g;
      }(),
      f.ctx);
  CHECK(resp.status == 200);
  CHECK(count(resp.body, "<vpcId>") == 1);
}

TEST_CASE("DescribeSubnets: response shape, fields and filters") {
  Fixture f("subnets");
  auto r = f.post({{"Action", "DescribeSubnets"}, {"Version", "2016-11-15"}});
  REQUIRE(r.status == 200);
  CHECK(r.body.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeSubnetsResponse "
                     "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>req-0001"
                     "</requestId><subnetSet><item><subnetId>subnet-",
                     0) == 0);
  CHECK(r.body.size() > 100);
  CHECK(r.body.substr(r.body.size() - 38) == "</subnetSet></DescribeSubnetsResponse>");
  CHECK(count(r.body, "<subnetId>") == 6);
  auto vpc = f.net->default_vpc(f.ctx);
  REQUIRE(vpc.ok());
  CHECK(first(r.body, "vpcId") == vpc->id);
  CHECK(first(r.body, "cidrBlock") == "127.16.0.0/20");
  CHECK(first(r.body, "availabilityZone") == "us-east-1a");
  CHECK(first(r.body, "availabilityZoneId") == "use1-az1");
  CHECK(first(r.body, "availableIpAddressCount") == "4091");
  CHECK(first(r.body, "defaultForAz") == "true");
  CHECK(first(r.body, "state") == "available");
  CHECK(first(r.body, "ownerId") == "000000000000");
  CHECK(first(r.body, "subnetArn").rfind("arn:aws:ec2:us-east-1:000000000000:subnet/subnet-", 0) ==
        0);
  CHECK(first(r.body, "ipv6CidrBlock") == "fd00:ec2:10::/64");
  CHECK(r.body.find("<mapPublicIpOnLaunch>true</mapPublicIpOnLaunch>") != std::string::npos);

  // Values within one filter are ORed, filters are ANDed, * and ? are wildcards.
  r = f.post({{"Action", "DescribeSubnets"},
              {"Filter.1.Name", "availability-zone"},
              {"Filter.1.Value.1", "us-east-1b"},
              {"Filter.1.Value.2", "us-east-1?"},
              {"Filter.2.Name", "vpc-id"},
              {"Filter.2.Value.1", vpc->id},
              {"Filter.3.Name", "default-for-az"},
              {"Filter.3.Value.1", "true"}});
  CHECK(count(r.body, "<subnetId>") == 6);
  r = f.post({{"Action", "DescribeSubnets"},
              {"Filter.1.Name", "availability-zone"},
              {"Filter.1.Value.1", "us-east-1c"},
              {"Filter.1.Value.2", "*1f"}});
  CHECK(count(r.body, "<subnetId>") == 2);
  CHECK(first(r.body, "availabilityZone") == "us-east-1c");
  r = f.post({{"Action", "DescribeSubnets"},
              {"Filter.1.Name", "vpc-id"},
              {"Filter.1.Value.1", "vpc-00000000000000000"}});
  CHECK(r.status == 200);
  CHECK(r.body.find("<subnetSet></subnetSet>") != std::string::npos);
  r = f.post(
      {{"Action", "DescribeSubnets"}, {"Filter.1.Name", "tag:Name"}, {"Filter.1.Value.1", "x"}});
  CHECK(count(r.body, "<subnetId>") == 0);

  auto subnets = *f.net->subnets(f.ctx);
  r = f.post({{"Action", "DescribeSubnets"},
              {"SubnetId.1", subnets[3].id},
              {"SubnetId.2", subnets[1].id}});
  CHECK(count(r.body, "<subnetId>") == 2);
  CHECK(first(r.body, "subnetId") == subnets[1].id);  // AWS order, not request order
}

TEST_CASE("DescribeSubnets errors: unknown filter, unknown and malformed IDs") {
  Fixture f("subnet-errors");
  auto r = f.post(
      {{"Action", "DescribeSubnets"}, {"Filter.1.Name", "colour"}, {"Filter.1.Value.1", "blue"}});
  check_error(r, "InvalidParameterValue");
  CHECK(r.body.find("The filter 'colour' is invalid") != std::string::npos);
  r = f.post({{"Action", "DescribeSubnets"}, {"SubnetId.1", "subnet-00000000000000000"}});
  check_error(r, "InvalidSubnetID.NotFound");
  CHECK(r.body.find("subnet-00000000000000000") != std::string::npos);
  r = f.post({{"Action", "DescribeSubnets"}, {"SubnetId.1", "subnet-xyz"}});
  check_error(r, "InvalidSubnetID.Malformed");
  r = f.post({{"Action", "DescribeSubnets"}, {"Filter.1.Name", "vpc-id"}});
  check_error(r, "InvalidParameterCombination");
  r = f.post({{"Action", "DescribeSubnets"}, {"MaxResults", "2"}});
  check_error(r, "InvalidParameterValue");
  r = f.post({{"Action", "DescribeSubnets"}, {"NextToken", "bogus"}});
  check_error(r, "InvalidNextToken");
}

TEST_CASE("unknown Action, DryRun") {
  Fixture f("action");
  auto r = f.post({{"Action", "RunInstances"}, {"Version", "2016-11-15"}});
  check_error(r, "InvalidAction");
  CHECK(r.body.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>", 0) == 0);
  r = f.post({{"Action", "DescribeVpcs"}, {"DryRun", "true"}});
  CHECK(r.status == 412);
  CHECK(first(r.body, "Code") == "DryRunOperation");
}

TEST_CASE("MaxResults and NextToken page through subnets") {
  Fixture f("pages");
  auto r = f.post({{"Action", "DescribeSubnets"}, {"MaxResults", "5"}});
  CHECK(count(r.body, "<subnetId>") == 5);
  auto token = first(r.body, "nextToken");
  REQUIRE_FALSE(token.empty());
  r = f.post({{"Action", "DescribeSubnets"}, {"MaxResults", "5"}, {"NextToken", token}});
  CHECK(count(r.body, "<subnetId>") == 1);
  CHECK(first(r.body, "availabilityZone") == "us-east-1f");
  CHECK(r.body.find("<nextToken>") == std::string::npos);
}

TEST_CASE("DescribeVpcs shape and filters") {
  Fixture f("vpcs");
  auto r = f.post(
      {{"Action", "DescribeVpcs"}, {"Filter.1.Name", "isDefault"}, {"Filter.1.Value.1", "true"}});
  REQUIRE(r.status == 200);
  CHECK(r.body.find("<DescribeVpcsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">") !=
        std::string::npos);
  CHECK(count(r.body, "<vpcId>") == 1);
  CHECK(first(r.body, "cidrBlock") == "127.16.0.0/16");
  CHECK(first(r.body, "isDefault") == "true");
  CHECK(first(r.body, "instanceTenancy") == "default");
  CHECK(first(r.body, "dhcpOptionsId").rfind("dopt-", 0) == 0);
  CHECK(first(r.body, "ipv6CidrBlock") == "fd00:ec2:10::/48");
  r = f.post(
      {{"Action", "DescribeVpcs"}, {"Filter.1.Name", "is-default"}, {"Filter.1.Value.1", "false"}});
  CHECK(count(r.body, "<vpcId>") == 0);
  r = f.post({{"Action", "DescribeVpcs"}, {"VpcId.1", "vpc-0123456789abcdef0"}});
  check_error(r, "InvalidVpcID.NotFound");
}

TEST_CASE("CreateSecurityGroup and DescribeSecurityGroups, values XML-escaped") {
  Fixture f("groups");
  auto r = f.post({{"Action", "CreateSecurityGroup"},
                   {"GroupName", "nfs"},
                   {"GroupDescription", "NFS <clients> & \"friends\" 'n' co"}});
  REQUIRE(r.status == 200);
  CHECK(r.body.find("<CreateSecurityGroupResponse xmlns=") != std::string::npos);
  CHECK(first(r.body, "return") == "true");
  auto id = first(r.body, "groupId");
  CHECK(is_id(id, "sg"));
  CHECK(first(r.body, "securityGroupArn") ==
        "arn:aws:ec2:us-east-1:000000000000:security-group/" + id);
  check_error(
      f.post({{"Action", "CreateSecurityGroup"}, {"GroupName", "nfs"}, {"GroupDescription", "x"}}),
      "InvalidGroup.Duplicate");
  check_error(f.post({{"Action", "CreateSecurityGroup"}, {"GroupName", "y"}}), "MissingParameter");

  r = f.post({{"Action", "DescribeSecurityGroups"}, {"GroupId.1", id}});
  REQUIRE(r.status == 200);
  CHECK(count(r.body, "<groupId>") == 1);
  CHECK(first(r.body, "groupDescription") == "NFS &lt;clients&gt; &amp; \"friends\" 'n' co");
  CHECK(first(r.body, "groupName") == "nfs");
  CHECK(r.body.find("<ipPermissions></ipPermissions>") != std::string::npos);
  CHECK(r.body.find("<cidrIp>0.0.0.0/0</cidrIp>") != std::string::npos);

  r = f.post({{"Action", "DescribeSecurityGroups"}});
  CHECK(count(r.body, "<groupName>") == 2);
  r = f.post({{"Action", "DescribeSecurityGroups"},
              {"Filter.1.Name", "group-name"},
              {"Filter.1.Value.1", "default"}});
  REQUIRE(count(r.body, "<item><ownerId>") == 1);
  CHECK(first(r.body, "groupDescription") == "default VPC security group");
  // The default group admits its own members.
  CHECK(r.body.find("<ipPermissions><item><ipProtocol>-1</ipProtocol><groups><item><userId>") !=
        std::string::npos);
  r = f.post({{"Action", "DescribeSecurityGroups"}, {"GroupName.1", "nfs"}});
  CHECK(first(r.body, "groupId") == id);
  check_error(f.post({{"Action", "DescribeSecurityGroups"}, {"GroupName.1", "nope"}}),
              "InvalidGroup.NotFound");
  check_error(f.post({{"Action", "DescribeSecurityGroups"}, {"GroupId.1", "sg-0000000000000000a"}}),
              "InvalidGroup.NotFound");
}

TEST_CASE("DescribeNetworkInterfaces shape and filters") {
  Fixture f("enis");
  auto subnets = *f.net->subnets(f.ctx);
  auto a = f.net->create_network_interface(f.ctx, subnets[0].id, std::nullopt, true, true,
                                           std::nullopt, {}, "EFS mount target for fs-1 & co");
  REQUIRE(a.ok());
  auto sg = f.net->create_security_group(f.ctx, "efs", "efs", "");
  REQUIRE(sg.ok());
  auto b = f.net->create_network_interface(f.ctx, subnets[1].id, std::nullopt, true, false,
                                           std::nullopt, {sg->id}, "second");
  REQUIRE(b.ok());
  auto r = f.post({{"Action", "DescribeNetworkInterfaces"}});
  REQUIRE(r.status == 200);
  CHECK(r.body.find("<networkInterfaceSet><item><networkInterfaceId>" + a->id) !=
        std::string::npos);
  CHECK(count(r.body, "<networkInterfaceId>") == 2);
  CHECK(first(r.body, "description") == "EFS mount target for fs-1 &amp; co");
  CHECK(first(r.body, "privateIpAddress") == "127.16.0.4");
  CHECK(first(r.body, "privateDnsName") == "ip-127-16-0-4.ec2.internal");
  CHECK(first(r.body, "status") == "in-use");
  CHECK(first(r.body, "requesterManaged") == "true");
  CHECK(first(r.body, "interfaceType") == "interface");
  CHECK(first(r.body, "availabilityZone") == "us-east-1a");
  CHECK(first(r.body, "ipv6Address") == "fd00:ec2:10::4");
  CHECK(r.body.find("<groupSet><item><groupId>" + a->security_groups[0] +
                    "</groupId><groupName>default</groupName></item></groupSet>") !=
        std::string::npos);

  r = f.post({{"Action", "DescribeNetworkInterfaces"},
              {"Filter.1.Name", "group-name"},
              {"Filter.1.Value.1", "efs"}});
  CHECK(count(r.body, "<networkInterfaceId>") == 1);
  CHECK(first(r.body, "networkInterfaceId") == b->id);
  r = f.post({{"Action", "DescribeNetworkInterfaces"},
              {"Filter.1.Name", "subnet-id"},
              {"Filter.1.Value.1", subnets[0].id},
              {"Filter.2.Name", "description"},
              {"Filter.2.Value.1", "EFS mount target for *"}});
  CHECK(first(r.body, "networkInterfaceId") == a->id);
  CHECK(count(r.body, "<networkInterfaceId>") == 1);
  r = f.post({{"Action", "DescribeNetworkInterfaces"},
              {"Filter.1.Name", "attachment.instance-id"},
              {"Filter.1.Value.1", "i-1"}});
  CHECK(r.status == 200);
  CHECK(count(r.body, "<networkInterfaceId>") == 0);
  r = f.post({{"Action", "DescribeNetworkInterfaces"}, {"NetworkInterfaceId.1", b->id}});
  CHECK(first(r.body, "privateIpAddress") == "127.16.16.4");
  check_error(f.post({{"Action", "DescribeNetworkInterfaces"},
                      {"NetworkInterfaceId.1", "eni-00000000000000000"}}),
              "InvalidNetworkInterfaceID.NotFound");
}

TEST_CASE("DescribeAvailabilityZones follows the caller's region") {
  Fixture f("zones");
  f.ctx.region = "eu-west-1";
  auto r = f.post({{"Action", "DescribeAvailabilityZones"}});
  REQUIRE(r.status == 200);
  CHECK(r.body.find("<availabilityZoneInfo><item><zoneName>eu-west-1a</zoneName><zoneState>"
                    "available</zoneState><regionName>eu-west-1</regionName>") !=
        std::string::npos);
  CHECK(count(r.body, "<zoneName>") == 3);
  CHECK(first(r.body, "zoneId") == "euw1-az1");
  r = f.post({{"Action", "DescribeAvailabilityZones"}, {"ZoneName.1", "eu-west-1b"}});
  CHECK(count(r.body, "<zoneName>") == 1);
  CHECK(first(r.body, "zoneId") == "euw1-az2");
  r = f.post({{"Action", "DescribeAvailabilityZones"},
              {"Filter.1.Name", "zone-id"},
              {"Filter.1.Value.1", "euw1-az3"}});
  CHECK(first(r.body, "zoneName") == "eu-west-1c");
  check_error(f.post({{"Action", "DescribeAvailabilityZones"}, {"ZoneName.1", "us-east-1a"}}),
              "InvalidParameterValue");
}

TEST_CASE("parse_form and xml_escape") {
  auto p = api::parse_form("Action=Describe%20Vpcs&A+B=c%2Bd&empty=&flag&bad=%zz%4");
  REQUIRE(p.size() == 5);
  CHECK(p[0] == std::make_pair(std::string("Action"), std::string("Describe Vpcs")));
  CHECK(p[1] == std::make_pair(std::string("A B"), std::string("c+d")));
  CHECK(p[2].second.empty());
  CHECK(p[3].first == "flag");
  CHECK(p[4].second == "%zz%4");
  CHECK(api::xml_escape("a<b>&\"'\x01\tz") == "a&lt;b&gt;&amp;\"'&#9;z");
}

TEST_CASE("hostile parameters get named errors, never a crash") {
  Fixture f("hostile");
  check_error(f.post({{"Action", "DescribeSubnets"}, {"Filter.x.Name", "vpc-id"}}),
              "InvalidParameterValue");
  check_error(f.post({{"Action", "DescribeSubnets"}, {"Filter.99999999999.Name", "vpc-id"}}),
              "InvalidParameterValue");
  check_error(f.post({{"Action", "DescribeSubnets"}, {"Filter.1.Name", "vpc-id"},
                      {"Filter.1.Value.99999999999", "x"}}),
              "InvalidParameterCombination");
  check_error(f.post({{"Action", "DescribeSubnets"}, {"MaxResults", "5x"}}),
              "InvalidParameterValue");
  check_error(f.post({{"Action", ""}}), "InvalidAction");
  auto far = f.post({{"Action", "DescribeSubnets"}, {"NextToken", "efs-local-9999999999"}});
  CHECK(far.status == 200);
  CHECK(count(far.body, "<subnetId>") == 0);
  // Control characters and markup in a description cannot break the document.
  auto r = f.post({{"Action", "CreateSecurityGroup"}, {"GroupName", "a</groupName>"},
                   {"GroupDescription", std::string("x\x01\x02</Response>", 14)}});
  REQUIRE(r.status == 200);
  r = f.post({{"Action", "DescribeSecurityGroups"}, {"GroupName.1", "a</groupName>"}});
  CHECK(first(r.body, "groupName") == "a&lt;/groupName&gt;");
  CHECK(first(r.body, "groupDescription") == "x&lt;/Response&gt;");
}
