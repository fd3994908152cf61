#include "server/config.h"

#include <regex>

namespace efs::server {

std::string validate(const Config& c) {
  if (c.data_dir.empty()) return "--data-dir must not be empty";
  if (!std::regex_match(c.account_id, std::regex("[0-9]{12}")))
    return "--account-id must be 12 digits";
  if (!std::regex_match(c.region, std::regex("[a-z]{2}(-[a-z]+)+-[0-9]+")))
    return "--region must look like us-east-1";
  if (c.state_delay.count() < 0) return "--state-delay must not be negative";
  if (!(c.http_header_timeout > 0)) return "--http-header-timeout must be positive";
  if (!(c.http_idle_timeout > 0)) return "--http-idle-timeout must be positive";
  if (!(c.http_write_timeout > 0)) return "--http-write-timeout must be positive";
  if (!(c.nfs_idle_timeout >= 0)) return "--nfs-idle-timeout must not be negative";
  if (c.nfs_workers < 1 || c.nfs_workers > 256) return "--nfs-workers must be between 1 and 256";
  if (!(c.kms_revocation_delay >= 0)) return "--kms-revocation-delay must not be negative";
  if (c.tls_cert.empty() != c.tls_key.empty()) return "--tls-cert and --tls-key go together";
  if (!(c.throughput_scale >= 0.001 && c.throughput_scale <= 1e6))
    return "--throughput-scale must be between 0.001 and 1000000";
  if (!(c.provisioned_capacity >= 0)) return "--provisioned-capacity must not be negative";
  if (!(c.lifecycle_interval >= 1)) return "--lifecycle-interval must be at least 1 second";
  if (!(c.replication_interval >= 1)) return "--replication-interval must be at least 1 second";
  if (c.ia_first_byte_latency_ms < 0 || c.ia_first_byte_latency_ms > 60000)
    return "--ia-first-byte-latency must be between 0 and 60000 ms";
  if (c.archive_first_byte_latency_ms < 0 || c.archive_first_byte_latency_ms > 60000)
    return "--archive-first-byte-latency must be between 0 and 60000 ms";
  return {};
}

}  // namespace efs::server
