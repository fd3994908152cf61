// Paging of the EFS list operations, applied where the rest-json layer calls
// an operation: the documented default and maximum page size of each list
// call, and tokens (Marker / NextToken) bound to the call that issued them.
//
// Page sizes (spec/efs-2015-02-01.json documentation): DescribeFileSystems
// and DescribeTags "automatically set to 100" and "paginated at 100 per
// page"; DescribeMountTargets defaults to 10 and pages at most 100; the
// NextToken operations (DescribeAccessPoints, DescribeReplicationConfigurations,
// ListTagsForResource, DescribeAccountPreferences) document "the default value
// is 100", which is also their largest page. A larger MaxItems/MaxResults is
// clamped (the model's range sets only a minimum of 1, enforced earlier).
//
// A token the operation returns is "<its own token>.<16 hex digits>": the
// digits are a hash of the operation name and the request's other members
// (FileSystemId, ResourceId, ...), so a token from another list call or from
// other filters is refused with BadRequest instead of silently paging
// something else.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "efs/error.h"

namespace efs::api {

struct ListPaging {
  const char* operation;
  const char* input_token;   // Marker or NextToken
  const char* output_token;  // NextMarker or NextToken
  const char* limit;         // MaxItems or MaxResults
  int default_limit;
  int max_limit;
};

// The paging row of a list operation of the model, or nullptr.
const ListPaging* list_paging(const std::string& operation);

// Calls handler with the page size settled and the token checked and
// unwrapped; binds the token of the answer. Other operations pass through.
efs::ApiResult<nlohmann::json> call_paged(const std::string& operation,
                                          const efs::JsonOperation& handler,
                                          const efs::RequestContext& ctx, nlohmann::json input);

}  // namespace efs::api
