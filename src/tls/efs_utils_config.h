// `efs-local efs-utils-config`: what efs-utils (amazon-efs-utils,
// `mount -t efs -o tls`) needs to mount efs-local over TLS: the CA file,
// dns_name_format / dns_name_suffix and region for efs-utils.conf, and the
// mounttargetip= of each mount target (there is no DNS for fs-....efs.*
// names here, so efs-utils is told the address).
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace efs::tls {

struct MountTargetInfo {
  std::string fs_id;
  std::string mount_target_id;
  std::string ip;
  std::string az;
  std::string state;
};

struct EfsUtilsConfig {
  std::string ca_file;  // absolute
  std::string region;
  std::string dns_name_suffix = "amazonaws.com";
  uint16_t nfs_port = 2049;
  std::vector<MountTargetInfo> mount_targets;
};

std::string render_efs_utils_config(const EfsUtilsConfig& c);
// The mount targets recorded in <data dir>/meta.db (read only; works while
// the server runs).
Result<std::vector<MountTargetInfo>, Error> read_mount_targets(const std::string& data_dir);

}  // namespace efs::tls
