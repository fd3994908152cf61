// Account preferences: DescribeAccountPreferences, PutAccountPreferences.
// Every new file system and mount target ID is long (17 hex digits), the only
// form the NFS side serves. Since October 2021 EFS answers SHORT_ID with an
// error (API reference, PutAccountPreferences: "you will receive an error if
// you try to set the account preference to use the short 8 character format
// resource ID"); so does efs-local.
#include "efs/internal.h"
#include "efs/service.h"
#include "meta/db.h"

namespace efs {

using namespace detail;

namespace {
shapes::ResourceIdPreference preference(shapes::ResourceIdType type) {
  shapes::ResourceIdPreference p;
  p.ResourceIdType = type;
  p.Resources = {shapes::Resource::FILE_SYSTEM, shapes::Resource::MOUNT_TARGET};
  return p;
}
}  // namespace

ApiResult<shapes::DescribeAccountPreferencesResponse> Service::DescribeAccountPreferences(
    const RequestContext& ctx, const shapes::DescribeAccountPreferencesRequest& in) {
  (void)in;  // one preference per account and Region: nothing to page
  shapes::DescribeAccountPreferencesResponse out;
  auto done = in_read([&](meta::Conn& c) -> ApiResult<json> {
    shapes::ResourceIdType type{};
    from_string(resource_id_type(c, ctx), type);
    out.ResourceIdPreference = preference(type);
    return json::object();
  });
  if (!done.ok()) return fail(done.error());
  return out;
}

ApiResult<shapes::PutAccountPreferencesResponse> Service::PutAccountPreferences(
    const RequestContext& ctx, const shapes::PutAccountPreferencesRequest& in) {
  std::string type(to_string(in.ResourceIdType));
  if (in.ResourceIdType == shapes::ResourceIdType::SHORT_ID)
    return bad_request(
        "Short resource IDs are no longer supported: since October 2021 new file systems and "
        "mount targets use long (17 character) IDs. Contact Amazon Web Services support if you "
        "must use short IDs for file system and mount target resources.");
  auto done = in_write([&](meta::Conn& c) -> ApiResult<json> {
    std::string id = ctx.account_id + ":" + ctx.region;
    auto prev = store::get(c, kind::kAccountPreferences, id);
    if (prev) {
      prev->doc["ResourceIdType"] = type;
      store::update(c, *prev);
    } else {
      Record r;
      r.kind = kind::kAccountPreferences;
      r.id = id;
      r.account = ctx.account_id;
      r.region = ctx.region;
      r.created_at = now();
      r.notified = true;
      r.doc = {{"ResourceIdType", type}};
      store::insert(c, r);
    }
    return json::object();
  });
  if (!done.ok()) return fail(done.error());
  shapes::PutAccountPreferencesResponse out;
  out.ResourceIdPreference = preference(in.ResourceIdType);
  return out;
}

}  // namespace efs
