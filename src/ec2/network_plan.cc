#include "ec2/network_plan.h"

#include <arpa/inet.h>

#include <map>

namespace efs::ec2 {

std::string ipv4_text(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xff) + "." +
         std::to_string((a >> 8) & 0xff) + "." + std::to_string(a & 0xff);
}

std::optional<uint32_t> parse_ipv4(const std::string& s) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

std::optional<Ipv4Cidr> parse_ipv4_cidr(const std::string& s) {
  auto slash = s.find('/');
  if (slash == std::string::npos) return std::nullopt;
  auto base = parse_ipv4(s.substr(0, slash));
  auto bits = s.substr(slash + 1);
  if (!base || bits.empty() || bits.size() > 2 ||
      bits.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  int prefix = std::stoi(bits);
  if (prefix > 32) return std::nullopt;
  return Ipv4Cidr{*base, prefix};
}

std::optional<Ipv6> parse_ipv6(const std::string& s) {
  Ipv6 a{};
  if (inet_pton(AF_INET6, s.c_str(), a.data()) != 1) return std::nullopt;
  return a;
}

std::string ipv6_text(const Ipv6& a) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
  return buf;
}

Ipv6 ipv6_prefix(int octet, int index) {
  Ipv6 a{};
  a[0] = 0xfd;
  a[2] = 0x0e;
  a[3] = 0xc2;
  a[4] = static_cast<uint8_t>(octet >> 8);
  a[5] = static_cast<uint8_t>(octet);
  a[6] = static_cast<uint8_t>(index >> 8);
  a[7] = static_cast<uint8_t>(index);
  return a;
}

namespace {

struct RegionZones {
  const char* region;
  const char* letters;
  std::array<int, 6> zone_numbers;
};

// The zones a new account sees in common regions. The letter-to-zone-ID
// mapping differs per account on AWS; this is one plausible fixed mapping.
constexpr RegionZones kRegions[] = {
    {"us-east-1", "abcdef", {1, 2, 3, 4, 5, 6}},
    {"us-east-2", "abc", {1, 2, 3}},
    {"us-west-1", "ab", {1, 3}},
    {"us-west-2", "abcd", {1, 2, 3, 4}},
    {"ca-central-1", "abd", {1, 2, 4}},
    {"eu-west-1", "abc", {1, 2, 3}},
    {"eu-west-2", "abc", {1, 2, 3}},
    {"eu-west-3", "abc", {1, 2, 3}},
    {"eu-central-1", "abc", {1, 2, 3}},
    {"eu-north-1", "abc", {1, 2, 3}},
    {"eu-south-1", "abc", {1, 2, 3}},
    {"ap-northeast-1", "acd", {4, 1, 2}},
    {"ap-northeast-2", "abcd", {1, 2, 3, 4}},
    {"ap-southeast-1", "abc", {1, 2, 3}},
    {"ap-southeast-2", "abc", {1, 2, 3}},
    {"ap-south-1", "abc", {1, 2, 3}},
    {"sa-east-1", "abc", {1, 2, 3}},
};

}  // namespace

// Zone IDs abbreviate the region: us-east-1 -> use1, ap-northeast-1 ->
// apne1, eu-central-1 -> euc1 (AWS "AZ IDs for your AWS resources").
std::string zone_id_prefix(const std::string& region) {
  static const std::map<std::string, std::string> kDirections = {
      {"north", "n"},      {"south", "s"},      {"east", "e"},       {"west", "w"},
      {"central", "c"},    {"northeast", "ne"}, {"southeast", "se"}, {"northwest", "nw"},
      {"southwest", "sw"}, {"gov", "g"},      {"isob", "isob"},    {"iso", "iso"},
      {"mexico", "mx"},
  };
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    auto dash = region.find('-', start);
    parts.push_back(region.substr(start, dash - start));
    if (dash == std::string::npos) break;
    start = dash + 1;
  }
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    auto it = kDirections.find(parts[i]);
    out += (i > 0 && it != kDirections.end()) ? it->second : parts[i];
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> zones_of(const std::string& region) {
  std::string letters = "abc";
  std::vector<int> numbers = {1, 2, 3};
  for (const auto& r : kRegions) {
    if (region == r.region) {
      letters = r.letters;
      numbers.assign(r.zone_numbers.begin(), r.zone_numbers.begin() + letters.size());
    }
  }
  std::vector<std::pair<std::string, std::string>> out;
  auto prefix = zone_id_prefix(region);
  for (size_t i = 0; i < letters.size(); ++i)
    out.emplace_back(region + letters[i], prefix + "-az" + std::to_string(numbers[i]));
  return out;
}

}  // namespace efs::ec2
