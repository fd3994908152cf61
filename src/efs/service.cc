// Service plumbing: opening, the operation table, transactions, lazily
// computed lifecycle states and the Catalog the NFS server reads.
#include "efs/service.h"

#include <cerrno>
#include <spdlog/spdlog.h>

#include <set>
#include <type_traits>

#include "efs/internal.h"
#include "meta/db.h"

namespace efs {

using detail::internal_error;

Result<std::unique_ptr<Service>, Error> Service::open(meta::Db& db, ec2::Network& network,
                                                      Clock& clock, Options options,
                                                      DataPlane data_plane,
                                                      kms::KeyDirectory* keys) {
  auto st = db.ensure_schema("efs", efs_migrations());
  if (!st.ok()) return fail(Error{"efs schema: " + st.error().message});
  std::unique_ptr<Service> service(
      new Service(db, network, clock, std::move(options), std::move(data_plane), keys));
  service->publish_catalog();  // what the database holds is exported from the start
  return service;
}

Service::Service(meta::Db& db, ec2::Network& network, Clock& clock, Options options,
                 DataPlane data_plane, kms::KeyDirectory* keys)
    : db_(db),
      network_(network),
      clock_(clock),
      options_(std::move(options)),
      data_plane_(std::move(data_plane)),
      keys_(keys) {}

namespace {
// The input and output shapes of a typed handler
// ApiResult<Out> (Service::*)(const RequestContext&, const In&).
template <class F>
struct HandlerShapes;
template <class C, class In, class Out>
struct HandlerShapes<ApiResult<Out> (C::*)(const RequestContext&, const In&)> {
  using Input = In;
  using Output = Out;
};
}  // namespace

template <auto Handler>
ApiResult<nlohmann::json> Service::call_typed(Service& s, const RequestContext& ctx,
                                              const json& in) {
  using Shapes = HandlerShapes<decltype(Handler)>;
  // Every operation reads its request as the model's shape, never by
  // string keys (issue 9); an empty output may stay a JSON object.
  static_assert(!std::is_same_v<typename Shapes::Input, json>,
                "an operation handler takes its generated input shape");
  // from_json throws json::exception on a member of the wrong JSON type and
  // std::invalid_argument on an enum value the model lacks; the operation
  // table turns both into BadRequest.
  auto typed = in.get<typename Shapes::Input>();
  auto out = (s.*Handler)(ctx, typed);
  if (!out.ok()) return fail(out.error());
  return json(*out);
}

std::vector<std::pair<std::string, JsonOperation>> Service::operations() {
  using Handler = ApiResult<json> (*)(Service&, const RequestContext&, const json&);
  // Operations that change state run under mutate_mu_; all run settle() first
  // so they see every state transition that is due.
  struct Row {
    const char* name;
    Handler handler;
    bool mutates;
  };
  static const Row rows[] = {
      {"CreateAccessPoint", &Service::call_typed<&Service::CreateAccessPoint>, true},
      {"CreateFileSystem", &Service::call_typed<&Service::CreateFileSystem>, true},
      {"CreateMountTarget", &Service::call_typed<&Service::CreateMountTarget>, true},
      {"CreateReplicationConfiguration", &Service::call_typed<&Service::CreateReplicationConfiguration>, true},
      {"CreateTags", &Service::call_typed<&Service::CreateTags>, true},
      {"DeleteAccessPoint", &Service::call_typed<&Service::DeleteAccessPoint>, true},
      {"DeleteFileSystem", &Service::call_typed<&Service::DeleteFileSystem>, true},
      {"DeleteFileSystemPolicy", &Service::call_typed<&Service::DeleteFileSystemPolicy>, true},
      {"DeleteMountTarget", &Service::call_typed<&Service::DeleteMountTarget>, true},
      {"DeleteReplicationConfiguration", &Service::call_typed<&Service::DeleteReplicationConfiguration>, true},
      {"DeleteTags", &Service::call_typed<&Service::DeleteTags>, true},
      {"DescribeAccessPoints", &Service::call_typed<&Service::DescribeAccessPoints>, false},
      {"DescribeAccountPreferences", &Service::call_typed<&Service::DescribeAccountPreferences>, false},
      {"DescribeBackupPolicy", &Service::call_typed<&Service::DescribeBackupPolicy>, false},
      {"DescribeFileSystemPolicy", &Service::call_typed<&Service::DescribeFileSystemPolicy>, false},
      {"DescribeFileSystems", &Service::call_typed<&Service::DescribeFileSystems>, false},
      {"DescribeLifecycleConfiguration", &Service::call_typed<&Service::DescribeLifecycleConfiguration>, false},
      {"DescribeMountTargetSecurityGroups", &Service::call_typed<&Service::DescribeMountTargetSecurityGroups>, false},
      {"DescribeMountTargets", &Service::call_typed<&Service::DescribeMountTargets>, false},
      {"DescribeReplicationConfigurations", &Service::call_typed<&Service::DescribeReplicationConfigurations>, false},
      {"DescribeTags", &Service::call_typed<&Service::DescribeTags>, false},
      {"ListTagsForResource", &Service::call_typed<&Service::ListTagsForResource>, false},
      {"ModifyMountTargetSecurityGroups", &Service::call_typed<&Service::ModifyMountTargetSecurityGroups>, true},
      {"PutAccountPreferences", &Service::call_typed<&Service::PutAccountPreferences>, true},
      {"PutBackupPolicy", &Service::call_typed<&Service::PutBackupPolicy>, true},
      {"PutFileSystemPolicy", &Service::call_typed<&Service::PutFileSystemPolicy>, true},
      {"PutLifecycleConfiguration", &Service::call_typed<&Service::PutLifecycleConfiguration>, true},
      {"TagResource", &Service::call_typed<&Service::TagResource>, true},
      {"UntagResource", &Service::call_typed<&Service::UntagResource>, true},
      {"UpdateFileSystem", &Service::call_typed<&Service::UpdateFileSystem>, true},
      {"UpdateFileSystemProtection", &Service::call_typed<&Service::UpdateFileSystemProtection>, true},
  };
  std::vector<std::pair<std::string, JsonOperation>> out;
  for (const auto& r : rows) {
    Handler h = r.handler;
    bool mutates = r.mutates;
    std::string name = r.name;
    out.emplace_back(
        name,
        [this, h, mutates, name](const RequestContext& given, const json& in) -> ApiResult<json> {
          if (!in.is_object())
            return detail::bad_request("The request body must be a JSON object.");
          // Requests without a SigV4 scope act in the configured defaults.
          RequestContext ctx = given;
          if (ctx.region.empty()) ctx.region = options_.default_region;
          if (ctx.account_id.empty()) ctx.account_id = options_.default_account;
          settle();
          ApiResult<json> result = json::object();
          try {
            if (mutates) {
              std::lock_guard lock(mutate_mu_);
              result = h(*this, ctx, in);
            } else {
              result = h(*this, ctx, in);
            }
          } catch (const nlohmann::json::exception& e) {
            // A member of the wrong JSON type got past the protocol layer.
            result = detail::bad_request(name + ": malformed input: " + e.what());
          } catch (const StoreFailure& e) {
            result = detail::internal_error(name + ": " + e.what());
          } catch (const std::invalid_argument& e) {
            // An enum value the model lacks (efs_shapes.h from_json).
            result = detail::bad_request(name + ": malformed input: " + e.what());
          }
          if (!result.ok())
            spdlog::debug("efs: {} -> {} ({})", name, result.error().code, result.error().message);
          settle();  // fire hooks for transitions this operation made due (e.g. delay 0)
          return result;
        });
  }
  return out;
}

ApiResult<nlohmann::json> Service::in_write(const std::function<ApiResult<json>(meta::Conn&)>& fn) {
  std::optional<ApiResult<json>> out;
  std::string store_error;
  auto st = db_.write([&](meta::Conn& c) -> Status<> {
    // A statement that failed for lack of space surfaces as a StoreFailure
    // without its cause; the connection counts those.
    const uint64_t full_before = c.disk_full_errors();
    try {
      out.emplace(fn(c));
    } catch (const StoreFailure& e) {
      store_error = e.what();
      return fail(Error{store_error, c.disk_full_errors() != full_before ? ENOSPC : 0});
    } catch (const nlohmann::json::exception& e) {
      // A request member of the wrong JSON type: the caller's error.
      out.emplace(detail::bad_request(std::string("malformed input: ") + e.what()));
      return fail(Error{"rolled back: malformed input"});
    }
    if (!out->ok()) return fail(Error{"rolled back: " + out->error().code});
    return {};
  });
  if (out && !out->ok()) return std::move(*out);
  if (!st.ok()) return detail::store_error(st.error());
  publish_catalog();  // committed: the NFS server sees it from now on
  return std::move(*out);
}

ApiResult<nlohmann::json> Service::in_read(
    const std::function<ApiResult<json>(meta::Conn&)>& fn) const {
  std::optional<ApiResult<json>> out;
  auto st = db_.read([&](meta::Conn& c) -> Status<> {
    try {
      out.emplace(fn(c));
    } catch (const StoreFailure& e) {
      return fail(Error{e.what()});
    } catch (const nlohmann::json::exception& e) {
      out.emplace(detail::bad_request(std::string("malformed input: ") + e.what()));
    }
    return {};
  });
  if (!st.ok()) return internal_error(st.error().message);
  return std::move(*out);
}

std::string Service::state_of(const Record& r) const {
  double t = now();
  if (r.deleting_at) return t < *r.deleting_at + delay_seconds() ? "deleting" : "gone";
  if (t < r.created_at + delay_seconds()) return "creating";
  // UpdateFileSystem leaves the file system "updating" for state_delay, as
  // EFS does while it applies a throughput change (waiters poll for it).
  if (r.kind == kind::kFileSystem && t < r.doc.value("UpdatingUntil", 0.0)) return "updating";
  return "available";
}

void Service::tick() {
  settle();
}

bool Service::settle() {
  std::vector<std::string> created, deleted;
  bool mount_targets_changed = mount_targets_dirty_.exchange(false);
  // Taken before the commit and held until the new snapshot is out (below).
  std::unique_lock publish_lock(catalog_mu_, std::defer_lock);
  // Held to the end, publish included: a settle() that finds nothing due
  // returns only after a concurrent one (the transition timer's) published.
  std::unique_lock settle_lock(settle_mu_);
  {
    // Cheap check on a reader first: most calls have nothing to do.
    bool due = false;
    auto rs = db_.read([&](meta::Conn& c) -> Status<> {
      try {
        for (const auto& r : store::unsettled(c, now() - delay_seconds())) {
          auto s = state_of(r);
          if (s == "gone" || (usable(s) && !r.notified)) due = true;
        }
      } catch (const StoreFailure& e) {
        return fail(Error{e.what()});
      }
      return {};
    });
    if (!rs.ok()) {
      spdlog::error("efs: settle read failed: {}", rs.error().message);
      return false;
    }
    if (!due && !mount_targets_changed) return false;
    publish_lock.lock();
    auto ws = db_.write([&](meta::Conn& c) -> Status<> {
      created.clear();
      deleted.clear();
      try {
        for (auto& r : store::unsettled(c, now() - delay_seconds())) {
          auto s = state_of(r);
          if (s == "gone") {
            store::remove(c, r.kind, r.id);
            if (r.kind == kind::kFileSystem) deleted.push_back(r.id);
            if (r.kind == kind::kMountTarget) mount_targets_changed = true;
          } else if (usable(s) && !r.notified) {
            r.notified = true;
            store::update(c, r);
            if (r.kind == kind::kFileSystem) created.push_back(r.id);
            if (r.kind == kind::kMountTarget) mount_targets_changed = true;
          }
        }
      } catch (const StoreFailure& e) {
        return fail(Error{e.what()});
      }
      return {};
    });
    if (!ws.ok()) {
      spdlog::error("efs: settle write failed: {}", ws.error().message);
      return false;
    }
  }
  // Hooks run under catalog_mu_ only, so that no snapshot exports a file
  // system before file_system_created made its root: they may read the
  // Catalog (lock-free) but must not call an operation. A throwing hook is
  // logged; the model's state is already committed.
  auto guarded = [](const char* what, const std::function<void()>& fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      spdlog::error("efs: data plane hook {} failed: {}", what, e.what());
    }
  };
  for (const auto& id : created) {
    spdlog::info("efs: file system {} is available", id);
    if (data_plane_.file_system_created)
      guarded("file_system_created", [&] { data_plane_.file_system_created(id); });
  }
  for (const auto& id : deleted) {
    spdlog::info("efs: file system {} is deleted", id);
    if (data_plane_.file_system_deleted)
      guarded("file_system_deleted", [&] { data_plane_.file_system_deleted(id); });
  }
  publish_catalog_locked();
  // After the publish, not before: the hook re-reads snapshot()->mount_targets()
  // (on another thread, at once), and a snapshot still without the new mount
  // target left its address unserved for good (seen in CI under load).
  if (mount_targets_changed && data_plane_.mount_targets_changed)
    guarded("mount_targets_changed", [&] { data_plane_.mount_targets_changed(); });
  return true;
}

// ---- lookups ----

std::optional<Record> Service::find_file_system(meta::Conn& c, const RequestContext& ctx,
                                                const std::string& id_or_arn) const {
  auto r = store::get(c, kind::kFileSystem, detail::resource_id(id_or_arn));
  if (!r || r->account != ctx.account_id || r->region != ctx.region || is_gone(*r))
    return std::nullopt;
  return r;
}

std::optional<Record> Service::find_access_point(meta::Conn& c, const RequestContext& ctx,
                                                 const std::string& id_or_arn) const {
  auto r = store::get(c, kind::kAccessPoint, detail::resource_id(id_or_arn));
  if (!r || r->account != ctx.account_id || r->region != ctx.region || is_gone(*r))
    return std::nullopt;
  return r;
}

std::optional<Record> Service::find_mount_target(meta::Conn& c, const RequestContext& ctx,
                                                 const std::string& id) const {
  auto r = store::get(c, kind::kMountTarget, id);
  if (!r || r->account != ctx.account_id || r->region != ctx.region || is_gone(*r))
    return std::nullopt;
  return r;
}

ApiResult<Record> Service::require_file_system(meta::Conn& c, const RequestContext& ctx,
                                               const std::string& id, const char* member) const {
  if (id.empty()) return detail::bad_request(std::string(member) + " is required.");
  auto fs = find_file_system(c, ctx, id);
  if (!fs) return detail::fs_not_found(detail::resource_id(id));
  return std::move(*fs);
}

std::vector<Record> Service::live_children(meta::Conn& c, const std::string& k,
                                           const std::string& parent_id) const {
  std::vector<Record> out;
  for (auto& r : store::children(c, k, parent_id))
    if (!is_gone(r)) out.push_back(std::move(r));
  return out;
}

}  // namespace efs
