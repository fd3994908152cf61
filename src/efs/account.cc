// Account preferences: DescribeAccountPreferences, PutAccountPreferences.
// SHORT_ID makes new file system and mount target IDs 8 hex digits long, as
// EFS did before 2021; LONG_ID (the default) gives 17.
#include "efs/internal.h"
#include "efs/service.h"
#include "meta/db.h"

namespace efs {

using namespace detail;

namespace {
nlohmann::json preference(const std::string& type) {
  return {{"ResourceIdType", type}, {"Resources", {"FILE_SYSTEM", "MOUNT_TARGET"}}};
}
}  // namespace

ApiResult<nlohmann::json> Service::DescribeAccountPreferences(const RequestContext& ctx,
                                                              const json& in) {
  (void)in;  // one preference per account and Region: nothing to page
  return in_read([&](meta::Conn& c) -> ApiResult<json> {
    return json{{"ResourceIdPreference", preference(resource_id_type(c, ctx))}};
  });
}

ApiResult<nlohmann::json> Service::PutAccountPreferences(const RequestContext& ctx,
                                                         const json& in) {
  std::string type = in.value("ResourceIdType", "");
  if (type != "LONG_ID" && type != "SHORT_ID")
    return bad_request("ResourceIdType must be LONG_ID or SHORT_ID.");
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
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
    return json{{"ResourceIdPreference", preference(type)}};
  });
}

}  // namespace efs
