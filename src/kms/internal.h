// Helpers shared by the operation files of kms::Service: errors named as in
// the model, ARNs, key lookup, key-state rules and Marker/Limit paging.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "efs/error.h"
#include "kms/crypto.h"
#include "kms/store.h"

namespace efs::meta {
class Conn;
}

namespace efs::kms::detail {

using json = nlohmann::json;

// An error of the model: HTTP 400, but 500 for KMSInternalException and 412
// for DryRunOperationException, as AWS answers them.
Unexpected<ServiceError> kms_error(const std::string& code, const std::string& message);
inline Unexpected<ServiceError> not_found(const std::string& m) {
  return kms_error("NotFoundException", m);
}
inline Unexpected<ServiceError> invalid_state(const std::string& m) {
  return kms_error("KMSInvalidStateException", m);
}
inline Unexpected<ServiceError> validation(const std::string& m) {
  return kms_error("ValidationException", m);
}

std::string partition(const std::string& region);
std::string key_arn(const std::string& region, const std::string& account, const std::string& id);
std::string key_arn(const KeyRecord& k);
std::string alias_arn(const std::string& region, const std::string& account,
                      const std::string& name);
// The policy a key gets when CreateKey names none (AWS's default key policy:
// the account's root has kms:*).
std::string default_policy(const std::string& region, const std::string& account);

inline constexpr const char* kEfsAlias = "alias/aws/elasticfilesystem";

// What a KeyId member names, parsed: a key id, or an alias name, in the
// Region and account it names (an ARN) or the caller's.
struct KeyRef {
  bool is_alias = false;
  std::string name;  // key id, or "alias/..."
  std::string region, account;
};
// NotFoundException ("Invalid keyId ...") for text that names no key.
ApiResult<KeyRef> parse_key_ref(const std::string& ref, const std::string& region,
                                const std::string& account, bool aliases_allowed);
// The key a parsed reference names, if any (no AWS managed key is created).
std::optional<KeyRecord> lookup(meta::Conn& c, const KeyRef& ref);
// NotFoundException for a reference that names no key, in AWS's words.
Unexpected<ServiceError> ref_not_found(const KeyRef& ref);

// Cryptographic operations need an enabled key: DisabledException for a
// disabled key, KMSInvalidStateException for one pending deletion.
Result<void, ServiceError> check_usable(const KeyRecord& k);
// Changes to a key other than deletion: KMSInvalidStateException when it is
// pending deletion.
Result<void, ServiceError> check_not_pending(const KeyRecord& k);
// AWS managed keys cannot be changed by their account.
Result<void, ServiceError> check_customer_managed(const KeyRecord& k, const char* op);

// EncryptionContext member -> map (absent: empty).
EncryptionContext context_of(const json& in, const char* member);
// A blob member as bytes (the protocol layer checked it is base64).
Bytes blob_of(const json& in, const char* member);

// Marker/Limit paging over items in ascending `positions`. A Marker is
// opaque: base64 of "<operation>:<position of the next item>", so one from
// another list call is refused (InvalidMarkerException).
struct Page {
  std::size_t begin = 0, end = 0;
  std::optional<std::string> next_marker;
};
ApiResult<Page> paginate(const std::vector<int64_t>& positions, const json& in,
                         const std::string& operation, int default_limit, int max_limit);
// Adds Truncated and NextMarker to out.
void page_result(json& out, const Page& page);

}  // namespace efs::kms::detail
