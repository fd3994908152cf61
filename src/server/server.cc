#include "server/server.h"

#include <spdlog/spdlog.h>

#include <asio.hpp>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "api/ec2_query.h"
#include "api/gateway.h"
#include "api/json_rpc.h"
#include "api/model.h"
#include "api/request_context.h"
#include "api/rest_json.h"
#include "common/clock.h"
#include "common/disk.h"
#include "common/ids.h"
#include "ec2/network.h"
#include "efs/record.h"
#include "efs/service.h"
#include "http/server.h"
#include "kms/service.h"
#include "meta/db.h"
#include "metrics/prometheus.h"
#include "net/partition_bind.h"
#include "net/rpc_server.h"
#include "nfs4/server.h"
#include "rpc/dispatcher.h"
#include "server/admin.h"
#include "server/admin_lifecycle.h"
#include "server/admin_replication.h"
#include "server/cloudwatch_metrics.h"
#include "server/clock_store.h"
#include "server/key_state.h"
#include "server/lifecycle_runner.h"
#include "server/replication_runner.h"
#include "throughput/throttle.h"
#include "tls/nfs_tls.h"
#include "vfs/vfs.h"

#ifndef EFS_LOCAL_VERSION
#define EFS_LOCAL_VERSION "0.1.0"
#endif

namespace efs::server {

namespace {

// Keeps the NFS listeners on mount target addresses in step with the
// available mount targets: a connection accepted on a mount target's address
// is how the NFS server knows which file system to show as "/".
class MountTargetListeners {
 public:
  MountTargetListeners(net::RpcServer& rpc, const Catalog& catalog, std::string main_listen,
                       uint16_t port)
      : rpc_(rpc), catalog_(catalog), main_listen_(std::move(main_listen)), port_(port) {}

  void reconcile() {
    std::lock_guard lk(mu_);
    std::set<std::string> want;
    // A wildcard listener (0.0.0.0, ::) already accepts connections to every
    // mount target address, and the accepted socket's local end still names it.
    const bool wildcard = main_listen_ == "0.0.0.0" || main_listen_ == "::";
    auto snap = catalog_.snapshot();
    for (const auto& mt : snap->mount_targets()) {
      if (wildcard) break;
      // Only loopback addresses are ever listened on; IPv6 mount targets are
      // served by the ::1 listener.
      if (mt.ip.rfind("127.", 0) == 0 && mt.ip != main_listen_) want.insert(mt.ip);
    }
    for (auto it = listening_.begin(); it != listening_.end();) {
      if (!want.count(*it)) {
        rpc_.stop_listening(*it, port_);
        spdlog::info("nfs: stopped listening on mount target address {}:{}", *it, port_);
        it = listening_.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& ip : want) {
      if (listening_.count(ip)) continue;
      auto r = rpc_.listen(ip, port_);
      if (!r) {
        spdlog::error("nfs: cannot listen on mount target address {}:{}: {}", ip, port_,
                      r.error().message);
        continue;
      }
      spdlog::info("nfs: listening on mount target address {}:{}", ip, port_);
      listening_.insert(ip);
    }
  }

 private:
  net::RpcServer& rpc_;
  const Catalog& catalog_;
  std::string main_listen_;
  uint16_t port_;
  std::mutex mu_;
  std::set<std::string> listening_;
};

void every(asio::io_context& io, std::chrono::milliseconds period, std::function<void()> fn,
           std::shared_ptr<std::atomic<bool>> stopped) {
  auto timer = std::make_shared<asio::steady_timer>(io, period);
  auto tick = std::make_shared<std::function<void(const asio::error_code&)>>();
  *tick = [timer, period, fn = std::move(fn), stopped, tick](const asio::error_code& ec) mutable {
    if (ec || stopped->load()) {
      *tick = nullptr;  // break the self-reference
      return;
    }
    fn();
    timer->expires_after(period);
    timer->async_wait(*tick);
  };
  timer->async_wait(*tick);
}

// The management API has threads of its own, so that a flood of heavy API
// requests never occupies the NFS threads: one for its sockets (accepts,
// reads, parsing, writes: cheap) and a small pool for its handlers (the JSON
// and database work), which takes one request per connection at a time in
// arrival order, so every API client gets its turn.
constexpr int kApiIoThreads = 1;
constexpr int kApiHandlerThreads = 2;

std::vector<std::thread> start_api_threads(asio::io_context& api_io) {
  std::vector<std::thread> threads;
  for (int i = 0; i < kApiIoThreads; ++i) threads.emplace_back([&api_io] { api_io.run(); });
  return threads;
}

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

// Times each API operation for /_efs-local/metrics.
JsonOperation timed_op(std::string service, std::string name, JsonOperation op) {
  return [service = std::move(service), name = std::move(name), op = std::move(op)](
             const RequestContext& ctx, const nlohmann::json& in) {
    const auto began = std::chrono::steady_clock::now();
    auto r = op(ctx, in);
    metrics::Registry::global().observe_api_op(service, name, !r.ok(),
                                               std::chrono::steady_clock::now() - began);
    return r;
  };
}

http::Limits api_limits(const Config& config) {
  http::Limits limits;
  limits.header_timeout = to_ms(config.http_header_timeout);
  limits.idle_timeout = to_ms(config.http_idle_timeout);
  limits.write_timeout = to_ms(config.http_write_timeout);
  return limits;
}

}  // namespace

int serve(const Config& config) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(config.data_dir, ec);
  if (ec) {
    spdlog::error("cannot create data dir {}: {}", config.data_dir, ec.message());
    return 1;
  }
  const std::string data_dir = fs::absolute(config.data_dir).lexically_normal().string();

  // The space reserve keeps room for REMOVE and truncation on a full disk,
  // and lets a start-up on a full disk open the database (docs/full-disk.md).
  meta::DbOptions db_opts;
  db_opts.space_reserve = data_dir + "/space-reserve";
  auto db = meta::Db::open(data_dir + "/meta.db", db_opts);
  if (!db) {
    spdlog::error("cannot open database: {}", db.error().message);
    return 1;
  }
  // The clock continues where the last run left it (server/clock_store.h).
  if (auto s = restore_clock(**db, Clock::global()); !s) {
    spdlog::error("cannot restore the emulator clock: {}", s.error().message);
    return 1;
  }
  if (Clock::global().offset().count() != 0)
    spdlog::info("emulator clock restored: {} ({} s ahead of real time)",
                 format_utc(Clock::global().now()),
                 std::chrono::duration_cast<std::chrono::seconds>(Clock::global().offset()).count());
  // Timestamps from the process clock (moved by POST /_efs-local/clock), file
  // data on the host disk.
  vfs::VfsOptions vfs_opts;
  vfs_opts.metadata_cache_entries = config.metadata_cache_entries;
  vfs_opts.lifecycle.ia_first_byte_latency =
      std::chrono::milliseconds(config.ia_first_byte_latency_ms);
  vfs_opts.lifecycle.archive_first_byte_latency =
      std::chrono::milliseconds(config.archive_first_byte_latency_ms);
  auto vfs = vfs::Vfs::open(**db, data_dir, Clock::global(), host_disk(), vfs_opts);
  if (!vfs) {
    spdlog::error("cannot open file data: {}", vfs.error().message);
    return 1;
  }
  auto network = ec2::Network::open(**db);
  if (!network) {
    spdlog::error("cannot open network model: {}", network.error().message);
    return 1;
  }

  // KMS: keys, aliases and grants in the same database, key material
  // wrapped by <data dir>/kms-master.key (created 0600 on first start).
  auto kms_service = kms::Service::open(**db, Clock::global(), data_dir + "/kms-master.key");
  if (!kms_service) {
    spdlog::error("cannot open KMS: {}", kms_service.error().message);
    return 1;
  }
  // What efs::Service resolves KmsKeyId through (src/kms/key_directory.h).
  kms::KeyDirectory* key_directory = kms_service->get();

  asio::io_context io;      // NFS, timers, signals
  asio::io_context api_io;  // the management API's sockets (start_api_threads)
  asio::thread_pool api_handlers(kApiHandlerThreads);
  const int nthreads = config.threads > 0
                           ? config.threads
                           : std::max(2, static_cast<int>(std::thread::hardware_concurrency()));

  // The data plane's side of the EFS model's hooks.
  vfs::Vfs& v = **vfs;
  // Data keys of encrypted file systems, and what their KMS key's state does
  // to their data (key_state.h).
  KeyStateMonitor key_states(v, **kms_service, Clock::global(), data_dir,
                             config.kms_revocation_delay);
  meta::Db& meta_db = **db;
  std::function<void()> mount_targets_changed;  // set once the NFS listeners exist
  DataPlane plane;
  plane.file_system_created = [&v, &key_states, &meta_db](const std::string& id) {
    if (auto s = v.create_file_system(id); !s)
      spdlog::error("cannot create namespace of {}: {}", id, s.error().message);
    // The hook runs before the snapshot that exports the file system is
    // published, so its Encrypted and KmsKeyId come from its stored record:
    // the data key is registered before any client can write.
    bool encrypted = false;
    std::string key_arn;
    auto r = meta_db.read([&](meta::Conn& c) -> Status<> {
      try {
        if (auto rec = store::get(c, kind::kFileSystem, id)) {
          encrypted = rec->doc.value("Encrypted", false);
          key_arn = rec->doc.value("KmsKeyId", "");
        }
      } catch (const efs::StoreFailure& e) {
        return fail(Error{e.what()});
      }
      return {};
    });
    if (!r) {
      spdlog::error("cannot read the record of {}: {}", id, r.error().message);
      v.set_data_access(id, "its record could not be read to find its KMS key");
      return;
    }
    key_states.file_system_available(id, encrypted, key_arn);
  };
  plane.file_system_deleted = [&v, &key_states](const std::string& id) {
    if (auto s = v.delete_file_system(id); !s)
      spdlog::error("cannot delete data of {}: {}", id, s.error().message);
    key_states.file_system_deleted(id);
  };
  plane.metered_size = [&v](const std::string& id) {
    auto f = v.file_system(id);
    return f ? f->metered_size() : MeteredSize{6144, 6144, 0, 0};
  };
  // Replication (server/replication_runner.h): the runner exists once the
  // service does; until then there is no configuration to tell it about.
  std::atomic<ReplicationRunner*> replicator{nullptr};
  plane.replications_changed = [&replicator] {
    if (auto* r = replicator.load()) r->wake();
  };
  plane.replication_deleting = [&replicator](const std::string& src, const std::string& dest) {
    auto* r = replicator.load();
    return r && r->deleting(src, dest);
  };
  plane.mount_targets_changed = [&io, &mount_targets_changed] {
    asio::post(io, [&mount_targets_changed] {
      if (mount_targets_changed) mount_targets_changed();
    });
  };

  Service::Options opts;
  opts.default_region = config.region;
  opts.default_account = config.account_id;
  opts.state_delay = config.state_delay;
  opts.provisioned_capacity_mibps = config.provisioned_capacity;
  // KmsKeyId resolves through the emulated KMS: a key must exist and be usable.
  auto service = Service::open(**db, **network, Clock::global(), opts, plane, key_directory);
  if (!service) {
    spdlog::error("cannot open EFS model: {}", service.error().message);
    return 1;
  }
  // Encrypted file systems that exist already: their data keys are
  // unwrapped now, before any client is served.
  for (const auto& f : (*service)->snapshot()->file_systems())
    if (f.encrypted && !f.kms_key_id.empty()) key_states.adopt(f.id, f.kms_key_id);
  // A key state change re-checks the gates soon after, on an io thread (the
  // listener runs inside KMS's request: it must not call back into KMS).
  (*kms_service)->on_key_state_change([&io, &key_states] {
    asio::post(io, [&key_states] { key_states.evaluate(); });
  });

  // Management API: EFS rest-json, EC2 query, emulator endpoints.
  const auto& model = api::efs_model();
  api::RestJsonService efs_api(model);
  for (auto& [name, op] : (*service)->operations()) efs_api.add(name, timed_op("efs", name, op));
  for (const auto& name : efs_api.unrouted_operations())
    spdlog::warn("EFS operation {} has no handler", name);
  api::Ec2QueryService ec2_api(**network);
  api::JsonRpcService kms_api(api::kms_model());
  for (auto& [name, op] : (*kms_service)->operations())
    kms_api.add(name, timed_op("kms", name, op));
  // CloudWatch: its operations are added once the throughput meters exist.
  api::CloudWatchService cloudwatch_api;
  // EFS, KMS, EC2, STS, CloudWatch; names the services not emulated.
  api::Gateway gateway(efs_api, ec2_api, &kms_api, &cloudwatch_api);

  AdminInfo admin;
  admin.version = EFS_LOCAL_VERSION;
  admin.data_dir = data_dir;
  admin.started = std::chrono::steady_clock::now();

  auto api_handler = [&](const http::Request& req) -> http::Response {
    if (is_admin_request(req)) return handle_admin(req, admin);
    RequestContext ctx = api::request_context(req, config.region, config.account_id);
    ctx.request_id = random_uuid();
    return gateway.handle(req, ctx);
  };
  http::Server http_server(api_io, api_limits(config), api_handler, api_handlers.get_executor());

  // NFS.
  nfs4::ServerOptions nfs_opts;
  nfs4::Server nfs(v, **service, Clock::global(), nfs_opts, db->get());
  // Throughput metering and pacing (src/throughput): the mode and
  // provisioned rate from the catalog, the Standard size from the vfs.
  throughput::Options tp_opts;
  tp_opts.enforce = !config.no_throttle;
  tp_opts.scale = config.throughput_scale;
  throughput::Throttle throttle(
      Clock::global(), tp_opts,
      [&v, &service](const std::string& id, bool with_size) -> std::optional<throughput::Settings> {
        auto snap = (*service)->snapshot();
        const auto* f = snap->file_system(id);
        if (!f) return std::nullopt;
        throughput::Settings s;
        s.mode = throughput::mode_from_string(f->throughput_mode);
        s.provisioned_mibps = f->provisioned_mibps;
        if (with_size)
          if (auto fs = v.file_system(id)) s.standard_bytes = fs->metered_size().standard;
        return s;
      });
  // --no-metering: the NFS server has no throttle, so its COMPOUNDs skip
  // metering altogether (nfs4/compound.cc, meter_op); the API still reads
  // the (unmoving) meters.
  nfs.set_throttle(config.no_metering ? nullptr : &throttle);
  admin.throttle = &throttle;
  if (config.no_metering)
    spdlog::warn("throughput: --no-metering: NFS I/O is neither metered nor paced; burst "
                 "credits and I/O metrics stand still");
  else if (config.no_throttle)
    spdlog::info("throughput: --no-throttle: metering only, no reply is delayed");
  // CloudWatch's AWS/EFS metrics and alarms (server/cloudwatch_metrics.h).
  auto cloudwatch =
      CloudWatchMetrics::open(data_dir, Clock::global(), throttle, v, **service, **db);
  if (!cloudwatch) {
    spdlog::error("cannot open the metric store: {}", cloudwatch.error().message);
    return 1;
  }
  for (auto& [name, op] : (*cloudwatch)->cloudwatch().operations())
    cloudwatch_api.add(name, timed_op("cloudwatch", name, op));
  (*cloudwatch)->start();
  if (config.throughput_scale != 1.0)
    spdlog::info("throughput: every limit scaled by {}", config.throughput_scale);
  rpc::Dispatcher dispatcher;
  if (auto s = dispatcher.add(nfs); !s) {
    spdlog::error("cannot register the NFS program: {}", s.error().message);
    return 1;
  }
  // efs-proxy's bind_client_to_partition (net/partition_bind.h).
  net::PartitionBindProgram aws_file_program(net::kAwsFileProgram);
  net::PartitionBindProgram efs_proxy_program(net::kEfsProxyProgram);
  for (rpc::Program* p : {static_cast<rpc::Program*>(&aws_file_program),
                          static_cast<rpc::Program*>(&efs_proxy_program)}) {
    if (auto s = dispatcher.add(*p); !s) {
      spdlog::error("cannot register RPC program {}: {}", p->program(), s.error().message);
      return 1;
    }
  }
  // TLS beside plain RPC on every NFS listener (tls/nfs_tls.h).
  tls::NfsTlsOptions tls_opts;
  tls_opts.dir = data_dir + "/tls";
  tls_opts.cert_file = config.tls_cert;
  tls_opts.key_file = config.tls_key;
  tls_opts.iam_credentials_file = config.iam_credentials;
  tls_opts.region = config.region;
  tls_opts.account_id = config.account_id;
  auto nfs_tls = tls::NfsTls::open(tls_opts, **service);
  if (!nfs_tls) {
    spdlog::error("cannot set up TLS for NFS: {}", nfs_tls.error().message);
    return 1;
  }
  net::RpcServer::Options rpc_opts;
  rpc_opts.tls = *nfs_tls;
  rpc_opts.idle_timeout = to_ms(config.nfs_idle_timeout);
  rpc_opts.workers = static_cast<std::size_t>(config.nfs_workers);
  net::RpcServer rpc_server(io, dispatcher, rpc_opts);

  auto nfs_port = rpc_server.listen(config.listen, config.nfs_port);
  if (!nfs_port) {
    spdlog::error("cannot listen for NFS on {}:{}: {}", config.listen, config.nfs_port,
                  nfs_port.error().message);
    return 1;
  }
  auto api_port = http_server.listen(config.listen, config.api_port);
  if (!api_port) {
    spdlog::error("cannot listen for the API on {}:{}: {}", config.listen, config.api_port,
                  api_port.error().message);
    return 1;
  }
  admin.nfs_port = *nfs_port;
  admin.api_port = *api_port;
  // IPv6 loopback, for IPv6 mount targets and ::1 clients; optional.
  if (config.listen == "127.0.0.1") {
    if (auto r6 = rpc_server.listen("::1", *nfs_port); !r6)
      spdlog::debug("no IPv6 loopback listener: {}", r6.error().message);
  }

  admin.metrics_json = [&] {
    nlohmann::json m;
    m["http_connections"] = http_server.connection_count();
    m["nfs_connections"] = rpc_server.connection_count();
    m["file_systems_exported"] = (*service)->snapshot()->file_systems().size();
    m["mount_targets_served"] = (*service)->snapshot()->mount_targets().size();
    return m.dump();
  };

  // Storage classes: the lifecycle mover's thread (server/lifecycle_runner.h).
  LifecycleRunner lifecycle(v, **service, Clock::global(), config.lifecycle_interval);
  lifecycle.start();
  admin.lifecycle_run = [&lifecycle](const http::Request& req) {
    return handle_lifecycle_run(req, lifecycle);
  };
  ReplicationRunner replication(
      v, meta_db, **service, Clock::global(), config.replication_interval,
      [&key_states](const std::string& id) { return key_states.key_unusable(id); });
  replicator = &replication;
  replication.start();
  // CloudWatch's TimeSinceLastSync (AWS/EFS, FileSystemId +
  // DestinationFileSystemId), per minute like the other figures.
  (*cloudwatch)->sampler().add_source([&replication](double) {
    std::vector<metrics::Datum> out;
    for (const auto& lag : replication.lags())
      out.push_back(metrics::Datum{metrics::MetricId{"AWS/EFS",
                                                     "TimeSinceLastSync",
                                                     {{"DestinationFileSystemId", lag.destination},
                                                      {"FileSystemId", lag.source}}},
                                   "Seconds", lag.seconds_since_last_sync});
    return out;
  });
  admin.replication_run = [&replication](const http::Request& req) {
    return handle_replication_run(req, replication);
  };
  admin.metrics_page = [&] {
    return metrics_page(MetricsSources{v, **service, lifecycle,
                                       [&] { return rpc_server.connection_count(); },
                                       [&] { return http_server.connection_count(); },
                                       [&] {
                                         auto more = (*cloudwatch)->prometheus_families();
                                         more.push_back(replication_lag_family(replication));
                                         return more;
                                       }});
  };

  MountTargetListeners mt_listeners(rpc_server, **service, config.listen, *nfs_port);
  mount_targets_changed = [&mt_listeners] { mt_listeners.reconcile(); };
  asio::post(io, [&mt_listeners] { mt_listeners.reconcile(); });

  auto stopped = std::make_shared<std::atomic<bool>>(false);
  // Lifecycle transitions are settled and published when they are due on the
  // emulator clock (efs/transition_timer.h), and at once after a clock advance.
  (*service)->start_transition_timer();
  admin.clock_advancing = [&] { (*cloudwatch)->clock_advancing(); };
  admin.clock_advanced = [&] {
    if (auto s = save_clock(**db, Clock::global()); !s)  // before anything records the new time
      spdlog::error("clock: the advance is not saved and will be lost on restart: {}",
                    s.error().message);
    (*service)->clock_advanced();
    lifecycle.run_due();              // what became due moves before the clock request answers
    key_states.evaluate();            // a revocation delay or a deletion date may have passed
    replication.run_due();            // syncs that became due, before the clock request answers
    throttle.clock_advanced();        // credits earned meanwhile
    (*cloudwatch)->clock_advanced();  // the minutes skipped, written on the sampler's thread
  };
  every(
      io, std::chrono::milliseconds(1000), [&] { nfs.tick(); }, stopped);
  every(
      io, std::chrono::milliseconds(1000), [&] { throttle.tick(); }, stopped);
  every(
      io, std::chrono::milliseconds(1000), [&] { key_states.evaluate(); }, stopped);

  // Shutdown: stop accepting and close connections, then let the io_context
  // run dry so that requests in flight finish and every coroutine ends before
  // the objects it uses are destroyed. A watchdog stops it after 5 s.
  std::mutex done_mu;
  std::condition_variable done_cv;
  bool done = false;
  std::thread watchdog;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code& e, int sig) {
    if (e) return;
    spdlog::info("signal {}: shutting down", sig);
    stopped->store(true);
    http_server.stop();
    rpc_server.stop();
    watchdog = std::thread([&] {
      std::unique_lock lk(done_mu);
      if (!done_cv.wait_for(lk, std::chrono::seconds(5), [&] { return done; })) {
        spdlog::warn("requests still running after 5 s: stopping anyway");
        io.stop();
        api_io.stop();
        api_handlers.stop();
      }
    });
  });

  spdlog::info("efs-local {} serving: NFS on {}:{}, API on http://{}:{}, data in {}",
               EFS_LOCAL_VERSION, config.listen, *nfs_port, config.listen, *api_port, data_dir);

  std::vector<std::thread> api_threads = start_api_threads(api_io);
  std::vector<std::thread> threads;
  for (int i = 1; i < nthreads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  for (auto& t : api_threads) t.join();
  api_handlers.join();
  {
    std::lock_guard lk(done_mu);
    done = true;
  }
  done_cv.notify_all();
  if (watchdog.joinable()) watchdog.join();
  spdlog::info("efs-local stopped");
  return 0;
}

}  // namespace efs::server
