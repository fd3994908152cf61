// Helpers shared by the operation files of efs::Service: error shortcuts
// named as in the model, ID/ARN parsing, tags, and pagination tokens.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "efs/error.h"
#include "efs/model_error.h"

namespace efs::detail {

using json = nlohmann::json;

// Errors of the model with their HTTP status (spec/efs-2015-02-01.json).
Unexpected<ServiceError> bad_request(const std::string& message);
Unexpected<ServiceError> fs_not_found(const std::string& id);
Unexpected<ServiceError> ap_not_found(const std::string& id);
Unexpected<ServiceError> mt_not_found(const std::string& id);
Unexpected<ServiceError> incorrect_fs_state(const std::string& id, const std::string& state);
Unexpected<ServiceError> internal_error(const std::string& message);
// A change that could not be stored because efs-local's data dir is full.
// The model has no disk-full error; InternalServerError (500) is the one
// every operation declares, so each SDK raises it as a modeled exception, and
// its Message names the cause (docs/full-disk.md). SDKs retry a 500 a few
// times, which is harmless: the change never half-happens.
Unexpected<ServiceError> disk_full_error(const std::string& message);
// internal_error or disk_full_error, by the cause the store reported.
Unexpected<ServiceError> store_error(const Error& e);
Unexpected<ServiceError> validation(const std::string& message);

// "fs-..." from "fs-..." or "arn:...:file-system/fs-..." (also fsap-).
std::string resource_id(const std::string& id_or_arn);
std::string file_system_arn(const std::string& region, const std::string& account,
                            const std::string& id);
std::string access_point_arn(const std::string& region, const std::string& account,
                             const std::string& id);

// Tags: merge `add` into `tags` (a later key replaces an earlier one) and
// remove keys. EFS allows 50 tags per resource.
inline constexpr std::size_t kMaxTags = 50;
json merge_tags(const json& tags, const json& add);
// Checks the Tags of one request before any merge: at most kMaxTags of them
// and no key twice (AWS refuses a repeated key with BadRequest rather than
// keeping the last value). `what` names the resource kind in the message.
Result<void, ServiceError> check_request_tags(const json& add, const std::string& what);
json remove_tags(const json& tags, const json& keys);
// The value of the "Name" tag, if any.
std::optional<std::string> name_tag(const json& tags);

// Pagination. A token is opaque to clients: "p" + 16 hex digits of the
// position (a creation sequence number or a list index).
std::string make_token(int64_t position);
std::optional<int64_t> parse_token(const std::string& token);

struct Page {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::optional<std::string> next;
};
// Picks the page of `positions` (ascending) that starts at the item whose
// position is >= the token's: a typed request's token and limit members
// (`limit` is MaxItems/MaxResults, or the model's default when unset). A
// token that does not parse -> BadRequest.
Result<Page, ServiceError> paginate(const std::vector<int64_t>& positions,
                                    const std::optional<std::string>& token,
                                    std::optional<int64_t> limit, const char* token_member,
                                    const char* limit_member, int default_limit);

// "2023-12-29T12:51:32Z" (ISO 8601, UTC), as EFS prints times in messages
// ("Wait until 2023-12-29T12:51:32Z UTC and try again.").
std::string format_message_time(double epoch_seconds);

}  // namespace efs::detail
