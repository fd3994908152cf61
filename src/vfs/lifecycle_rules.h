// EFS lifecycle management as rules over one file's facts: which storage
// class a file belongs in now. Pure (no I/O, no clock): the mover
// (vfs/lifecycle_ops.cc) feeds it rows from SQLite and the time.
//
// The rules, as the EFS user guide ("Managing storage lifecycle") states
// them, and the choices where it is silent (README, "Storage classes"):
//  - TransitionToIA / TransitionToArchive AFTER_N_DAY(S): a file moves once
//    it has not been read or written for N days. Both ages count from the
//    last access (not from entering IA), so with IA 7 and Archive 30 a file
//    idle for 30 days is in Archive, whichever class it was in.
//  - A file reaches Archive directly from Standard when no IA rule exists or
//    the IA age is not shorter.
//  - TransitionToPrimaryStorageClass AFTER_1_ACCESS: a READ or WRITE of a
//    file in IA or Archive brings it back to Standard. Without it a READ is
//    served where the file is and the file stays.
//  - A WRITE to a file in IA or Archive lands in Standard whatever the
//    policy (EFS writes new data to Standard); its age starts again.
//  - Files under 128 KiB are never moved (and one that shrank under it
//    goes back to Standard); directories, symlinks and special files always
//    stay in Standard.
//  - Removing a rule moves nothing back: files stay where they are.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "chunk/chunk_store.h"

namespace efs::vfs {

using StorageClass = chunk::StorageClass;

inline constexpr uint64_t kMinTransitionBytes = 128 * 1024;
inline constexpr double kSecondsPerDay = 86400.0;

struct LifecyclePolicy {
  std::optional<int> ia_days;         // TransitionToIA
  std::optional<int> archive_days;    // TransitionToArchive
  bool to_primary_on_access = false;  // TransitionToPrimaryStorageClass AFTER_1_ACCESS
  bool moves_files() const { return ia_days || archive_days; }
  friend bool operator==(const LifecyclePolicy&, const LifecyclePolicy&) = default;
};

// "AFTER_7_DAYS" -> 7, "AFTER_1_DAY" -> 1; anything else -> nullopt.
std::optional<int> transition_days(std::string_view rule);

struct FileFacts {
  bool regular = true;  // a regular file (anything else stays in Standard)
  uint64_t size = 0;
  StorageClass cls = StorageClass::standard;
  double idle_seconds = 0;  // since the last READ or WRITE (lifecycle timer)
};

// The class the file belongs in by age and size, if that is not where it
// is now; nullopt: leave it.
std::optional<StorageClass> transition_due(const LifecyclePolicy& p, const FileFacts& f);

// After a READ (wrote = false) or WRITE of a file in class `cls`: Standard
// if the access brings it back, else nullopt.
std::optional<StorageClass> recall_on_access(const LifecyclePolicy& p, StorageClass cls,
                                             bool wrote);

}  // namespace efs::vfs
