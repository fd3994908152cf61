#include "api/ec2_query.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <set>

#include "api/ec2_shapes.h"
#include "common/ids.h"
#include "common/wildcard.h"

namespace efs::api {
namespace {

using namespace ec2;

constexpr const char* kNamespace = "http://ec2.amazonaws.com/doc/2016-11-15/";

// ---- request parameters ----

struct Filter {
  std::string name;
  std::vector<std::string> values;
};

class Params {
 public:
  void add(std::string key, std::string value) { values_[std::move(key)] = std::move(value); }
  const std::string* get(const std::string& key) const {
    auto it = values_.find(key);
    return it == values_.end() ? nullptr : &it->second;
  }
  std::string value(const std::string& key) const {
    auto v = get(key);
    return v ? *v : std::string();
  }
  // The members of a list parameter (prefix.1, prefix.2, ...) in index
  // order. The query protocol numbers from 1; gaps are tolerated.
  std::vector<std::string> list(const std::string& prefix) const {
    std::map<long, std::string> byIndex;
    for (auto it = values_.lower_bound(prefix + "."); it != values_.end(); ++it) {
      if (it->first.compare(0, prefix.size() + 1, prefix + ".") != 0) break;
      auto rest = it->first.substr(prefix.size() + 1);
      if (rest.empty() || rest.size() > 6 ||
          !std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; }))
        continue;
      byIndex[std::stol(rest)] = it->second;
    }
    std::vector<std::string> out;
    for (auto& [i, v] : byIndex) out.push_back(v);
    return out;
  }
  // Filter.N.Name with its Filter.N.Value.M.
  ApiResult<std::vector<Filter>> filters() const {
    std::map<long, Filter> byIndex;
    for (auto it = values_.lower_bound("Filter."); it != values_.end(); ++it) {
      if (it->first.compare(0, 7, "Filter.") != 0) break;
      auto rest = it->first.substr(7);
      auto dot = rest.find('.');
      auto index = rest.substr(0, dot);
      if (dot == std::string::npos || index.empty() || index.size() > 6 ||
          !std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return unmodeled_error("InvalidParameterValue", 400,
                             "The parameter " + it->first + " is not recognized");
      auto& f = byIndex[std::stol(index)];
      if (rest.substr(dot + 1) == "Name") f.name = it->second;
    }
    std::vector<Filter> out;
    for (auto& [i, f] : byIndex) {
      if (f.name.empty())
        return unmodeled_error("InvalidParameterValue", 400,
                             "Filter." + std::to_string(i) + ".Name is missing");
      f.values = list("Filter." + std::to_string(i) + ".Value");
      if (f.values.empty())
        return unmodeled_error("InvalidParameterCombination", 400,
                             "The filter '" + f.name + "' has no values");
      out.push_back(std::move(f));
    }
    return out;
  }

 private:
  std::map<std::string, std::string> values_;
};

// ---- errors ----

// EFS-named errors from efs::ec2::Network become the EC2 codes a caller of the
// EC2 API would see for the same condition.
std::string ec2_code(const std::string& code) {
  static const std::map<std::string, std::string> kCodes = {
      {"SubnetNotFound", "InvalidSubnetID.NotFound"},
      {"SecurityGroupNotFound", "InvalidGroup.NotFound"},
      {"BadRequest", "InvalidParameterValue"},
      {"InternalServerError", "InternalError"},
  };
  auto it = kCodes.find(code);
  return it == kCodes.end() ? code : it->second;
}

// IDs are prefix- followed by 8 (older resources) or 17 lowercase hex digits.
bool well_formed(const std::string& id, std::string_view prefix) {
  if (id.size() <= prefix.size() + 1 || id.compare(0, prefix.size(), prefix) != 0 ||
      id[prefix.size()] != '-')
    return false;
  auto hex = std::string_view(id).substr(prefix.size() + 1);
  return (hex.size() == 8 || hex.size() == 17) && std::all_of(hex.begin(), hex.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// ---- filters ----


// The values a resource has for one filter name; nullopt if the name is not
// a filter of this resource type. Tag filters are valid and match nothing
// (no resource carries tags here).
template <class T>
using FieldsOf = std::function<Values(const T&, const std::string&)>;

bool is_tag_filter(const std::string& name) {
  return name.rfind("tag:", 0) == 0 || name == "tag-key" || name == "tag-value";
}

template <class T>
ApiResult<std::vector<T>> apply_filters(std::vector<T> items, const std::vector<Filter>& filters,
                                        const FieldsOf<T>& fields) {
  for (const auto& f : filters) {
    std::vector<T> kept;
    for (auto& item : items) {
      Values have =
          is_tag_filter(f.name) ? Values(std::vector<std::string>{}) : fields(item, f.name);
      if (!have)
        return unmodeled_error("InvalidParameterValue", 400,
                             "The filter '" + f.name + "' is invalid");
      bool hit = std::any_of(have->begin(), have->end(), [&](const std::string& v) {
        return std::any_of(f.values.begin(), f.values.end(),
                           [&](const std::string& p) { return wildcard_match(p, v); });
      });
      if (hit) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  return items;
}

// Keeps the items whose id is listed; every listed id must exist.
template <class T>
ApiResult<std::vector<T>> select_ids(std::vector<T> items, const std::vector<std::string>& ids,
                                     std::string_view prefix, const std::string& malformed,
                                     const std::string& not_found, const std::string& noun) {
  if (ids.empty()) return items;
  for (const auto& id : ids) {
    if (!well_formed(id, prefix))
      return unmodeled_error(malformed, 400, "Invalid id: \"" + id + "\"");
    if (std::none_of(items.begin(), items.end(), [&](const T& i) { return i.id == id; }))
      return unmodeled_error(not_found, 400, "The " + noun + " ID '" + id + "' does not exist");
  }
  std::erase_if(items,
                [&](const T& i) { return std::find(ids.begin(), ids.end(), i.id) == ids.end(); });
  return items;
}

// ---- pagination (MaxResults / NextToken) ----

struct Page {
  size_t start = 0;
  size_t size = SIZE_MAX;
};

ApiResult<Page> page_of(const Params& p) {
  Page page;
  if (auto m = p.get("MaxResults")) {
    // EC2 takes 5..1000 for these Describe calls.
    char* end = nullptr;
    long n = std::strtol(m->c_str(), &end, 10);
    if (m->empty() || *end != '\0' || n < 5 || n > 1000)
      return unmodeled_error("InvalidParameterValue", 400,
                           "Value ( " + *m +
                               " ) for parameter maxResults is invalid. Expecting "
                               "a value between 5 and 1000.");
    page.size = static_cast<size_t>(n);
  }
  if (auto t = p.get("NextToken"); t && !t->empty()) {
    if (t->rfind("efs-local-", 0) != 0 || t->size() > 20 ||
        !std::all_of(t->begin() + 10, t->end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        t->size() == 10)
      return unmodeled_error("InvalidNextToken", 400, "The token '" + *t + "' is invalid");
    page.start = std::stoul(t->substr(10));
  }
  return page;
}

// Writes the page of items into set_tag and the nextToken when more remain.
template <class T>
void write_page(Xml& x, const std::vector<T>& items, const Page& page, const char* set_tag,
                const std::function<void(Xml&, const T&)>& item) {
  x.open(set_tag);
  size_t end = page.start + std::min(page.size, items.size());
  end = std::min(end, items.size());
  for (size_t i = page.start; i < end; ++i) {
    x.open("item");
    item(x, items[i]);
    x.close("item");
  }
  x.close(set_tag);
  if (end < items.size()) x.leaf("nextToken", "efs-local-" + std::to_string(end));
}

// ---- actions ----

struct Call {
  const Params& params;
  const RequestContext& ctx;
  efs::ec2::Network& network;
  Xml& xml;
};

using Action = ApiResult<bool> (*)(Call&);

ApiResult<bool> describe_vpcs(Call& c) {
  auto filters = c.params.filters();
  if (!filters) return fail(filters.error());
  auto page = page_of(c.params);
  if (!page) return fail(page.error());
  auto all = c.network.vpcs(c.ctx);
  if (!all) return fail(all.error());
  auto picked = select_ids(std::move(*all), c.params.list("VpcId"), "vpc", "InvalidVpcID.Malformed",
                           "InvalidVpcID.NotFound", "vpc");
  if (!picked) return fail(picked.error());
  auto kept = apply_filters<Vpc>(std::move(*picked), *filters, vpc_fields);
  if (!kept) return fail(kept.error());
  write_page<Vpc>(c.xml, *kept, *page, "vpcSet", vpc_xml);
  return true;
}

ApiResult<bool> describe_subnets(Call& c) {
  auto filters = c.params.filters();
  if (!filters) return fail(filters.error());
  auto page = page_of(c.params);
  if (!page) return fail(page.error());
  auto all = c.network.subnets(c.ctx);
  if (!all) return fail(all.error());
  auto picked = select_ids(std::move(*all), c.params.list("SubnetId"), "subnet",
                           "InvalidSubnetID.Malformed", "InvalidSubnetID.NotFound", "subnet");
  if (!picked) return fail(picked.error());
  auto kept = apply_filters<Subnet>(std::move(*picked), *filters, subnet_fields);
  if (!kept) return fail(kept.error());
  write_page<Subnet>(c.xml, *kept, *page, "subnetSet", subnet_xml);
  return true;
}

ApiResult<bool> describe_security_groups(Call& c) {
  auto filters = c.params.filters();
  if (!filters) return fail(filters.error());
  auto page = page_of(c.params);
  if (!page) return fail(page.error());
  auto all = c.network.security_groups(c.ctx);
  if (!all) return fail(all.error());
  auto picked = select_ids(std::move(*all), c.params.list("GroupId"), "sg",
                           "InvalidGroupId.Malformed", "InvalidGroup.NotFound", "security group");
  if (!picked) return fail(picked.error());
  // GroupName.N names groups of the default VPC (EC2 DescribeSecurityGroups).
  if (auto names = c.params.list("GroupName"); !names.empty()) {
    auto vpc = c.network.default_vpc(c.ctx);
    if (!vpc) return fail(vpc.error());
    for (const auto& name : names)
      if (std::none_of(picked->begin(), picked->end(), [&](const SecurityGroup& g) {
            return g.name == name && g.vpc_id == vpc->id;
          }))
        return unmodeled_error(
            "InvalidGroup.NotFound", 400,
            "The security group '" + name + "' does not exist in default VPC '" + vpc->id + "'");
    std::erase_if(*picked, [&](const SecurityGroup& g) {
      return g.vpc_id != vpc->id || std::find(names.begin(), names.end(), g.name) == names.end();
    });
  }
  auto kept = apply_filters<SecurityGroup>(std::move(*picked), *filters, group_fields);
  if (!kept) return fail(kept.error());
  const std::string& region = c.ctx.region;
  write_page<SecurityGroup>(c.xml, *kept, *page, "securityGroupInfo",
                            [&](Xml& x, const SecurityGroup& g) { group_xml(x, g, region); });
  return true;
}

ApiResult<bool> create_security_group(Call& c) {
  auto g =
      c.network.create_security_group(c.ctx, c.params.value("GroupName"),
                                      c.params.value("GroupDescription"), c.params.value("VpcId"));
  if (!g) return fail(g.error());
  c.xml.leaf("return", true).leaf("groupId", g->id);
  c.xml.leaf("securityGroupArn", arn(c.ctx.region, g->owner_id, "security-group", g->id));
  return true;
}

ApiResult<bool> describe_network_interfaces(Call& c) {
  auto filters = c.params.filters();
  if (!filters) return fail(filters.error());
  auto page = page_of(c.params);
  if (!page) return fail(page.error());
  auto groups = c.network.security_groups(c.ctx);
  if (!groups) return fail(groups.error());
  std::map<std::string, std::string> names;
  for (const auto& g : *groups) names[g.id] = g.name;
  auto all = c.network.network_interfaces(c.ctx);
  if (!all) return fail(all.error());
  auto picked = select_ids(std::move(*all), c.params.list("NetworkInterfaceId"), "eni",
                           "InvalidNetworkInterfaceID.Malformed",
                           "InvalidNetworkInterfaceID.NotFound", "networkInterface");
  if (!picked) return fail(picked.error());
  FieldsOf<NetworkInterface> fields = [&](const NetworkInterface& n, const std::string& f) {
    return interface_fields(n, f, names);
  };
  auto kept = apply_filters(std::move(*picked), *filters, fields);
  if (!kept) return fail(kept.error());
  write_page<NetworkInterface>(
      c.xml, *kept, *page, "networkInterfaceSet",
      [&](Xml& x, const NetworkInterface& n) { interface_xml(x, n, names); });
  return true;
}

ApiResult<bool> describe_availability_zones(Call& c) {
  auto filters = c.params.filters();
  if (!filters) return fail(filters.error());
  struct Zone {
    std::string id, name;
  };
  std::vector<Zone> zones;
  for (auto& [name, id] : c.network.availability_zones(c.ctx.region)) zones.push_back({id, name});
  std::vector<Zone> picked;
  auto want_names = c.params.list("ZoneName");
  auto want_ids = c.params.list("ZoneId");
  for (const auto& w : want_names)
    if (std::none_of(zones.begin(), zones.end(), [&](const Zone& z) { return z.name == w; }))
      return unmodeled_error("InvalidParameterValue", 400, "Invalid availability zone: [" + w + "]");
  for (const auto& w : want_ids)
    if (std::none_of(zones.begin(), zones.end(), [&](const Zone& z) { return z.id == w; }))
      return unmodeled_error("InvalidParameterValue", 400, "Invalid availability zone: [" + w + "]");
  for (auto& z : zones) {
    bool by_name = std::find(want_names.begin(), want_names.end(), z.name) != want_names.end();
    bool by_id = std::find(want_ids.begin(), want_ids.end(), z.id) != want_ids.end();
    if ((want_names.empty() && want_ids.empty()) || by_name || by_id) picked.push_back(z);
  }
  const std::string& region = c.ctx.region;
  FieldsOf<Zone> fields = [&](const Zone& z, const std::string& f) -> Values {
    if (f == "zone-name") return one(z.name);
    if (f == "zone-id") return one(z.id);
    if (f == "region-name" || f == "group-name" || f == "network-border-group") return one(region);
    if (f == "state") return one(std::string("available"));
    if (f == "zone-type") return one(std::string("availability-zone"));
    if (f == "opt-in-status") return one(std::string("opt-in-not-required"));
    if (f == "message") return std::vector<std::string>{};
    return std::nullopt;
  };
  auto kept = apply_filters(std::move(picked), *filters, fields);
  if (!kept) return fail(kept.error());
  auto& x = c.xml;
  x.open("availabilityZoneInfo");
  for (const auto& z : *kept) {
    x.open("item").leaf("zoneName", z.name).leaf("zoneState", "available");
    x.leaf("regionName", region).empty("messageSet").leaf("zoneId", z.id);
    x.leaf("zoneType", "availability-zone").leaf("optInStatus", "opt-in-not-required");
    x.leaf("groupName", region).leaf("networkBorderGroup", region).close("item");
  }
  x.close("availabilityZoneInfo");
  return true;
}

const std::map<std::string, Action>& actions() {
  static const std::map<std::string, Action> kActions = {
      {"DescribeVpcs", describe_vpcs},
      {"DescribeSubnets", describe_subnets},
      {"DescribeSecurityGroups", describe_security_groups},
      {"CreateSecurityGroup", create_security_group},
      {"DescribeNetworkInterfaces", describe_network_interfaces},
      {"DescribeAvailabilityZones", describe_availability_zones},
  };
  return kActions;
}

bool is_form(const http::Request& req) {
  auto type = req.header("content-type");
  return !type || type->rfind("application/x-www-form-urlencoded", 0) == 0;
}

Params params_of(const http::Request& req) {
  Params p;
  for (const auto& [k, v] : req.query) p.add(k, v);
  if (!req.body.empty() && is_form(req))
    for (auto& [k, v] : parse_form(req.body)) p.add(std::move(k), std::move(v));
  return p;
}

// EC2 sends the request ID both in the body and as x-amzn-RequestId: the
// JavaScript SDK v3 takes $metadata.requestId from the header only.
http::Response xml_response(int status, std::string body, const std::string& request_id) {
  http::Response r;
  r.status = status;
  r.set_header("Content-Type", "text/xml;charset=UTF-8");
  r.set_header("Server", "AmazonEC2");
  r.set_header("x-amzn-RequestId", request_id);
  r.body = std::move(body);
  return r;
}

http::Response error_response(const ServiceError& e, const std::string& action,
                              const std::string& request_id) {
  auto code = ec2_code(e.code);
  int status = code == "InternalError" ? 500 : code == "DryRunOperation" ? 412 : 400;
  spdlog::info("ec2: {} failed: {} ({})", action.empty() ? "request" : action, code, e.message);
  Xml x;
  x.str() = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x.open("Response").open("Errors").open("Error").leaf("Code", code).leaf("Message", e.message);
  x.close("Error").close("Errors").leaf("RequestID", request_id).close("Response");
  return xml_response(status, std::move(x.str()), request_id);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_form(std::string_view form) {
  auto decode = [](std::string_view s) {
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        out += ' ';
      } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
        out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
        i += 2;
      } else {
        out += s[i];
      }
    }
    return out;
  };
  std::vector<std::pair<std::string, std::string>> out;
  size_t start = 0;
  while (start <= form.size()) {
    auto amp = form.find('&', start);
    auto part =
        form.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    if (!part.empty()) {
      auto eq = part.find('=');
      out.emplace_back(decode(part.substr(0, eq)),
                       eq == std::string_view::npos ? std::string() : decode(part.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  return out;
}

Ec2QueryService::Ec2QueryService(efs::ec2::Network& network) : network_(network) {}

bool Ec2QueryService::matches(const http::Request& req) const {
  if (req.path.rfind("/2015-02-01/", 0) == 0 || req.path.rfind("/_efs-local/", 0) == 0 ||
      req.header("x-amz-target"))
    return false;
  for (const auto& [k, v] : req.query)
    if (k == "Action") return true;
  if (req.method != "POST" || !is_form(req)) return false;
  for (const auto& [k, v] : parse_form(req.body))
    if (k == "Action") return true;
  return false;
}

http::Response Ec2QueryService::handle(const http::Request& req, const efs::RequestContext& ctx) {
  auto request_id = ctx.request_id.empty() ? random_uuid() : ctx.request_id;
  auto params = params_of(req);
  auto action = params.value("Action");
  auto it = actions().find(action);
  if (it == actions().end())
    return error_response(
        ServiceError{"InvalidAction", 400,
                     "The action " + action + " is not valid for this web service."},
        action, request_id);
  // DryRun asks only whether the call would be allowed; it always would.
  if (params.value("DryRun") == "true")
    return error_response(ServiceError{"DryRunOperation", 412,
                                       "Request would have succeeded, but DryRun flag is set."},
                          action, request_id);
  Xml x;
  x.str() = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<" + action + "Response xmlns=\"" +
            kNamespace + "\">";
  x.leaf("requestId", request_id);
  Call call{params, ctx, network_, x};
  auto r = it->second(call);
  if (!r) return error_response(r.error(), action, request_id);
  x.close(action + "Response");
  return xml_response(200, std::move(x.str()), request_id);
}

}  // namespace efs::api
