// Everything `efs-local serve` can be told, from flags or EFS_LOCAL_* variables.
#pragma once

#include <chrono>
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
};

// Checks values that flags cannot check by type. Empty string if fine.
std::string validate(const Config& c);

}  // namespace efs::server
