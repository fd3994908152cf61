// What one NFS request (a COMPOUND) did to one file system, gathered by the
// COMPOUND loop as its ops run and charged once when it ends (throttle.h).
// Plain counters: adding to it costs nothing on the hot path.
#pragma once

#include <cstdint>

#include "throughput/credits.h"

namespace efs::throughput {

struct Tally {
  uint64_t read_bytes = 0;   // data bytes READ returned
  uint64_t write_bytes = 0;  // data bytes WRITE carried
  uint64_t read_units = 0;   // the same, each request counted as at least 4 KiB
  uint64_t write_units = 0;
  uint32_t metadata_ops = 0;  // requests without data (one per COMPOUND)

  void add_read(uint64_t n) {
    read_bytes += n;
    read_units += request_units(n);
  }
  void add_write(uint64_t n) {
    write_bytes += n;
    write_units += request_units(n);
  }
  bool has_data() const { return read_units != 0 || write_units != 0; }
  bool empty() const { return !has_data() && metadata_ops == 0; }
};

}  // namespace efs::throughput
