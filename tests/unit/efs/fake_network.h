// A fake efs::ec2::Network for the model's unit tests: one default VPC with a
// subnet in each of three zones (127.0.{1,2,3}.0/24), its default security
// group, one more group, and a group in a second VPC.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "ec2/network.h"
#include "efs/model_error.h"

namespace efs::testing {

using ec2::Network;
using ec2::NetworkInterface;
using ec2::SecurityGroup;
using ec2::Subnet;
using ec2::Vpc;

class FakeNetwork : public Network {
 public:
  FakeNetwork() {
    for (int i = 0; i < 3; ++i) {
      Subnet s;
      s.id = std::string("subnet-0000000000000000") + char('1' + i);
      s.vpc_id = "vpc-00000000000000001";
      s.availability_zone = std::string("us-east-1") + char('a' + i);
      s.availability_zone_id = "use1-az" + std::to_string(i + 1);
      s.cidr_block = "127.0." + std::to_string(i + 1) + ".0/24";
      subnets_.push_back(s);
    }
    groups_.push_back({"sg-00000000000000001", "default", "", "vpc-00000000000000001", ""});
    for (int i = 2; i <= 7; ++i)
      groups_.push_back({"sg-0000000000000000" + std::to_string(i), "g" + std::to_string(i), "",
                         "vpc-00000000000000001", ""});
    groups_.push_back({"sg-00000000000000009", "other", "", "vpc-00000000000000002", ""});
  }

  ApiResult<Vpc> default_vpc(const RequestContext& ctx) override {
    Vpc v;
    v.id = "vpc-00000000000000001";
    v.cidr_block = "127.0.0.0/16";
    v.owner_id = ctx.account_id;
    return v;
  }
  ApiResult<std::vector<Vpc>> vpcs(const RequestContext& ctx) override {
    return std::vector<Vpc>{*default_vpc(ctx)};
  }
  ApiResult<std::vector<Subnet>> subnets(const RequestContext&) override { return subnets_; }
  ApiResult<Subnet> subnet(const RequestContext&, const std::string& id) override {
    for (const auto& s : subnets_)
      if (s.id == id) return s;
    return service_error(ErrorCode::SubnetNotFound, "subnet " + id + " not found");
  }
  ApiResult<std::vector<SecurityGroup>> security_groups(const RequestContext&) override {
    return groups_;
  }
  ApiResult<SecurityGroup> security_group(const RequestContext&, const std::string& id) override {
    for (const auto& g : groups_)
      if (g.id == id) return g;
    return service_error(ErrorCode::SecurityGroupNotFound, "security group " + id + " not found");
  }
  ApiResult<SecurityGroup> default_security_group(const RequestContext&,
                                                  const std::string&) override {
    return groups_.front();
  }
  ApiResult<SecurityGroup> create_security_group(const RequestContext&, const std::string&,
                                                 const std::string&, const std::string&) override {
    return service_error(ErrorCode::BadRequest, "not in the fake");
  }
  ApiResult<NetworkInterface> create_network_interface(
      const RequestContext& ctx, const std::string& subnet_id, const std::optional<std::string>& ip,
      bool ipv4, bool ipv6, const std::optional<std::string>& ipv6_address,
      const std::vector<std::string>& sgs, const std::string& description) override {
    auto s = subnet(ctx, subnet_id);
    if (!s.ok()) return fail(s.error());
    NetworkInterface n;
    n.id = "eni-" + std::to_string(10000000000000000 + ++next_eni_);
    n.subnet_id = subnet_id;
    n.vpc_id = s->vpc_id;
    n.availability_zone = s->availability_zone;
    std::string prefix = s->cidr_block.substr(0, s->cidr_block.rfind('.') + 1);
    if (ipv4) {
      if (ip) {
        if (used_.count(*ip)) return service_error(ErrorCode::IpAddressInUse, *ip + " is in use");
        n.private_ip = *ip;
      } else {
        int host = 4;
        while (used_.count(prefix + std::to_string(host))) ++host;
        n.private_ip = prefix + std::to_string(host);
      }
      used_.insert(n.private_ip);
    }
    if (ipv6) n.ipv6_address = ipv6_address.value_or("fd00::" + std::to_string(next_eni_));
    n.security_groups = sgs;
    n.description = description;
    enis_[n.id] = n;
    return n;
  }
  ApiResult<bool> delete_network_interface(const RequestContext&, const std::string& id) override {
    auto it = enis_.find(id);
    if (it == enis_.end()) return false;
    used_.erase(it->second.private_ip);
    enis_.erase(it);
    return true;
  }
  ApiResult<bool> set_security_groups(const RequestContext&, const std::string& id,
                                      const std::vector<std::string>& sgs) override {
    enis_[id].security_groups = sgs;
    return true;
  }
  ApiResult<std::vector<NetworkInterface>> network_interfaces(const RequestContext&) override {
    std::vector<NetworkInterface> out;
    for (const auto& [id, n] : enis_) out.push_back(n);
    return out;
  }
  ApiResult<NetworkInterface> network_interface(const RequestContext&,
                                                const std::string& id) override {
    auto it = enis_.find(id);
    if (it == enis_.end())
      return unmodeled_error("InvalidNetworkInterfaceID.NotFound", 400, id + " not found");
    return it->second;
  }
  std::vector<std::pair<std::string, std::string>> availability_zones(const std::string&) override {
    return {{"us-east-1a", "use1-az1"}, {"us-east-1b", "use1-az2"}, {"us-east-1c", "use1-az3"}};
  }

  std::map<std::string, NetworkInterface> enis_;

 private:
  std::vector<Subnet> subnets_;
  std::vector<SecurityGroup> groups_;
  std::set<std::string> used_;
  int next_eni_ = 0;
};

}  // namespace efs::testing
