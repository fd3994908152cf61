// Access points: CreateAccessPoint, DescribeAccessPoints, DeleteAccessPoint.
// Access points are immutable after creation (EFS has no UpdateAccessPoint).
#include <spdlog/spdlog.h>

#include "common/ids.h"
#include "efs/internal.h"
#include "efs/service.h"
#include "meta/db.h"

namespace efs {

using namespace detail;

shapes::AccessPointDescription Service::describe_access_point(const Record& ap) const {
  // The stored document keeps PosixUser and RootDirectory in the model's
  // JSON form (member names), so they read back as the typed shapes.
  const auto& d = ap.doc;
  shapes::AccessPointDescription out;
  out.ClientToken = ap.token;
  if (auto name = name_tag(d["Tags"])) out.Name = *name;
  out.Tags = d["Tags"].get<std::vector<shapes::Tag>>();
  out.AccessPointId = ap.id;
  out.AccessPointArn = access_point_arn(ap.region, ap.account, ap.id);
  out.FileSystemId = ap.parent_id;
  if (d.contains("PosixUser")) out.PosixUser = d["PosixUser"].get<shapes::PosixUser>();
  out.RootDirectory = d["RootDirectory"].get<shapes::RootDirectory>();
  out.OwnerId = ap.account;
  auto state = state_of(ap);
  shapes::LifeCycleState lifecycle{};
  from_string(state == "gone" ? "deleted" : state, lifecycle);
  out.LifeCycleState = lifecycle;
  return out;
}

ApiResult<shapes::AccessPointDescription> Service::CreateAccessPoint(
    const RequestContext& ctx, const shapes::CreateAccessPointRequest& in) {
  std::optional<shapes::AccessPointDescription> made;
  auto done = in_write([&](meta::Conn& c) -> ApiResult<json> {
    const std::string& token = in.ClientToken;
    if (token.empty()) return bad_request("ClientToken is required.");
    // Idempotency: one access point per ClientToken in the account and Region.
    if (auto prev = store::by_token(c, kind::kAccessPoint, ctx.account_id, ctx.region, token);
        prev && !is_gone(*prev))
      return service_error(
          ErrorCode::AccessPointAlreadyExists, "Access point '" + prev->id + "' already exists with client token '" + token + "'.",
          {{"AccessPointId", prev->id}});
    auto fs = require_file_system(c, ctx, in.FileSystemId);
    if (!fs.ok()) return fail(fs.error());
    auto s = state_of(*fs);
    if (!usable(s)) return incorrect_fs_state(fs->id, s);
    if (live_children(c, kind::kAccessPoint, fs->id).size() >=
        static_cast<std::size_t>(options_.max_access_points_per_file_system))
      return service_error(ErrorCode::AccessPointLimitExceeded, "File system '" + fs->id +
                               "' has the maximum number of access points (" +
                               std::to_string(options_.max_access_points_per_file_system) + ").");

    json doc = json::object();
    json given_tags = in.Tags ? json(*in.Tags) : json::array();
    if (auto ok = check_request_tags(given_tags, "an access point"); !ok) return fail(ok.error());
    json tags = merge_tags(json::array(), given_tags);
    if (tags.size() > kMaxTags) return bad_request("An access point can have at most 50 tags.");
    doc["Tags"] = tags;
    if (in.PosixUser) doc["PosixUser"] = *in.PosixUser;
    json root = {{"Path", "/"}};
    if (in.RootDirectory) {
      const auto& rd = *in.RootDirectory;
      std::string path = rd.Path.value_or("/");
      // EFS normalizes away a trailing slash ("/a/" is "/a").
      while (path.size() > 1 && path.back() == '/') path.pop_back();
      if (path.empty() || path[0] != '/')
        return bad_request("RootDirectory Path must be absolute.");
      if (path.find("/../") != std::string::npos || path.find("/./") != std::string::npos ||
          path.ends_with("/..") || path.ends_with("/.") || path.find("//") != std::string::npos)
        return bad_request("RootDirectory Path '" + path + "' is not a valid path.");
      root["Path"] = path;
      if (rd.CreationInfo) {
        const auto& ci = *rd.CreationInfo;
        const std::string& perms = ci.Permissions;
        if (perms.size() < 3 || perms.size() > 4 ||
            perms.find_first_not_of("01234567") != std::string::npos)
          return bad_request("CreationInfo Permissions must be 3 or 4 octal digits.");
        root["CreationInfo"] = ci;
      }
    }
    doc["RootDirectory"] = root;

    Record r;
    r.kind = kind::kAccessPoint;
    r.id = make_id("fsap");
    r.account = ctx.account_id;
    r.region = ctx.region;
    r.parent_id = fs->id;
    r.token = token;
    r.created_at = now();
    r.doc = std::move(doc);
    store::insert(c, r);
    spdlog::info("efs: created access point {} on {} at {}", r.id, fs->id,
                 root["Path"].get<std::string>());
    made = describe_access_point(r);
    return json::object();
  });
  if (!done.ok()) return fail(done.error());
  return std::move(*made);
}

ApiResult<shapes::DescribeAccessPointsResponse> Service::DescribeAccessPoints(
    const RequestContext& ctx, const shapes::DescribeAccessPointsRequest& in) {
  if (in.AccessPointId && in.FileSystemId)
    return bad_request("Specify AccessPointId or FileSystemId, not both.");
  shapes::DescribeAccessPointsResponse out;
  auto done = in_read([&](meta::Conn& c) -> ApiResult<json> {
    std::vector<Record> matches;
    if (in.AccessPointId) {
      auto ap = find_access_point(c, ctx, *in.AccessPointId);
      if (!ap) return ap_not_found(resource_id(*in.AccessPointId));
      matches.push_back(std::move(*ap));
    } else if (in.FileSystemId) {
      auto fs = require_file_system(c, ctx, *in.FileSystemId);
      if (!fs.ok()) return fail(fs.error());
      matches = live_children(c, kind::kAccessPoint, fs->id);
    } else {
      for (auto& ap : store::list(c, kind::kAccessPoint, ctx.account_id, ctx.region))
        if (!is_gone(ap)) matches.push_back(std::move(ap));
    }
    std::vector<int64_t> pos;
    for (const auto& r : matches) pos.push_back(r.seq);
    auto page = paginate(pos, in.NextToken, in.MaxResults, "NextToken", "MaxResults", 100);
    if (!page.ok()) return fail(page.error());
    out.AccessPoints.emplace();
    for (auto i = page->begin; i < page->end; ++i)
      out.AccessPoints->push_back(describe_access_point(matches[i]));
    out.NextToken = page->next;
    return json::object();
  });
  if (!done.ok()) return fail(done.error());
  return out;
}

ApiResult<nlohmann::json> Service::DeleteAccessPoint(const RequestContext& ctx,
                                                     const shapes::DeleteAccessPointRequest& in) {
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    const std::string& id = in.AccessPointId;
    auto ap = find_access_point(c, ctx, id);
    if (!ap) return ap_not_found(resource_id(id));
    if (!ap->deleting_at) {
      // Clients mounted through it lose access at once; the record lingers
      // in "deleting" for state_delay, as on EFS.
      ap->deleting_at = now();
      store::update(c, *ap);
      spdlog::info("efs: deleting access point {}", ap->id);
    }
    return json::object();
  });
}

}  // namespace efs
