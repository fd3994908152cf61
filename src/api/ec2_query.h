// The EC2 query protocol for the small EC2 surface mount targets need:
// DescribeVpcs, DescribeSubnets, DescribeSecurityGroups, CreateSecurityGroup,
// DescribeNetworkInterfaces and DescribeAvailabilityZones over efs::ec2::Network.
//
// Requests are form-encoded (POST body or GET query): Action=..., Version=
// 2016-11-15, lists as Name.N (SubnetId.1, SubnetId.2) and filters as
// Filter.N.Name / Filter.N.Value.M. Responses are XML in the 2016-11-15
// namespace, shaped as the AWS CLI v2 and boto3 parse them; errors are EC2's
// <Response><Errors><Error> document with HTTP 400 (500 for internal errors).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "efs/error.h"
#include "ec2/network.h"
#include "http/message.h"

namespace efs::api {

class Ec2QueryService {
 public:
  explicit Ec2QueryService(efs::ec2::Network& network);

  // True when the request speaks the EC2 query protocol: an Action parameter
  // in the query or a form-encoded body, and not an EFS (/2015-02-01/),
  // emulator (/_efs-local/) or JSON-target (X-Amz-Target) request.
  bool matches(const http::Request& req) const;

  // Answers one EC2 query request. Never throws; every failure is EC2 error XML.
  http::Response handle(const http::Request& req, const efs::RequestContext& ctx);

 private:
  efs::ec2::Network& network_;
};

// Decodes an application/x-www-form-urlencoded string ('+' is a space,
// %XX a byte); malformed escapes are kept literally.
std::vector<std::pair<std::string, std::string>> parse_form(std::string_view form);

// Escapes text for XML element content (values never go into attributes):
// &, < and > become entities, tab/CR/LF character references so they survive
// whitespace normalisation, and characters XML 1.0 cannot carry (the other
// control characters) are dropped. Quotes stay literal, as in EC2's output.
std::string xml_escape(std::string_view text);

}  // namespace efs::api
