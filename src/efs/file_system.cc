// File systems: CreateFileSystem, DescribeFileSystems, UpdateFileSystem,
// DeleteFileSystem, UpdateFileSystemProtection.
#include <spdlog/spdlog.h>

#include <cmath>

#include "common/ids.h"
#include "efs/internal.h"
#include "efs/regions.h"
#include "efs/service.h"
#include "meta/db.h"

namespace efs {

using namespace detail;

namespace {

constexpr double kMaxProvisionedMibps = 3414;  // EFS's per-file-system provisioned ceiling
constexpr double kThroughputCooldownSeconds = 24 * 3600;
constexpr uint64_t kEmptyFileSystemBytes = 6144;  // an empty EFS file system meters 6 KiB

// KmsKeyId may be a key ID, key ARN, alias name or alias ARN; EFS reports the ARN.
std::string kms_key_arn(const std::string& region, const std::string& account,
                        const std::string& key) {
  if (key.rfind("arn:", 0) == 0) return key;
  std::string prefix = "arn:" + arn_partition(region) + ":kms:" + region + ":" + account + ":";
  if (key.rfind("alias/", 0) == 0) return prefix + key;
  return prefix + "key/" + key;
}

// Throughput settings every create and update must satisfy (EFS user guide,
// "Throughput modes"): provisioned needs a value, the value only with
// provisioned, elastic only with General Purpose.
std::optional<ServiceError> check_throughput(const std::string& mode,
                                             const std::string& performance_mode,
                                             std::optional<double> mibps) {
  if (mode == "provisioned" && !mibps)
    return bad_request(
               "ProvisionedThroughputInMibps is required when ThroughputMode is "
               "provisioned.")
        .error;
  if (mode != "provisioned" && mibps)
    return bad_request(
               "ProvisionedThroughputInMibps can only be set when ThroughputMode is "
               "provisioned.")
        .error;
  if (mode == "elastic" && performance_mode == "maxIO")
    return bad_request("Elastic throughput mode is not supported with the maxIO performance mode.")
        .error;
  if (mibps && *mibps < 1)
    return bad_request("ProvisionedThroughputInMibps must be at least 1.0.").error;
  if (mibps && *mibps > kMaxProvisionedMibps)
    return service_error(ErrorCode::ThroughputLimitExceeded, "ProvisionedThroughputInMibps exceeds the maximum of 3414 MiB/s.")
        .error;
  return std::nullopt;
}

// EFS API reference, InsufficientThroughputCapacity (503): "not enough
// capacity to provision additional throughput", on a create in provisioned
// mode, an increase, or a change from bursting to provisioned. The
// emulator's capacity is --provisioned-capacity, per account and Region.
template <class IsGone>
std::optional<ServiceError> check_capacity(meta::Conn& c, const RequestContext& ctx,
                                           double capacity, const std::string& except_fs,
                                           double wanted, IsGone is_gone) {
  if (capacity <= 0) return std::nullopt;
  double used = 0;
  for (auto& fs : store::list(c, kind::kFileSystem, ctx.account_id, ctx.region)) {
    if (fs.id == except_fs || is_gone(fs)) continue;
    if (fs.doc.value("ThroughputMode", "") == "provisioned")
      used += fs.doc.value("ProvisionedThroughputInMibps", 0.0);
  }
  if (used + wanted <= capacity) return std::nullopt;
  spdlog::info("efs: {} MiB/s of provisioned throughput refused: {} of {} MiB/s in use", wanted,
               used, capacity);
  return service_error(ErrorCode::InsufficientThroughputCapacity,
                       "Insufficient capacity to provision the requested throughput. Try again "
                       "later.")
      .error;
}

bool has_archive_rule(const nlohmann::json& doc) {
  if (!doc.contains("LifecyclePolicies") || !doc["LifecyclePolicies"].is_array()) return false;
  for (const auto& p : doc["LifecyclePolicies"])
    if (p.is_object() && p.contains("TransitionToArchive")) return true;
  return false;
}

std::optional<double> opt_double(const nlohmann::json& j, const char* member) {
  if (j.contains(member) && j[member].is_number()) return j[member].get<double>();
  return std::nullopt;
}

}  // namespace

std::string Service::resource_id_type(meta::Conn& c, const RequestContext& ctx) const {
  // A SHORT_ID stored by an older efs-local is no longer honoured: every new
  // ID is long, so the NFS side can serve it.
  (void)c;
  (void)ctx;
  return "LONG_ID";
}

ApiResult<std::string> Service::file_system_key_arn(const RequestContext& ctx,
                                                    const std::optional<std::string>& kms_key_id) {
  if (keys_ == nullptr) {
    // No KMS behind us: the key is taken on trust and reported as an ARN.
    return kms_key_arn(ctx.region, ctx.account_id,
                       kms_key_id.value_or("alias/aws/elasticfilesystem"));
  }
  if (!kms_key_id) {
    // Without a key, EFS uses the account's AWS managed key for EFS
    // (alias/aws/elasticfilesystem), creating it on first use.
    auto key = keys_->default_efs_key(ctx.region, ctx.account_id);
    if (!key.ok()) return internal_error("default EFS key: " + key.error().message);
    return key->arn;
  }
  // EFS checks the key when the file system is created and refuses one it
  // cannot use with BadRequest. The AWS documentation does not give its exact
  // Message; these name the key and the reason.
  auto key = keys_->resolve(ctx.region, ctx.account_id, *kms_key_id);
  if (!key) return bad_request("Invalid KmsKeyId: the KMS key '" + *kms_key_id +
                               "' does not exist in this account and Region.");
  if (key->state == kms::KeyState::pending_deletion)
    return bad_request("Invalid KmsKeyId: the KMS key '" + key->arn +
                       "' is pending deletion.");
  if (key->state != kms::KeyState::enabled)
    return bad_request("Invalid KmsKeyId: the KMS key '" + key->arn + "' is not enabled.");
  // "EFS accepts only symmetric KMS keys" (CreateFileSystem, KmsKeyId).
  if (!key->symmetric_encrypt_decrypt)
    return bad_request("Invalid KmsKeyId: the KMS key '" + key->arn +
                       "' is not a symmetric encryption key; EFS accepts only symmetric keys.");
  return key->arn;
}

ApiResult<std::optional<std::string>> Service::encryption_key_of(
    const RequestContext& ctx, const shapes::CreateFileSystemRequest& in) {
  // Resolved before the write transaction opens: the key store shares the
  // database, and its own transaction inside ours would wait for ours.
  if (!in.Encrypted.value_or(false)) return std::optional<std::string>();
  auto arn = file_system_key_arn(ctx, in.KmsKeyId);
  if (!arn.ok()) return fail(arn.error());
  return std::optional<std::string>(std::move(*arn));
}

ApiResult<Record> Service::insert_file_system(meta::Conn& c, const RequestContext& ctx,
                                              const shapes::CreateFileSystemRequest& in,
                                              const std::optional<std::string>& key_arn) {
  const std::string& token = in.CreationToken;
  if (token.empty()) return bad_request("CreationToken is required.");
  // Idempotency: a CreationToken names at most one file system per account
  // and region (EFS API reference, CreateFileSystem).
  if (auto prev = store::by_token(c, kind::kFileSystem, ctx.account_id, ctx.region, token);
      prev && !is_gone(*prev))
    return service_error(
        ErrorCode::FileSystemAlreadyExists,
        "File system '" + prev->id + "' already exists with creation token '" + token + "'.",
        {{"FileSystemId", prev->id}});

  // Gone means deleting_at + delay <= now (state_of).
  if (store::count_live(c, kind::kFileSystem, ctx.account_id, ctx.region,
                        now() - delay_seconds()) >= options_.max_file_systems)
    return service_error(ErrorCode::FileSystemLimitExceeded,
                         "You have reached the maximum number of file systems (" +
                             std::to_string(options_.max_file_systems) +
                             ") allowed in this account and Region.");

  json doc = json::object();
  doc["CreationToken"] = token;
  std::string perf(to_string(in.PerformanceMode.value_or(shapes::PerformanceMode::generalPurpose)));
  std::string mode(to_string(in.ThroughputMode.value_or(shapes::ThroughputMode::bursting)));
  std::optional<double> mibps = in.ProvisionedThroughputInMibps;
  if (auto e = check_throughput(mode, perf, mibps)) return fail(*e);
  if (mibps)
    if (auto e = check_capacity(c, ctx, options_.provisioned_capacity_mibps, "", *mibps,
                                [this](const Record& r) { return is_gone(r); }))
      return fail(*e);
  doc["PerformanceMode"] = perf;
  doc["ThroughputMode"] = mode;
  if (mibps) {
    doc["ProvisionedThroughputInMibps"] = *mibps;
    // Setting provisioned throughput starts the 24-hour window too.
    doc["ThroughputCooldownUntil"] = now() + kThroughputCooldownSeconds;
  }

  bool encrypted = in.Encrypted.value_or(false);
  if (in.KmsKeyId && !encrypted)
    return bad_request("KmsKeyId can only be specified when Encrypted is true.");
  doc["Encrypted"] = encrypted;
  if (encrypted) {
    if (!key_arn) return internal_error("the KMS key of an encrypted file system was not resolved");
    doc["KmsKeyId"] = *key_arn;
  }

  if (in.AvailabilityZoneName) {
    const std::string& az = *in.AvailabilityZoneName;
    std::string az_id;
    for (const auto& [name, id] : network_.availability_zones(ctx.region))
      if (name == az) az_id = id;
    if (az_id.empty())
      return service_error(
          ErrorCode::UnsupportedAvailabilityZone,
          "Availability Zone '" + az + "' is not supported in " + ctx.region + ".");
    // One Zone file systems support only General Purpose (EFS user guide).
    if (perf == "maxIO")
      return bad_request("One Zone file systems do not support the maxIO performance mode.");
    doc["AvailabilityZoneName"] = az;
    doc["AvailabilityZoneId"] = az_id;
  }

  json given_tags = in.Tags ? json(*in.Tags) : json::array();
  if (auto ok = check_request_tags(given_tags, "a file system"); !ok) return fail(ok.error());
  json tags = merge_tags(json::array(), given_tags);
  if (tags.size() > kMaxTags) return bad_request("A file system can have at most 50 tags.");
  doc["Tags"] = tags;
  doc["ReplicationOverwriteProtection"] = "ENABLED";
  doc["BackupPolicy"] = {{"Status", in.Backup.value_or(false) ? "ENABLED" : "DISABLED"},
                         {"ChangedAt", 0.0}};
  doc["LifecyclePolicies"] = json::array();

  Record r;
  r.kind = kind::kFileSystem;
  r.id = make_id("fs");  // always the long form (account.cc)
  r.account = ctx.account_id;
  r.region = ctx.region;
  r.token = token;
  r.created_at = now();
  r.doc = std::move(doc);
  store::insert(c, r);
  spdlog::info("efs: created file system {} ({} {}) in {}/{}", r.id, perf, mode, r.account,
               r.region);
  return r;
}

shapes::FileSystemDescription Service::describe_file_system(meta::Conn& c,
                                                            const Record& fs) const {
  const auto& d = fs.doc;
  shapes::FileSystemDescription out;
  out.OwnerId = fs.account;
  out.CreationToken = d.value("CreationToken", fs.token);
  out.FileSystemId = fs.id;
  out.FileSystemArn = file_system_arn(fs.region, fs.account, fs.id);
  out.CreationTime = fs.created_at;
  auto state = state_of(fs);
  // state_of only yields values of the model's LifeCycleState (or "gone").
  from_string(state == "gone" ? "deleted" : state, out.LifeCycleState);
  if (auto name = name_tag(d["Tags"])) out.Name = *name;
  out.NumberOfMountTargets =
      static_cast<int32_t>(live_children(c, kind::kMountTarget, fs.id).size());

  // The data plane meters a file system once it has created its root
  // (notified); before that it is empty.
  MeteredSize size{kEmptyFileSystemBytes, kEmptyFileSystemBytes, 0, 0};
  if (data_plane_.metered_size && fs.notified && !fs.deleting_at)
    size = data_plane_.metered_size(fs.id);
  out.SizeInBytes.Value = static_cast<int64_t>(size.total);
  out.SizeInBytes.Timestamp = now();
  out.SizeInBytes.ValueInStandard = static_cast<int64_t>(size.standard);
  out.SizeInBytes.ValueInIA = static_cast<int64_t>(size.ia);
  out.SizeInBytes.ValueInArchive = static_cast<int64_t>(size.archive);
  out.PerformanceMode = d["PerformanceMode"].get<shapes::PerformanceMode>();
  out.Encrypted = d.value("Encrypted", false);
  if (d.contains("KmsKeyId")) out.KmsKeyId = d["KmsKeyId"].get<std::string>();
  out.ThroughputMode = d["ThroughputMode"].get<shapes::ThroughputMode>();
  if (d.contains("ProvisionedThroughputInMibps"))
    out.ProvisionedThroughputInMibps = d["ProvisionedThroughputInMibps"].get<double>();
  if (d.contains("AvailabilityZoneName")) {
    out.AvailabilityZoneName = d["AvailabilityZoneName"].get<std::string>();
    out.AvailabilityZoneId = d["AvailabilityZoneId"].get<std::string>();
  }
  out.Tags = d["Tags"].get<std::vector<shapes::Tag>>();
  shapes::FileSystemProtectionDescription protection;
  protection.ReplicationOverwriteProtection =
      d.value("ReplicationOverwriteProtection", json("ENABLED"))
          .get<shapes::ReplicationOverwriteProtection>();
  out.FileSystemProtection = protection;
  return out;
}

ApiResult<shapes::FileSystemDescription> Service::CreateFileSystem(
    const RequestContext& ctx, const shapes::CreateFileSystemRequest& in) {
  std::optional<shapes::FileSystemDescription> out;
  auto key_arn = encryption_key_of(ctx, in);
  if (!key_arn.ok()) return fail(key_arn.error());
  auto done = in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto fs = insert_file_system(c, ctx, in, *key_arn);
    if (!fs.ok()) return fail(fs.error());
    out = describe_file_system(c, *fs);  // not yet notified: no data plane call
    return json::object();
  });
  if (!done.ok()) return fail(done.error());
  return std::move(*out);
}

ApiResult<shapes::DescribeFileSystemsResponse> Service::DescribeFileSystems(
    const RequestContext& ctx, const shapes::DescribeFileSystemsRequest& in) {
  shapes::DescribeFileSystemsResponse out;
  auto done = in_read([&](meta::Conn& c) -> ApiResult<json> {
    std::vector<Record> matches;
    if (in.FileSystemId) {
      if (in.CreationToken) return bad_request("Specify FileSystemId or CreationToken, not both.");
      auto fs = find_file_system(c, ctx, *in.FileSystemId);
      if (!fs) return fs_not_found(resource_id(*in.FileSystemId));
      matches.push_back(std::move(*fs));
    } else {
      for (auto& fs : store::list(c, kind::kFileSystem, ctx.account_id, ctx.region)) {
        if (is_gone(fs)) continue;
        if (in.CreationToken && fs.token != *in.CreationToken) continue;
        matches.push_back(std::move(fs));
      }
    }
    std::vector<int64_t> pos;
    for (const auto& r : matches) pos.push_back(r.seq);
    auto page = paginate(pos, in.Marker, in.MaxItems, "Marker", "MaxItems", 100);
    if (!page.ok()) return fail(page.error());
    out.Marker = in.Marker;
    out.FileSystems.emplace();
    for (auto i = page->begin; i < page->end; ++i)
      out.FileSystems->push_back(describe_file_system(c, matches[i]));
    out.NextMarker = page->next;
    return json::object();
  });
  if (!done.ok()) return fail(done.error());
  return out;
}

ApiResult<shapes::FileSystemDescription> Service::UpdateFileSystem(
    const RequestContext& ctx, const shapes::UpdateFileSystemRequest& in) {
  std::string fs_id;
  auto changed = in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto fs = require_file_system(c, ctx, in.FileSystemId);
    if (!fs.ok()) return fail(fs.error());
    if (auto st = state_of(*fs); !usable(st)) return incorrect_fs_state(fs->id, st);
    auto& d = fs->doc;
    if (!in.ThroughputMode && !in.ProvisionedThroughputInMibps)
      return bad_request("Specify ThroughputMode or ProvisionedThroughputInMibps.");
    std::string cur_mode = d["ThroughputMode"];
    auto cur_value = opt_double(d, "ProvisionedThroughputInMibps");
    std::string mode = in.ThroughputMode ? std::string(to_string(*in.ThroughputMode)) : cur_mode;
    auto value = in.ProvisionedThroughputInMibps;
    if (!value && mode == "provisioned" && cur_mode == "provisioned") value = cur_value;
    if (auto e = check_throughput(mode, d["PerformanceMode"], value)) return fail(*e);
    // The Archive storage class needs Elastic throughput: leaving elastic
    // while the lifecycle configuration moves files to Archive is refused,
    // as PutLifecycleConfiguration refuses the same combination.
    if (mode != "elastic" && has_archive_rule(d))
      return bad_request(
          "The ThroughputMode value " + mode +
          " does not support the TransitionToArchive lifecycle policy of the file system. Either "
          "keep the ThroughputMode value Elastic or remove the TransitionToArchive parameter "
          "from the lifecycle configuration.");
    // Data already in Archive needs Elastic throughput too (EFS user guide,
    // "Archive storage class"): refused until it has left Archive.
    if (mode != "elastic" && cur_mode == "elastic" && data_plane_.metered_size && fs->notified &&
        data_plane_.metered_size(fs->id).archive > 0)
      return bad_request(
          "The ThroughputMode value " + mode +
          " does not support data in the Archive storage class. Keep the ThroughputMode value "
          "Elastic until the file system has no data in Archive.");

    bool mode_change = mode != cur_mode;
    bool decrease = !mode_change && value && cur_value && *value < *cur_value;
    bool increase = value && (!cur_value || mode_change || *value > *cur_value);
    if (increase)
      if (auto e = check_capacity(c, ctx, options_.provisioned_capacity_mibps, fs->id, *value,
                                  [this](const Record& r) { return is_gone(r); }))
        return fail(*e);
    // EFS: after a throughput mode change, a provisioned throughput increase
    // or a decrease, the mode may not change again nor the value decrease
    // for 24 hours; increases are always allowed.
    double until = d.value("ThroughputCooldownUntil", 0.0);
    if ((mode_change || decrease) && now() < until) {
      spdlog::info("efs: UpdateFileSystem {} refused until {}", fs->id, until);
      return service_error(ErrorCode::TooManyRequests,
                           "You have reached the maximum number of throughput mode changes or "
                           "provisioned throughput value decreases. Wait until " +
                               format_message_time(until) + " UTC and try again.");
    }
    if (mode_change || decrease || increase)
      d["ThroughputCooldownUntil"] = now() + kThroughputCooldownSeconds;
    d["UpdatingUntil"] = now() + delay_seconds();  // "updating", then "available"
    d["ThroughputMode"] = mode;
    if (value)
      d["ProvisionedThroughputInMibps"] = *value;
    else
      d.erase("ProvisionedThroughputInMibps");
    store::update(c, *fs);
    fs_id = fs->id;
    return json::object();
  });
  if (!changed.ok()) return fail(changed.error());
  // Described after the commit: DataPlane::metered_size may read the
  // database and must not run inside our write transaction.
  std::optional<shapes::FileSystemDescription> out;
  auto described = in_read([&](meta::Conn& c) -> ApiResult<json> {
    auto fs = require_file_system(c, ctx, fs_id);
    if (!fs.ok()) return fail(fs.error());
    out = describe_file_system(c, *fs);
    return json::object();
  });
  if (!described.ok()) return fail(described.error());
  return std::move(*out);
}

ApiResult<nlohmann::json> Service::DeleteFileSystem(const RequestContext& ctx,
                                                    const shapes::DeleteFileSystemRequest& in) {
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto fs = require_file_system(c, ctx, in.FileSystemId);
    if (!fs.ok()) return fail(fs.error());
    if (fs->deleting_at) return json::object();  // already being deleted
    if (!live_children(c, kind::kMountTarget, fs->id).empty())
      return service_error(ErrorCode::FileSystemInUse, "File system '" + fs->id + "' has mount targets; delete them first.");
    // A file system in a replication configuration (either end) cannot be
    // deleted until the replication is deleted.
    bool replicated = store::get(c, kind::kReplication, fs->id).has_value() ||
                      !store::children(c, kind::kReplication, fs->id).empty();
    if (replicated)
      return service_error(
          ErrorCode::FileSystemInUse, "File system '" + fs->id + "' is part of a replication configuration; delete it first.");
    // Its access points go with it.
    for (const auto& ap : store::children(c, kind::kAccessPoint, fs->id))
      store::remove(c, kind::kAccessPoint, ap.id);
    fs->deleting_at = now();
    store::update(c, *fs);
    spdlog::info("efs: deleting file system {}", fs->id);
    return json::object();
  });
}

ApiResult<shapes::FileSystemProtectionDescription> Service::UpdateFileSystemProtection(
    const RequestContext& ctx, const shapes::UpdateFileSystemProtectionRequest& in) {
  using shapes::ReplicationOverwriteProtection;
  shapes::FileSystemProtectionDescription out;
  auto done = in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto fs = require_file_system(c, ctx, in.FileSystemId);
    if (!fs.ok()) return fail(fs.error());
    if (auto st = state_of(*fs); !usable(st)) return incorrect_fs_state(fs->id, st);
    auto cur = fs->doc.value("ReplicationOverwriteProtection", json("ENABLED"))
                   .get<ReplicationOverwriteProtection>();
    if (in.ReplicationOverwriteProtection) {
      const auto want = *in.ReplicationOverwriteProtection;
      if (cur == ReplicationOverwriteProtection::REPLICATING && want != cur)
        return service_error(
            ErrorCode::ReplicationAlreadyExists,
            "File system '" + fs->id + "' is the destination of a replication configuration.");
      if (want == ReplicationOverwriteProtection::REPLICATING &&
          cur != ReplicationOverwriteProtection::REPLICATING)
        return bad_request("ReplicationOverwriteProtection can be set to ENABLED or DISABLED.");
      fs->doc["ReplicationOverwriteProtection"] = json(want);
      store::update(c, *fs);
      cur = want;
    }
    out.ReplicationOverwriteProtection = cur;
    return json::object();
  });
  if (!done.ok()) return fail(done.error());
  return out;
}

}  // namespace efs
