// nfsbench: an NFSv4.1 load generator (the client is bench/nfs_client.h).
// One TCP connection and one session with `qd` slots for the single-client
// figures; `--clients N` connections and sessions at once for the many-client
// ones. 1 MiB READ and WRITE for streaming, 4 KiB for random reads,
// OPEN/CLOSE for creates, LOOKUP+GETATTR for stats, READDIR for a directory
// walk, RENAME, REMOVE, and an "untar" mix (figures_meta.cc).
//
//   nfsbench --server 127.0.0.1:2049 --export /fs-0123... --dir b --test seqwrite --qd 8
//            [--size-mib 1024] [--count 10000] [--clients 16] [--name many]
//            [--server-pid PID]   (to account the server's CPU in the timed phase)
//            [--tls-ca CA.pem --tls-host fs-….efs.REGION.amazonaws.com]   (TLS to the
//            server itself, checked as efs-utils checks it; every connection)
//
// Tests: setup (mkdir --dir), seqwrite, seqread, randread (need seqwrite's
// file), create (in --dir/--name, a fresh name by default), stat and readdir
// (of --dir/--name, made by create), rename, remove, untar, clients-randread,
// clients-create.
//
// Prints one line of JSON per test: {"test":..., "seconds":..., "ops":...,
// "bytes":..., "ops_per_s":..., "mib_per_s":..., "p50_ms":..., "p99_ms":...,
// "cpu":{...}} (cpu_meter.h). Exits 1 with a message on stderr if any
// request failed or any answer was wrong; it asserts nothing about speed.
#include <algorithm>
#include <cstdio>
#include <string>

#include "figures.h"

using namespace nfsbench;
using namespace nfsbench::x;

namespace {

double percentile_ms(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k] * 1e3;
}

void print(const std::string& test, uint32_t qd, uint32_t clients, const Figures& f) {
  std::printf(
      "{\"test\":\"%s\",\"qd\":%u,\"clients\":%u,\"seconds\":%.6f,\"ops\":%llu,\"bytes\":%llu,"
      "\"ops_per_s\":%.1f,\"mib_per_s\":%.2f,\"p50_ms\":%.4f,\"p99_ms\":%.4f,\"cpu\":%s}\n",
      test.c_str(), qd, clients, f.seconds, (unsigned long long)f.ops, (unsigned long long)f.bytes,
      f.ops / f.seconds, f.bytes / f.seconds / kMiB, percentile_ms(f.latency_s, 0.50),
      percentile_ms(f.latency_s, 0.99), to_json(f.cpu).c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string server = "127.0.0.1:2049", exp = "/", test, dirname = "bench", name;
  uint32_t qd = 1, clients = 16;
  int server_pid = 0;
  std::string tls_ca, tls_host;
  uint64_t size = 1024ull * kMiB, count = 10000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die(cat("missing value for ", a));
      return argv[++i];
    };
    try {
      if (a == "--server") server = next();
      else if (a == "--export") exp = next();
      else if (a == "--test") test = next();
      else if (a == "--qd") qd = static_cast<uint32_t>(std::stoul(next()));
      else if (a == "--size-mib") size = std::stoull(next()) * kMiB;
      else if (a == "--count") count = std::stoull(next());
      else if (a == "--dir") dirname = next();
      else if (a == "--name") name = next();
      else if (a == "--clients") clients = static_cast<uint32_t>(std::stoul(next()));
      else if (a == "--server-pid") server_pid = std::stoi(next());
      else if (a == "--tls-ca") tls_ca = next();
      else if (a == "--tls-host") tls_host = next();
      else die(cat("unknown option ", a, " (see the comment at the top of bench/nfsbench.cc)"));
    } catch (const std::logic_error&) {
      die(cat("bad number for ", a));
    }
  }
  if (qd == 0) die("--qd must be at least 1");
  if (count == 0) die("--count must be at least 1");
  auto colon = server.rfind(':');
  if (colon == std::string::npos) die("--server HOST:PORT");
  Target target{server.substr(0, colon), static_cast<uint16_t>(std::stoul(server.substr(colon + 1))),
                cat(exp, "/", dirname)};
  if (!tls_ca.empty()) use_tls(tls_ca, tls_host);
  RpcConn conn(target.host, target.port);
  // At least 16 slots: the rename and remove figures prepare their files 16 at a time.
  Session s(conn, std::max<uint32_t>(qd, 16));
  CpuMeter meter(server_pid);

  if (test == "setup") {
    mkdir(s, resolve(s, exp), dirname);
    return 0;
  }
  nfs_fh4 dir = resolve(s, target.dir_path);
  auto sub = [&] { return resolve(s, cat(target.dir_path, "/", name.empty() ? std::string("many") : name)); };
  if (test == "seqwrite") print(test, qd, 1, seq_write(s, meter, dir, size, qd));
  else if (test == "seqread") print(test, qd, 1, reads(s, meter, dir, size, kMiB, size / kMiB, false, qd));
  else if (test == "randread") print(test, qd, 1, reads(s, meter, dir, size, 4096, count, true, qd));
  else if (test == "create") {
    nfs_fh4 d = mkdir(s, dir, name.empty() ? unique_name("create") : name);
    print(test, qd, 1, creates(s, meter, d, count, qd));
  } else if (test == "stat") print(test, qd, 1, stats(s, meter, sub(), count, qd));
  else if (test == "readdir") print(test, 1, 1, readdir_walk(s, meter, sub(), count));
  else if (test == "rename") print(test, qd, 1, renames(s, meter, dir, count, qd));
  else if (test == "remove") print(test, qd, 1, removes(s, meter, dir, count, qd));
  else if (test == "untar") print(test, 1, 1, untar(s, meter, dir, count));
  else if (test == "clients-randread") print(test, 1, clients, clients_randread(target, meter, size, count, clients));
  else if (test == "clients-create") print(test, 1, clients, clients_create(target, s, meter, count, clients));
  else die("--test setup|seqwrite|seqread|randread|create|stat|readdir|rename|remove|untar|"
           "clients-randread|clients-create");
  return 0;
}
