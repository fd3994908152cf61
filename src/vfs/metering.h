// SizeInBytes as EFS meters it (EFS user guide, "How Amazon EFS reports file
// system and object sizes"): every object is 2 KiB of metadata (its inode,
// always in Standard) plus one or more 4 KiB increments of data, in the
// class the object's data is in:
//  - a regular file: its size rounded up to 4 KiB, or what is really
//    allocated when that is less (a sparse file), and at least one increment
//    (EFS's example: `du -k` of an empty file says 4);
//  - a directory, a symlink, a FIFO or a socket: 4 KiB.
// An empty file system is its root directory: 6 KiB.
#pragma once

#include <cstdint>
#include <optional>

#include "vfs/vfs.h"

namespace efs::vfs {

inline constexpr uint64_t kMeteredMetadataBytes = 2048;
inline constexpr uint64_t kMeteringIncrement = 4096;

// The metered data bytes of one object. `allocated`: the bytes the host
// stores for a regular file (nullopt: not looked at, the file is dense).
uint64_t metered_data_bytes(FileType type, uint64_t size, std::optional<uint64_t> allocated);

// Adds one object to m: its metadata to Standard, `data` to its class.
void add_object(MeteredSize& m, StorageClass cls, uint64_t data);
// Adds `count` objects whose data sums to `data`, all in class cls.
void add_objects(MeteredSize& m, StorageClass cls, uint64_t count, uint64_t data);

}  // namespace efs::vfs
