// What chunk_store.cc and block_io.cc share; not part of the store's API.
#pragma once

#include <span>

#include "chunk/chunk_store.h"

namespace efs::chunk {

struct ChunkStore::Fd {
  Disk& disk;
  int fd = -1;      // the segment's data
  int crc_fd = -1;  // its checksums; -1: a version-1 file without them
  Fd(Disk& d, int f, int c) : disk(d), fd(f), crc_fd(c) {}
  ~Fd() {
    if (fd >= 0) disk.close(fd);
    if (crc_fd >= 0) disk.close(crc_fd);
  }
};

inline ChunkError disk_error(const Error& e) {
  return ChunkError{e.code, e.message};
}

// Writes all of data at offset, looping over short writes.
inline Status<> write_fully(Disk& disk, int fd, std::span<const uint8_t> data, uint64_t offset) {
  std::size_t done = 0;
  while (done < data.size()) {
    auto n = disk.pwrite(fd, data.subspan(done), offset + done);
    if (!n) return fail(n.error());
    // A write that stores nothing and names no error would loop forever.
    if (*n == 0) return fail(Error{"pwrite stored no bytes", EIO});
    done += *n;
  }
  return {};
}

}  // namespace efs::chunk
