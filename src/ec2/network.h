// The small slice of EC2 that mount targets need: per account and region a
// default VPC with one subnet per availability zone, security groups, and
// network interfaces (one per mount target). Subnet CIDRs lie inside
// 127.0.0.0/8 so that every mount target's IpAddress is a loopback address
// this machine can connect to. Stored in SQLite; IDs stable across restarts.
//
// Implemented in ec2/network.cc; served over the EC2 query protocol by
// api/ec2_query.cc; used by efs::Service for CreateMountTarget.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "efs/error.h"

namespace efs::meta {
class Db;
}

namespace efs::ec2 {

struct Vpc {
  std::string id;  // vpc-<17 hex>
  std::string cidr_block;
  bool is_default = true;
  std::string owner_id;
  // What DescribeVpcs shows besides the above.
  std::string region;
  std::string cidr_association_id;  // vpc-cidr-assoc-<17 hex>
  std::string ipv6_cidr_block;      // fd00:ec2:<n>::/48, unique-local
  std::string ipv6_association_id;  // vpc-cidr-assoc-<17 hex>
  std::string dhcp_options_id;      // dopt-<17 hex>
};

struct Subnet {
  std::string id;  // subnet-<17 hex>
  std::string vpc_id;
  std::string availability_zone;     // us-east-1a
  std::string availability_zone_id;  // use1-az1
  std::string cidr_block;            // inside 127.0.0.0/8
  std::string ipv6_cidr_block;       // for IPv6 mount targets (served on ::1)
  std::string owner_id;
  // What DescribeSubnets shows besides the above.
  std::string region;
  std::string ipv6_association_id;  // subnet-cidr-assoc-<17 hex>
  int available_ip_address_count = 0;  // usable addresses not held by an interface
};

struct SecurityGroup {
  std::string id;  // sg-<17 hex>
  std::string name;
  std::string description;
  std::string vpc_id;
  std::string owner_id;
};

struct NetworkInterface {
  std::string id;  // eni-<17 hex>
  std::string subnet_id;
  std::string vpc_id;
  std::string availability_zone;
  std::string private_ip;   // IPv4, empty for IPv6-only
  std::string ipv6_address; // empty unless dual-stack / IPv6-only
  std::string description;
  std::vector<std::string> security_groups;
  std::string owner_id;
  std::string status = "in-use";
  std::string region;  // added (additive): for ARNs and DNS names
};

// Quotas the emulator enforces (AWS's defaults); tests lower them.
struct NetworkLimits {
  int max_network_interfaces_per_region = 5000;  // EC2 "Network interfaces per Region"
  int max_security_groups_per_interface = 5;     // EC2 / EFS: up to 5 per mount target
};

class Network {
 public:
  virtual ~Network() = default;
  static Result<std::unique_ptr<Network>, Error> open(meta::Db& db);
  static Result<std::unique_ptr<Network>, Error> open(meta::Db& db, const NetworkLimits& limits);

  // The default VPC of ctx's account and region (created on first use).
  virtual ApiResult<Vpc> default_vpc(const RequestContext& ctx) = 0;
  virtual ApiResult<std::vector<Vpc>> vpcs(const RequestContext& ctx) = 0;
  virtual ApiResult<std::vector<Subnet>> subnets(const RequestContext& ctx) = 0;
  // SubnetNotFound (EFS's error name) if unknown in ctx's account/region.
  virtual ApiResult<Subnet> subnet(const RequestContext& ctx, const std::string& subnet_id) = 0;
  virtual ApiResult<std::vector<SecurityGroup>> security_groups(const RequestContext& ctx) = 0;
  // SecurityGroupNotFound if unknown.
  virtual ApiResult<SecurityGroup> security_group(const RequestContext& ctx,
                                                  const std::string& sg_id) = 0;
  // The VPC's "default" security group.
  virtual ApiResult<SecurityGroup> default_security_group(const RequestContext& ctx,
                                                          const std::string& vpc_id) = 0;
  virtual ApiResult<SecurityGroup> create_security_group(const RequestContext& ctx,
                                                         const std::string& name,
                                                         const std::string& description,
                                                         const std::string& vpc_id) = 0;
  // Allocates an address in the subnet (or takes `ip`: IpAddressInUse if
  // taken, BadRequest if outside the subnet; NoFreeAddressesInSubnet if full).
  virtual ApiResult<NetworkInterface> create_network_interface(
      const RequestContext& ctx, const std::string& subnet_id, const std::optional<std::string>& ip,
      bool ipv4, bool ipv6, const std::optional<std::string>& ipv6_address,
      const std::vector<std::string>& security_groups, const std::string& description) = 0;
  virtual ApiResult<bool> delete_network_interface(const RequestContext& ctx,
                                                   const std::string& eni_id) = 0;
  virtual ApiResult<bool> set_security_groups(const RequestContext& ctx, const std::string& eni_id,
                                              const std::vector<std::string>& sgs) = 0;
  virtual ApiResult<std::vector<NetworkInterface>> network_interfaces(
      const RequestContext& ctx) = 0;
  // Added (additive): one interface; InvalidNetworkInterfaceID.NotFound if unknown.
  virtual ApiResult<NetworkInterface> network_interface(const RequestContext& ctx,
                                                        const std::string& eni_id) = 0;
  // Availability zones of the region: name and zone ID pairs.
  virtual std::vector<std::pair<std::string, std::string>> availability_zones(
      const std::string& region) = 0;
};

}  // namespace efs::ec2
