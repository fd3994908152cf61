#include "tls/iam_credentials.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace efs::tls {

namespace {

std::string field(const nlohmann::json& o, const char* snake, const char* aws) {
  for (const char* k : {snake, aws}) {
    auto it = o.find(k);
    if (it != o.end() && it->is_string()) return it->get<std::string>();
  }
  return {};
}

}  // namespace

Result<IamCredentials, Error> parse_iam_credentials(const std::string& text) {
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) return fail(Error{"IAM credentials: not valid JSON"});
  if (doc.is_object() && doc.contains("credentials")) doc = doc["credentials"];
  if (doc.is_object()) doc = nlohmann::json::array({doc});
  if (!doc.is_array()) return fail(Error{"IAM credentials: expected an object or a list"});
  IamCredentials out;
  for (const auto& o : doc) {
    if (!o.is_object()) return fail(Error{"IAM credentials: each entry must be an object"});
    IamCredential c;
    c.access_key_id = field(o, "access_key_id", "AccessKeyId");
    c.secret_access_key = field(o, "secret_access_key", "SecretAccessKey");
    c.account = field(o, "account", "Account");
    c.arn = field(o, "arn", "Arn");
    c.session_token = field(o, "session_token", "Token");
    if (c.access_key_id.empty() || c.secret_access_key.empty() || c.arn.empty())
      return fail(
          Error{"IAM credentials: every entry needs access_key_id, secret_access_key "
                "and arn"});
    if (c.account.empty()) {
      // arn:aws:iam::<account>:user/...
      auto parts = c.arn.find("::");
      if (parts != std::string::npos) c.account = c.arn.substr(parts + 2, 12);
    }
    const std::string key = c.access_key_id;
    if (!out.emplace(key, std::move(c)).second)
      return fail(Error{"IAM credentials: access key " + key + " is listed twice"});
  }
  return out;
}

Result<IamCredentials, Error> load_iam_credentials(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail(Error{"cannot read IAM credentials file " + path});
  std::ostringstream ss;
  ss << in.rdbuf();
  auto r = parse_iam_credentials(ss.str());
  if (!r) return fail(Error{path + ": " + r.error().message});
  return r;
}

}  // namespace efs::tls
