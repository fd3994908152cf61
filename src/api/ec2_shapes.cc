#include "api/ec2_shapes.h"

#include <algorithm>

#include "efs/regions.h"

namespace efs::api {

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\t':
        out += "&#9;";
        break;
      case '\n':
        out += "&#10;";
        break;
      case '\r':
        out += "&#13;";
        break;
      default:
        if (static_cast<unsigned char>(ch) >= 0x20) out += ch;
    }
  }
  return out;
}

namespace ec2 {

std::vector<std::string> one(std::string v) {
  return {std::move(v)};
}
std::vector<std::string> one(bool v) {
  return {v ? "true" : "false"};
}

std::string arn(const std::string& region, const std::string& account, const std::string& kind,
                const std::string& id) {
  return "arn:" + efs::arn_partition(region) + ":ec2:" + region + ":" + account + ":" + kind + "/" +
         id;
}

std::string private_dns_name(const std::string& ip, const std::string& region) {
  std::string host = "ip-" + ip;
  std::replace(host.begin(), host.end(), '.', '-');
  return host + (region == "us-east-1" ? ".ec2.internal" : "." + region + ".compute.internal");
}

void vpc_xml(Xml& x, const Vpc& v) {
  x.leaf("vpcId", v.id).leaf("ownerId", v.owner_id).leaf("state", "available");
  x.leaf("cidrBlock", v.cidr_block);
  x.open("cidrBlockAssociationSet").open("item");
  x.leaf("cidrBlock", v.cidr_block).leaf("associationId", v.cidr_association_id);
  x.open("cidrBlockState").leaf("state", "associated").close("cidrBlockState");
  x.close("item").close("cidrBlockAssociationSet");
  x.open("ipv6CidrBlockAssociationSet").open("item");
  x.leaf("ipv6CidrBlock", v.ipv6_cidr_block).leaf("associationId", v.ipv6_association_id);
  x.open("ipv6CidrBlockState").leaf("state", "associated").close("ipv6CidrBlockState");
  x.leaf("networkBorderGroup", v.region).leaf("ipv6Pool", "Amazon");
  x.close("item").close("ipv6CidrBlockAssociationSet");
  x.leaf("dhcpOptionsId", v.dhcp_options_id).leaf("instanceTenancy", "default");
  x.leaf("isDefault", v.is_default).empty("tagSet");
}

Values vpc_fields(const Vpc& v, const std::string& f) {
  if (f == "vpc-id") return one(v.id);
  if (f == "cidr" || f == "cidr-block-association.cidr-block") return one(v.cidr_block);
  if (f == "cidr-block-association.association-id") return one(v.cidr_association_id);
  if (f == "cidr-block-association.state" || f == "ipv6-cidr-block-association.state")
    return one(std::string("associated"));
  if (f == "ipv6-cidr-block-association.ipv6-cidr-block") return one(v.ipv6_cidr_block);
  if (f == "ipv6-cidr-block-association.association-id") return one(v.ipv6_association_id);
  if (f == "ipv6-cidr-block-association.ipv6-pool") return one(std::string("Amazon"));
  if (f == "dhcp-options-id") return one(v.dhcp_options_id);
  if (f == "is-default" || f == "isDefault") return one(v.is_default);
  if (f == "owner-id") return one(v.owner_id);
  if (f == "state") return one(std::string("available"));
  return std::nullopt;
}

void subnet_xml(Xml& x, const Subnet& s) {
  x.leaf("subnetId", s.id).leaf("subnetArn", arn(s.region, s.owner_id, "subnet", s.id));
  x.leaf("state", "available").leaf("ownerId", s.owner_id).leaf("vpcId", s.vpc_id);
  x.leaf("cidrBlock", s.cidr_block);
  x.open("ipv6CidrBlockAssociationSet").open("item");
  x.leaf("ipv6CidrBlock", s.ipv6_cidr_block).leaf("associationId", s.ipv6_association_id);
  x.open("ipv6CidrBlockState").leaf("state", "associated").close("ipv6CidrBlockState");
  x.close("item").close("ipv6CidrBlockAssociationSet");
  x.leaf("availableIpAddressCount", s.available_ip_address_count);
  x.leaf("availabilityZone", s.availability_zone);
  x.leaf("availabilityZoneId", s.availability_zone_id);
  // A default VPC's subnets are the zone's default subnets and map public
  // IPs on launch (Amazon VPC "Default subnets").
  x.leaf("defaultForAz", true).leaf("mapPublicIpOnLaunch", true);
  x.leaf("mapCustomerOwnedIpOnLaunch", false).leaf("assignIpv6AddressOnCreation", false);
  x.leaf("enableDns64", false).leaf("ipv6Native", false);
  x.open("privateDnsNameOptionsOnLaunch").leaf("hostnameType", "ip-name");
  x.leaf("enableResourceNameDnsARecord", false).leaf("enableResourceNameDnsAAAARecord", false);
  x.close("privateDnsNameOptionsOnLaunch").empty("tagSet");
}

Values subnet_fields(const Subnet& s, const std::string& f) {
  if (f == "subnet-id" || f == "subnetId") return one(s.id);
  if (f == "subnet-arn") return one(arn(s.region, s.owner_id, "subnet", s.id));
  if (f == "vpc-id" || f == "vpcId") return one(s.vpc_id);
  if (f == "availability-zone" || f == "availabilityZone") return one(s.availability_zone);
  if (f == "availability-zone-id" || f == "availabilityZoneId") return one(s.availability_zone_id);
  if (f == "available-ip-address-count" || f == "availableIpAddressCount")
    return one(std::to_string(s.available_ip_address_count));
  if (f == "cidr" || f == "cidr-block" || f == "cidrBlock") return one(s.cidr_block);
  if (f == "default-for-az" || f == "defaultForAz" || f == "map-public-ip-on-launch")
    return one(true);
  if (f == "ipv6-native" || f == "map-customer-owned-ip-on-launch" || f == "enable-dns64" ||
      f == "assign-ipv6-address-on-creation")
    return one(false);
  if (f == "ipv6-cidr-block-association.ipv6-cidr-block") return one(s.ipv6_cidr_block);
  if (f == "ipv6-cidr-block-association.association-id") return one(s.ipv6_association_id);
  if (f == "ipv6-cidr-block-association.state") return one(std::string("associated"));
  if (f == "owner-id") return one(s.owner_id);
  if (f == "state") return one(std::string("available"));
  if (f == "private-dns-name-options-on-launch.hostname-type") return one(std::string("ip-name"));
  if (f == "outpost-arn" || f == "customer-owned-ipv4-pool") return std::vector<std::string>{};
  return std::nullopt;
}

// The rules shown: a VPC's default group admits traffic from its own
// members; every group allows all egress (EC2's defaults). The emulator
// does not filter traffic by them.
void group_xml(Xml& x, const SecurityGroup& g, const std::string& region) {
  x.leaf("ownerId", g.owner_id).leaf("groupId", g.id).leaf("groupName", g.name);
  x.leaf("groupDescription", g.description).leaf("vpcId", g.vpc_id);
  x.open("ipPermissions");
  if (g.name == "default") {
    x.open("item").leaf("ipProtocol", "-1").open("groups").open("item");
    x.leaf("userId", g.owner_id).leaf("groupId", g.id).close("item").close("groups");
    x.empty("ipRanges").empty("ipv6Ranges").empty("prefixListIds").close("item");
  }
  x.close("ipPermissions");
  x.open("ipPermissionsEgress").open("item").leaf("ipProtocol", "-1").empty("groups");
  x.open("ipRanges").open("item").leaf("cidrIp", "0.0.0.0/0").close("item").close("ipRanges");
  x.empty("ipv6Ranges").empty("prefixListIds").close("item").close("ipPermissionsEgress");
  x.leaf("securityGroupArn", arn(region, g.owner_id, "security-group", g.id)).empty("tagSet");
}

Values group_fields(const SecurityGroup& g, const std::string& f) {
  if (f == "group-id") return one(g.id);
  if (f == "group-name") return one(g.name);
  if (f == "description") return one(g.description);
  if (f == "vpc-id") return one(g.vpc_id);
  if (f == "owner-id") return one(g.owner_id);
  if (f == "ip-permission.protocol")
    return g.name == "default" ? one(std::string("-1")) : std::vector<std::string>{};
  if (f == "ip-permission.group-id")
    return g.name == "default" ? one(g.id) : std::vector<std::string>{};
  if (f == "egress.ip-permission.protocol") return one(std::string("-1"));
  if (f == "egress.ip-permission.cidr") return one(std::string("0.0.0.0/0"));
  if (f.rfind("ip-permission.", 0) == 0 || f.rfind("egress.ip-permission.", 0) == 0)
    return std::vector<std::string>{};
  return std::nullopt;
}

// 0e:xx:xx:xx:xx:xx from the interface ID, so it is stable across restarts.
std::string mac_of(const std::string& eni_id) {
  std::string hex = eni_id.size() >= 14 ? eni_id.substr(4, 10) : "0000000000";
  std::string mac = "0e";
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    mac += ':';  // appended in place: GCC 12 -O3 warned (-Wrestrict) on ":" + substr
    mac.append(hex, i, 2);
  }
  return mac;
}

void interface_xml(Xml& x, const NetworkInterface& n,
                   const std::map<std::string, std::string>& group_names) {
  x.leaf("networkInterfaceId", n.id).leaf("subnetId", n.subnet_id).leaf("vpcId", n.vpc_id);
  x.leaf("availabilityZone", n.availability_zone).leaf("description", n.description);
  x.leaf("ownerId", n.owner_id).leaf("requesterManaged", true).leaf("status", n.status);
  x.leaf("macAddress", mac_of(n.id));
  if (!n.private_ip.empty()) {
    auto dns = private_dns_name(n.private_ip, n.region);
    x.leaf("privateIpAddress", n.private_ip).leaf("privateDnsName", dns);
    x.open("privateIpAddressesSet").open("item").leaf("privateIpAddress", n.private_ip);
    x.leaf("privateDnsName", dns).leaf("primary", true).close("item");
    x.close("privateIpAddressesSet");
  } else {
    x.empty("privateIpAddressesSet");
  }
  x.leaf("sourceDestCheck", true).open("groupSet");
  for (const auto& g : n.security_groups) {
    auto it = group_names.find(g);
    x.open("item").leaf("groupId", g);
    x.leaf("groupName", it == group_names.end() ? std::string() : it->second).close("item");
  }
  x.close("groupSet").open("ipv6AddressesSet");
  if (!n.ipv6_address.empty()) {
    x.open("item").leaf("ipv6Address", n.ipv6_address).leaf("isPrimaryIpv6", false);
    x.close("item");
  }
  x.close("ipv6AddressesSet").leaf("interfaceType", "interface").empty("tagSet");
}

Values interface_fields(const NetworkInterface& n, const std::string& f,
                        const std::map<std::string, std::string>& names) {
  if (f == "network-interface-id") return one(n.id);
  if (f == "subnet-id") return one(n.subnet_id);
  if (f == "vpc-id") return one(n.vpc_id);
  if (f == "availability-zone") return one(n.availability_zone);
  if (f == "description") return one(n.description);
  if (f == "owner-id") return one(n.owner_id);
  if (f == "status") return one(n.status);
  if (f == "requester-managed") return one(true);
  if (f == "source-dest-check") return one(true);
  if (f == "interface-type") return one(std::string("interface"));
  if (f == "mac-address") return one(mac_of(n.id));
  if (f == "private-ip-address" || f == "addresses.private-ip-address")
    return n.private_ip.empty() ? std::vector<std::string>{} : one(n.private_ip);
  if (f == "private-dns-name")
    return n.private_ip.empty() ? std::vector<std::string>{}
                                : one(private_dns_name(n.private_ip, n.region));
  if (f == "addresses.primary") return n.private_ip.empty() ? one(false) : one(true);
  if (f == "ipv6-addresses.ipv6-address")
    return n.ipv6_address.empty() ? std::vector<std::string>{} : one(n.ipv6_address);
  if (f == "group-id") return n.security_groups;
  if (f == "group-name") {
    std::vector<std::string> out;
    for (const auto& g : n.security_groups)
      out.push_back((names.count(g) ? names.at(g) : std::string()));
    return out;
  }
  // EFS interfaces are attached to no instance: attachment filters are
  // valid and match nothing.
  if (f.rfind("attachment.", 0) == 0 || f == "requester-id" || f.rfind("association.", 0) == 0)
    return std::vector<std::string>{};
  return std::nullopt;
}

}  // namespace ec2
}  // namespace efs::api
