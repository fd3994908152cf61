// The small slice of EC2 that mount targets need: per account and region a
// default VPC with one subnet per availability zone, security groups, and
// network interfaces (one per mount target). Subnet CIDRs lie inside
// 127.0.0.0/8 so that every mount target's IpAddress is a loopback address
// this machine can connect to. Stored in SQLite; IDs stable across restarts.
//
// Implemented in efs/network.cc; served over the EC2 query protocol by
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

namespace efs {

struct Vpc {
  std::string id;  // vpc-<17 hex>
  std::string cidr_block;
  bool is_default = true;
  std::string owner_id;
};

struct Subnet {
  std::string id;  // subnet-<17 hex>
  std::string vpc_id;
  std::string availability_zone;     // us-east-1a
  std::string availability_zone_id;  // use1-az1
  std::string cidr_block;            // inside 127.0.0.0/8
  std::string ipv6_cidr_block;       // for IPv6 mount targets (served on ::1)
  std::string owner_id;
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
};

class Network {
 public:
  virtual ~Network() = default;
  static Result<std::unique_ptr<Network>, Error> open(meta::Db& db);

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
  // Availability zones of the region: name and zone ID pairs.
  virtual std::vector<std::pair<std::string, std::string>> availability_zones(
      const std::string& region) = 0;
};

}  // namespace efs
