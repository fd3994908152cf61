// Resource IDs shaped like AWS's: a prefix and 17 lowercase hex digits
// (fs-0123456789abcdef0), and random hex strings for other identifiers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace efs {

// prefix + "-" + 17 lowercase hex digits, e.g. make_id("fs").
std::string make_id(std::string_view prefix);
// True if s is prefix-<17 lowercase hex>.
bool is_id(std::string_view s, std::string_view prefix);
// n random lowercase hex digits.
std::string random_hex(std::size_t n);
// A random 64-bit value from a per-thread generator seeded from the OS.
uint64_t random_u64();
// A random UUID v4 string.
std::string random_uuid();

}  // namespace efs
