// The boundary between ONC RPC (rpc/, net/) and the programs served over it
// (nfs4/). The RPC layer decodes the call header and credentials, checks the
// program and version through Program::versions(), and hands over the
// procedure arguments; the program returns the accepted reply's body.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace efs::rpc {

struct AuthSys {
  uint32_t stamp = 0;
  std::string machine_name;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> gids;
};

// Facts about the call that a program may need.
struct CallContext {
  uint32_t xid = 0;
  uint32_t prog = 0, vers = 0, proc = 0;
  std::optional<AuthSys> auth_sys;  // empty for AUTH_NONE
  std::string local_address;        // address the connection was accepted on (mount targets)
  uint16_t local_port = 0;
  std::string remote_address;
  uint16_t remote_port = 0;         // the client's port (the 4.0 duplicate request cache key)
  uint64_t connection_id = 0;       // unique per TCP connection (BIND_CONN_TO_SESSION)
};

// accept_stat values (RFC 5531).
enum class AcceptStat : uint32_t {
  success = 0,
  prog_unavail = 1,
  prog_mismatch = 2,
  proc_unavail = 3,
  garbage_args = 4,
  system_err = 5,
};

struct Reply {
  AcceptStat stat = AcceptStat::success;
  std::vector<uint8_t> body;  // procedure results (for success)
};

class Program {
 public:
  virtual ~Program() = default;
  virtual uint32_t program() const = 0;
  virtual uint32_t min_version() const = 0;
  virtual uint32_t max_version() const = 0;
  // Called for a call whose program and version are served. May run
  // concurrently for several calls of one connection.
  virtual asio::awaitable<Reply> call(const CallContext& ctx, std::span<const uint8_t> args) = 0;
  // The connection went away (state tied to it, such as session bindings, may be dropped).
  virtual void connection_closed(uint64_t /*connection_id*/) {}
};

}  // namespace efs::rpc
