// What the data plane (nfs4/, server/) needs to know of the EFS model, and
// what the model tells the data plane. efs::Service implements Catalog; the
// server wires DataPlane to vfs/ and net/.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace efs {

struct ExportedFileSystem {
  std::string id;          // fs-...
  bool encrypted = false;
  std::string kms_key_id;  // key ARN when encrypted
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
};

struct MountTargetAddress {
  std::string mount_target_id;
  std::string fs_id;
  std::string ip;  // IPv4 loopback address, or "::1" style for IPv6
};

// Read-only view of the resources the NFS server exports. Thread-safe.
class Catalog {
 public:
  virtual ~Catalog() = default;
  // File systems whose LifeCycleState is "available".
  virtual std::vector<ExportedFileSystem> available_file_systems() const = 0;
  virtual std::optional<ExportedFileSystem> available_file_system(const std::string& id) const = 0;
  // Access points whose LifeCycleState is "available" (of available file systems).
  virtual std::vector<ExportedAccessPoint> available_access_points() const = 0;
  virtual std::optional<ExportedAccessPoint> available_access_point(const std::string& id) const = 0;
  // Mount targets whose LifeCycleState is "available".
  virtual std::vector<MountTargetAddress> available_mount_targets() const = 0;
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
  // Mount targets were created or deleted: re-read available_mount_targets().
  std::function<void()> mount_targets_changed;
  // Current metered size of a file system.
  std::function<MeteredSize(const std::string& fs_id)> metered_size;
};

}  // namespace efs
