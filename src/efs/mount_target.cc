// Mount targets: CreateMountTarget, DescribeMountTargets, DeleteMountTarget,
// DescribeMountTargetSecurityGroups, ModifyMountTargetSecurityGroups. The
// subnet, addresses and security groups come from efs::ec2::Network (our EC2).
#include <spdlog/spdlog.h>

#include <set>

#include "common/ids.h"
#include "efs/internal.h"
#include "efs/service.h"
#include "meta/db.h"

namespace efs {

using namespace detail;

namespace {

constexpr std::size_t kMaxSecurityGroups = 5;  // per mount target (EFS quotas)

}  // namespace

shapes::MountTargetDescription Service::describe_mount_target(const Record& mt) const {
  const auto& d = mt.doc;
  // A member CreateMountTarget stored, if it did (all but the addresses always).
  auto stored = [&](const char* member) -> std::optional<std::string> {
    if (!d.contains(member)) return std::nullopt;
    return d[member].get<std::string>();
  };
  shapes::MountTargetDescription out;
  out.OwnerId = mt.account;
  out.MountTargetId = mt.id;
  out.FileSystemId = mt.parent_id;
  out.SubnetId = stored("SubnetId").value_or("");
  auto state = state_of(mt);
  // state_of only yields values of the model's LifeCycleState (or "gone").
  from_string(state == "gone" ? "deleted" : state, out.LifeCycleState);
  out.IpAddress = stored("IpAddress");
  out.Ipv6Address = stored("Ipv6Address");
  out.NetworkInterfaceId = stored("NetworkInterfaceId");
  out.AvailabilityZoneId = stored("AvailabilityZoneId");
  out.AvailabilityZoneName = stored("AvailabilityZoneName");
  out.VpcId = stored("VpcId");
  return out;
}

// Security groups of a mount target: at most 5, each known and in the VPC.
static ApiResult<std::vector<std::string>> check_security_groups(ec2::Network& network,
                                                                 const RequestContext& ctx,
                                                                 const std::vector<std::string>& in,
                                                                 const std::string& vpc_id) {
  std::vector<std::string> sgs;
  for (const auto& s : in)
    if (std::find(sgs.begin(), sgs.end(), s) == sgs.end()) sgs.push_back(s);
  if (sgs.size() > kMaxSecurityGroups)
    return service_error(ErrorCode::SecurityGroupLimitExceeded,
                         "A mount target can have at most 5 security groups.");
  for (const auto& id : sgs) {
    auto sg = network.security_group(ctx, id);
    if (!sg.ok()) return fail(sg.error());
    if (sg->vpc_id != vpc_id)
      return service_error(ErrorCode::SecurityGroupNotFound,
                           "Security group '" + id + "' does not belong to VPC '" + vpc_id + "'.");
  }
  return sgs;
}

ApiResult<shapes::MountTargetDescription> Service::CreateMountTarget(
    const RequestContext& ctx, const shapes::CreateMountTargetRequest& in) {
  using shapes::IpAddressType;
  // Checks that need only our tables run first, on a reader; the network
  // interface is created outside our write transaction (Network has its own),
  // and the checks run again inside it. mutate_mu_ keeps them consistent.
  std::string fs_id, az_name;
  auto pre = in_read([&](meta::Conn& c) -> ApiResult<json> {
    auto fs = require_file_system(c, ctx, in.FileSystemId);
    if (!fs.ok()) return fail(fs.error());
    if (auto st = state_of(*fs); !usable(st)) return incorrect_fs_state(fs->id, st);
    fs_id = fs->id;
    az_name = fs->doc.value("AvailabilityZoneName", "");
    return json();
  });
  if (!pre.ok()) return fail(pre.error());

  auto subnet = network_.subnet(ctx, in.SubnetId);
  if (!subnet.ok()) return fail(subnet.error());
  // A One Zone file system has mount targets only in its own zone.
  if (!az_name.empty() && subnet->availability_zone != az_name)
    return service_error(ErrorCode::AvailabilityZonesMismatch,
                         "File system '" + fs_id + "' is in " + az_name + " but subnet '" +
                             subnet->id + "' is in " + subnet->availability_zone + ".");

  const IpAddressType ip_type = in.IpAddressType.value_or(IpAddressType::IPV4_ONLY);
  bool ipv4 = ip_type != IpAddressType::IPV6_ONLY;
  bool ipv6 = ip_type != IpAddressType::IPV4_ONLY;
  if (!ipv4 && in.IpAddress)
    return bad_request("IpAddress cannot be specified when IpAddressType is IPV6_ONLY.");
  if (!ipv6 && in.Ipv6Address)
    return bad_request("Ipv6Address cannot be specified when IpAddressType is IPV4_ONLY.");

  std::vector<std::string> requested = in.SecurityGroups.value_or(std::vector<std::string>{});
  if (requested.empty()) {
    auto def = network_.default_security_group(ctx, subnet->vpc_id);
    if (!def.ok()) return fail(def.error());
    requested.push_back(def->id);
  }
  auto sgs = check_security_groups(network_, ctx, requested, subnet->vpc_id);
  if (!sgs.ok()) return fail(sgs.error());

  auto conflict = [&](meta::Conn& c) -> std::optional<ServiceError> {
    for (const auto& mt : live_children(c, kind::kMountTarget, fs_id)) {
      if (mt.token == subnet->availability_zone)
        return service_error(ErrorCode::MountTargetConflict,
                             "File system '" + fs_id + "' already has a mount target in " +
                                 subnet->availability_zone + ".")
            .error;
      // All mount targets of a file system are in one VPC.
      if (mt.doc.value("VpcId", "") != subnet->vpc_id)
        return service_error(ErrorCode::MountTargetConflict, "File system '" + fs_id +
                                                                 "' has mount targets in VPC '" +
                                                                 mt.doc.value("VpcId", "") + "'.")
            .error;
    }
    return std::nullopt;
  };
  auto check = in_read([&](meta::Conn& c) -> ApiResult<json> {
    if (auto e = conflict(c)) return fail(*e);
    return json();
  });
  if (!check.ok()) return fail(check.error());

  std::string mt_id = make_id("fsmt");  // always the long form (account.cc)
  auto eni = network_.create_network_interface(
      ctx, subnet->id, in.IpAddress, ipv4, ipv6, in.Ipv6Address, *sgs,
      "Mount target " + mt_id + " for file system " + fs_id);
  if (!eni.ok()) return fail(eni.error());

  std::optional<shapes::MountTargetDescription> out;
  auto done = in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto fs = require_file_system(c, ctx, fs_id);
    if (!fs.ok()) return fail(fs.error());
    if (auto st = state_of(*fs); !usable(st)) return incorrect_fs_state(fs->id, st);
    if (auto e = conflict(c)) return fail(*e);
    Record r;
    r.kind = kind::kMountTarget;
    r.id = mt_id;
    r.account = ctx.account_id;
    r.region = ctx.region;
    r.parent_id = fs_id;
    r.token = subnet->availability_zone;
    r.created_at = now();
    r.doc = {{"SubnetId", subnet->id},
             {"NetworkInterfaceId", eni->id},
             {"AvailabilityZoneName", subnet->availability_zone},
             {"AvailabilityZoneId", subnet->availability_zone_id},
             {"VpcId", subnet->vpc_id},
             {"IpAddressType", json(ip_type)},
             {"SecurityGroups", *sgs}};
    if (!eni->private_ip.empty()) r.doc["IpAddress"] = eni->private_ip;
    if (!eni->ipv6_address.empty()) r.doc["Ipv6Address"] = eni->ipv6_address;
    store::insert(c, r);
    out = describe_mount_target(r);
    return json::object();
  });
  if (!done.ok()) {
    // Give the address back: the mount target was not created.
    (void)network_.delete_network_interface(ctx, eni->id);
    return fail(done.error());
  }
  spdlog::info("efs: created mount target {} for {} at {}", mt_id, fs_id,
               eni->private_ip.empty() ? eni->ipv6_address : eni->private_ip);
  mount_targets_dirty_ = true;
  return std::move(*out);
}

ApiResult<shapes::DescribeMountTargetsResponse> Service::DescribeMountTargets(
    const RequestContext& ctx, const shapes::DescribeMountTargetsRequest& in) {
  int given = int(in.FileSystemId.has_value()) + int(in.MountTargetId.has_value()) +
              int(in.AccessPointId.has_value());
  if (given != 1)
    return bad_request("Specify exactly one of FileSystemId, MountTargetId or AccessPointId.");
  shapes::DescribeMountTargetsResponse out;
  auto done = in_read([&](meta::Conn& c) -> ApiResult<json> {
    std::vector<Record> matches;
    if (in.MountTargetId) {
      auto mt = find_mount_target(c, ctx, *in.MountTargetId);
      if (!mt) return mt_not_found(*in.MountTargetId);
      matches.push_back(std::move(*mt));
    } else {
      std::string fs_id;
      if (in.AccessPointId) {
        auto ap = find_access_point(c, ctx, *in.AccessPointId);
        if (!ap) return ap_not_found(resource_id(*in.AccessPointId));
        fs_id = ap->parent_id;
      } else {
        auto fs = require_file_system(c, ctx, *in.FileSystemId);
        if (!fs.ok()) return fail(fs.error());
        fs_id = fs->id;
      }
      matches = live_children(c, kind::kMountTarget, fs_id);
    }
    std::vector<int64_t> pos;
    for (const auto& r : matches) pos.push_back(r.seq);
    auto page = paginate(pos, in.Marker, in.MaxItems, "Marker", "MaxItems", 10);
    if (!page.ok()) return fail(page.error());
    out.Marker = in.Marker;
    out.MountTargets.emplace();
    for (auto i = page->begin; i < page->end; ++i)
      out.MountTargets->push_back(describe_mount_target(matches[i]));
    out.NextMarker = page->next;
    return json::object();
  });
  if (!done.ok()) return fail(done.error());
  return out;
}

ApiResult<nlohmann::json> Service::DeleteMountTarget(const RequestContext& ctx,
                                                     const shapes::DeleteMountTargetRequest& in) {
  std::string eni;
  auto out = in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto mt = find_mount_target(c, ctx, in.MountTargetId);
    if (!mt) return mt_not_found(in.MountTargetId);
    if (mt->deleting_at) return json::object();
    mt->deleting_at = now();
    eni = mt->doc.value("NetworkInterfaceId", "");
    store::update(c, *mt);
    return json::object();
  });
  if (!out.ok()) return out;
  if (!eni.empty()) {
    auto d = network_.delete_network_interface(ctx, eni);
    if (!d.ok()) spdlog::warn("efs: deleting {}: {}", eni, d.error().message);
  }
  mount_targets_dirty_ = true;
  return out;
}

// Describe/ModifyMountTargetSecurityGroups need only the mount target's
// network interface, which exists from CreateMountTarget on, and a mount
// target that is not deleted (API reference of both operations): so
// "creating" is fine, while "deleting" has already given its interface back.
std::optional<ServiceError> Service::security_groups_reachable(const Record& mt) const {
  auto s = state_of(mt);
  if (s == "creating" || s == "available") return std::nullopt;
  return service_error(ErrorCode::IncorrectMountTargetState,
                       "Mount target '" + mt.id + "' is in the '" + s + "' state.")
      .error;
}

ApiResult<shapes::DescribeMountTargetSecurityGroupsResponse>
Service::DescribeMountTargetSecurityGroups(
    const RequestContext& ctx, const shapes::DescribeMountTargetSecurityGroupsRequest& in) {
  shapes::DescribeMountTargetSecurityGroupsResponse out;
  auto done = in_read([&](meta::Conn& c) -> ApiResult<json> {
    auto mt = find_mount_target(c, ctx, in.MountTargetId);
    if (!mt) return mt_not_found(in.MountTargetId);
    if (auto e = security_groups_reachable(*mt)) return fail(*e);
    // Stored by CreateMountTarget and ModifyMountTargetSecurityGroups as a list of IDs.
    out.SecurityGroups =
        mt->doc.value("SecurityGroups", json::array()).get<std::vector<std::string>>();
    return json::object();
  });
  if (!done.ok()) return fail(done.error());
  return out;
}

ApiResult<nlohmann::json> Service::ModifyMountTargetSecurityGroups(
    const RequestContext& ctx, const shapes::ModifyMountTargetSecurityGroupsRequest& in) {
  std::string vpc_id, eni;
  auto pre = in_read([&](meta::Conn& c) -> ApiResult<json> {
    auto mt = find_mount_target(c, ctx, in.MountTargetId);
    if (!mt) return mt_not_found(in.MountTargetId);
    if (auto e = security_groups_reachable(*mt)) return fail(*e);
    vpc_id = mt->doc.value("VpcId", "");
    eni = mt->doc.value("NetworkInterfaceId", "");
    return json();
  });
  if (!pre.ok()) return pre;
  std::vector<std::string> requested = in.SecurityGroups.value_or(std::vector<std::string>{});
  if (requested.empty()) {
    auto def = network_.default_security_group(ctx, vpc_id);
    if (!def.ok()) return fail(def.error());
    requested.push_back(def->id);
  }
  auto sgs = check_security_groups(network_, ctx, requested, vpc_id);
  if (!sgs.ok()) return fail(sgs.error());
  auto set = network_.set_security_groups(ctx, eni, *sgs);
  if (!set.ok()) return fail(set.error());
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto mt = find_mount_target(c, ctx, in.MountTargetId);
    if (!mt) return mt_not_found(in.MountTargetId);
    mt->doc["SecurityGroups"] = *sgs;
    store::update(c, *mt);
    return json::object();
  });
}

}  // namespace efs
