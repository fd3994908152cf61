// The AWS Regions efs-local answers for, with the partition of each. A
// request signed for a Region not in this table has no endpoint at AWS; the
// API refuses it (api/gateway.cc) instead of creating resources there, and
// ARNs take the partition of their Region (arn:aws-cn:... in China,
// arn:aws-us-gov:... in GovCloud).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace efs {

// "aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b" or "aws-eusc"; nullopt
// for a name that is not a Region.
std::optional<std::string_view> partition_of(std::string_view region);

// partition_of(region), or "aws" for an unknown name (only known Regions get
// this far; a fallback keeps ARNs well formed for old records).
std::string arn_partition(std::string_view region);

}  // namespace efs
