// How the EC2 query protocol shows each resource of efs::ec2::Network: the XML
// item of DescribeVpcs / DescribeSubnets / DescribeSecurityGroups /
// DescribeNetworkInterfaces (element names from the EC2 2016-11-15 model,
// as the AWS CLI and boto3 parse them) and the values each Describe filter
// name matches. Used by api/ec2_query.cc.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/ec2_query.h"
#include "ec2/network.h"

namespace efs::api::ec2 {

using efs::ec2::NetworkInterface;
using efs::ec2::SecurityGroup;
using efs::ec2::Subnet;
using efs::ec2::Vpc;

// Appends elements to an XML document; leaf values are escaped.
class Xml {
 public:
  Xml& open(std::string_view tag) {
    out_ += '<';
    out_ += tag;
    out_ += '>';
    return *this;
  }
  Xml& close(std::string_view tag) {
    out_ += "</";
    out_ += tag;
    out_ += '>';
    return *this;
  }
  Xml& leaf(std::string_view tag, std::string_view value) {
    open(tag);
    out_ += xml_escape(value);
    return close(tag);
  }
  Xml& leaf(std::string_view tag, const char* value) { return leaf(tag, std::string_view(value)); }
  Xml& leaf(std::string_view tag, const std::string& value) {
    return leaf(tag, std::string_view(value));
  }
  Xml& leaf(std::string_view tag, bool value) { return leaf(tag, value ? "true" : "false"); }
  Xml& leaf(std::string_view tag, int value) { return leaf(tag, std::to_string(value)); }
  Xml& empty(std::string_view tag) {
    out_ += '<';
    out_ += tag;
    out_ += "/>";
    return *this;
  }
  std::string& str() { return out_; }

 private:
  std::string out_;
};

// The values a resource has for one filter name; nullopt if the name is not
// a filter of that resource type (InvalidParameterValue). An empty list is a
// valid filter that matches nothing.
using Values = std::optional<std::vector<std::string>>;
std::vector<std::string> one(std::string v);
std::vector<std::string> one(bool v);

std::string arn(const std::string& region, const std::string& account, const std::string& kind,
                const std::string& id);
// ip-127-16-0-4.ec2.internal (us-east-1) or ip-...<region>.compute.internal.
std::string private_dns_name(const std::string& ip, const std::string& region);
// 0e:xx:xx:xx:xx:xx from the interface ID, so it is stable across restarts.
std::string mac_of(const std::string& eni_id);

void vpc_xml(Xml& x, const Vpc& v);
Values vpc_fields(const Vpc& v, const std::string& filter);
void subnet_xml(Xml& x, const Subnet& s);
Values subnet_fields(const Subnet& s, const std::string& filter);
void group_xml(Xml& x, const SecurityGroup& g, const std::string& region);
Values group_fields(const SecurityGroup& g, const std::string& filter);
// group_names maps security group IDs to names for groupSet.
void interface_xml(Xml& x, const NetworkInterface& n,
                   const std::map<std::string, std::string>& group_names);
Values interface_fields(const NetworkInterface& n, const std::string& filter,
                        const std::map<std::string, std::string>& group_names);

}  // namespace efs::api::ec2
