#include "api/gateway.h"

#include <spdlog/spdlog.h>

#include <map>
#include <nlohmann/json.hpp>

#include "api/request_context.h"
#include "efs/regions.h"

namespace efs::api {
namespace {

constexpr const char* kNotEmulated = "ServiceNotEmulated";

// SigV4 signing names -> the service's name as people say it.
std::string service_by_signing_name(const std::string& name) {
  static const std::map<std::string, std::string> kNames = {
      {"dynamodb", "DynamoDB"},
      {"s3", "S3"},
      {"sqs", "SQS"},
      {"sns", "SNS"},
      {"monitoring", "CloudWatch"},
      {"logs", "CloudWatch Logs"},
      {"events", "EventBridge"},
      {"kms", "KMS"},
      {"iam", "IAM"},
      {"lambda", "Lambda"},
      {"secretsmanager", "Secrets Manager"},
      {"ssm", "Systems Manager"},
      {"kinesis", "Kinesis"},
      {"ecs", "ECS"},
      {"ecr", "ECR"},
      {"rds", "RDS"},
      {"cloudformation", "CloudFormation"},
      {"elasticloadbalancing", "Elastic Load Balancing"},
      {"route53", "Route 53"},
      {"states", "Step Functions"},
      {"backup", "AWS Backup"},
      {"datasync", "DataSync"},
      {"fsx", "FSx"},
      {"autoscaling", "Auto Scaling"},
  };
  auto it = kNames.find(name);
  return it == kNames.end() ? name : it->second;
}

// X-Amz-Target prefixes (the JSON protocols' service names) -> names.
std::string service_by_target(const std::string& prefix) {
  static const std::map<std::string, std::string> kNames = {
      {"DynamoDB_20120810", "DynamoDB"},
      {"DynamoDBStreams_20120810", "DynamoDB Streams"},
      {"TrentService", "KMS"},
      {"AmazonSQS", "SQS"},
      {"Logs_20140328", "CloudWatch Logs"},
      {"GraniteServiceVersion20100801", "CloudWatch"},
      {"AWSEvents", "EventBridge"},
      {"Kinesis_20131202", "Kinesis"},
      {"AmazonSSM", "Systems Manager"},
      {"secretsmanager", "Secrets Manager"},
      {"AWSStepFunctions", "Step Functions"},
      {"AmazonEC2ContainerServiceV20141113", "ECS"},
      {"AmazonEC2ContainerRegistry_V20150921", "ECR"},
      {"AWSCognitoIdentityProviderService", "Cognito"},
  };
  auto it = kNames.find(prefix);
  return it == kNames.end() ? prefix : it->second;
}

bool header_has(const http::Request& req, const char* name, const char* text) {
  const auto* h = req.header(name);
  return h != nullptr && h->find(text) != std::string::npos;
}

// Smithy RPC v2 CBOR (the newest CloudWatch SDKs): a map of two text
// strings, {"__type": code, "message": text}, in definite-length CBOR.
std::string cbor_error(const std::string& code, const std::string& message) {
  std::string out;
  auto head = [&out](unsigned major, uint64_t n) {
    uint8_t m = static_cast<uint8_t>(major << 5);
    if (n < 24) {
      out += static_cast<char>(m | n);
    } else if (n < 256) {
      out += static_cast<char>(m | 24);
      out += static_cast<char>(n);
    } else if (n < 65536) {
      out += static_cast<char>(m | 25);
      out += static_cast<char>(n >> 8);
      out += static_cast<char>(n & 0xff);
    } else {
      out += static_cast<char>(m | 26);
      for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((n >> shift) & 0xff);
    }
  };
  auto text = [&](const std::string& s) {
    head(3, s.size());
    out += s;
  };
  head(5, 2);
  text("__type");
  text(code);
  text("message");
  text(message);
  return out;
}

// "Credential should be scoped to a valid region": AWS's answer to a
// signature scoped to a name that is not a Region (HTTP 403), in the
// protocol of the service the request was for.
http::Response unknown_region(const std::string& service, const std::string& region,
                              const efs::RequestContext& ctx) {
  std::string message = "Credential should be scoped to a valid region, not '" + region +
                        "': no AWS endpoint exists for that Region.";
  spdlog::info("api: refused a {} request signed for unknown Region '{}'", service, region);
  if (service == "elasticfilesystem")
    return error_response({"InvalidSignatureException", 403, message, nlohmann::json::object()},
                          ctx.request_id);
  if (service == "kms")
    return json_rpc_error({"InvalidSignatureException", 403, message, nlohmann::json::object()},
                          ctx.request_id);
  if (service == "ec2") {
    http::Response r;
    r.status = 403;
    r.set_header("Content-Type", "text/xml;charset=UTF-8");
    r.set_header("x-amzn-RequestId", ctx.request_id);
    r.body =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>"
        "AuthFailure</Code><Message>" +
        xml_escape(message) + "</Message></Error></Errors><RequestID>" + ctx.request_id +
        "</RequestID></Response>";
    return r;
  }
  return query_error_response(403, "SignatureDoesNotMatch", message, ctx.request_id,
                              "https://sts.amazonaws.com/doc/2011-06-15/");
}

}  // namespace

http::Response not_emulated_response(const http::Request& request, const std::string& service,
                                     const std::string& detail, const std::string& request_id) {
  std::string message = "efs-local does not emulate " + service + " (" + detail +
                        "); it answers EFS, KMS, CloudWatch's AWS/EFS metrics and alarms, the EC2 "
                        "calls mount targets need and STS GetCallerIdentity.";
  spdlog::info("api: {} request not emulated ({})", service, detail);
  http::Response r;
  r.status = 400;
  r.set_header("x-amzn-RequestId", request_id);
  if (header_has(request, "smithy-protocol", "rpc-v2-cbor")) {
    r.set_header("Content-Type", "application/cbor");
    r.set_header("smithy-protocol", "rpc-v2-cbor");
    r.body = cbor_error(kNotEmulated, message);
  } else if (request.header("x-amz-target") || header_has(request, "content-type", "json")) {
    r.set_header("Content-Type", "application/x-amz-json-1.1");
    r.set_header("x-amzn-ErrorType", kNotEmulated);
    // The message quotes the request (the service name of its signature),
    // which need not be UTF-8: replaced, not thrown on (dump throws).
    r.body = nlohmann::json{{"__type", kNotEmulated}, {"message", message}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    return query_error_response(400, kNotEmulated, message, request_id, "");
  }
  return r;
}

http::Response Gateway::handle(const http::Request& request, const efs::RequestContext& ctx) {
  auto scope = signing_scope(request);
  std::string service = scope ? scope->service : std::string();

  // JSON-protocol services name themselves in X-Amz-Target; EFS (rest-json),
  // EC2 and STS (query) never send it.
  if (kms_ != nullptr && (service == "kms" || kms_->matches(request))) {
    if (scope && !efs::partition_of(scope->region)) return unknown_region("kms", scope->region, ctx);
    return kms_->handle(request, ctx);
  }
  if (cloudwatch_ != nullptr && (service == "monitoring" || cloudwatch_->matches(request))) {
    if (scope && !efs::partition_of(scope->region))
      return unknown_region("monitoring", scope->region, ctx);
    return cloudwatch_->handle(request, ctx);
  }
  if (const auto* target = request.header("x-amz-target")) {
    auto dot = target->find('.');
    std::string prefix = target->substr(0, dot);
    std::string name = service_by_target(prefix);
    if (name == prefix && !service.empty()) name = service_by_signing_name(service);
    return not_emulated_response(request, name, "X-Amz-Target " + *target, ctx.request_id);
  }

  if (service.empty()) {
    // Unsigned: placed by shape.
    if (efs_.matches(request))
      service = "elasticfilesystem";
    else if (sts_.matches(request))
      service = "sts";
    else if (ec2_.matches(request))
      service = "ec2";
  } else if (service != "elasticfilesystem" && service != "ec2" && service != "sts") {
    return not_emulated_response(request, service_by_signing_name(service),
                                 "SigV4 credential scope service '" + service + "'",
                                 ctx.request_id);
  }

  if (scope && !efs::partition_of(scope->region))
    return unknown_region(service, scope->region, ctx);

  if (service == "elasticfilesystem") return efs_.handle(request, ctx);
  if (service == "sts") return sts_.handle(request, ctx);
  if (service == "ec2") return ec2_.handle(request, ctx);

  http::Response r;
  r.status = 404;
  r.set_header("Content-Type", "application/json");
  r.set_header("x-amzn-ErrorType", "UnknownOperationException");
  r.set_header("x-amzn-RequestId", ctx.request_id);
  r.body = nlohmann::json{{"ErrorCode", "UnknownOperationException"},
                          {"Message", "No AWS service of efs-local handles " + request.method +
                                          " " + request.path +
                                          " (unsigned request: EFS, EC2 and STS are served)"}}
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

}  // namespace efs::api
