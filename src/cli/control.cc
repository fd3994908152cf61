#include "cli/control.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <vector>

#include "cli/http_client.h"

namespace efs::cli {

using nlohmann::json;

namespace {

// Options every control command takes.
struct Common {
  std::string endpoint;
  std::string output = "text";
};

// The API endpoint `efs-local serve` would listen on with the same
// environment (EFS_LOCAL_LISTEN, EFS_LOCAL_API_PORT), unless
// EFS_LOCAL_ENDPOINT names one.
std::string default_endpoint() {
  const char* listen = std::getenv("EFS_LOCAL_LISTEN");
  const char* port = std::getenv("EFS_LOCAL_API_PORT");
  std::string host = listen && *listen ? listen : "127.0.0.1";
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + (port && *port ? port : "2050");
}

void add_common(CLI::App* sub, Common& c) {
  sub->add_option("--endpoint", c.endpoint, "efs-local API endpoint")
      ->envname("EFS_LOCAL_ENDPOINT")
      ->default_str(default_endpoint());
  sub->add_option("--output", c.output, "json or text")
      ->capture_default_str()
      ->check(CLI::IsMember({"json", "text"}));
}

// One call; on failure prints why and sets *rc. nullopt on failure.
std::optional<json> call(const Common& c, const std::string& method, const std::string& path,
                         const json& body, int* rc, bool quiet_404 = false) {
  Endpoint ep;
  const std::string url = c.endpoint.empty() ? default_endpoint() : c.endpoint;
  if (auto err = parse_endpoint(url, &ep); !err.empty()) {
    std::cerr << "efs-local: " << err << "\n";
    *rc = 2;
    return std::nullopt;
  }
  auto r = http_call(ep, method, path, body.is_null() ? "" : body.dump());
  if (r.status == 0) {
    std::cerr << "efs-local: " << r.error << "\n";
    *rc = 3;
    return std::nullopt;
  }
  json doc = json::parse(r.body, nullptr, false);
  if (r.status >= 300) {
    if (!(quiet_404 && r.status == 404)) {
      std::string code = doc.is_object() ? doc.value("ErrorCode", doc.value("__type", "")) : "";
      std::string msg = doc.is_object() ? doc.value("Message", doc.value("message", r.body)) : r.body;
      std::cerr << "efs-local: " << method << " " << path << ": HTTP " << r.status
                << (code.empty() ? "" : " " + code) << ": " << msg << "\n";
    }
    *rc = 1;
    return std::nullopt;
  }
  if (doc.is_discarded()) {
    std::cerr << "efs-local: " << path << " did not answer JSON\n";
    *rc = 1;
    return std::nullopt;
  }
  return doc;
}

void print_json(const json& j) { std::cout << j.dump(2) << "\n"; }

std::string human_bytes(double b) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (std::fabs(b) >= 1024 && u < 5) {
    b /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

void print_clock(const json& j) {
  std::cout << j.value("now", "?") << " (offset " << j.value("offset_seconds", 0.0)
            << " s from real time)\n";
}

// ---- the commands ----

void clock_commands(CLI::App& app, int* rc) {
  auto* clock = app.add_subcommand("clock", "Show or advance the emulator's clock");
  clock->require_subcommand(0, 1);
  static Common c;
  static std::string by;
  auto* show = clock->add_subcommand("show", "Print the emulator clock (the default)");
  auto* advance = clock->add_subcommand("advance", "Move the clock forward (7d, 12h, 90m, 30s, 1d12h)");
  for (auto* a : {clock, show, advance}) add_common(a, c);
  advance->add_option("duration", by, "How far, e.g. 7d")->required();
  auto run_show = [rc] {
    if (auto j = call(c, "GET", "/_efs-local/clock", nullptr, rc))
      c.output == "json" ? print_json(*j) : print_clock(*j);
  };
  show->callback(run_show);
  advance->callback([rc] {
    auto s = parse_duration(by);
    if (!s) {
      std::cerr << "efs-local: not a duration: " << by << " (say 7d, 12h, 90m, 30s or 1d12h)\n";
      *rc = 2;
      return;
    }
    if (auto j = call(c, "POST", "/_efs-local/clock", {{"advance_seconds", *s}}, rc))
      c.output == "json" ? print_json(*j) : print_clock(*j);
  });
  clock->callback([clock, run_show] {
    if (clock->get_subcommands().empty()) run_show();
  });
}

void lifecycle_commands(CLI::App& app, int* rc) {
  auto* lc = app.add_subcommand("lifecycle", "Storage-class transitions");
  lc->require_subcommand(1);
  static Common c;
  static std::string fs;
  auto* run = lc->add_subcommand("run", "Run the lifecycle mover now (all file systems, or one)");
  add_common(run, c);
  run->add_option("file-system-id", fs, "fs-... (default: every file system)");
  run->callback([rc] {
    json body = json::object();
    if (!fs.empty()) body["FileSystemId"] = fs;
    auto j = call(c, "POST", "/_efs-local/lifecycle/run", body, rc);
    if (!j) return;
    if (c.output == "json") return print_json(*j);
    const json moved = j->value("moved", json::array());
    for (const auto& m : moved)
      std::cout << m.value("FileSystemId", "") << " " << m.value("path", "") << " (inode "
                << m.value("inode", json(0)).dump() << "): " << m.value("from", "") << " -> "
                << m.value("to", "") << ", " << human_bytes(m.value("bytes", 0.0)) << "\n";
    std::cout << "moved " << moved.size() << (moved.size() == 1 ? " file\n" : " files\n");
  });
}

void credits_commands(CLI::App& app, int* rc) {
  auto* cr = app.add_subcommand("credits", "Burst credits of a bursting file system");
  cr->require_subcommand(1);
  static Common c;
  static std::string fs;
  static double bytes = 0;
  auto* set = cr->add_subcommand("set", "Set a file system's burst credit balance (bytes)");
  add_common(set, c);
  set->add_option("file-system-id", fs, "fs-...")->required();
  set->add_option("bytes", bytes, "New balance in bytes")->required()->check(CLI::NonNegativeNumber);
  auto* show = cr->add_subcommand("show", "Print a file system's burst credit balance");
  add_common(show, c);
  show->add_option("file-system-id", fs, "fs-...")->required();
  auto print = [](const json& j) {
    if (c.output == "json") return print_json(j);
    std::cout << j.value("FileSystemId", fs) << ": burst credit balance "
              << human_bytes(j.value("BurstCreditBalance", 0.0)) << ", permitted throughput "
              << human_bytes(j.value("PermittedThroughput", 0.0)) << "/s\n";
  };
  set->callback([rc, print] {
    if (auto j = call(c, "PUT", "/_efs-local/file-systems/" + fs + "/burst-credits",
                      {{"bytes", bytes}}, rc))
      print(*j);
  });
  show->callback([rc, print] {
    if (auto j = call(c, "GET", "/_efs-local/file-systems/" + fs + "/burst-credits", nullptr, rc))
      print(*j);
  });
}

// The NFS host a mount should name: the endpoint's host (a wildcard listen
// address is reached on loopback).
std::string nfs_host(const Common& c) {
  Endpoint ep;
  parse_endpoint(c.endpoint.empty() ? default_endpoint() : c.endpoint, &ep);
  if (ep.host == "0.0.0.0") return "127.0.0.1";
  if (ep.host.find(':') != std::string::npos) return "[" + ep.host + "]";
  return ep.host;
}

void mount_command(CLI::App& app, int* rc) {
  auto* mc = app.add_subcommand("mount-command",
                                "Print the mount command for a file system or access point");
  static Common c;
  static std::string id, mount_point = "/mnt/efs", vers = "4.1";
  add_common(mc, c);
  mc->add_option("id", id, "fs-... or fsap-...")->required();
  mc->add_option("--mount-point", mount_point, "Where to mount")->capture_default_str();
  mc->add_option("--vers", vers, "NFS version")->capture_default_str()
      ->check(CLI::IsMember({"4.0", "4.1"}));
  mc->callback([rc] {
    auto health = call(c, "GET", "/_efs-local/health", nullptr, rc);
    if (!health) return;
    const int port = health->value("nfs_port", 2049);
    std::string source;
    if (id.rfind("fsap-", 0) == 0) {
      if (!call(c, "GET", "/2015-02-01/access-points?AccessPointId=" + id, nullptr, rc)) return;
      source = nfs_host(c) + ":/" + id;
    } else if (id.rfind("fs-", 0) == 0) {
      if (!call(c, "GET", "/2015-02-01/file-systems?FileSystemId=" + id, nullptr, rc)) return;
      auto mts = call(c, "GET", "/2015-02-01/mount-targets?FileSystemId=" + id, nullptr, rc);
      if (!mts) return;
      // A mount target's own address serves the file system at "/", as on
      // AWS; without one the shared address serves it at /fs-....
      for (const auto& mt : mts->value("MountTargets", json::array()))
        if (mt.value("LifeCycleState", "") == "available" && mt.contains("IpAddress")) {
          source = mt["IpAddress"].get<std::string>() + ":/";
          break;
        }
      if (source.empty()) source = nfs_host(c) + ":/" + id;
    } else {
      std::cerr << "efs-local: " << id << " is neither a file system (fs-...) nor an access point (fsap-...)\n";
      *rc = 2;
      return;
    }
    const std::string cmd = "mount -t nfs4 -o vers=" + vers + ",port=" + std::to_string(port) +
                            " " + source + " " + mount_point;
    if (c.output == "json")
      print_json({{"command", cmd}, {"source", source}, {"port", port}});
    else
      std::cout << cmd << "\n";
  });
}

// `efs-local health`: exit 0 once the server answers /_efs-local/health, so
// a container's HEALTHCHECK or a CI wait loop needs no curl.
void health_command(CLI::App& app, int* rc) {
  auto* h = app.add_subcommand("health", "Check that a server answers (exit 0 healthy, 3 none)");
  static Common c;
  add_common(h, c);
  h->callback([rc] {
    auto j = call(c, "GET", "/_efs-local/health", nullptr, rc);
    if (!j) return;
    if (c.output == "json") return print_json(*j);
    std::cout << j->value("status", "?") << ": efs-local " << j->value("version", "")
              << ", NFS port " << j->value("nfs_port", json(0)).dump() << ", API port "
              << j->value("api_port", json(0)).dump() << ", data in " << j->value("data_dir", "")
              << "\n";
  });
}

void status_command(CLI::App& app, int* rc) {
  auto* st = app.add_subcommand(
      "status", "File systems, mount targets, sizes by class, throughput and credits");
  static Common c;
  add_common(st, c);
  st->callback([rc] {
    auto clock = call(c, "GET", "/_efs-local/clock", nullptr, rc);
    if (!clock) return;
    json out = {{"clock", *clock}, {"FileSystems", json::array()}};
    std::string marker;
    for (;;) {  // every page
      auto page = call(c, "GET", "/2015-02-01/file-systems" + (marker.empty() ? "" : "?Marker=" + marker),
                       nullptr, rc);
      if (!page) return;
      for (auto fs : page->value("FileSystems", json::array())) {
        const std::string id = fs.value("FileSystemId", "");
        auto mts = call(c, "GET", "/2015-02-01/mount-targets?FileSystemId=" + id, nullptr, rc);
        if (!mts) return;
        fs["MountTargets"] = mts->value("MountTargets", json::array());
        int ignored = 0;  // older servers have no throughput figures
        if (auto t = call(c, "GET", "/_efs-local/file-systems/" + id + "/throughput", nullptr,
                          &ignored, /*quiet_404=*/true))
          fs["Throughput"] = *t;
        out["FileSystems"].push_back(fs);
      }
      marker = page->value("NextMarker", "");
      if (marker.empty()) break;
    }
    if (c.output == "json") return print_json(out);
    std::cout << "clock ";
    print_clock(*clock);
    if (out["FileSystems"].empty()) std::cout << "no file systems\n";
    for (const auto& fs : out["FileSystems"]) {
      const json size = fs.value("SizeInBytes", json::object());
      std::cout << fs.value("FileSystemId", "") << "  " << fs.value("Name", "") << "  "
                << fs.value("LifeCycleState", "") << "  " << fs.value("ThroughputMode", "")
                << (fs.contains("ProvisionedThroughputInMibps")
                        ? " " + fs["ProvisionedThroughputInMibps"].dump() + " MiB/s"
                        : "")
                << (fs.value("Encrypted", false) ? "  encrypted" : "") << "\n"
                << "  size " << human_bytes(size.value("Value", 0.0)) << " (Standard "
                << human_bytes(size.value("ValueInStandard", 0.0)) << ", IA "
                << human_bytes(size.value("ValueInIA", 0.0)) << ", Archive "
                << human_bytes(size.value("ValueInArchive", 0.0)) << ")\n";
      if (fs.contains("Throughput")) {
        const auto& t = fs["Throughput"];
        std::cout << "  burst credits " << human_bytes(t.value("BurstCreditBalance", 0.0))
                  << ", permitted " << human_bytes(t.value("PermittedThroughput", 0.0))
                  << "/s, metered I/O " << human_bytes(t.value("MeteredIOBytes", 0.0)) << "\n";
      }
      for (const auto& mt : fs["MountTargets"])
        std::cout << "  mount target " << mt.value("MountTargetId", "") << "  "
                  << mt.value("IpAddress", mt.value("Ipv6Address", "")) << "  "
                  << mt.value("AvailabilityZoneName", "") << "  " << mt.value("LifeCycleState", "")
                  << "\n";
    }
  });
}

void completion_command(CLI::App& app, int* rc) {
  auto* comp = app.add_subcommand("completion", "Print a shell completion script (bash)");
  static std::string shell = "bash";
  comp->add_option("shell", shell, "bash")->capture_default_str()->check(CLI::IsMember({"bash"}));
  comp->callback([&app, rc] {
    std::cout << bash_completion(app);
    *rc = 0;
  });
}

void collect(const CLI::App* a, const std::string& path,
             std::vector<std::pair<std::string, std::string>>* out) {
  std::string words;
  for (const auto* sub : a->get_subcommands({})) {
    words += (words.empty() ? "" : " ") + sub->get_name();
  }
  for (const auto* opt : a->get_options()) {
    for (const auto& l : opt->get_lnames()) words += (words.empty() ? "--" : " --") + l;
  }
  out->push_back({path, words});
  for (const auto* sub : a->get_subcommands({}))
    collect(sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), out);
}

}  // namespace

std::optional<double> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  static const std::map<char, double> unit = {
      {'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
  double total = 0;
  std::size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    std::size_t start = i;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    if (i == start) return std::nullopt;
    double v = std::strtod(std::string(text.substr(start, i - start)).c_str(), nullptr);
    double mult = 1;
    if (i < text.size()) {
      auto u = unit.find(text[i]);
      if (u == unit.end()) return std::nullopt;
      mult = u->second;
      ++i;
    } else if (any) {
      return std::nullopt;  // "1d5": a bare number only alone
    }
    total += v * mult;
    any = true;
  }
  return total;
}

std::string bash_completion(const CLI::App& app) {
  std::vector<std::pair<std::string, std::string>> nodes;
  collect(&app, "", &nodes);
  std::string s =
      "# bash completion for efs-local (generated by `efs-local completion bash`)\n"
      "_efs_local() {\n"
      "  local cur=${COMP_WORDS[COMP_CWORD]} path='' w words\n"
      "  for w in \"${COMP_WORDS[@]:1:COMP_CWORD-1}\"; do\n"
      "    case $w in -*) ;; *) case \" $(_efs_local_words \"$path\") \" in *\" $w \"*)\n"
      "      path=${path:+$path }$w ;; esac ;; esac\n"
      "  done\n"
      "  words=$(_efs_local_words \"$path\")\n"
      "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
      "}\n"
      "_efs_local_words() {\n"
      "  case $1 in\n";
  for (const auto& [path, words] : nodes) s += "    '" + path + "') echo '" + words + "' ;;\n";
  s += "  esac\n}\ncomplete -F _efs_local efs-local\n";
  return s;
}

void add_control_commands(CLI::App& app, int* rc) {
  clock_commands(app, rc);
  lifecycle_commands(app, rc);
  credits_commands(app, rc);
  mount_command(app, rc);
  status_command(app, rc);
  health_command(app, rc);
  completion_command(app, rc);
}

}  // namespace efs::cli
