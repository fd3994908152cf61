// What the data plane (nfs4/, server/) needs to know of the EFS model, and
// what the model tells the data plane. efs::Service implements Catalog; the
// server wires DataPlane to vfs/ and net/. catalog.cc holds CatalogSnapshot
// and Service's side of the catalog (building, publishing, scheduling).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iam/policy.h"

namespace efs {

// A file system's policy as the NFS server evaluates it: the compiled
// document and the ARN its Resource elements name.
struct ExportPolicy {
  iam::Policy policy;
  std::string fs_arn;
};

struct ExportedFileSystem {
  std::string id;  // fs-...
  bool encrypted = false;
  std::string kms_key_id;  // key ARN when encrypted
  // Default member initializers: `{id, false, ""}` in tests stays warning-free.
  std::string arn{};
  // The file system policy (PutFileSystemPolicy), compiled; null when the
  // file system has none (EFS's default: full access through a mount target).
  std::shared_ptr<const ExportPolicy> policy{};
  // ThroughputMode ("bursting", "provisioned", "elastic") and
  // ProvisionedThroughputInMibps (0 unless provisioned): what the NFS
  // server's throughput pacing follows (src/throughput).
  std::string throughput_mode = "bursting";
  double provisioned_mibps = 0;
  // Its lifecycle configuration (PutLifecycleConfiguration), for the
  // lifecycle mover: days of TransitionToIA / TransitionToArchive (nullopt:
  // no such rule), and TransitionToPrimaryStorageClass AFTER_1_ACCESS.
  std::optional<int> transition_to_ia_days = std::nullopt;
  std::optional<int> transition_to_archive_days = std::nullopt;
  bool transition_to_primary_on_access = false;
  // The destination of a replication (ReplicationOverwriteProtection
  // REPLICATING): NFS changes answer NFS4ERR_ROFS, as on EFS, while the
  // replicator (server/replication_runner.h) writes to it through the vfs.
  bool read_only = false;
  // A replication source: the file system its replication copies to ("" if
  // none).
  std::string replication_destination{};
};

struct PosixUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> secondary_gids;
};

struct CreationInfo {
  uint32_t owner_uid = 0;
  uint32_t owner_gid = 0;
  uint32_t permissions = 0755;  // parsed from the octal string
};

struct ExportedAccessPoint {
  std::string id;     // fsap-...
  std::string fs_id;  // its file system
  std::optional<PosixUser> posix_user;
  std::string root_path = "/";
  std::optional<CreationInfo> creation_info;
  std::string arn{};
};

struct MountTargetAddress {
  std::string mount_target_id;
  std::string fs_id;
  std::string ip;  // IPv4 loopback address, or "::1" style for IPv6
};

// The resources the NFS server exports at one moment: immutable once built,
// so a reader holding it needs no lock and sees one consistent state (every
// access point's file system is in file_systems(), and so on). efs::Service
// builds a new one after each change that commits (API writes, lifecycle
// transitions, clock advances) and publishes it; PUTFH and LOOKUP only read.
class CatalogSnapshot {
 public:
  CatalogSnapshot() = default;
  // Sorts each list by its key (id; ip for mount targets, keeping creation
  // order among equal addresses) so lookups are binary searches.
  CatalogSnapshot(uint64_t generation, std::vector<ExportedFileSystem> file_systems,
                  std::vector<ExportedAccessPoint> access_points,
                  std::vector<MountTargetAddress> mount_targets);

  // Grows by one with every snapshot a Service publishes.
  uint64_t generation() const { return generation_; }
  // File systems whose LifeCycleState is "available" (or "updating") and
  // whose root the data plane has created; by id.
  const std::vector<ExportedFileSystem>& file_systems() const { return file_systems_; }
  // Access points whose LifeCycleState is "available", of exported file systems; by id.
  const std::vector<ExportedAccessPoint>& access_points() const { return access_points_; }
  // Addresses of mount targets whose LifeCycleState is "available"; by ip.
  const std::vector<MountTargetAddress>& mount_targets() const { return mount_targets_; }

  // nullptr when not exported. The pointer lives as long as the snapshot.
  const ExportedFileSystem* file_system(std::string_view id) const;
  const ExportedAccessPoint* access_point(std::string_view id) const;
  // The first mount target listening on `ip`.
  const MountTargetAddress* mount_target_at(std::string_view ip) const;

 private:
  uint64_t generation_ = 0;
  std::vector<ExportedFileSystem> file_systems_;
  std::vector<ExportedAccessPoint> access_points_;
  std::vector<MountTargetAddress> mount_targets_;
};

// Where the data plane reads the current CatalogSnapshot. Thread-safe.
class Catalog {
 public:
  virtual ~Catalog() = default;
  // Never null. Lock-free on the fast path (efs::Service uses Published<T>,
  // common/published.h): cheap enough for every PUTFH. Take it once per
  // operation and read everything from that one snapshot.
  virtual std::shared_ptr<const CatalogSnapshot> snapshot() const = 0;
};

// Storage use of one file system, as EFS meters it (SizeInBytes).
struct MeteredSize {
  uint64_t total = 0;
  uint64_t standard = 0;
  uint64_t ia = 0;
  uint64_t archive = 0;
};

// Calls from the EFS model into the data plane. Every member may be empty
// (unit tests of the model run without a data plane).
struct DataPlane {
  // A file system became available: create its root directory if missing.
  std::function<void(const std::string& fs_id)> file_system_created;
  // A file system was deleted: drop its namespace and data.
  std::function<void(const std::string& fs_id)> file_system_deleted;
  // Mount targets were created or deleted: re-read snapshot()->mount_targets().
  std::function<void()> mount_targets_changed;
  // A replication configuration was created: the replicator looks at
  // Service::replication_jobs() again.
  std::function<void()> replications_changed;
  // DeleteReplicationConfiguration of source -> dest began (it shows
  // DELETING): the replicator stops (a sync in flight is cut short at its
  // next step) and lets go of both ends. True when done; false leaves the
  // configuration DELETING for the replicator to finish later.
  std::function<bool(const std::string& source, const std::string& dest)> replication_deleting;
  // Current metered size of a file system.
  std::function<MeteredSize(const std::string& fs_id)> metered_size;
};

}  // namespace efs
