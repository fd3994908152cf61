// The EC2 slice behind mount targets: default VPC, subnets, security groups
// and network interfaces, stored in SQLite (module "ec2").
//
// The address plan (127.N.0.0/16 per account and region, a /20 per zone) is
// described in ec2/network_plan.h; N is persisted in ec2_regions so every
// address stays the same across restarts.
#include "ec2/network.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "common/ids.h"
#include "ec2/network_plan.h"
#include "meta/db.h"

namespace efs::ec2 {
namespace {

using meta::Conn;

// AWS reserves the first four addresses of a subnet (network, router, DNS,
// future use) and the last (broadcast): "Subnet CIDR reserved IP addresses",
// Amazon VPC user guide.
constexpr uint32_t kReservedLow = 4;
constexpr int kFirstRegionOctet = 16;
constexpr int kSubnetPrefix = 20;

const std::vector<std::string> kMigrations = {
    R"sql(
CREATE TABLE ec2_regions(
  account TEXT NOT NULL, region TEXT NOT NULL, octet INTEGER NOT NULL UNIQUE,
  PRIMARY KEY(account, region));
CREATE TABLE ec2_vpcs(
  id TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, cidr TEXT NOT NULL,
  cidr_assoc TEXT NOT NULL, ipv6_cidr TEXT NOT NULL, ipv6_assoc TEXT NOT NULL,
  dhcp_options_id TEXT NOT NULL, is_default INTEGER NOT NULL);
CREATE TABLE ec2_subnets(
  id TEXT PRIMARY KEY, vpc_id TEXT NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL,
  az TEXT NOT NULL, az_id TEXT NOT NULL, cidr TEXT NOT NULL, ipv6_cidr TEXT NOT NULL,
  ipv6_assoc TEXT NOT NULL);
CREATE TABLE ec2_security_groups(
  id TEXT PRIMARY KEY, vpc_id TEXT NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL,
  name TEXT NOT NULL, description TEXT NOT NULL, UNIQUE(vpc_id, name));
CREATE TABLE ec2_network_interfaces(
  id TEXT PRIMARY KEY, subnet_id TEXT NOT NULL, vpc_id TEXT NOT NULL, account TEXT NOT NULL,
  region TEXT NOT NULL, az TEXT NOT NULL, ipv4 INTEGER, ipv6 TEXT, description TEXT NOT NULL,
  status TEXT NOT NULL, UNIQUE(subnet_id, ipv4), UNIQUE(subnet_id, ipv6));
CREATE TABLE ec2_network_interface_groups(
  eni_id TEXT NOT NULL, position INTEGER NOT NULL, sg_id TEXT NOT NULL,
  PRIMARY KEY(eni_id, position));
)sql"};

// ---- errors ----
// EC2's own codes (InvalidVpcID.NotFound, MissingParameter, ...) are not in
// the EFS model; the EFS names mount targets pass on (SubnetNotFound,
// IpAddressInUse, ...) keep the statuses EFS gives them.

Unexpected<ServiceError> internal(const std::string& what) {
  spdlog::error("ec2: {}", what);
  return unmodeled_error("InternalServerError", 500, what);
}

Unexpected<ServiceError> subnet_not_found(const std::string& id) {
  return unmodeled_error("SubnetNotFound", 400, "The subnet ID '" + id + "' does not exist");
}

Unexpected<ServiceError> group_not_found(const std::string& id) {
  return unmodeled_error("SecurityGroupNotFound", 400,
                         "The security group '" + id + "' does not exist");
}

// ---- rows ----

const char* kSubnetColumns =
    "s.id, s.vpc_id, s.az, s.az_id, s.cidr, s.ipv6_cidr, s.account, s.region, s.ipv6_assoc, "
    "(SELECT count(*) FROM ec2_network_interfaces n WHERE n.subnet_id = s.id AND n.ipv4 IS NOT "
    "NULL)";

Subnet subnet_row(meta::Stmt& q) {
  Subnet s;
  s.id = q.text(0);
  s.vpc_id = q.text(1);
  s.availability_zone = q.text(2);
  s.availability_zone_id = q.text(3);
  s.cidr_block = q.text(4);
  s.ipv6_cidr_block = q.text(5);
  s.owner_id = q.text(6);
  s.region = q.text(7);
  s.ipv6_association_id = q.text(8);
  auto cidr = parse_ipv4_cidr(s.cidr_block);
  int usable = cidr ? static_cast<int>(cidr->size() - kReservedLow - 1) : 0;
  s.available_ip_address_count = usable - static_cast<int>(q.i64(9));
  return s;
}

const char* kVpcColumns =
    "id, cidr, is_default, account, region, cidr_assoc, ipv6_cidr, ipv6_assoc, dhcp_options_id";

Vpc vpc_row(meta::Stmt& q) {
  Vpc v;
  v.id = q.text(0);
  v.cidr_block = q.text(1);
  v.is_default = q.i64(2) != 0;
  v.owner_id = q.text(3);
  v.region = q.text(4);
  v.cidr_association_id = q.text(5);
  v.ipv6_cidr_block = q.text(6);
  v.ipv6_association_id = q.text(7);
  v.dhcp_options_id = q.text(8);
  return v;
}

const char* kGroupColumns = "id, name, description, vpc_id, account";

SecurityGroup group_row(meta::Stmt& q) {
  return SecurityGroup{q.text(0), q.text(1), q.text(2), q.text(3), q.text(4)};
}

const char* kInterfaceColumns =
    "id, subnet_id, vpc_id, az, ipv4, ipv6, description, account, status, region";

NetworkInterface interface_row(meta::Stmt& q) {
  NetworkInterface n;
  n.id = q.text(0);
  n.subnet_id = q.text(1);
  n.vpc_id = q.text(2);
  n.availability_zone = q.text(3);
  if (!q.is_null(4)) n.private_ip = ipv4_text(static_cast<uint32_t>(q.i64(4)));
  if (!q.is_null(5)) n.ipv6_address = q.text(5);
  n.description = q.text(6);
  n.owner_id = q.text(7);
  n.status = q.text(8);
  n.region = q.text(9);
  return n;
}

class SqliteNetwork final : public Network {
 public:
  SqliteNetwork(meta::Db& db, NetworkLimits limits) : db_(db), limits_(limits) {}

  ApiResult<Vpc> default_vpc(const RequestContext& ctx) override {
    if (auto e = ensure(ctx); !e) return fail(e.error());
    std::optional<Vpc> out;
    auto s = read<bool>([&](Conn& c) -> ApiResult<bool> {
      auto& q = c.stmt(std::string("SELECT ") + kVpcColumns +
                       " FROM ec2_vpcs WHERE account = ? AND region = ? AND is_default = 1");
      q.bind_all(ctx.account_id, ctx.region);
      if (q.step()) out = vpc_row(q);
      q.reset();  // an unfinished statement would pin this reader's snapshot
      return true;
    });
    if (!s) return fail(s.error());
    if (!out) return internal("default VPC missing for " + ctx.account_id + "/" + ctx.region);
    return *out;
  }

  ApiResult<std::vector<Vpc>> vpcs(const RequestContext& ctx) override {
    return list<Vpc>(ctx,
                     std::string("SELECT ") + kVpcColumns +
                         " FROM ec2_vpcs WHERE account = ? AND region = ? ORDER BY rowid",
                     vpc_row);
  }

  ApiResult<std::vector<Subnet>> subnets(const RequestContext& ctx) override {
    return list<Subnet>(ctx,
                        std::string("SELECT ") + kSubnetColumns +
                            " FROM ec2_subnets s WHERE account = ? AND region = ? ORDER BY rowid",
                        subnet_row);
  }

  ApiResult<Subnet> subnet(const RequestContext& ctx, const std::string& subnet_id) override {
    auto all = subnets(ctx);
    if (!all) return fail(all.error());
    for (auto& s : *all)
      if (s.id == subnet_id) return s;
    return subnet_not_found(subnet_id);
  }

  ApiResult<std::vector<SecurityGroup>> security_groups(const RequestContext& ctx) override {
    return list<SecurityGroup>(
        ctx,
        std::string("SELECT ") + kGroupColumns +
            " FROM ec2_security_groups WHERE account = ? AND region = ? ORDER BY rowid",
        group_row);
  }

  ApiResult<SecurityGroup> security_group(const RequestContext& ctx,
                                          const std::string& sg_id) override {
    auto all = security_groups(ctx);
    if (!all) return fail(all.error());
    for (auto& g : *all)
      if (g.id == sg_id) return g;
    return group_not_found(sg_id);
  }

  ApiResult<SecurityGroup> default_security_group(const RequestContext& ctx,
                                                  const std::string& vpc_id) override {
    auto all = security_groups(ctx);
    if (!all) return fail(all.error());
    for (auto& g : *all)
      if (g.vpc_id == vpc_id && g.name == "default") return g;
    return unmodeled_error("InvalidVpcID.NotFound", 400,
                         "The vpc ID '" + vpc_id + "' does not exist");
  }

  ApiResult<SecurityGroup> create_security_group(const RequestContext& ctx, const std::string& name,
                                                 const std::string& description,
                                                 const std::string& vpc_id) override {
    // EC2 CreateSecurityGroup rules: name and description required, up to
    // 255 characters; "sg-" prefix and "default" are reserved names.
    if (name.empty())
      return unmodeled_error("MissingParameter", 400,
                           "The request must contain the parameter groupName");
    if (description.empty())
      return unmodeled_error("MissingParameter", 400,
                           "The request must contain the parameter groupDescription");
    if (name.size() > 255 || description.size() > 255)
      return unmodeled_error("InvalidParameterValue", 400,
                           "Group name and description may be at most 255 characters");
    if (name.rfind("sg-", 0) == 0)
      return unmodeled_error("InvalidParameterValue", 400,
                           "Group names may not be in the format sg-*");
    if (name == "default")
      return unmodeled_error("InvalidGroup.Reserved", 400,
                           "The security group 'default' is reserved");
    auto vpc = vpc_id.empty() ? default_vpc(ctx) : find_vpc(ctx, vpc_id);
    if (!vpc) return fail(vpc.error());
    return write<SecurityGroup>([&](Conn& c) -> ApiResult<SecurityGroup> {
      auto& dup = c.stmt("SELECT id FROM ec2_security_groups WHERE vpc_id = ? AND name = ?");
      dup.bind_all(vpc->id, name);
      bool exists = dup.step();
      dup.reset();
      if (exists)
        return unmodeled_error(
            "InvalidGroup.Duplicate", 400,
            "The security group '" + name + "' already exists for VPC '" + vpc->id + "'");
      SecurityGroup g{make_id("sg"), name, description, vpc->id, ctx.account_id};
      if (!insert_group(c, ctx, g)) return internal("insert security group: " + c.errmsg());
      spdlog::info("ec2: created security group {} ({}) in {}", g.id, name, vpc->id);
      return g;
    });
  }

  ApiResult<NetworkInterface> create_network_interface(
      const RequestContext& ctx, const std::string& subnet_id, const std::optional<std::string>& ip,
      bool ipv4, bool ipv6, const std::optional<std::string>& ipv6_address,
      const std::vector<std::string>& security_groups, const std::string& description) override {
    if (!ipv4 && !ipv6)
      return unmodeled_error("BadRequest", 400, "A network interface needs IPv4 or IPv6");
    if (ip && !ipv4)
      return unmodeled_error("BadRequest", 400, "An IPv4 address was given for an IPv6-only target");
    if (ipv6_address && !ipv6)
      return unmodeled_error("BadRequest", 400, "An IPv6 address was given for an IPv4-only target");
    auto sn = subnet(ctx, subnet_id);
    if (!sn) return fail(sn.error());
    auto groups = resolve_groups(ctx, sn->vpc_id, security_groups);
    if (!groups) return fail(groups.error());
    auto cidr = parse_ipv4_cidr(sn->cidr_block);
    auto v6_prefix = parse_ipv6(sn->ipv6_cidr_block.substr(0, sn->ipv6_cidr_block.find('/')));
    if (!cidr || !v6_prefix) return internal("bad stored CIDR for " + subnet_id);
    const uint32_t first = cidr->base + kReservedLow;
    const auto last = static_cast<uint32_t>(cidr->base + cidr->size() - 2);  // not broadcast

    std::optional<uint32_t> want4;
    if (ip) {
      want4 = parse_ipv4(*ip);
      if (!want4)
        return unmodeled_error("BadRequest", 400, "IpAddress '" + *ip + "' is not an IPv4 address");
      if (!cidr->contains(*want4))
        return unmodeled_error("BadRequest", 400,
                             "IpAddress " + *ip + " is not within the CIDR block " +
                                 sn->cidr_block + " of subnet " + subnet_id);
      if (*want4 < first || *want4 > last)
        return unmodeled_error("BadRequest", 400,
                             "IpAddress " + *ip + " is reserved by the subnet " + subnet_id);
    }
    std::optional<Ipv6> want6;
    if (ipv6_address) {
      want6 = parse_ipv6(*ipv6_address);
      if (!want6)
        return unmodeled_error("BadRequest", 400,
                             "Ipv6Address '" + *ipv6_address + "' is not an IPv6 address");
      if (std::memcmp(want6->data(), v6_prefix->data(), 8) != 0)
        return unmodeled_error("BadRequest", 400,
                             "Ipv6Address " + *ipv6_address + " is not within the CIDR block " +
                                 sn->ipv6_cidr_block + " of subnet " + subnet_id);
    }

    return write<NetworkInterface>([&](Conn& c) -> ApiResult<NetworkInterface> {
      auto& count =
          c.stmt("SELECT count(*) FROM ec2_network_interfaces WHERE account = ? AND region = ?");
      count.bind_all(ctx.account_id, ctx.region);
      int64_t interfaces = count.step() ? count.i64(0) : 0;
      count.reset();
      if (interfaces >= limits_.max_network_interfaces_per_region)
        return unmodeled_error("NetworkInterfaceLimitExceeded", 409,
                             "The account has reached its limit of " +
                                 std::to_string(limits_.max_network_interfaces_per_region) +
                                 " network interfaces in " + ctx.region);
      NetworkInterface n;
      n.id = make_id("eni");
      n.subnet_id = sn->id;
      n.vpc_id = sn->vpc_id;
      n.availability_zone = sn->availability_zone;
      n.description = description;
      n.owner_id = ctx.account_id;
      n.region = ctx.region;
      n.security_groups = *groups;
      std::optional<uint32_t> addr4;
      if (ipv4) {
        std::set<uint32_t> used;
        auto& q = c.stmt(
            "SELECT ipv4 FROM ec2_network_interfaces WHERE subnet_id = ? AND ipv4 IS NOT NULL");
        q.bind_all(sn->id);
        while (q.step()) used.insert(static_cast<uint32_t>(q.i64(0)));
        if (want4) {
          if (used.count(*want4))
            return unmodeled_error("IpAddressInUse", 409,
                                 "IpAddress " + *ip + " is already in use in subnet " + sn->id);
          addr4 = want4;
        } else {
          for (uint32_t a = first; a <= last && !addr4; ++a)
            if (!used.count(a)) addr4 = a;
          if (!addr4)
            return unmodeled_error("NoFreeAddressesInSubnet", 409,
                                 "The subnet " + sn->id + " has no free IP addresses");
        }
        n.private_ip = ipv4_text(*addr4);
      }
      if (ipv6) {
        std::set<std::string> used;
        auto& q = c.stmt(
            "SELECT ipv6 FROM ec2_network_interfaces WHERE subnet_id = ? AND ipv6 IS NOT NULL");
        q.bind_all(sn->id);
        while (q.step()) used.insert(q.text(0));
        if (want6) {
          n.ipv6_address = ipv6_text(*want6);
          if (used.count(n.ipv6_address))
            return unmodeled_error(
                "IpAddressInUse", 409,
                "Ipv6Address " + n.ipv6_address + " is already in use in subnet " + sn->id);
        } else {
          // The /64 is far larger than any emulated use; take the lowest free
          // host number past the reserved ones, as for IPv4.
          Ipv6 a = *v6_prefix;
          for (uint32_t host = kReservedLow;; ++host) {
            for (int i = 0; i < 4; ++i) a[15 - i] = static_cast<uint8_t>(host >> (8 * i));
            if (!used.count(ipv6_text(a))) break;
          }
          n.ipv6_address = ipv6_text(a);
        }
      }
      auto& ins = c.stmt(
          "INSERT INTO ec2_network_interfaces(id, subnet_id, vpc_id, account, region, az, ipv4, "
          "ipv6, description, status) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      ins.bind_all(n.id, n.subnet_id, n.vpc_id, n.owner_id, n.region, n.availability_zone);
      if (addr4)
        ins.bind(7, static_cast<int64_t>(*addr4));
      else
        ins.bind_null(7);
      if (ipv6)
        ins.bind(8, n.ipv6_address);
      else
        ins.bind_null(8);
      ins.bind(9, n.description).bind(10, n.status);
      if (!ins.run()) return internal("insert network interface: " + ins.error());
      if (!store_groups(c, n.id, n.security_groups))
        return internal("store interface groups: " + c.errmsg());
      spdlog::info("ec2: created network interface {} in {} at {}{}", n.id, n.subnet_id,
                   n.private_ip, n.ipv6_address.empty() ? "" : " " + n.ipv6_address);
      return n;
    });
  }

  ApiResult<bool> delete_network_interface(const RequestContext& ctx,
                                           const std::string& eni_id) override {
    return write<bool>([&](Conn& c) -> ApiResult<bool> {
      auto& del =
          c.stmt("DELETE FROM ec2_network_interfaces WHERE id = ? AND account = ? AND region = ?");
      del.bind_all(eni_id, ctx.account_id, ctx.region);
      if (!del.run()) return internal("delete network interface: " + del.error());
      if (c.changes() == 0) return interface_not_found(eni_id);
      if (!store_groups(c, eni_id, {})) return internal("delete interface groups: " + c.errmsg());
      spdlog::info("ec2: deleted network interface {}", eni_id);
      return true;
    });
  }

  ApiResult<bool> set_security_groups(const RequestContext& ctx, const std::string& eni_id,
                                      const std::vector<std::string>& sgs) override {
    auto n = network_interface(ctx, eni_id);
    if (!n) return fail(n.error());
    auto groups = resolve_groups(ctx, n->vpc_id, sgs);
    if (!groups) return fail(groups.error());
    return write<bool>([&](Conn& c) -> ApiResult<bool> {
      if (!store_groups(c, eni_id, *groups))
        return internal("store interface groups: " + c.errmsg());
      return true;
    });
  }

  ApiResult<std::vector<NetworkInterface>> network_interfaces(const RequestContext& ctx) override {
    auto out = list<NetworkInterface>(
        ctx,
        std::string("SELECT ") + kInterfaceColumns +
            " FROM ec2_network_interfaces WHERE account = ? AND region = ? ORDER BY rowid",
        interface_row);
    if (!out) return out;
    auto s = read<bool>([&](Conn& c) -> ApiResult<bool> {
      for (auto& n : *out) {
        auto& q = c.stmt(
            "SELECT sg_id FROM ec2_network_interface_groups WHERE eni_id = ? ORDER BY position");
        q.bind_all(n.id);
        while (q.step()) n.security_groups.push_back(q.text(0));
        q.reset();
      }
      return true;
    });
    if (!s) return fail(s.error());
    return out;
  }

  ApiResult<NetworkInterface> network_interface(const RequestContext& ctx,
                                                const std::string& eni_id) override {
    auto all = network_interfaces(ctx);
    if (!all) return fail(all.error());
    for (auto& n : *all)
      if (n.id == eni_id) return n;
    return interface_not_found(eni_id);
  }

  std::vector<std::pair<std::string, std::string>> availability_zones(
      const std::string& region) override {
    return zones_of(region);
  }

  Status<> migrate() { return db_.ensure_schema("ec2", kMigrations); }

 private:
  static Unexpected<ServiceError> interface_not_found(const std::string& id) {
    return unmodeled_error("InvalidNetworkInterfaceID.NotFound", 400,
                         "The networkInterface ID '" + id + "' does not exist");
  }

  // Runs fn inside one write transaction; an error result rolls it back.
  template <class T>
  ApiResult<T> write(const std::function<ApiResult<T>(Conn&)>& fn) {
    std::optional<ApiResult<T>> out;
    auto s = db_.write([&](Conn& c) -> Status<> {
      out.emplace(fn(c));
      if (!out->ok()) return fail(Error{out->error().message});
      return {};
    });
    if (out && !out->ok()) return std::move(*out);
    if (!s) return internal("write transaction: " + s.error().message);
    return std::move(*out);
  }

  template <class T>
  ApiResult<T> read(const std::function<ApiResult<T>(Conn&)>& fn) {
    std::optional<ApiResult<T>> out;
    auto s = db_.read([&](Conn& c) -> Status<> {
      out.emplace(fn(c));
      return {};
    });
    if (!s || !out) return internal("read transaction: " + (s ? "" : s.error().message));
    return std::move(*out);
  }

  template <class T>
  ApiResult<std::vector<T>> list(const RequestContext& ctx, const std::string& sql,
                                 T (*row)(meta::Stmt&)) {
    if (auto e = ensure(ctx); !e) return fail(e.error());
    return read<std::vector<T>>([&](Conn& c) -> ApiResult<std::vector<T>> {
      std::vector<T> out;
      auto& q = c.stmt(sql);
      q.bind_all(ctx.account_id, ctx.region);
      while (q.step()) out.push_back(row(q));
      if (!q.error().empty()) return internal("list: " + q.error());
      return out;
    });
  }

  ApiResult<Vpc> find_vpc(const RequestContext& ctx, const std::string& vpc_id) {
    auto all = vpcs(ctx);
    if (!all) return fail(all.error());
    for (auto& v : *all)
      if (v.id == vpc_id) return v;
    return unmodeled_error("InvalidVpcID.NotFound", 400,
                         "The vpc ID '" + vpc_id + "' does not exist");
  }

  // Security groups for an interface in vpc_id: the VPC's default group when
  // none are given (as CreateMountTarget does), each one known and in the
  // same VPC, at most the per-interface quota.
  ApiResult<std::vector<std::string>> resolve_groups(const RequestContext& ctx,
                                                     const std::string& vpc_id,
                                                     const std::vector<std::string>& wanted) {
    if (wanted.empty()) {
      auto g = default_security_group(ctx, vpc_id);
      if (!g) return fail(g.error());
      return std::vector<std::string>{g->id};
    }
    if (static_cast<int>(wanted.size()) > limits_.max_security_groups_per_interface)
      return unmodeled_error("SecurityGroupLimitExceeded", 400,
                           "At most " + std::to_string(limits_.max_security_groups_per_interface) +
                               " security groups may be given");
    auto all = security_groups(ctx);
    if (!all) return fail(all.error());
    std::vector<std::string> out;
    for (const auto& id : wanted) {
      const SecurityGroup* found = nullptr;
      for (const auto& g : *all)
        if (g.id == id) found = &g;
      if (!found) return group_not_found(id);
      if (found->vpc_id != vpc_id)
        // EFS's model has no mismatch error; it reports such a group as not found.
        return unmodeled_error(
            "SecurityGroupNotFound", 400,
            "The security group '" + id + "' does not belong to VPC '" + vpc_id + "'");
      if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
    }
    return out;
  }

  static bool insert_group(Conn& c, const RequestContext& ctx, const SecurityGroup& g) {
    auto& q = c.stmt(
        "INSERT INTO ec2_security_groups(id, vpc_id, account, region, name, description) "
        "VALUES(?, ?, ?, ?, ?, ?)");
    return q.bind_all(g.id, g.vpc_id, ctx.account_id, ctx.region, g.name, g.description).run();
  }

  static bool store_groups(Conn& c, const std::string& eni_id,
                           const std::vector<std::string>& groups) {
    if (!c.stmt("DELETE FROM ec2_network_interface_groups WHERE eni_id = ?").bind_all(eni_id).run())
      return false;
    for (size_t i = 0; i < groups.size(); ++i) {
      auto& q = c.stmt(
          "INSERT INTO ec2_network_interface_groups(eni_id, position, sg_id) VALUES(?, ?, ?)");
      if (!q.bind_all(eni_id, static_cast<int64_t>(i), groups[i]).run()) return false;
    }
    return true;
  }

  // Creates the default VPC, its subnets and default security group the
  // first time an (account, region) is seen. Checked on every call (one
  // indexed read) rather than cached, so an emulator reset that empties the
  // tables gets a fresh default VPC instead of a stale answer.
  ApiResult<bool> ensure(const RequestContext& ctx) {
    static const std::string kHasDefault =
        "SELECT 1 FROM ec2_vpcs WHERE account = ? AND region = ? AND is_default = 1";
    auto present = read<bool>([&](Conn& c) -> ApiResult<bool> {
      auto& q = c.stmt(kHasDefault);
      q.bind_all(ctx.account_id, ctx.region);
      bool found = q.step();
      q.reset();
      return found;
    });
    if (!present) return present;
    if (*present) return true;
    return write<bool>([&](Conn& c) -> ApiResult<bool> {
      // Again inside the write transaction: another thread may have won.
      auto& again = c.stmt(kHasDefault);
      again.bind_all(ctx.account_id, ctx.region);
      bool found = again.step();
      again.reset();
      if (found) return true;
      // The /16 of this (account, region) is kept even if its VPC was
      // removed, so addresses handed out before stay where they were.
      auto& have = c.stmt("SELECT octet FROM ec2_regions WHERE account = ? AND region = ?");
      have.bind_all(ctx.account_id, ctx.region);
      std::optional<int> octet;
      if (have.step()) octet = static_cast<int>(have.i64(0));
      have.reset();
      if (!octet) {
        auto& next = c.stmt("SELECT COALESCE(MAX(octet) + 1, ?) FROM ec2_regions");
        next.bind_all(static_cast<int64_t>(kFirstRegionOctet));
        octet = next.step() ? static_cast<int>(next.i64(0)) : kFirstRegionOctet;
        next.reset();
        if (*octet > 255)
          return internal("no free 127.N.0.0/16 left for " + ctx.account_id + "/" + ctx.region);
        if (!c.stmt("INSERT INTO ec2_regions(account, region, octet) VALUES(?, ?, ?)")
                 .bind_all(ctx.account_id, ctx.region, static_cast<int64_t>(*octet))
                 .run())
          return internal("insert region: " + c.errmsg());
      }
      Vpc v;
      v.id = make_id("vpc");
      v.cidr_block = "127." + std::to_string(*octet) + ".0.0/16";
      v.cidr_association_id = make_id("vpc-cidr-assoc");
      v.ipv6_cidr_block = ipv6_text(ipv6_prefix(*octet, 0)) + "/48";
      v.ipv6_association_id = make_id("vpc-cidr-assoc");
      v.dhcp_options_id = make_id("dopt");
      auto& iv = c.stmt(
          "INSERT INTO ec2_vpcs(id, account, region, cidr, cidr_assoc, ipv6_cidr, ipv6_assoc, "
          "dhcp_options_id, is_default) VALUES(?, ?, ?, ?, ?, ?, ?, ?, 1)");
      if (!iv.bind_all(v.id, ctx.account_id, ctx.region, v.cidr_block, v.cidr_association_id,
                       v.ipv6_cidr_block, v.ipv6_association_id, v.dhcp_options_id)
               .run())
        return internal("insert vpc: " + iv.error());
      auto zones = zones_of(ctx.region);
      // A /16 holds sixteen /20s; no region has more zones than that.
      for (size_t i = 0; i < zones.size() && i < 16; ++i) {
        uint32_t base = (127u << 24) | (static_cast<uint32_t>(*octet) << 16) |
                        (static_cast<uint32_t>(i) << (32 - kSubnetPrefix));
        auto& is = c.stmt(
            "INSERT INTO ec2_subnets(id, vpc_id, account, region, az, az_id, cidr, ipv6_cidr, "
            "ipv6_assoc) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
        if (!is.bind_all(make_id("subnet"), v.id, ctx.account_id, ctx.region, zones[i].first,
                         zones[i].second, ipv4_text(base) + "/" + std::to_string(kSubnetPrefix),
                         ipv6_text(ipv6_prefix(*octet, static_cast<int>(i))) + "/64",
                         make_id("subnet-cidr-assoc"))
                 .run())
          return internal("insert subnet: " + is.error());
      }
      SecurityGroup g{make_id("sg"), "default", "default VPC security group", v.id, ctx.account_id};
      if (!insert_group(c, ctx, g)) return internal("insert default group: " + c.errmsg());
      spdlog::info("ec2: default VPC {} ({}) for account {} in {}", v.id, v.cidr_block,
                   ctx.account_id, ctx.region);
      return true;
    });
  }

  meta::Db& db_;
  NetworkLimits limits_;
};

}  // namespace

Result<std::unique_ptr<Network>, Error> Network::open(meta::Db& db) {
  return open(db, NetworkLimits{});
}

Result<std::unique_ptr<Network>, Error> Network::open(meta::Db& db, const NetworkLimits& limits) {
  auto n = std::make_unique<SqliteNetwork>(db, limits);
  if (auto s = n->migrate(); !s) return fail(s.error());
  return std::unique_ptr<Network>(std::move(n));
}

}  // namespace efs::ec2
