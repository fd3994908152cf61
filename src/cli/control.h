// The emulator's own controls as commands: `efs-local clock`, `lifecycle`,
// `credits`, `mount-command`, `status` and `completion`. Each talks to a
// running `efs-local serve` over its API port (the /_efs-local/ endpoints and
// the EFS API itself), so a CI script or a person at a shell does not need
// curl. README's "Emulator commands" lists them.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace efs::cli {

// Registers the commands on `app`. After CLI11 parses, `*rc` holds the exit
// status of the command that ran (0 ok, 1 the server refused, 3 no server).
void add_control_commands(CLI::App& app, int* rc);

// "7d", "1d12h", "90s", "15m", "2w", "3600" (seconds) -> seconds.
std::optional<double> parse_duration(std::string_view text);

// A bash completion script for every command and option of `app`.
std::string bash_completion(const CLI::App& app);

}  // namespace efs::cli
