#include "efs/regions.h"

#include <array>
#include <utility>

namespace efs {
namespace {

// AWS Regions (AWS General Reference, "AWS Regions"; opt-in Regions
// included). A new Region is one more row.
constexpr std::array<std::pair<std::string_view, std::string_view>, 42> kRegions = {{
    {"us-east-1", "aws"},
    {"us-east-2", "aws"},
    {"us-west-1", "aws"},
    {"us-west-2", "aws"},
    {"af-south-1", "aws"},
    {"ap-east-1", "aws"},
    {"ap-east-2", "aws"},
    {"ap-south-1", "aws"},
    {"ap-south-2", "aws"},
    {"ap-southeast-1", "aws"},
    {"ap-southeast-2", "aws"},
    {"ap-southeast-3", "aws"},
    {"ap-southeast-4", "aws"},
    {"ap-southeast-5", "aws"},
    {"ap-southeast-6", "aws"},
    {"ap-southeast-7", "aws"},
    {"ap-northeast-1", "aws"},
    {"ap-northeast-2", "aws"},
    {"ap-northeast-3", "aws"},
    {"ca-central-1", "aws"},
    {"ca-west-1", "aws"},
    {"eu-central-1", "aws"},
    {"eu-central-2", "aws"},
    {"eu-west-1", "aws"},
    {"eu-west-2", "aws"},
    {"eu-west-3", "aws"},
    {"eu-south-1", "aws"},
    {"eu-south-2", "aws"},
    {"eu-north-1", "aws"},
    {"il-central-1", "aws"},
    {"me-south-1", "aws"},
    {"me-central-1", "aws"},
    {"mx-central-1", "aws"},
    {"sa-east-1", "aws"},
    {"cn-north-1", "aws-cn"},
    {"cn-northwest-1", "aws-cn"},
    {"us-gov-west-1", "aws-us-gov"},
    {"us-gov-east-1", "aws-us-gov"},
    {"us-iso-east-1", "aws-iso"},
    {"us-iso-west-1", "aws-iso"},
    {"us-isob-east-1", "aws-iso-b"},
    {"eusc-de-east-1", "aws-eusc"},
}};

}  // namespace

std::optional<std::string_view> partition_of(std::string_view region) {
  for (const auto& [name, partition] : kRegions)
    if (name == region) return partition;
  return std::nullopt;
}

std::string arn_partition(std::string_view region) {
  return std::string(partition_of(region).value_or("aws"));
}

}  // namespace efs
