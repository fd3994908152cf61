// AWS STS, the one call tools make before anything else: GetCallerIdentity
// (query protocol: Action=GetCallerIdentity&Version=2011-06-15, form body or
// query string), answered as AWS does with the caller the API already derives
// from the access key: the account's root user. Every other STS action is an
// InvalidAction error that says efs-local emulates only this one.
#pragma once

#include "efs/error.h"
#include "http/message.h"

namespace efs::api {

class StsQueryService {
 public:
  // True for an STS query request: Action=GetCallerIdentity with
  // Version=2011-06-15 when nothing else says which service it is for.
  bool matches(const http::Request& request) const;

  // Never throws; failures are STS's <ErrorResponse> XML.
  http::Response handle(const http::Request& request, const efs::RequestContext& ctx) const;
};

// The query-protocol error document botocore, the AWS CLI and the JS SDK
// parse for STS, SQS, SNS, IAM, CloudWatch and other query services:
// <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>.
http::Response query_error_response(int status, const std::string& code, const std::string& message,
                                    const std::string& request_id,
                                    const std::string& xml_namespace);

}  // namespace efs::api
