#include "server/server.h"

#include <spdlog/spdlog.h>

namespace efs::server {

int serve(const Config& config) {
  spdlog::error("serve is not wired yet ({})", config.data_dir);
  return 1;
}

}  // namespace efs::server
