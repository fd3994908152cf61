// The IAM identities efs-local accepts in client certificates
// (`--iam-credentials FILE`): JSON, one object or a list, or {"credentials": [...]}:
//   {"access_key_id": "AKIA...", "secret_access_key": "...",
//    "account": "123456789012", "arn": "arn:aws:iam::123456789012:user/alice",
//    "session_token": "..."}          (session_token: optional; when given,
//                                      the certificate must carry the same)
// The AWS spellings (AccessKeyId, SecretAccessKey, Token, Account, Arn) work too.
#pragma once

#include <map>
#include <string>

#include "common/result.h"

namespace efs::tls {

struct IamCredential {
  std::string access_key_id;
  std::string secret_access_key;
  std::string account;
  std::string arn;
  std::string session_token;
};

using IamCredentials = std::map<std::string, IamCredential>;  // by access key id

Result<IamCredentials, Error> parse_iam_credentials(const std::string& json_text);
Result<IamCredentials, Error> load_iam_credentials(const std::string& path);

}  // namespace efs::tls
