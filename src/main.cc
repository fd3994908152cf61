// efs-local: Amazon EFS on one machine. `efs-local serve` runs the NFSv4
// server and the EFS management API in one process.
#include <CLI/CLI.hpp>
#include <malloc.h>

#include <cstdlib>
#include <iostream>

#include "common/log.h"
#include "server/config.h"
#include "server/server.h"

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
      ->envname("EFS_LOCAL_DATA_DIR")->capture_default_str();
  serve->add_option("--listen", cfg.listen, "Address to listen on (NFS and API)")
      ->envname("EFS_LOCAL_LISTEN")->capture_default_str();
  serve->add_option("--nfs-port", cfg.nfs_port, "NFS port (0: pick a free port)")
      ->envname("EFS_LOCAL_NFS_PORT")->capture_default_str();
  serve->add_option("--api-port", cfg.api_port, "API port (0: pick a free port)")
      ->envname("EFS_LOCAL_API_PORT")->capture_default_str();
  serve->add_option("--region", cfg.region, "Default region when a request names none")
      ->envname("EFS_LOCAL_REGION")->capture_default_str();
  serve->add_option("--account-id", cfg.account_id, "Default account ID")
      ->envname("EFS_LOCAL_ACCOUNT_ID")->capture_default_str();
  serve->add_option("--log-level", cfg.log_level, "trace, debug, info, warn, error, off")
      ->envname("EFS_LOCAL_LOG_LEVEL")->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  serve->add_option("--state-delay", state_delay_ms,
                    "Milliseconds a resource stays creating/deleting")
      ->envname("EFS_LOCAL_STATE_DELAY")->capture_default_str()->check(CLI::NonNegativeNumber);
  serve->add_option("--threads", cfg.threads, "I/O threads (0: one per core)")
      ->envname("EFS_LOCAL_THREADS")->capture_default_str()->check(CLI::NonNegativeNumber);
  serve->add_option("--metadata-cache-entries", cfg.metadata_cache_entries,
                    "Inodes and directory entries cached in memory (0: no cache)")
      ->envname("EFS_LOCAL_METADATA_CACHE_ENTRIES")->capture_default_str();

  serve->add_option("--http-header-timeout", cfg.http_header_timeout,
                    "Seconds an API client has to send a whole request head")
      ->envname("EFS_LOCAL_HTTP_HEADER_TIMEOUT")->capture_default_str();
  serve->add_option("--http-idle-timeout", cfg.http_idle_timeout,
                    "Seconds an idle keep-alive API connection stays open")
      ->envname("EFS_LOCAL_HTTP_IDLE_TIMEOUT")->capture_default_str();
  serve->add_option("--http-write-timeout", cfg.http_write_timeout,
                    "Seconds an API client has to read one response")
      ->envname("EFS_LOCAL_HTTP_WRITE_TIMEOUT")->capture_default_str();
  serve->add_option("--nfs-idle-timeout", cfg.nfs_idle_timeout,
                    "Seconds without traffic before an NFS connection is closed (0: never)")
      ->envname("EFS_LOCAL_NFS_IDLE_TIMEOUT")->capture_default_str();
  serve->add_option("--nfs-workers", cfg.nfs_workers,
                    "Threads for NFS calls that may block on a commit or fsync (1-256)")
      ->envname("EFS_LOCAL_NFS_WORKERS")->capture_default_str();
  serve->add_option("--kms-revocation-delay", cfg.kms_revocation_delay,
                    "Seconds (emulator clock) an encrypted file system keeps working after its "
                    "KMS key becomes unusable")
      ->envname("EFS_LOCAL_KMS_REVOCATION_DELAY")->capture_default_str();
  serve->add_option("--lifecycle-interval", cfg.lifecycle_interval,
                    "Seconds (emulator clock) between lifecycle passes that move files between "
                    "storage classes")
      ->envname("EFS_LOCAL_LIFECYCLE_INTERVAL")->capture_default_str();
  serve->add_option("--ia-first-byte-latency", cfg.ia_first_byte_latency_ms,
                    "Milliseconds added to each READ of a file in Infrequent Access (0: none)")
      ->envname("EFS_LOCAL_IA_FIRST_BYTE_LATENCY")->capture_default_str();
  serve->add_option("--archive-first-byte-latency", cfg.archive_first_byte_latency_ms,
                    "Milliseconds added to each READ of a file in Archive (0: none)")
      ->envname("EFS_LOCAL_ARCHIVE_FIRST_BYTE_LATENCY")->capture_default_str();

  CLI11_PARSE(app, argc, argv);

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
