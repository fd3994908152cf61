#include "kms/internal.h"

#include <spdlog/spdlog.h>

#include "kms/store.h"

namespace efs::kms::detail {

Unexpected<ServiceError> kms_error(const std::string& code, const std::string& message) {
  int status = 400;
  if (code == "KMSInternalException" || code == "KeyUnavailableException") status = 500;
  if (code == "DryRunOperationException") status = 412;
  spdlog::debug("kms: {}: {}", code, message);
  return unmodeled_error(code, status, message);  // KMS codes: not in the EFS model
}

std::string partition(const std::string& region) {
  // The partitions of efs/regions.h, by Region prefix (kms/ does not link efs/).
  if (region.rfind("cn-", 0) == 0) return "aws-cn";
  if (region.rfind("us-gov-", 0) == 0) return "aws-us-gov";
  if (region.rfind("us-isob-", 0) == 0) return "aws-iso-b";
  if (region.rfind("us-iso-", 0) == 0) return "aws-iso";
  if (region.rfind("eusc-", 0) == 0) return "aws-eusc";
  return "aws";
}

std::string key_arn(const std::string& region, const std::string& account, const std::string& id) {
  return "arn:" + partition(region) + ":kms:" + region + ":" + account + ":key/" + id;
}
std::string key_arn(const KeyRecord& k) { return key_arn(k.region, k.account, k.key_id); }

std::string alias_arn(const std::string& region, const std::string& account,
                      const std::string& name) {
  return "arn:" + partition(region) + ":kms:" + region + ":" + account + ":" + name;
}

std::string default_policy(const std::string& region, const std::string& account) {
  json p = {{"Version", "2012-10-17"},
            {"Id", "key-default-1"},
            {"Statement",
             json::array({{{"Sid", "Enable IAM User Permissions"},
                           {"Effect", "Allow"},
                           {"Principal",
                            {{"AWS", "arn:" + partition(region) + ":iam::" + account + ":root"}}},
                           {"Action", "kms:*"},
                           {"Resource", "*"}}})}};
  return p.dump(2);
}

ApiResult<KeyRef> parse_key_ref(const std::string& ref, const std::string& region,
                                const std::string& account, bool aliases_allowed) {
  KeyRef r{false, ref, region, account};
  auto invalid = [&] { return not_found("Invalid keyId '" + ref + "'"); };
  if (ref.rfind("arn:", 0) == 0) {
    // arn:<partition>:kms:<region>:<account>:key/<id> or :alias/<name>
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (int i = 0; i < 5; ++i) {
      auto colon = ref.find(':', start);
      if (colon == std::string::npos) return kms_error("InvalidArnException", "Invalid arn " + ref);
      parts.push_back(ref.substr(start, colon - start));
      start = colon + 1;
    }
    std::string resource = ref.substr(start);
    if (parts[2] != "kms" || parts[3].empty() || parts[4].empty())
      return kms_error("InvalidArnException", "Invalid arn " + ref);
    r.region = parts[3];
    r.account = parts[4];
    if (resource.rfind("key/", 0) == 0) {
      r.name = resource.substr(4);
    } else if (resource.rfind("alias/", 0) == 0 && resource.size() > 6) {
      if (!aliases_allowed) return invalid();
      r.is_alias = true;
      r.name = resource;
    } else {
      return kms_error("InvalidArnException", "Invalid arn " + ref);
    }
  } else if (ref.rfind("alias/", 0) == 0) {
    if (!aliases_allowed || ref.size() <= 6) return invalid();
    r.is_alias = true;
  }
  if (!r.is_alias && !uuid_bytes(r.name)) return invalid();
  return r;
}

std::optional<KeyRecord> lookup(meta::Conn& c, const KeyRef& ref) {
  std::string id = ref.name;
  if (ref.is_alias) {
    auto a = store::alias(c, ref.account, ref.region, ref.name);
    if (!a) return std::nullopt;
    id = a->key_id;
  }
  auto k = store::key(c, id);
  if (!k || k->account != ref.account || k->region != ref.region) return std::nullopt;
  return k;
}

Unexpected<ServiceError> ref_not_found(const KeyRef& ref) {
  if (ref.is_alias)
    return not_found("Alias " + alias_arn(ref.region, ref.account, ref.name) + " is not found.");
  return not_found("Key '" + key_arn(ref.region, ref.account, ref.name) + "' does not exist");
}

Result<void, ServiceError> check_usable(const KeyRecord& k) {
  if (k.state == kDisabled) return kms_error("DisabledException", key_arn(k) + " is disabled.");
  if (k.state == kPendingDeletion) return invalid_state(key_arn(k) + " is pending deletion.");
  return {};
}

Result<void, ServiceError> check_not_pending(const KeyRecord& k) {
  if (k.state == kPendingDeletion) return invalid_state(key_arn(k) + " is pending deletion.");
  return {};
}

Result<void, ServiceError> check_customer_managed(const KeyRecord& k, const char* op) {
  if (k.manager == "AWS")
    return kms_error("UnsupportedOperationException",
                     std::string(op) + " is not supported on " + key_arn(k) +
                         ": it is an AWS managed key, which its account cannot change.");
  return {};
}

EncryptionContext context_of(const json& in, const char* member) {
  EncryptionContext out;
  auto it = in.find(member);
  if (it == in.end() || !it->is_object()) return out;
  for (const auto& [k, v] : it->items())
    if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

Bytes blob_of(const json& in, const char* member) {
  auto it = in.find(member);
  if (it == in.end() || !it->is_string()) return {};
  return base64_decode(it->get<std::string>()).value_or(Bytes{});
}

ApiResult<Page> paginate(const std::vector<int64_t>& positions, const json& in,
                         const std::string& operation, int default_limit, int max_limit) {
  int limit = default_limit;
  if (auto it = in.find("Limit"); it != in.end() && it->is_number_integer())
    limit = std::min(max_limit, it->get<int>());
  if (limit < 1) limit = 1;
  Page p;
  int64_t from = INT64_MIN;
  if (auto it = in.find("Marker"); it != in.end() && it->is_string()) {
    std::string prefix = operation + ":";
    auto raw = base64_decode(it->get<std::string>());
    std::string text = raw ? std::string(raw->begin(), raw->end()) : std::string();
    bool ok = text.rfind(prefix, 0) == 0 && text.size() > prefix.size() &&
              text.size() - prefix.size() <= 18;
    for (std::size_t i = prefix.size(); ok && i < text.size(); ++i)
      ok = text[i] >= '0' && text[i] <= '9';
    if (!ok) return kms_error("InvalidMarkerException", "Invalid marker");
    from = std::stoll(text.substr(prefix.size()));
  }
  while (p.begin < positions.size() && positions[p.begin] < from) ++p.begin;
  p.end = std::min(positions.size(), p.begin + static_cast<std::size_t>(limit));
  if (p.end < positions.size()) {
    std::string text = operation + ":" + std::to_string(positions[p.end]);
    p.next_marker = base64_encode(Bytes(text.begin(), text.end()));
  }
  return p;
}

void page_result(json& out, const Page& page) {
  out["Truncated"] = page.next_marker.has_value();
  if (page.next_marker) out["NextMarker"] = *page.next_marker;
}

}  // namespace efs::kms::detail
