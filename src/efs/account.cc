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
  if (type == "SHORT_ID")
    return bad_request(
        "Short resource IDs are no longer supported: since October 2021 new file systems and "
        "mount targets use long (17 character) IDs. Contact Amazon Web Services support if you "
        "must use short IDs for file system and mount target resources.");
  if (type != "LONG_ID") return bad_request("ResourceIdType must be LONG_ID.");
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
