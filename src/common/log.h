// Logging goes through spdlog; this sets it up once for the process.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace efs {

// level: trace, debug, info, warn, error, off. Returns false on an unknown name.
bool init_logging(const std::string& level);

}  // namespace efs
