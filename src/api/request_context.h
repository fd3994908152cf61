// Who is calling, read from the request the way AWS reads it: the region from
// the SigV4 credential scope, the account from the access key ID when it is
// twelve digits (LocalStack's convention). Signatures are not verified: this
// is an emulator for one developer's machine.
#pragma once

#include <optional>
#include <string>

#include "efs/error.h"
#include "http/message.h"

namespace efs::api {

// The SigV4 credential scope of a request: "AKID/date/region/service/
// aws4_request" from the Authorization header or a presigned X-Amz-Credential
// query parameter; nullopt when the request carries none (or a malformed one).
struct SigningScope {
  std::string access_key_id;
  std::string region;
  std::string service;  // "elasticfilesystem", "ec2", "sts", "dynamodb", ...
};
std::optional<SigningScope> signing_scope(const http::Request& request);

// Reads "Authorization: AWS4-HMAC-SHA256 Credential=AKID/20261125/eu-west-1/
// elasticfilesystem/aws4_request, ..." (or a presigned X-Amz-Credential query
// parameter). Missing or malformed parts fall back to the defaults. Also
// assigns a fresh request_id (a UUID).
efs::RequestContext request_context(const http::Request& request, const std::string& default_region,
                                    const std::string& default_account);

}  // namespace efs::api
