// The emulator's address plan and zone table, shared by ec2::Network and
// anything that must recognise a mount target address (IPv4/IPv6 parsing,
// CIDR membership, the availability zones of a region).
//
// Address plan: every (account, region) gets its own 127.N.0.0/16 (N handed
// out in order from 16, so 127.0.0.1 and 127.1.x.x stay free) cut into /20
// subnets, one per zone, the shape of AWS's default VPC (172.31.0.0/16 cut
// into /20s). IPv6 blocks are unique-local: fd00:ec2:N::/48 per VPC and
// fd00:ec2:N:i::/64 per subnet (IPv6 mount targets are served on ::1).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace efs::ec2 {

// Dotted-quad text of a host-order IPv4 address.
std::string ipv4_text(uint32_t address);
// Host-order address of dotted-quad text; nullopt if malformed.
std::optional<uint32_t> parse_ipv4(const std::string& text);

struct Ipv4Cidr {
  uint32_t base = 0;  // host order
  int prefix = 32;
  uint64_t size() const { return uint64_t{1} << (32 - prefix); }
  bool contains(uint32_t a) const { return uint64_t{a - base} < size(); }
};
// "a.b.c.d/n"; nullopt if malformed or n is not 0..32.
std::optional<Ipv4Cidr> parse_ipv4_cidr(const std::string& text);

using Ipv6 = std::array<uint8_t, 16>;
std::optional<Ipv6> parse_ipv6(const std::string& text);
// RFC 5952 canonical text (inet_ntop).
std::string ipv6_text(const Ipv6& address);
// fd00:0ec2:<octet>:<index>:: — the VPC's /48 (index 0) or a subnet's /64.
Ipv6 ipv6_prefix(int octet, int index);

// Availability zones of a region as (zone name, zone ID) pairs, e.g.
// ("us-east-1a", "use1-az1"). A built-in table covers common regions; any
// other region gets three zones a-c.
std::vector<std::pair<std::string, std::string>> zones_of(const std::string& region);
// The zone-ID abbreviation of a region: us-east-1 -> use1, ap-northeast-1 -> apne1.
std::string zone_id_prefix(const std::string& region);

}  // namespace efs::ec2
