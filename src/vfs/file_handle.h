// NFS file handles of efs-local, version 1 (docs/file-handle.md):
//
//   byte 0       version (1)
//   bytes 1-9    the file system id's 17 hex digits, packed two per byte
//                (the first byte holds only the first digit)
//   bytes 10-17  inode number, big-endian
//   bytes 18-21  inode generation, big-endian
//
// 22 bytes, well under NFS4_FHSIZE (128). The handle names the file system by
// its id, not by a server-local number, so it stays valid across restarts and
// data-dir copies; inode numbers are never reused, and the generation guards
// against a recreated file system reusing them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vfs/vfs.h"

namespace efs::vfs {

inline constexpr uint8_t kHandleVersion = 1;
inline constexpr std::size_t kHandleSize = 22;

struct HandleFields {
  std::string fs_id;  // fs-<17 hex>
  Ino ino = 0;
  uint32_t generation = 0;
};

// Empty if fs_id is not fs-<17 lowercase hex digits>.
std::vector<uint8_t> encode_handle(const HandleFields& f);
// Empty for malformed bytes (wrong size, version or digits).
std::optional<HandleFields> decode_handle(std::span<const uint8_t> h);

}  // namespace efs::vfs
