// NFS file handles of efs-local, version 2 (docs/file-handle.md):
//
//   byte 0       version (2)
//   bytes 1-9    the file system id's 17 hex digits, packed two per byte
//                (the first byte holds only the first digit)
//   bytes 10-17  inode number, big-endian
//   bytes 18-21  inode generation, big-endian
//   bytes 22-37  MAC: SipHash-2-4-128 keyed with the data dir's handle key
//                over (binding length, binding, bytes 0-21)
//
// 38 bytes, well under NFS4_FHSIZE (128) with the export prefix the NFS layer
// puts in front (the "binding": at most 10 bytes). The handle names the file
// system by its id, not by a server-local number, so it stays valid across
// restarts and data-dir copies (the key lives in the data dir); inode numbers
// are never reused, and the generation guards against a recreated file system
// reusing them. The MAC makes handles unforgeable: without the key, editing
// any byte (the inode number, the file system, the export prefix) gives a
// handle that fails the check, so a client can only present handles the
// server issued.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vfs/vfs.h"

namespace efs::vfs {

inline constexpr uint8_t kHandleVersion = 2;
inline constexpr uint8_t kHandleVersion1 = 1;  // unsigned, before the MAC: refused
inline constexpr std::size_t kHandleBodySize = 22;
inline constexpr std::size_t kHandleMacSize = 16;
inline constexpr std::size_t kHandleSize = kHandleBodySize + kHandleMacSize;
inline constexpr std::size_t kHandleVersion1Size = 22;
inline constexpr std::size_t kMaxHandleBinding = 64;

using HandleKey = std::array<uint8_t, 16>;  // SipHash-2-4 key

struct HandleFields {
  std::string fs_id;  // fs-<17 hex>
  Ino ino = 0;
  uint32_t generation = 0;
};

// Empty if fs_id is not fs-<17 lowercase hex digits> or binding is longer
// than kMaxHandleBinding.
std::vector<uint8_t> encode_handle(const HandleFields& f, const HandleKey& key,
                                   std::span<const uint8_t> binding);
// badhandle for malformed bytes (size, version, digits, inode 0) and for a
// MAC that does not match (forged, or presented with another binding);
// stale for a well-formed version-1 handle (issued before handles were
// signed: see docs/file-handle.md for why those are refused).
VResult<HandleFields> decode_handle(std::span<const uint8_t> h, const HandleKey& key,
                                    std::span<const uint8_t> binding);

// The data dir's handle key: read from <data_dir>/handle.key, or made from
// getrandom(2) at first start and written there with mode 0600 (created
// atomically: a crash never leaves a half-written key).
Result<HandleKey, Error> load_or_create_handle_key(const std::string& data_dir);

}  // namespace efs::vfs
