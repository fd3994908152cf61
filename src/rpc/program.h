// The boundary between ONC RPC (rpc/, net/) and the programs served over it
// (nfs4/). The RPC layer decodes the call header and credentials, checks the
// program and version through Program::versions(), and hands over the
// procedure arguments; the program returns the accepted reply's body.
//
// Where a call runs. The RPC layer has two kinds of threads: the I/O
// threads (the io_context: sockets, record framing, reply writes, timers)
// and a small worker pool (RpcServerOptions::workers, `--nfs-workers`). A
// call that may block its thread -- a SQLite commit, an fdatasync, waiting
// on group commit's condition variable -- must not run on an I/O thread:
// with few of them, one slow fsync would stall the READs of every other
// client. Sending every call to the pool would cost a thread hand-off per
// call, which is most of the latency of a 4 KiB READ or a GETATTR from
// cache at queue depth 1 (net/connection.cc keeps a lone call on its
// connection's strand for that reason). So the program, which alone knows
// what a call does, classifies each call with Program::cost() before it
// starts, from its arguments:
//   - CallCost::inline_ok: only memory, the page cache and SQLite reads
//     (which never wait for the writer in WAL mode): runs on the I/O thread.
//   - CallCost::may_block: anything else, and anything not understood: runs
//     on the pool. This is the default, so a program that says nothing is
//     safe, just slower.
// Replies from either place go back to the connection's strand and are
// written in completion order (RFC 5531 matches them by xid). A call on the
// pool holds its connection (shared_ptr) and the io_context's work count, so
// a connection closing meanwhile is safe and a graceful shutdown (letting
// the io_context run dry) waits for the pool's calls to end.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rpc/client_identity.h"

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
  // Set once per connection by the transport (net/connection.cc) and shared
  // by its calls. Null: plain RPC, anonymous (rpc/client_identity.h).
  std::shared_ptr<const ClientIdentity> identity;
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

// Where a call may run (see "Where a call runs" above).
enum class CallCost {
  inline_ok,  // never waits on a disk write or a lock held across one
  may_block,  // may wait for a commit or an fsync: runs on the worker pool
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
  // Whether call(ctx, args) may block its thread. Called on the I/O thread
  // before the call starts, for every call: must be cheap, never block, and
  // answer may_block when unsure (undecodable arguments included: the call
  // itself reports them).
  virtual CallCost cost(const CallContext& /*ctx*/, std::span<const uint8_t> /*args*/) const {
    return CallCost::may_block;
  }
  // The connection went away (state tied to it, such as session bindings, may be dropped).
  virtual void connection_closed(uint64_t /*connection_id*/) {}
};

}  // namespace efs::rpc
