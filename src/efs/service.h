// efs::Service: the EFS management model behind the rest-json API
// (spec/efs-2015-02-01.json, all 31 operations) and the Catalog the NFS
// server reads. Every resource lives in SQLite (see docs/schema-efs.md), so
// IDs, timestamps and settings survive a restart.
//
// Lifecycle states are computed from timestamps against the Clock rather than
// moved by timers: a resource is "creating" until created_at + state_delay,
// "deleting" until deleting_at + state_delay, then gone. settle() (run before
// every operation, by the TransitionTimer at the next due time and after a
// clock advance) removes what is gone and fires the DataPlane hooks exactly
// once per transition, so a restart loses nothing.
//
// The Catalog is an immutable CatalogSnapshot rebuilt after every change that
// commits and published through Published<T> (catalog.cc), so NFS readers
// take no lock.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/published.h"
#include "common/result.h"
#include "ec2/network.h"
#include "efs/catalog.h"
#include "efs/error.h"
#include "efs/record.h"
#include "efs/transition_timer.h"
#include "efs_shapes.h"
#include "kms/key_directory.h"

namespace efs {

namespace meta {
class Db;
class Conn;
}  // namespace meta

struct ServiceOptions {
  std::string default_region = "us-east-1";
  std::string default_account = "000000000000";
  // How long creating/deleting/enabling states last.
  std::chrono::milliseconds state_delay{1000};
  // EFS quotas (per account and region; per file system for access points).
  // Adjustable so tests can reach them cheaply.
  int max_file_systems = 1000;
  int max_access_points_per_file_system = 10000;
  // Provisioned throughput the emulated Region can still supply to one
  // account (MiB/s over all its file systems; 0: unlimited). Asking for more
  // is EFS's InsufficientThroughputCapacity (--provisioned-capacity).
  double provisioned_capacity_mibps = 0;
};

class Service : public Catalog {
 public:
  using Options = ServiceOptions;
  using json = nlohmann::json;

  // Creates the efs tables if needed (Db::ensure_schema("efs", ...)).
  // `keys` resolves CreateFileSystem's KmsKeyId; null means no KMS: a given
  // KmsKeyId is then stored as an ARN without checking that the key exists.
  static Result<std::unique_ptr<Service>, Error> open(meta::Db& db, ec2::Network& network,
                                                      Clock& clock, Options options,
                                                      DataPlane data_plane,
                                                      kms::KeyDirectory* keys = nullptr);
  ~Service() override;  // stops the transition timer (catalog.cc)

  // One handler per operation of the model, by exact operation name.
  std::vector<std::pair<std::string, JsonOperation>> operations();

  // Moves lazily-computed states forward and fires DataPlane hooks for
  // transitions nobody has observed yet. Tests call it; the server relies on
  // start_transition_timer() instead.
  void tick();

  // Catalog (any account and region: the NFS server exports them all).
  std::shared_ptr<const CatalogSnapshot> snapshot() const override;
  // Starts the thread that settles and republishes when the next lifecycle
  // transition is due on the clock (without it, only operations, tick() and
  // clock_advanced() move states forward). Idempotent.
  void start_transition_timer();
  // The clock was moved forward (POST /_efs-local/clock): settle what became
  // due and republish before returning.
  void clock_advanced();

  // Operations, named as in the model. Input is the merged, validated request
  // as its typed shape (efs_shapes.h, generated from the model); the output
  // is the model's shape, or an empty JSON object where the model has none.
  ApiResult<shapes::FileSystemDescription> CreateFileSystem(
      const RequestContext& ctx, const shapes::CreateFileSystemRequest& in);
  ApiResult<shapes::DescribeFileSystemsResponse> DescribeFileSystems(
      const RequestContext& ctx, const shapes::DescribeFileSystemsRequest& in);
  ApiResult<shapes::FileSystemDescription> UpdateFileSystem(
      const RequestContext& ctx, const shapes::UpdateFileSystemRequest& in);
  ApiResult<json> DeleteFileSystem(const RequestContext& ctx,
                                   const shapes::DeleteFileSystemRequest& in);
  ApiResult<shapes::FileSystemProtectionDescription> UpdateFileSystemProtection(
      const RequestContext& ctx, const shapes::UpdateFileSystemProtectionRequest& in);
  ApiResult<shapes::MountTargetDescription> CreateMountTarget(
      const RequestContext& ctx, const shapes::CreateMountTargetRequest& in);
  ApiResult<shapes::DescribeMountTargetsResponse> DescribeMountTargets(
      const RequestContext& ctx, const shapes::DescribeMountTargetsRequest& in);
  ApiResult<json> DeleteMountTarget(const RequestContext& ctx,
                                    const shapes::DeleteMountTargetRequest& in);
  ApiResult<shapes::DescribeMountTargetSecurityGroupsResponse> DescribeMountTargetSecurityGroups(
      const RequestContext& ctx, const shapes::DescribeMountTargetSecurityGroupsRequest& in);
  ApiResult<json> ModifyMountTargetSecurityGroups(
      const RequestContext& ctx, const shapes::ModifyMountTargetSecurityGroupsRequest& in);
  ApiResult<shapes::AccessPointDescription> CreateAccessPoint(
      const RequestContext& ctx, const shapes::CreateAccessPointRequest& in);
  ApiResult<shapes::DescribeAccessPointsResponse> DescribeAccessPoints(
      const RequestContext& ctx, const shapes::DescribeAccessPointsRequest& in);
  ApiResult<json> DeleteAccessPoint(const RequestContext& ctx,
                                    const shapes::DeleteAccessPointRequest& in);
  ApiResult<shapes::LifecycleConfigurationDescription> PutLifecycleConfiguration(
      const RequestContext& ctx, const shapes::PutLifecycleConfigurationRequest& in);
  ApiResult<shapes::LifecycleConfigurationDescription> DescribeLifecycleConfiguration(
      const RequestContext& ctx, const shapes::DescribeLifecycleConfigurationRequest& in);
  ApiResult<shapes::BackupPolicyDescription> PutBackupPolicy(
      const RequestContext& ctx, const shapes::PutBackupPolicyRequest& in);
  ApiResult<shapes::BackupPolicyDescription> DescribeBackupPolicy(
      const RequestContext& ctx, const shapes::DescribeBackupPolicyRequest& in);
  ApiResult<shapes::FileSystemPolicyDescription> PutFileSystemPolicy(
      const RequestContext& ctx, const shapes::PutFileSystemPolicyRequest& in);
  ApiResult<shapes::FileSystemPolicyDescription> DescribeFileSystemPolicy(
      const RequestContext& ctx, const shapes::DescribeFileSystemPolicyRequest& in);
  ApiResult<json> DeleteFileSystemPolicy(const RequestContext& ctx,
                                         const shapes::DeleteFileSystemPolicyRequest& in);
  ApiResult<json> CreateTags(const RequestContext& ctx, const shapes::CreateTagsRequest& in);
  ApiResult<json> DeleteTags(const RequestContext& ctx, const shapes::DeleteTagsRequest& in);
  ApiResult<shapes::DescribeTagsResponse> DescribeTags(const RequestContext& ctx,
                                                       const shapes::DescribeTagsRequest& in);
  ApiResult<json> TagResource(const RequestContext& ctx, const shapes::TagResourceRequest& in);
  ApiResult<json> UntagResource(const RequestContext& ctx, const shapes::UntagResourceRequest& in);
  ApiResult<shapes::ListTagsForResourceResponse> ListTagsForResource(
      const RequestContext& ctx, const shapes::ListTagsForResourceRequest& in);
  ApiResult<shapes::ReplicationConfigurationDescription> CreateReplicationConfiguration(
      const RequestContext& ctx, const shapes::CreateReplicationConfigurationRequest& in);
  ApiResult<shapes::DescribeReplicationConfigurationsResponse> DescribeReplicationConfigurations(
      const RequestContext& ctx, const shapes::DescribeReplicationConfigurationsRequest& in);
  ApiResult<json> DeleteReplicationConfiguration(
      const RequestContext& ctx, const shapes::DeleteReplicationConfigurationRequest& in);
  // ---- Replication's data plane (replication.cc; server/replication_runner.h) ----
  struct ReplicationJob {
    std::string source;       // fs-... (the configuration's id)
    std::string destination;  // fs-...
    double created_at = 0;
    std::optional<double> last_replicated;  // epoch seconds of the last completed sync
    bool deleting = false;                  // DeleteReplicationConfiguration is running
  };
  // Every replication configuration (any account and Region).
  Result<std::vector<ReplicationJob>, Error> replication_jobs();
  // A sync that began at `began` (epoch seconds) completed: every change
  // before it is on the destination (LastReplicatedTimestamp); the status
  // becomes ENABLED.
  Status<> replication_synced(const std::string& source, double began);
  // PAUSED or ERROR with a StatusMessage; "" clears it (ENABLED or ENABLING).
  Status<> replication_status(const std::string& source, const std::string& status,
                              const std::string& message);
  // The data plane finished a DeleteReplicationConfiguration: the
  // configuration goes and the destination is writable again.
  Status<> finish_replication_delete(const std::string& source);

  ApiResult<shapes::DescribeAccountPreferencesResponse> DescribeAccountPreferences(
      const RequestContext& ctx, const shapes::DescribeAccountPreferencesRequest& in);
  ApiResult<shapes::PutAccountPreferencesResponse> PutAccountPreferences(
      const RequestContext& ctx, const shapes::PutAccountPreferencesRequest& in);

 private:
  Service(meta::Db& db, ec2::Network& network, Clock& clock, Options options, DataPlane data_plane,
          kms::KeyDirectory* keys);

  // The operation table's adapter: JSON in and out of a typed handler
  // (efs_shapes.h from_json/to_json).
  template <auto Handler>
  static ApiResult<json> call_typed(Service& s, const RequestContext& ctx, const json& in);

  // Runs fn in one write transaction; a ServiceError rolls it back. Store
  // failures become InternalServerError.
  ApiResult<json> in_write(const std::function<ApiResult<json>(meta::Conn&)>& fn);
  ApiResult<json> in_read(const std::function<ApiResult<json>(meta::Conn&)>& fn) const;
  // True if it committed transitions (and so published a snapshot).
  bool settle();

  // Catalog (catalog.cc). publish_catalog() rebuilds the snapshot from
  // SQLite, publishes it and schedules the timer at the next transition;
  // every write that commits calls it. The _locked form expects catalog_mu_.
  void publish_catalog();
  void publish_catalog_locked();
  // Serializes publishers; settle() holds it from its commit until the
  // hooks ran, so no snapshot shows a file system before its root exists.
  std::mutex catalog_mu_;
  uint64_t catalog_generation_ = 0;  // guarded by catalog_mu_
  Published<CatalogSnapshot> catalog_{std::make_shared<const CatalogSnapshot>()};

  double now() const { return clock_.now_epoch_seconds(); }
  double delay_seconds() const { return static_cast<double>(options_.state_delay.count()) / 1e3; }
  // creating / available / deleting / gone, from the record's timestamps.
  std::string state_of(const Record& r) const;
  bool is_gone(const Record& r) const { return state_of(r) == "gone"; }
  // "updating" is "available" with a throughput change being applied: the
  // file system serves NFS and takes every call an available one takes
  // (the cooldown rules still limit further UpdateFileSystem calls).
  static bool usable(const std::string& state) {
    return state == "available" || state == "updating";
  }

  // Lookups scoped to ctx (ARNs are accepted where the model allows them).
  std::optional<Record> find_file_system(meta::Conn& c, const RequestContext& ctx,
                                         const std::string& id_or_arn) const;
  std::optional<Record> find_access_point(meta::Conn& c, const RequestContext& ctx,
                                          const std::string& id_or_arn) const;
  std::optional<Record> find_mount_target(meta::Conn& c, const RequestContext& ctx,
                                          const std::string& id) const;
  // The file system a request names in `member` (BadRequest if empty,
  // FileSystemNotFound if not ours).
  ApiResult<Record> require_file_system(meta::Conn& c, const RequestContext& ctx,
                                        const std::string& id_or_arn,
                                        const char* member = "FileSystemId") const;
  // IncorrectMountTargetState unless mt's network interface is in place.
  std::optional<ServiceError> security_groups_reachable(const Record& mt) const;
  std::vector<Record> live_children(meta::Conn& c, const std::string& kind,
                                    const std::string& parent_id) const;

  // Output shapes.
  shapes::FileSystemDescription describe_file_system(meta::Conn& c, const Record& fs) const;
  shapes::MountTargetDescription describe_mount_target(const Record& mt) const;
  shapes::AccessPointDescription describe_access_point(const Record& ap) const;
  shapes::ReplicationConfigurationDescription describe_replication(const Record& rep) const;

  // Creates a file system record (shared by CreateFileSystem and replication).
  // key_arn: encryption_key_of(ctx, in), resolved before the transaction.
  ApiResult<Record> insert_file_system(meta::Conn& c, const RequestContext& ctx,
                                       const shapes::CreateFileSystemRequest& in,
                                       const std::optional<std::string>& key_arn);
  // The key ARN of a new file system when it is encrypted, else nullopt.
  ApiResult<std::optional<std::string>> encryption_key_of(
      const RequestContext& ctx, const shapes::CreateFileSystemRequest& in);
  // The ARN of the key a new encrypted file system uses: KmsKeyId resolved
  // through keys_ (or the EFS default key), BadRequest if it cannot be used.
  ApiResult<std::string> file_system_key_arn(const RequestContext& ctx,
                                             const std::optional<std::string>& kms_key_id);
  ApiResult<json> tag_resource(const RequestContext& ctx, const std::string& resource_id,
                               const json& tags);
  ApiResult<json> untag_resource(const RequestContext& ctx, const std::string& resource_id,
                                 const json& keys);
  std::string resource_id_type(meta::Conn& c, const RequestContext& ctx) const;

  meta::Db& db_;
  ec2::Network& network_;
  Clock& clock_;
  Options options_;
  DataPlane data_plane_;
  kms::KeyDirectory* keys_ = nullptr;  // not owned; null: no KMS
  // Serializes mutating operations whose checks span a Network call and our
  // own write transaction (CreateMountTarget), and keeps the others simple.
  std::mutex mutate_mu_;
  std::mutex settle_mu_;
  // Set by operations that change the set of mount targets; settle() fires
  // DataPlane::mount_targets_changed and clears it.
  std::atomic<bool> mount_targets_dirty_{false};
  // Guarded by catalog_mu_. Its thread calls settle(); ~Service stops it first.
  std::unique_ptr<TransitionTimer> timer_;
};

}  // namespace efs
