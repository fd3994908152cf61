// Replication: CreateReplicationConfiguration, DescribeReplicationConfigurations,
// DeleteReplicationConfiguration. One destination per source (EFS quota);
// the destination file system is created in the destination Region unless
// an existing one is named, and is read-only (REPLICATING) while replicated.
#include <spdlog/spdlog.h>

#include "common/ids.h"
#include "efs/internal.h"
#include "efs/regions.h"
#include "efs/service.h"
#include "meta/db.h"

namespace efs {

using namespace detail;

namespace {

Unexpected<ServiceError> replication_not_found(const std::string& id) {
  return service_error(ErrorCode::ReplicationNotFound, "File system '" + id + "' has no replication configuration.");
}

Unexpected<ServiceError> conflict(const std::string& message) {
  spdlog::info("efs: ConflictException: {}", message);
  return service_error(ErrorCode::ConflictException, message);
}

// The replication a file system takes part in, as source or destination.
std::optional<Record> replication_of(meta::Conn& c, const std::string& fs_id) {
  if (auto r = store::get(c, kind::kReplication, fs_id)) return r;
  auto as_dest = store::children(c, kind::kReplication, fs_id);
  if (!as_dest.empty()) return as_dest.front();
  return std::nullopt;
}

}  // namespace

nlohmann::json Service::describe_replication(const Record& rep) const {
  json out;
  std::string source_arn = file_system_arn(rep.region, rep.account, rep.id);
  out["SourceFileSystemId"] = rep.id;
  out["SourceFileSystemRegion"] = rep.region;
  out["SourceFileSystemArn"] = source_arn;
  out["OriginalSourceFileSystemArn"] = source_arn;
  out["CreationTime"] = timestamp(rep.created_at);
  out["SourceFileSystemOwnerId"] = rep.account;
  bool enabled = now() >= rep.created_at + delay_seconds();
  json dest = {{"Status", enabled ? "ENABLED" : "ENABLING"},
               {"FileSystemId", rep.parent_id},
               {"Region", rep.token},
               {"OwnerId", rep.account}};
  if (enabled) dest["LastReplicatedTimestamp"] = timestamp(rep.created_at + delay_seconds());
  if (rep.doc.contains("RoleArn")) dest["RoleArn"] = rep.doc["RoleArn"];
  out["Destinations"] = json::array({dest});
  return out;
}

ApiResult<nlohmann::json> Service::CreateReplicationConfiguration(const RequestContext& ctx,
                                                                  const json& in) {
  // A new destination's key is resolved before the transaction (the key
  // store shares the database). Only for a real Region of the same
  // partition: otherwise the checks below answer first.
  std::optional<std::string> new_dest_key;
  if (const json dests = in.value("Destinations", json::array());
      dests.is_array() && dests.size() == 1 && dests[0].is_object() &&
      !dests[0].contains("FileSystemId")) {
    RequestContext dctx = ctx;
    dctx.region = dests[0].value("Region", ctx.region);
    if (auto p = partition_of(dctx.region); p && *p == arn_partition(ctx.region)) {
      std::optional<std::string> key_ref;
      if (dests[0].contains("KmsKeyId") && dests[0]["KmsKeyId"].is_string())
        key_ref = dests[0]["KmsKeyId"].get<std::string>();
      auto arn = file_system_key_arn(dctx, key_ref);
      if (!arn.ok()) return fail(arn.error());
      new_dest_key = *arn;
    }
  }
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto src = require_available_file_system(c, ctx, in, "SourceFileSystemId");
    if (!src.ok()) return fail(src.error());
    const json dests = in.value("Destinations", json::array());
    if (!dests.is_array() || dests.size() != 1)
      return validation("Exactly one destination is required.");
    if (replication_of(c, src->id))
      return validation("File system '" + src->id +
                        "' is already part of a replication configuration.");
    const json& d = dests[0];
    RequestContext dctx = ctx;
    dctx.region = d.value("Region", ctx.region);
    // A made-up Region has no EFS to replicate to, and replication stays
    // inside one partition (aws, aws-cn, aws-us-gov, ...).
    auto dest_partition = partition_of(dctx.region);
    if (!dest_partition)
      return validation("Destination Region '" + dctx.region + "' is not an AWS Region.");
    if (*dest_partition != arn_partition(ctx.region))
      return validation("Destination Region '" + dctx.region + "' is in partition '" +
                        std::string(*dest_partition) + "', not in the source's partition '" +
                        arn_partition(ctx.region) + "'.");

    Record dest;
    if (d.contains("FileSystemId")) {
      auto existing = require_available_file_system(c, dctx, d);
      if (!existing.ok()) return fail(existing.error());
      dest = std::move(*existing);
      if (dest.id == src->id) return validation("A file system cannot replicate to itself.");
      if (replication_of(c, dest.id))
        return validation("File system '" + dest.id +
                          "' is already part of a replication configuration.");
      // EFS overwrites an existing destination only when its owner allowed it.
      if (dest.doc.value("ReplicationOverwriteProtection", "ENABLED") != "DISABLED")
        return conflict("ReplicationOverwriteProtection of destination '" + dest.id +
                        "' must be DISABLED.");
      if (src->doc.value("Encrypted", false) && !dest.doc.value("Encrypted", false))
        return conflict("An encrypted file system cannot replicate to an unencrypted one.");
    } else {
      // A new destination copies the source's modes and is encrypted (with
      // the EFS managed key unless a key is given), as EFS creates it.
      json create = {{"CreationToken", random_uuid()},
                     {"PerformanceMode", src->doc["PerformanceMode"]},
                     {"ThroughputMode", src->doc["ThroughputMode"]},
                     {"Encrypted", true}};
      if (src->doc.contains("ProvisionedThroughputInMibps"))
        create["ProvisionedThroughputInMibps"] = src->doc["ProvisionedThroughputInMibps"];
      if (d.contains("KmsKeyId")) create["KmsKeyId"] = d["KmsKeyId"];
      if (d.contains("AvailabilityZoneName"))
        create["AvailabilityZoneName"] = d["AvailabilityZoneName"];
      auto made =
          insert_file_system(c, dctx, create.get<shapes::CreateFileSystemRequest>(), new_dest_key);
      if (!made.ok()) return fail(made.error());
      dest = std::move(*made);
    }
    dest.doc["ReplicationOverwriteProtection"] = "REPLICATING";
    store::update(c, dest);

    Record rep;
    rep.kind = kind::kReplication;
    rep.id = src->id;
    rep.account = ctx.account_id;
    rep.region = ctx.region;
    rep.parent_id = dest.id;
    rep.token = dctx.region;
    rep.created_at = now();
    rep.notified = true;  // no data plane hook for replications
    if (d.contains("RoleArn")) rep.doc["RoleArn"] = d["RoleArn"];
    store::insert(c, rep);
    spdlog::info("efs: replication {} ({}) -> {} ({})", src->id, ctx.region, dest.id, dctx.region);
    return describe_replication(rep);
  });
}

ApiResult<nlohmann::json> Service::DescribeReplicationConfigurations(const RequestContext& ctx,
                                                                     const json& in) {
  return in_read([&](meta::Conn& c) -> ApiResult<json> {
    std::vector<Record> matches;
    if (in.contains("FileSystemId")) {
      auto fs = require_file_system(c, ctx, in);
      if (!fs.ok()) return fail(fs.error());
      auto rep = replication_of(c, fs->id);
      if (!rep) return replication_not_found(fs->id);
      matches.push_back(std::move(*rep));
    } else {
      // Every configuration with an end in the caller's Region.
      for (auto& rep : store::list_all(c, kind::kReplication))
        if (rep.account == ctx.account_id && (rep.region == ctx.region || rep.token == ctx.region))
          matches.push_back(std::move(rep));
    }
    std::vector<int64_t> pos;
    for (const auto& r : matches) pos.push_back(r.seq);
    auto page = paginate(pos, in, "NextToken", "MaxResults", 100);
    if (!page.ok()) return fail(page.error());
    json out;
    out["Replications"] = json::array();
    for (auto i = page->begin; i < page->end; ++i)
      out["Replications"].push_back(describe_replication(matches[i]));
    if (page->next) out["NextToken"] = *page->next;
    return out;
  });
}

ApiResult<nlohmann::json> Service::DeleteReplicationConfiguration(const RequestContext& ctx,
                                                                  const json& in) {
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    // Either end may delete the configuration (EFS API reference).
    auto fs = require_file_system(c, ctx, in, "SourceFileSystemId");
    if (!fs.ok()) return fail(fs.error());
    auto rep = replication_of(c, fs->id);
    if (!rep) return replication_not_found(fs->id);
    store::remove(c, kind::kReplication, rep->id);
    // The destination becomes writable again and protected from overwrite.
    if (auto dest = store::get(c, kind::kFileSystem, rep->parent_id)) {
      dest->doc["ReplicationOverwriteProtection"] = "ENABLED";
      store::update(c, *dest);
    }
    spdlog::info("efs: deleted replication {} -> {}", rep->id, rep->parent_id);
    return json::object();
  });
}

}  // namespace efs
