// One HTTP endpoint, several AWS services: tells a request's service apart
// the way AWS's front door would if it were one host, and answers requests
// for services efs-local does not emulate with an error that says so.
//
// The service comes from the SigV4 credential scope ("elasticfilesystem",
// "ec2", "sts", "dynamodb", ...) and from X-Amz-Target (the JSON protocols:
// "DynamoDB_20120810.ListTables", "TrentService.ListKeys"); an unsigned
// request is placed by its shape (an EFS path, an STS GetCallerIdentity, an
// EC2 Action). A request signed for a name that is not an AWS Region has no
// endpoint at AWS and is refused before any service sees it (efs/regions.h).
#pragma once

#include "api/cloudwatch.h"
#include "api/ec2_query.h"
#include "api/json_rpc.h"
#include "api/rest_json.h"
#include "api/sts.h"
#include "efs/error.h"
#include "http/message.h"

namespace efs::api {

class Gateway {
 public:
  // kms: the KMS JSON 1.1 service (X-Amz-Target TrentService.*, SigV4
  // service "kms"); null answers KMS as not emulated.
  // cloudwatch: CloudWatch in its three protocols (api/cloudwatch.h); null
  // answers CloudWatch as not emulated.
  Gateway(const RestJsonService& efs, Ec2QueryService& ec2, const JsonRpcService* kms = nullptr,
          const CloudWatchService* cloudwatch = nullptr)
      : efs_(efs), ec2_(ec2), kms_(kms), cloudwatch_(cloudwatch) {}

  // Never throws; every failure is an error response in the protocol of
  // the service the request was meant for.
  http::Response handle(const http::Request& request, const efs::RequestContext& ctx);

 private:
  const RestJsonService& efs_;
  Ec2QueryService& ec2_;
  const JsonRpcService* kms_;
  const CloudWatchService* cloudwatch_;
  StsQueryService sts_;
};

// The error for a service efs-local does not emulate, shaped for the
// request's protocol so every SDK shows its code and message: a JSON body
// with __type (JSON protocols), CBOR with __type (Smithy RPC v2 CBOR), else
// the query/rest-xml <ErrorResponse>. HTTP 400, never retried by SDKs.
http::Response not_emulated_response(const http::Request& request, const std::string& service,
                                     const std::string& detail, const std::string& request_id);

}  // namespace efs::api
