// Everything `efs-local serve` can be told, from flags or EFS_LOCAL_* variables.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace efs::server {

struct Config {
  std::string data_dir = "./efs-local-data";
  std::string listen = "127.0.0.1";
  uint16_t nfs_port = 2049;
  uint16_t api_port = 2050;
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::string log_level = "info";
  // How long resources stay "creating"/"deleting" before the change completes.
  std::chrono::milliseconds state_delay{1000};
  int threads = 0;  // 0: the number of cores
  // Entries of the vfs's in-memory cache of inodes and directory entries
  // (vfs::VfsOptions; about 250 bytes each). 0 disables it.
  std::size_t metadata_cache_entries = 250000;
  // Management API connections (seconds): the whole request head, keep-alive
  // idle (and a stalled body), and writing one response.
  double http_header_timeout = 30;
  double http_idle_timeout = 60;
  double http_write_timeout = 60;
  // NFS connections with no traffic for this long are closed (seconds; 0:
  // never). Three 90 s lease periods: a client holding state renews its
  // lease at least once a period, so a connection silent for three carries
  // no live client (RFC 8881 8.3, RFC 7530 9.5).
  double nfs_idle_timeout = 270;
  // Threads for NFS calls that may block on a SQLite commit or an fsync
  // (WRITE FILE_SYNC, COMMIT, namespace changes), so that the I/O threads
  // stay free for cheap calls (rpc/program.h, "Where a call runs"). Group
  // commit gathers the waiting ones into one transaction, so a few suffice;
  // 4 suits a laptop or a CI runner.
  int nfs_workers = 4;
  // Seconds on the emulator clock between a file system's KMS key becoming
  // unusable (disabled, pending deletion, deleted) and its data operations
  // failing: EFS documents that such file systems "stop working after a
  // period of time" without naming it (server/key_state.h).
  double kms_revocation_delay = 0;
  // TLS on the NFS port (src/tls): the user's own server certificate and
  // key (PEM; both or neither; default: issued by <data dir>/tls/ca.pem),
  // and the IAM identities client certificates are verified against
  // (tls/iam_credentials.h; empty: accepted unverified).
  std::string tls_cert;
  std::string tls_key;
  std::string iam_credentials;
  // Throughput pacing (src/throughput): every rate limit is multiplied by
  // throughput_scale (a laptop emulating a big file system, or a test a
  // tiny one); no_throttle keeps the metering and credits but never delays.
  double throughput_scale = 1.0;
  bool no_throttle = false;
  // no_metering: the NFS server charges nothing to any file system (implies
  // no_throttle). Only the benchmark's metering-cost figures use it.
  bool no_metering = false;
  // MiB/s of provisioned throughput one account may hold in a Region before
  // EFS's InsufficientThroughputCapacity (0: unlimited).
  double provisioned_capacity = 0;
  // Storage classes (server/lifecycle_runner.h): emulator-clock seconds
  // between lifecycle passes, and the extra wait of a READ from IA /
  // Archive in milliseconds (0: none).
  double lifecycle_interval = 3600;
  int64_t ia_first_byte_latency_ms = 0;
  int64_t archive_first_byte_latency_ms = 0;
  // Replication (server/replication_runner.h): emulator-clock seconds
  // between syncs of each replication (EFS's 15-minute recovery point).
  double replication_interval = 900;
};

// Checks values that flags cannot check by type. Empty string if fine.
std::string validate(const Config& c);

}  // namespace efs::server
