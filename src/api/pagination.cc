#include "api/pagination.h"

#include "efs/model_error.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <optional>

namespace efs::api {
namespace {

constexpr std::array<ListPaging, 7> kListOperations = {{
    {"DescribeFileSystems", "Marker", "NextMarker", "MaxItems", 100, 100},
    {"DescribeMountTargets", "Marker", "NextMarker", "MaxItems", 10, 100},
    {"DescribeTags", "Marker", "NextMarker", "MaxItems", 100, 100},
    {"DescribeAccessPoints", "NextToken", "NextToken", "MaxResults", 100, 100},
    {"DescribeReplicationConfigurations", "NextToken", "NextToken", "MaxResults", 100, 100},
    {"ListTagsForResource", "NextToken", "NextToken", "MaxResults", 100, 100},
    {"DescribeAccountPreferences", "NextToken", "NextToken", "MaxResults", 100, 100},
}};

// FNV-1a, 64 bits: a stable fingerprint, not a secret.
std::string binding_of(const std::string& operation, const nlohmann::json& filters) {
  uint64_t h = 14695981039346656037ull;
  auto mix = [&h](const std::string& s) {
    for (unsigned char ch : s) {
      h ^= ch;
      h *= 1099511628211ull;
    }
  };
  mix(operation);
  mix("\n");
  mix(filters.dump());  // object keys sorted: the same members give the same text
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, h);
  return buf;
}

}  // namespace

const ListPaging* list_paging(const std::string& operation) {
  for (const auto& p : kListOperations)
    if (operation == p.operation) return &p;
  return nullptr;
}

efs::ApiResult<nlohmann::json> call_paged(const std::string& operation,
                                          const efs::JsonOperation& handler,
                                          const efs::RequestContext& ctx, nlohmann::json input) {
  const ListPaging* p = list_paging(operation);
  if (p == nullptr || !input.is_object()) return handler(ctx, input);

  nlohmann::json filters = input;
  filters.erase(p->input_token);
  filters.erase(p->limit);
  const std::string binding = binding_of(operation, filters);

  std::optional<nlohmann::json> given_token;
  if (auto it = input.find(p->input_token); it != input.end() && !it->is_null()) {
    given_token = *it;
    std::string token = it->is_string() ? it->get<std::string>() : std::string();
    auto dot = token.rfind('.');
    if (dot == std::string::npos || token.compare(dot + 1, std::string::npos, binding) != 0) {
      spdlog::info("api: {} refused {} '{}': not issued by this call", operation, p->input_token,
                   token);
      return efs::service_error(efs::ErrorCode::BadRequest, std::string("Invalid ") + p->input_token +
                                    ": it was not returned by a previous " + operation +
                                    " call with the same parameters.");
    }
    input[p->input_token] = token.substr(0, dot);
  }

  int64_t limit = p->default_limit;
  if (auto it = input.find(p->limit); it != input.end() && it->is_number_integer())
    limit = it->get<int64_t>();
  input[p->limit] = std::min<int64_t>(limit, p->max_limit);

  auto result = handler(ctx, input);
  if (!result.ok() || !result->is_object()) return result;
  auto& out = *result;
  if (auto it = out.find(p->output_token); it != out.end() && it->is_string())
    *it = it->get<std::string>() + "." + binding;
  // DescribeFileSystems and friends echo the Marker they were given.
  if (std::string(p->input_token) != p->output_token && given_token && out.contains(p->input_token))
    out[p->input_token] = *given_token;
  return result;
}

}  // namespace efs::api
