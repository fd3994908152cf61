// efs-local: Amazon EFS on one machine. `efs-local serve` runs the NFSv4
// server and the EFS management API in one process.
#include <malloc.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "cli/control.h"
#include "common/log.h"
#include "server/config.h"
#include "server/server.h"
#include "tls/certificates.h"
#include "tls/efs_utils_config.h"

#ifndef EFS_LOCAL_VERSION
#define EFS_LOCAL_VERSION "0.1.0"
#endif

int main(int argc, char** argv) {
  CLI::App app{"efs-local: Amazon EFS on one machine (NFSv4 data plane + EFS API)", "efs-local"};
  app.set_version_flag("--version", std::string("efs-local ") + EFS_LOCAL_VERSION);
  app.require_subcommand(1);

  efs::server::Config cfg;
  int64_t state_delay_ms = cfg.state_delay.count();
  auto* serve = app.add_subcommand("serve", "Run the NFS server and the EFS API");
  serve->add_option("--data-dir", cfg.data_dir, "Directory for metadata and file data")
      ->envname("EFS_LOCAL_DATA_DIR")
      ->capture_default_str();
  serve->add_option("--listen", cfg.listen, "Address to listen on (NFS and API)")
      ->envname("EFS_LOCAL_LISTEN")
      ->capture_default_str();
  serve->add_option("--nfs-port", cfg.nfs_port, "NFS port (0: pick a free port)")
      ->envname("EFS_LOCAL_NFS_PORT")
      ->capture_default_str();
  serve->add_option("--api-port", cfg.api_port, "API port (0: pick a free port)")
      ->envname("EFS_LOCAL_API_PORT")
      ->capture_default_str();
  serve->add_option("--region", cfg.region, "Default region when a request names none")
      ->envname("EFS_LOCAL_REGION")
      ->capture_default_str();
  serve->add_option("--account-id", cfg.account_id, "Default account ID")
      ->envname("EFS_LOCAL_ACCOUNT_ID")
      ->capture_default_str();
  serve->add_option("--log-level", cfg.log_level, "trace, debug, info, warn, error, off")
      ->envname("EFS_LOCAL_LOG_LEVEL")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  serve
      ->add_option("--state-delay", state_delay_ms,
                   "Milliseconds a resource stays creating/deleting")
      ->envname("EFS_LOCAL_STATE_DELAY")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  serve->add_option("--threads", cfg.threads, "I/O threads (0: one per core)")
      ->envname("EFS_LOCAL_THREADS")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  serve
      ->add_option("--metadata-cache-entries", cfg.metadata_cache_entries,
                   "Inodes and directory entries cached in memory (0: no cache)")
      ->envname("EFS_LOCAL_METADATA_CACHE_ENTRIES")
      ->capture_default_str();

  serve
      ->add_option("--http-header-timeout", cfg.http_header_timeout,
                   "Seconds an API client has to send a whole request head")
      ->envname("EFS_LOCAL_HTTP_HEADER_TIMEOUT")
      ->capture_default_str();
  serve
      ->add_option("--http-idle-timeout", cfg.http_idle_timeout,
                   "Seconds an idle keep-alive API connection stays open")
      ->envname("EFS_LOCAL_HTTP_IDLE_TIMEOUT")
      ->capture_default_str();
  serve
      ->add_option("--http-write-timeout", cfg.http_write_timeout,
                   "Seconds an API client has to read one response")
      ->envname("EFS_LOCAL_HTTP_WRITE_TIMEOUT")
      ->capture_default_str();
  serve
      ->add_option("--nfs-idle-timeout", cfg.nfs_idle_timeout,
                   "Seconds without traffic before an NFS connection is closed (0: never)")
      ->envname("EFS_LOCAL_NFS_IDLE_TIMEOUT")
      ->capture_default_str();
  serve
      ->add_option("--nfs-workers", cfg.nfs_workers,
                   "Threads for NFS calls that may block on a commit or fsync (1-256)")
      ->envname("EFS_LOCAL_NFS_WORKERS")
      ->capture_default_str();
  serve
      ->add_option("--kms-revocation-delay", cfg.kms_revocation_delay,
                   "Seconds (emulator clock) an encrypted file system keeps working after its "
                   "KMS key becomes unusable")
      ->envname("EFS_LOCAL_KMS_REVOCATION_DELAY")
      ->capture_default_str();
  serve
      ->add_option("--tls-cert", cfg.tls_cert,
                   "PEM server certificate for TLS on the NFS port (default: issued by "
                   "<data dir>/tls/ca.pem)")
      ->envname("EFS_LOCAL_TLS_CERT");
  serve->add_option("--tls-key", cfg.tls_key, "PEM key of --tls-cert")
      ->envname("EFS_LOCAL_TLS_KEY");
  serve
      ->add_option("--iam-credentials", cfg.iam_credentials,
                   "JSON file of IAM identities that TLS client certificates are verified "
                   "against (default: accepted unverified)")
      ->envname("EFS_LOCAL_IAM_CREDENTIALS");

  // What efs-utils needs to mount over TLS (tls/efs_utils_config.h).
  std::string eu_data_dir = cfg.data_dir, eu_region = cfg.region;
  uint16_t eu_port = cfg.nfs_port;
  auto* eu = app.add_subcommand("efs-utils-config",
                                "Print the CA file, efs-utils.conf settings and mounttargetip= "
                                "values for mounting with efs-utils over TLS");
  eu->add_option("--data-dir", eu_data_dir, "The server's data directory")
      ->envname("EFS_LOCAL_DATA_DIR")
      ->capture_default_str();
  eu->add_option("--region", eu_region, "The server's region")
      ->envname("EFS_LOCAL_REGION")
      ->capture_default_str();
  eu->add_option("--nfs-port", eu_port, "The server's NFS port")
      ->envname("EFS_LOCAL_NFS_PORT")
      ->capture_default_str();

  int control_rc = 0;
  efs::cli::add_control_commands(app, &control_rc);

  serve
      ->add_option("--throughput-scale", cfg.throughput_scale,
                   "Multiplies every throughput limit (bursting, provisioned, elastic, per client)")
      ->envname("EFS_LOCAL_THROUGHPUT_SCALE")
      ->capture_default_str();
  serve
      ->add_flag("--no-throttle", cfg.no_throttle,
                 "Meter NFS I/O and burst credits but never delay a reply")
      ->envname("EFS_LOCAL_NO_THROTTLE");
  serve
      ->add_flag("--no-metering", cfg.no_metering,
                 "Neither meter NFS I/O nor delay a reply: credits and I/O metrics stand "
                 "still (for measuring what metering costs, bench/)")
      ->envname("EFS_LOCAL_NO_METERING");
  serve
      ->add_option("--provisioned-capacity", cfg.provisioned_capacity,
                   "MiB/s of provisioned throughput an account may hold per Region before "
                   "InsufficientThroughputCapacity (0: unlimited)")
      ->envname("EFS_LOCAL_PROVISIONED_CAPACITY")
      ->capture_default_str();
  serve
      ->add_option("--lifecycle-interval", cfg.lifecycle_interval,
                   "Seconds (emulator clock) between lifecycle passes that move files between "
                   "storage classes")
      ->envname("EFS_LOCAL_LIFECYCLE_INTERVAL")
      ->capture_default_str();
  serve
      ->add_option("--ia-first-byte-latency", cfg.ia_first_byte_latency_ms,
                   "Milliseconds added to each READ of a file in Infrequent Access (0: none)")
      ->envname("EFS_LOCAL_IA_FIRST_BYTE_LATENCY")
      ->capture_default_str();
  serve
      ->add_option("--archive-first-byte-latency", cfg.archive_first_byte_latency_ms,
                   "Milliseconds added to each READ of a file in Archive (0: none)")
      ->envname("EFS_LOCAL_ARCHIVE_FIRST_BYTE_LATENCY")
      ->capture_default_str();

  serve
      ->add_option("--replication-interval", cfg.replication_interval,
                   "Seconds (emulator clock) between syncs of each replication's destination")
      ->envname("EFS_LOCAL_REPLICATION_INTERVAL")
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  // A control command ran (cli/control.h); serve and efs-utils-config run below.
  if (!serve->parsed() && !eu->parsed()) return control_rc;

  if (eu->parsed()) {
    efs::init_logging("warn");
    const std::string dir = std::filesystem::absolute(eu_data_dir).lexically_normal().string();
    // The CA is made here if the server has not run yet; it will reuse it.
    auto authority = efs::tls::Authority::open(dir + "/tls");
    if (!authority) {
      std::cerr << "efs-local: " << authority.error().message << "\n";
      return 1;
    }
    efs::tls::EfsUtilsConfig out;
    out.ca_file = (*authority)->ca_file();
    out.region = eu_region;
    out.nfs_port = eu_port;
    auto mts = efs::tls::read_mount_targets(dir);
    if (!mts) {
      std::cerr << "efs-local: cannot read mount targets: " << mts.error().message << "\n";
      return 1;
    }
    out.mount_targets = std::move(*mts);
    std::cout << efs::tls::render_efs_utils_config(out);
    return 0;
  }

  cfg.state_delay = std::chrono::milliseconds(state_delay_ms);
  if (auto err = efs::server::validate(cfg); !err.empty()) {
    std::cerr << "efs-local: " << err << "\n";
    return 2;
  }
  efs::init_logging(cfg.log_level);
  // READ and WRITE move 1 MiB buffers. By default glibc serves blocks that
  // large with a fresh mmap each time and unmaps them on free, so every
  // request paid ~256 page faults and a zero-fill by the kernel (the largest
  // cost of a 1 MiB READ in a profile). Keep them in the heap and keep freed
  // memory for reuse instead.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  return efs::server::serve(cfg);
}
