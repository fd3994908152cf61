// The emulator clock's offset, kept in meta.db so that time as efs-local
// sees it never goes back across a restart. Lifecycle ages, KMS deletion
// dates, replication timestamps and throughput cooldowns are all stored as
// emulator times; a restart that dropped a week's advance would leave every
// one of them in the future (a file "last read" tomorrow is not idle for
// days). Saved after every advance; restored before anything reads the clock.
#pragma once

#include "common/clock.h"
#include "common/result.h"

namespace efs::meta {
class Db;
}

namespace efs::server {

// Creates the table if needed and moves `clock` forward by the stored
// offset (a fresh data dir stores none: the clock stays at real time).
Status<> restore_clock(meta::Db& db, Clock& clock);
// Stores the clock's current offset (fsynced: an advance a client saw
// answered must survive a power loss as well as a crash).
Status<> save_clock(meta::Db& db, const Clock& clock);

}  // namespace efs::server
