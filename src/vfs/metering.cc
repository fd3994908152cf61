#include "vfs/metering.h"

#include <algorithm>

namespace efs::vfs {

uint64_t metered_data_bytes(FileType type, uint64_t size, std::optional<uint64_t> allocated) {
  if (type != FileType::reg) return kMeteringIncrement;
  uint64_t logical = (size + kMeteringIncrement - 1) / kMeteringIncrement * kMeteringIncrement;
  if (allocated) {
    uint64_t real = (*allocated + kMeteringIncrement - 1) / kMeteringIncrement * kMeteringIncrement;
    logical = std::min(logical, real);
  }
  return std::max(logical, kMeteringIncrement);
}

void add_objects(MeteredSize& m, StorageClass cls, uint64_t count, uint64_t data) {
  m.standard += count * kMeteredMetadataBytes;
  switch (cls) {
    case StorageClass::standard:
      m.standard += data;
      break;
    case StorageClass::ia:
      m.ia += data;
      break;
    case StorageClass::archive:
      m.archive += data;
      break;
  }
  m.total = m.standard + m.ia + m.archive;
}

void add_object(MeteredSize& m, StorageClass cls, uint64_t data) {
  add_objects(m, cls, 1, data);
}

}  // namespace efs::vfs
