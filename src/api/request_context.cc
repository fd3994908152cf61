#include "api/request_context.h"

#include <algorithm>
#include <cctype>

#include "common/ids.h"

namespace efs::api {
namespace {

// "AKID/date/region/service/aws4_request" -> its parts, if it has five.
bool credential_scope(std::string_view credential, SigningScope& scope) {
  std::vector<std::string_view> parts;
  while (true) {
    auto slash = credential.find('/');
    parts.push_back(credential.substr(0, slash));
    if (slash == std::string_view::npos) break;
    credential.remove_prefix(slash + 1);
  }
  if (parts.size() != 5) return false;
  scope.access_key_id = std::string(parts[0]);
  scope.region = std::string(parts[2]);
  scope.service = std::string(parts[3]);
  return true;
}

bool plausible_region(const std::string& r) {
  return !r.empty() && r.size() <= 32 && std::all_of(r.begin(), r.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c)) || c == '-';
  });
}

bool twelve_digits(const std::string& s) {
  return s.size() == 12 && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isdigit(static_cast<unsigned char>(c));
         });
}

}  // namespace

std::optional<SigningScope> signing_scope(const http::Request& request) {
  std::string credential;
  if (const auto* auth = request.header("authorization")) {
    auto at = auth->find("Credential=");
    if (at != std::string::npos) {
      auto start = at + 11;
      auto end = auth->find_first_of(", ", start);
      credential = auth->substr(start, end == std::string::npos ? std::string::npos : end - start);
    }
  }
  if (credential.empty()) {
    for (const auto& [k, v] : request.query) {
      if (k == "X-Amz-Credential") credential = v;
    }
  }
  SigningScope scope;
  if (credential.empty() || !credential_scope(credential, scope)) return std::nullopt;
  return scope;
}

efs::RequestContext request_context(const http::Request& request, const std::string& default_region,
                                    const std::string& default_account) {
  efs::RequestContext ctx;
  ctx.region = default_region;
  ctx.account_id = default_account;
  ctx.request_id = random_uuid();
  if (auto scope = signing_scope(request)) {
    if (plausible_region(scope->region)) ctx.region = scope->region;
    if (twelve_digits(scope->access_key_id)) ctx.account_id = scope->access_key_id;
  }
  return ctx;
}

}  // namespace efs::api
