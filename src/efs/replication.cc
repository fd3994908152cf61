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
  return service_error(ErrorCode::ReplicationNotFound,
                       "File system '" + id + "' has no replication configuration.");
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

shapes::ReplicationConfigurationDescription Service::describe_replication(const Record& rep) const {
  shapes::ReplicationConfigurationDescription out;
  std::string source_arn = file_system_arn(rep.region, rep.account, rep.id);
  out.SourceFileSystemId = rep.id;
  out.SourceFileSystemRegion = rep.region;
  out.SourceFileSystemArn = source_arn;
  out.OriginalSourceFileSystemArn = source_arn;
  out.CreationTime = rep.created_at;
  out.SourceFileSystemOwnerId = rep.account;
  // The status follows the replicator (server/replication_runner.h): ENABLING
  // until its first sync completed, ENABLED after, PAUSED or ERROR as it
  // reported (with a StatusMessage), DELETING once a delete was asked for.
  shapes::Destination dest;
  const auto& d = rep.doc;
  std::optional<double> last;
  if (auto it = d.find("LastReplicatedTimestamp"); it != d.end() && it->is_number())
    last = it->get<double>();
  const std::string reported = d.value("ReplicatorStatus", "");
  if (d.value("Deleting", false)) {
    dest.Status = shapes::ReplicationStatus::DELETING;
  } else if (reported == "PAUSED" || reported == "ERROR") {
    dest.Status =
        reported == "PAUSED" ? shapes::ReplicationStatus::PAUSED : shapes::ReplicationStatus::ERROR;
    if (d.contains("StatusMessage")) dest.StatusMessage = d["StatusMessage"].get<std::string>();
  } else {
    dest.Status = last ? shapes::ReplicationStatus::ENABLED : shapes::ReplicationStatus::ENABLING;
  }
  dest.FileSystemId = rep.parent_id;
  dest.Region = rep.token;
  dest.OwnerId = rep.account;
  if (last) dest.LastReplicatedTimestamp = *last;
  if (rep.doc.contains("RoleArn")) dest.RoleArn = rep.doc["RoleArn"].get<std::string>();
  out.Destinations.push_back(std::move(dest));
  return out;
}

ApiResult<shapes::ReplicationConfigurationDescription> Service::CreateReplicationConfiguration(
    const RequestContext& ctx, const shapes::CreateReplicationConfigurationRequest& in) {
  // The one destination (EFS quota), and the Region it is in. Any other
  // count is refused in the transaction, once the source is known.
  const shapes::DestinationToCreate* d =
      in.Destinations.size() == 1 ? &in.Destinations.front() : nullptr;
  RequestContext dctx = ctx;
  if (d) dctx.region = d->Region.value_or(ctx.region);
  // A new destination's key is resolved before the transaction (the key
  // store shares the database). Only for a real Region of the same
  // partition: otherwise the checks below answer first.
  std::optional<std::string> new_dest_key;
  if (d && !d->FileSystemId) {
    if (auto p = partition_of(dctx.region); p && *p == arn_partition(ctx.region)) {
      auto arn = file_system_key_arn(dctx, d->KmsKeyId);
      if (!arn.ok()) return fail(arn.error());
      new_dest_key = *arn;
    }
  }
  std::optional<shapes::ReplicationConfigurationDescription> out;
  auto done = in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto src = require_file_system(c, ctx, in.SourceFileSystemId, "SourceFileSystemId");
    if (!src.ok()) return fail(src.error());
    if (auto st = state_of(*src); !usable(st)) return incorrect_fs_state(src->id, st);
    if (!d) return validation("Exactly one destination is required.");
    if (replication_of(c, src->id))
      return validation("File system '" + src->id +
                        "' is already part of a replication configuration.");
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
    if (d->FileSystemId) {
      auto existing = require_file_system(c, dctx, *d->FileSystemId);
      if (!existing.ok()) return fail(existing.error());
      if (auto st = state_of(*existing); !usable(st)) return incorrect_fs_state(existing->id, st);
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
      shapes::CreateFileSystemRequest create;
      create.CreationToken = random_uuid();
      create.PerformanceMode = src->doc["PerformanceMode"].get<shapes::PerformanceMode>();
      create.ThroughputMode = src->doc["ThroughputMode"].get<shapes::ThroughputMode>();
      create.Encrypted = true;
      if (src->doc.contains("ProvisionedThroughputInMibps"))
        create.ProvisionedThroughputInMibps =
            src->doc["ProvisionedThroughputInMibps"].get<double>();
      create.KmsKeyId = d->KmsKeyId;
      create.AvailabilityZoneName = d->AvailabilityZoneName;
      auto made = insert_file_system(c, dctx, create, new_dest_key);
      if (!made.ok()) return fail(made.error());
      dest = std::move(*made);
    }
    dest.doc["ReplicationOverwriteProtection"] =
        json(shapes::ReplicationOverwriteProtection::REPLICATING);
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
    if (d->RoleArn) rep.doc["RoleArn"] = *d->RoleArn;
    store::insert(c, rep);
    spdlog::info("efs: replication {} ({}) -> {} ({})", src->id, ctx.region, dest.id, dctx.region);
    out = describe_replication(rep);
    return json::object();
  });
  if (!done.ok()) return fail(done.error());
  if (data_plane_.replications_changed) data_plane_.replications_changed();
  return std::move(*out);
}

ApiResult<shapes::DescribeReplicationConfigurationsResponse>
Service::DescribeReplicationConfigurations(
    const RequestContext& ctx, const shapes::DescribeReplicationConfigurationsRequest& in) {
  shapes::DescribeReplicationConfigurationsResponse out;
  auto done = in_read([&](meta::Conn& c) -> ApiResult<json> {
    std::vector<Record> matches;
    if (in.FileSystemId) {
      auto fs = require_file_system(c, ctx, *in.FileSystemId);
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
    auto page = paginate(pos, in.NextToken, in.MaxResults, "NextToken", "MaxResults", 100);
    if (!page.ok()) return fail(page.error());
    out.Replications.emplace();
    for (auto i = page->begin; i < page->end; ++i)
      out.Replications->push_back(describe_replication(matches[i]));
    out.NextToken = page->next;
    return json::object();
  });
  if (!done.ok()) return fail(done.error());
  return out;
}

ApiResult<nlohmann::json> Service::DeleteReplicationConfiguration(
    const RequestContext& ctx, const shapes::DeleteReplicationConfigurationRequest& in) {
  // DeletionMode is accepted and not needed: both ends live in this one
  // efs-local, so deleting the configuration always removes it everywhere.
  // The configuration shows DELETING until the replicator has stopped and
  // let go of the destination (DataPlane::replication_deleting); then it goes
  // and the destination is writable (finish_replication_delete), before this
  // call answers unless the replicator could not let go yet. Without a data
  // plane (unit tests of the model) it goes at once.
  const bool async = static_cast<bool>(data_plane_.replication_deleting);
  std::string source, destination;
  auto done = in_write([&](meta::Conn& c) -> ApiResult<json> {
    // Either end may delete the configuration (EFS API reference).
    auto fs = require_file_system(c, ctx, in.SourceFileSystemId, "SourceFileSystemId");
    if (!fs.ok()) return fail(fs.error());
    auto rep = replication_of(c, fs->id);
    if (!rep) return replication_not_found(fs->id);
    source = rep->id;
    destination = rep->parent_id;
    if (async) {
      if (!rep->doc.value("Deleting", false)) {
        rep->doc["Deleting"] = true;
        store::update(c, *rep);
        spdlog::info("efs: deleting replication {} -> {}", rep->id, rep->parent_id);
      }
      return json::object();
    }
    store::remove(c, kind::kReplication, rep->id);
    // The destination becomes writable again and protected from overwrite.
    if (auto dest = store::get(c, kind::kFileSystem, rep->parent_id)) {
      dest->doc["ReplicationOverwriteProtection"] =
          json(shapes::ReplicationOverwriteProtection::ENABLED);
      store::update(c, *dest);
    }
    spdlog::info("efs: deleted replication {} -> {}", rep->id, rep->parent_id);
    return json::object();
  });
  if (!done.ok()) return fail(done.error());
  if (async && data_plane_.replication_deleting(source, destination)) {
    if (auto f = finish_replication_delete(source); !f)
      spdlog::error("efs: replication {}: {}", source, f.error().message);
  }
  return json::object();
}

// ---- The replicator's side ----

Result<std::vector<Service::ReplicationJob>, Error> Service::replication_jobs() {
  std::vector<ReplicationJob> jobs;
  auto r = in_read([&](meta::Conn& c) -> ApiResult<json> {
    for (const auto& rep : store::list_all(c, kind::kReplication)) {
      ReplicationJob j;
      j.source = rep.id;
      j.destination = rep.parent_id;
      j.created_at = rep.created_at;
      if (auto it = rep.doc.find("LastReplicatedTimestamp"); it != rep.doc.end() && it->is_number())
        j.last_replicated = it->get<double>();
      j.deleting = rep.doc.value("Deleting", false);
      jobs.push_back(std::move(j));
    }
    return json();
  });
  if (!r.ok()) return fail(Error{r.error().message});
  return jobs;
}

namespace {

// A change to one replication record by the replicator; nothing if it is gone.
template <class Fn>
Status<> change_replication(
    const std::function<ApiResult<json>(const std::function<ApiResult<json>(meta::Conn&)>&)>& write,
    const std::string& source, Fn fn) {
  auto r = write([&](meta::Conn& c) -> ApiResult<json> {
    auto rep = store::get(c, kind::kReplication, source);
    if (!rep) return json();
    if (fn(c, *rep)) store::update(c, *rep);
    return json();
  });
  if (!r.ok()) return fail(Error{r.error().message});
  return {};
}

}  // namespace

Status<> Service::replication_synced(const std::string& source, double began) {
  return change_replication(
      [this](const auto& fn) { return in_write(fn); }, source,
      [&](meta::Conn&, Record& rep) {
        auto& d = rep.doc;
        if (d.value("LastReplicatedTimestamp", 0.0) >= began && !d.contains("ReplicatorStatus"))
          return false;
        d["LastReplicatedTimestamp"] = std::max(began, d.value("LastReplicatedTimestamp", 0.0));
        d.erase("ReplicatorStatus");
        d.erase("StatusMessage");
        return true;
      });
}

Status<> Service::replication_status(const std::string& source, const std::string& status,
                                     const std::string& message) {
  return change_replication(
      [this](const auto& fn) { return in_write(fn); }, source,
      [&](meta::Conn&, Record& rep) {
        auto& d = rep.doc;
        if (d.value("ReplicatorStatus", "") == status && d.value("StatusMessage", "") == message)
          return false;
        if (status.empty()) {
          d.erase("ReplicatorStatus");
          d.erase("StatusMessage");
        } else {
          d["ReplicatorStatus"] = status;
          d["StatusMessage"] = message;
          spdlog::warn("efs: replication {} -> {}: {}: {}", rep.id, rep.parent_id, status, message);
        }
        return true;
      });
}

Status<> Service::finish_replication_delete(const std::string& source) {
  return change_replication([this](const auto& fn) { return in_write(fn); }, source,
                            [&](meta::Conn& c, Record& rep) {
                              store::remove(c, kind::kReplication, rep.id);
                              // The destination becomes writable again and protected from
                              // overwrite.
                              if (auto dest = store::get(c, kind::kFileSystem, rep.parent_id)) {
                                dest->doc["ReplicationOverwriteProtection"] =
                                    json(shapes::ReplicationOverwriteProtection::ENABLED);
                                store::update(c, *dest);
                              }
                              spdlog::info("efs: deleted replication {} -> {}", rep.id,
                                           rep.parent_id);
                              return false;
                            });
}

}  // namespace efs
