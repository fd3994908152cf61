// The state of one COMPOUND procedure (RFC 7530 16.2 / RFC 8881 16.2) while
// its ops run, and the op handler convention shared by every op file.
//
// Handler convention (file-system ops: ops/fs_ops.h; state ops: ops/state_ops.h):
//   nfsstat4 op_<name>(Compound& c, const <OP>4args& args, <OP>4res& res);
//   nfsstat4 op_<name>(Compound& c, <OP>4res& res);   // ops without arguments
// The handler fills res (including res.status) and returns that status. The
// loop (compound.cc) decodes the arguments, calls the handler, encodes the
// result, and stops at the first non-OK status (RFC 8881 16.2.3). Ordering
// rules (SEQUENCE first, 4.0-only / 4.1-only ops, op limits) are the loop's.
//
// The op table (compound.cc) calls these names from ops/state_ops.h (the state ops),
// each with the signature above and the generated <OP>4args / <OP>4res types:
//   op_exchange_id, op_create_session, op_destroy_session, op_sequence,
//   op_bind_conn_to_session, op_destroy_clientid, op_reclaim_complete,
//   op_test_stateid, op_free_stateid, op_setclientid, op_setclientid_confirm,
//   op_renew, op_release_lockowner, op_open, op_open_confirm, op_open_downgrade,
//   op_close, op_lock, op_lockt, op_locku, op_delegreturn, op_delegpurge.
// Handlers that need the caller's identity use c.cred (already squashed).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "efs/catalog.h"
#include "nfs4/policy_gate.h"
#include "rpc/program.h"
#include "throughput/tally.h"
#include "vfs/vfs.h"
#include "xdr/nfs4_xdr.h"  // generated from src/xdr/nfs4.x

namespace efs::throughput {
class FileSystemMeter;
}

namespace efs::nfs4 {

// The generated wire types keep their RFC names (nfsstat4, stateid4, OPEN4args, ...).
using namespace efs::xdr::nfs4;

class Server;
// The state layer's types (src/nfs4/state/).
class Session;
class Client;

// What a file handle designates (the first byte of every nfs_fh4 we hand out;
// layout in export.h).
enum class FhKind : uint8_t {
  none = 0,
  pseudo_root = 1,   // the "/" that lists file systems and access points
  file_system = 2,   // an object inside a file system, mounted as fs-...
  access_point = 3,  // an object inside a file system, reached through fsap-...
};

// The current or saved filehandle (RFC 8881 16.2.3.1.1).
struct CurrentFh {
  FhKind kind = FhKind::none;
  std::shared_ptr<vfs::FileSystem> fs;  // null for the pseudo-root
  vfs::Ino ino = 0;
  // The export this handle was reached through: its root is where LOOKUPP
  // stops (the fs root, or an access point's root directory).
  vfs::Ino export_root = 0;
  std::string access_point_id;               // fsap-... when kind == access_point
  std::optional<efs::PosixUser> posix_user;  // the access point's enforced identity
  // The file system policy as of the catalog snapshot this handle was
  // decoded with (null: none, full access); policy_gate.h evaluates it.
  std::shared_ptr<const efs::ExportPolicy> policy;
  // The export is a replication destination as of that snapshot: changes
  // answer NFS4ERR_ROFS (policy_gate.h).
  bool read_only = false;
  std::vector<uint8_t> wire;  // the nfs_fh4 bytes (GETFH)

  bool set() const { return kind != FhKind::none; }
  bool is_pseudo() const { return kind == FhKind::pseudo_root; }
  bool in_fs() const { return kind == FhKind::file_system || kind == FhKind::access_point; }
  // Reached through the same export (so the same fsid and the same squashing):
  // the file system export and an access point of one file system are not.
  bool same_export(const CurrentFh& o) const {
    return in_fs() && kind == o.kind && access_point_id == o.access_point_id && fs && o.fs &&
           (fs == o.fs || fs->id() == o.fs->id());
  }
  void clear() { *this = CurrentFh{}; }
};

struct Compound {
  Compound(Server& s, const rpc::CallContext& ctx, uint32_t minor)
      : server(s), call(ctx), minorversion(minor) {}

  Server& server;                // server.vfs(), server.catalog(), server.state(), server.options()
  const rpc::CallContext& call;  // xid, auth, local address (mount target routing), connection_id
  uint32_t minorversion;

  // The caller's identity from AUTH_SYS (AUTH_NONE: nobody 65534). `cred` is
  // what ops pass to vfs: the loop sets it after every op from `caller` and the
  // current filehandle (an access point's PosixUser replaces it).
  vfs::Cred caller;
  vfs::Cred cred;

  CurrentFh current, saved;
  PolicyGate gate;                         // the file system policy's decision for current's export
  std::size_t op_index = 0, op_count = 0;  // position of the op being executed

  // RFC 8881 16.2.3.1.2: the current stateid (maintained by the state ops).
  stateid4 current_stateid{};
  bool has_current_stateid = false;
  stateid4 saved_stateid{};
  bool has_saved_stateid = false;

  // 4.1, set by SEQUENCE.
  std::shared_ptr<Session> session;
  std::shared_ptr<Client> client;  // 4.1: the session's client; 4.0: unset
  // SEQUENCE sets it on a retransmission: the loop sends these bytes (a whole
  // encoded COMPOUND4res) verbatim and runs nothing else.
  std::optional<std::vector<uint8_t>> replay;
  // SEQUENCE sets it: the loop calls it with the whole encoded COMPOUND4res
  // when the compound ends (the slot's reply cache).
  std::function<void(const std::vector<uint8_t>&)> store_reply;
  // SEQUENCE's sa_cachethis: the reply must fit ca_maxresponsesize_cached
  // (RFC 8881 18.46.3, else NFS4ERR_REP_TOO_BIG_TO_CACHE).
  bool cachethis = false;

  // Throughput metering (src/throughput): what this COMPOUND did to the
  // file system its ops ran on. READ and WRITE add their bytes to `io`; the
  // loop charges it to `io_meter` when the ops move to another file system
  // and when the COMPOUND ends, and keeps the longest wait it was given.
  throughput::Tally io;
  const vfs::FileSystem* io_fs = nullptr;
  throughput::FileSystemMeter* io_meter = nullptr;
  std::chrono::nanoseconds io_wait{0};
};

// What the loop tells its caller about a COMPOUND it ran (the 4.0 duplicate
// request cache in server.cc decides from it whether to keep the reply).
struct CompoundFacts {
  uint32_t minorversion = 0;
  // An op ran that must not run twice: CREATE, REMOVE, RENAME, LINK,
  // SETATTR, the seqid-consuming state ops, SETCLIENTID(_CONFIRM).
  bool non_idempotent = false;
  // How long the reply waits for the file system's throughput (throttle.h).
  std::chrono::nanoseconds throttle_wait{0};
};

// Runs one COMPOUND: decodes COMPOUND4args from `args`, runs the ops, and
// returns the encoded COMPOUND4res (or nullopt when the arguments are not even
// a COMPOUND4args header: the RPC layer answers GARBAGE_ARGS).
// `facts`, when given, is filled in.
std::optional<std::vector<uint8_t>> run_compound(Server& server, const rpc::CallContext& ctx,
                                                 std::span<const uint8_t> args,
                                                 CompoundFacts* facts = nullptr);

// The size of an accepted RPC reply header with an AUTH_NONE verifier (xid,
// mtype, reply_stat, verifier flavor and length, accept_stat): RFC 8881
// 18.36.3 counts RPC headers in ca_maxresponsesize(_cached).
inline constexpr std::size_t kRpcReplyHeaderSize = 24;

// Hard cap on ops in one COMPOUND without a session limit (a 10,000-op
// compound is refused with NFS4ERR_RESOURCE / TOO_MANY_OPS before any op runs).
inline constexpr std::size_t kMaxOpsPerCompound = 200;

}  // namespace efs::nfs4
