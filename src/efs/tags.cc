// Tags, both generations: CreateTags/DeleteTags/DescribeTags (file systems,
// Marker/MaxItems) and TagResource/UntagResource/ListTagsForResource (file
// systems and access points, NextToken/MaxResults). Tags live in each
// resource's document; the "Name" tag is also the resource's Name.
#include <spdlog/spdlog.h>

#include <set>

#include "efs/internal.h"
#include "efs/service.h"
#include "meta/db.h"

namespace efs {

using namespace detail;

namespace {

// Tags are paged by their index in the resource's list.
std::vector<int64_t> positions_of(const std::vector<shapes::Tag>& tags) {
  std::vector<int64_t> pos;
  for (std::size_t i = 0; i < tags.size(); ++i) pos.push_back(static_cast<int64_t>(i));
  return pos;
}

}  // namespace

Result<void, ServiceError> detail::check_request_tags(const json& add, const std::string& what) {
  if (!add.is_array()) return bad_request("Tags must be a list of Key/Value pairs.");
  // Counted as sent, so 51 tags naming one key are refused as too many, not
  // merged down to one.
  if (add.size() > kMaxTags)
    return bad_request("A request can add at most 50 tags to " + what + "; it has " +
                       std::to_string(add.size()) + ".");
  std::set<std::string> keys;
  for (const auto& t : add) {
    std::string key = t.is_object() ? t.value("Key", "") : "";
    if (!keys.insert(key).second) {
      spdlog::info("efs: refused duplicate tag key '{}'", key);
      return bad_request("Tag key '" + key + "' appears more than once in the request.");
    }
  }
  return {};
}

ApiResult<nlohmann::json> Service::tag_resource(const RequestContext& ctx,
                                                const std::string& resource_id_or_arn,
                                                const json& add) {
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    std::string id = resource_id(resource_id_or_arn);
    bool is_ap = id.rfind("fsap-", 0) == 0;
    auto r = is_ap ? find_access_point(c, ctx, id) : find_file_system(c, ctx, id);
    if (!r) return is_ap ? ap_not_found(id) : fs_not_found(id);
    if (auto ok = check_request_tags(add, is_ap ? "an access point" : "a file system"); !ok)
      return fail(ok.error());
    json tags = merge_tags(r->doc.value("Tags", json::array()), add);
    if (tags.size() > kMaxTags)
      return bad_request("Resource '" + id + "' would have more than 50 tags.");
    r->doc["Tags"] = tags;
    store::update(c, *r);
    return json::object();
  });
}

ApiResult<nlohmann::json> Service::untag_resource(const RequestContext& ctx,
                                                  const std::string& resource_id_or_arn,
                                                  const json& keys) {
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    std::string id = resource_id(resource_id_or_arn);
    bool is_ap = id.rfind("fsap-", 0) == 0;
    auto r = is_ap ? find_access_point(c, ctx, id) : find_file_system(c, ctx, id);
    if (!r) return is_ap ? ap_not_found(id) : fs_not_found(id);
    r->doc["Tags"] = remove_tags(r->doc.value("Tags", json::array()), keys);
    store::update(c, *r);
    return json::object();
  });
}

ApiResult<nlohmann::json> Service::CreateTags(const RequestContext& ctx,
                                              const shapes::CreateTagsRequest& in) {
  std::string id = resource_id(in.FileSystemId);
  if (id.rfind("fs-", 0) != 0) return fs_not_found(id);
  return tag_resource(ctx, id, in.Tags);
}

ApiResult<nlohmann::json> Service::DeleteTags(const RequestContext& ctx,
                                              const shapes::DeleteTagsRequest& in) {
  std::string id = resource_id(in.FileSystemId);
  if (id.rfind("fs-", 0) != 0) return fs_not_found(id);
  return untag_resource(ctx, id, in.TagKeys);
}

ApiResult<nlohmann::json> Service::TagResource(const RequestContext& ctx,
                                               const shapes::TagResourceRequest& in) {
  return tag_resource(ctx, in.ResourceId, in.Tags);
}

ApiResult<nlohmann::json> Service::UntagResource(const RequestContext& ctx,
                                                 const shapes::UntagResourceRequest& in) {
  return untag_resource(ctx, in.ResourceId, in.TagKeys);
}

ApiResult<shapes::DescribeTagsResponse> Service::DescribeTags(
    const RequestContext& ctx, const shapes::DescribeTagsRequest& in) {
  shapes::DescribeTagsResponse out;
  auto done = in_read([&](meta::Conn& c) -> ApiResult<json> {
    auto fs = require_file_system(c, ctx, in.FileSystemId);
    if (!fs.ok()) return fail(fs.error());
    auto tags = fs->doc.value("Tags", json::array()).get<std::vector<shapes::Tag>>();
    auto page = paginate(positions_of(tags), in.Marker, in.MaxItems, "Marker", "MaxItems", 100);
    if (!page.ok()) return fail(page.error());
    out.Marker = in.Marker;
    out.Tags.assign(tags.begin() + static_cast<std::ptrdiff_t>(page->begin),
                    tags.begin() + static_cast<std::ptrdiff_t>(page->end));
    out.NextMarker = page->next;
    return json::object();
  });
  if (!done.ok()) return fail(done.error());
  return out;
}

ApiResult<shapes::ListTagsForResourceResponse> Service::ListTagsForResource(
    const RequestContext& ctx, const shapes::ListTagsForResourceRequest& in) {
  shapes::ListTagsForResourceResponse out;
  auto done = in_read([&](meta::Conn& c) -> ApiResult<json> {
    std::string id = resource_id(in.ResourceId);
    bool is_ap = id.rfind("fsap-", 0) == 0;
    auto r = is_ap ? find_access_point(c, ctx, id) : find_file_system(c, ctx, id);
    if (!r) return is_ap ? ap_not_found(id) : fs_not_found(id);
    auto tags = r->doc.value("Tags", json::array()).get<std::vector<shapes::Tag>>();
    auto page =
        paginate(positions_of(tags), in.NextToken, in.MaxResults, "NextToken", "MaxResults", 100);
    if (!page.ok()) return fail(page.error());
    out.Tags.emplace(tags.begin() + static_cast<std::ptrdiff_t>(page->begin),
                     tags.begin() + static_cast<std::ptrdiff_t>(page->end));
    out.NextToken = page->next;
    return json::object();
  });
  if (!done.ok()) return fail(done.error());
  return out;
}

}  // namespace efs
