#include "efs/internal.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "efs/regions.h"

namespace efs::detail {

Unexpected<ServiceError> bad_request(const std::string& message) {
  spdlog::info("efs: BadRequest: {}", message);
  return service_error(ErrorCode::BadRequest, message);
}
Unexpected<ServiceError> fs_not_found(const std::string& id) {
  return service_error(ErrorCode::FileSystemNotFound, "File system '" + id + "' does not exist.");
}
Unexpected<ServiceError> ap_not_found(const std::string& id) {
  return service_error(ErrorCode::AccessPointNotFound, "Access point '" + id + "' does not exist.");
}
Unexpected<ServiceError> mt_not_found(const std::string& id) {
  return service_error(ErrorCode::MountTargetNotFound, "Mount target '" + id + "' does not exist.");
}
Unexpected<ServiceError> incorrect_fs_state(const std::string& id, const std::string& state) {
  return service_error(
      ErrorCode::IncorrectFileSystemLifeCycleState, "File system '" + id + "' is in the '" + state + "' state; it must be 'available'.");
}
Unexpected<ServiceError> internal_error(const std::string& message) {
  spdlog::error("efs: internal error: {}", message);
  return service_error(ErrorCode::InternalServerError, "An internal error occurred.");
}
Unexpected<ServiceError> disk_full_error(const std::string& message) {
  spdlog::warn("efs: disk full: {}", message);
  return service_error(ErrorCode::InternalServerError, "efs-local cannot store the change: the disk of its data directory is "
                       "full (No space left on device). Free space on the host (or delete "
                       "files through NFS) and retry.");
}
Unexpected<ServiceError> store_error(const Error& e) {
  if (e.code == ENOSPC || e.code == EDQUOT) return disk_full_error(e.message);
  return internal_error(e.message);
}
Unexpected<ServiceError> validation(const std::string& message) {
  spdlog::info("efs: ValidationException: {}", message);
  return service_error(ErrorCode::ValidationException, message);
}

std::string resource_id(const std::string& id_or_arn) {
  auto slash = id_or_arn.rfind('/');
  if (id_or_arn.rfind("arn:", 0) == 0 && slash != std::string::npos)
    return id_or_arn.substr(slash + 1);
  return id_or_arn;
}

std::string file_system_arn(const std::string& region, const std::string& account,
                            const std::string& id) {
  return "arn:" + arn_partition(region) + ":elasticfilesystem:" + region + ":" + account +
         ":file-system/" + id;
}
std::string access_point_arn(const std::string& region, const std::string& account,
                             const std::string& id) {
  return "arn:" + arn_partition(region) + ":elasticfilesystem:" + region + ":" + account +
         ":access-point/" + id;
}

json merge_tags(const json& tags, const json& add) {
  json out = tags.is_array() ? tags : json::array();
  for (const auto& t : add) {
    bool replaced = false;
    for (auto& o : out) {
      if (o["Key"] == t["Key"]) {
        o["Value"] = t.value("Value", "");
        replaced = true;
      }
    }
    if (!replaced) out.push_back({{"Key", t["Key"]}, {"Value", t.value("Value", "")}});
  }
  return out;
}

json remove_tags(const json& tags, const json& keys) {
  json out = json::array();
  for (const auto& t : tags) {
    bool drop = false;
    for (const auto& k : keys) drop = drop || t["Key"] == k;
    if (!drop) out.push_back(t);
  }
  return out;
}

std::optional<std::string> name_tag(const json& tags) {
  if (!tags.is_array()) return std::nullopt;
  for (const auto& t : tags)
    if (t.value("Key", "") == "Name") return t.value("Value", "");
  return std::nullopt;
}

std::string make_token(int64_t position) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "p%016" PRIx64, static_cast<uint64_t>(position));
  return buf;
}

std::optional<int64_t> parse_token(const std::string& token) {
  if (token.size() != 17 || token[0] != 'p') return std::nullopt;
  uint64_t v = 0;
  for (std::size_t i = 1; i < token.size(); ++i) {
    char ch = token[i];
    int d;
    if (ch >= '0' && ch <= '9')
      d = ch - '0';
    else if (ch >= 'a' && ch <= 'f')
      d = ch - 'a' + 10;
    else
      return std::nullopt;
    v = v * 16 + static_cast<uint64_t>(d);
  }
  if (v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(v);
}

Result<Page, ServiceError> paginate(const std::vector<int64_t>& positions,
                                    const std::optional<std::string>& token,
                                    std::optional<int64_t> limit_given, const char* token_member,
                                    const char* limit_member, int default_limit) {
  Page p;
  int64_t limit = limit_given.value_or(default_limit);
  if (limit < 1) return bad_request(std::string(limit_member) + " must be at least 1.");
  if (token) {
    auto tok = parse_token(*token);
    if (!tok) return bad_request(std::string("Invalid ") + token_member + ".");
    while (p.begin < positions.size() && positions[p.begin] < *tok) ++p.begin;
  }
  p.end = p.begin + static_cast<std::size_t>(
                        std::min<int64_t>(limit, static_cast<int64_t>(positions.size())));
  if (p.end > positions.size()) p.end = positions.size();
  if (p.end < positions.size()) p.next = make_token(positions[p.end]);
  return p;
}

std::string format_message_time(double epoch_seconds) {
  std::time_t t = static_cast<std::time_t>(std::ceil(epoch_seconds));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace efs::detail
