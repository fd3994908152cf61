// The process: owns the io_context and its threads, the database, the data
// plane and the control plane, the listeners and the background timers.
#pragma once

#include <memory>

#include "server/config.h"

namespace efs::server {

// Runs until SIGTERM/SIGINT. Returns the process exit code.
int serve(const Config& config);

}  // namespace efs::server
