// CRC32C (Castagnoli, the iSCSI / ext4 / leveldb checksum): the per-block
// checksum of the chunk store (docs/chunk-format.md). Uses the SSE4.2 crc32
// instruction when the CPU has it (checked once at run time), else a table.
#pragma once

#include <cstddef>
#include <cstdint>

namespace efs::chunk {

// Continues a CRC32C: crc32c(0, "123456789", 9) == 0xE3069283.
uint32_t crc32c(uint32_t crc, const uint8_t* data, std::size_t n);
// The portable path alone (for tests and the micro-benchmark).
uint32_t crc32c_portable(uint32_t crc, const uint8_t* data, std::size_t n);
// True if crc32c() uses the CPU's instruction.
bool crc32c_hardware();

}  // namespace efs::chunk
