// Start-up side of storage classes (vfs/lifecycle_ops.cc).
#pragma once

#include "chunk/chunk_store.h"
#include "common/result.h"
#include "meta/db.h"

namespace efs::vfs {

// Loads every file's committed storage class into the chunk store, then
// finishes or rolls back each move a crash interrupted (vfs_lifecycle_moves):
// the copy in the class SQLite committed stays, the other one goes.
Status<> recover_class_moves(meta::Db& db, chunk::ChunkStore& chunks);

}  // namespace efs::vfs
