#include "api/sts.h"

#include <spdlog/spdlog.h>

#include "api/ec2_query.h"
#include "efs/regions.h"

namespace efs::api {
namespace {

constexpr const char* kStsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/";

std::string param(const http::Request& req, const std::string& name) {
  for (const auto& [k, v] : req.query)
    if (k == name) return v;
  auto type = req.header("content-type");
  if (req.method == "POST" && (!type || type->rfind("application/x-www-form-urlencoded", 0) == 0))
    for (const auto& [k, v] : parse_form(req.body))
      if (k == name) return v;
  return {};
}

http::Response xml(int status, std::string body, const std::string& request_id) {
  http::Response r;
  r.status = status;
  r.set_header("Content-Type", "text/xml");
  r.set_header("x-amzn-RequestId", request_id);
  r.body = std::move(body);
  return r;
}

}  // namespace

http::Response query_error_response(int status, const std::string& code, const std::string& message,
                                    const std::string& request_id,
                                    const std::string& xml_namespace) {
  std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse";
  if (!xml_namespace.empty()) body += " xmlns=\"" + xml_namespace + "\"";
  body += "><Error><Type>";
  body += status >= 500 ? "Receiver" : "Sender";
  body += "</Type><Code>" + xml_escape(code) + "</Code><Message>" + xml_escape(message) +
          "</Message></Error><RequestId>" + xml_escape(request_id) +
          "</RequestId></ErrorResponse>\n";
  return xml(status, std::move(body), request_id);
}

bool StsQueryService::matches(const http::Request& request) const {
  return param(request, "Action") == "GetCallerIdentity" &&
         param(request, "Version") == "2011-06-15";
}

http::Response StsQueryService::handle(const http::Request& request,
                                       const efs::RequestContext& ctx) const {
  std::string action = param(request, "Action");
  if (action != "GetCallerIdentity") {
    spdlog::info("sts: {} is not emulated", action.empty() ? "(no Action)" : action);
    return query_error_response(400, "InvalidAction",
                                "efs-local emulates only GetCallerIdentity of AWS STS; " +
                                    (action.empty() ? std::string("the request has no Action")
                                                    : action + " is not emulated") +
                                    ".",
                                ctx.request_id, kStsNamespace);
  }
  // The access key stands for the account's root user (request_context.h).
  const std::string& account = ctx.account_id;
  std::string arn = "arn:" + efs::arn_partition(ctx.region) + ":iam::" + account + ":root";
  std::string body = "<GetCallerIdentityResponse xmlns=\"";
  body += kStsNamespace;
  body += "\">\n  <GetCallerIdentityResult>\n    <Arn>" + xml_escape(arn) + "</Arn>\n    <UserId>" +
          xml_escape(account) + "</UserId>\n    <Account>" + xml_escape(account) +
          "</Account>\n  </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>" +
          xml_escape(ctx.request_id) +
          "</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n";
  spdlog::info("sts: GetCallerIdentity -> {}", arn);
  return xml(200, std::move(body), ctx.request_id);
}

}  // namespace efs::api
