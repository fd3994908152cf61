// The NFSv4 program (100003, version 4: NULL and COMPOUND) served over ONC RPC.
// Minor versions 0 and 1, as EFS serves them; minor version 2 answers
// NFS4ERR_MINOR_VERS_MISMATCH (RFC 8881 16.2.3) so Linux falls back to 4.1.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "common/clock.h"
#include "efs/catalog.h"
#include "nfs4/export.h"
#include "nfs4/reply_cache.h"
#include "rpc/program.h"
#include "vfs/vfs.h"

namespace efs::meta {
class Db;
}

namespace efs::throughput {
class Throttle;  // src/throughput/throttle.h
}

namespace efs::nfs4 {

class StateManager;    // src/nfs4/state/state_manager.h
struct CompoundFacts;  // src/nfs4/compound.h

struct ServerOptions {
  std::chrono::seconds lease_time{90};
  std::chrono::seconds grace_time{90};
  ReplyCacheOptions reply_cache;  // the 4.0 duplicate request cache (reply_cache.h)
};

class Server : public rpc::Program {
 public:
  // db, when given, lets the state layer persist client records for reclaim.
  Server(vfs::Vfs& vfs, const efs::Catalog& catalog, Clock& clock, ServerOptions options,
         meta::Db* db = nullptr);
  ~Server() override;

  uint32_t program() const override { return 100003; }
  uint32_t min_version() const override { return 4; }
  uint32_t max_version() const override { return 4; }
  asio::awaitable<rpc::Reply> call(const rpc::CallContext& ctx,
                                   std::span<const uint8_t> args) override;
  void connection_closed(uint64_t connection_id) override;
  // inline_ok for NULL and for a COMPOUND made only of ops that never wait
  // for a disk write (SEQUENCE, PUTFH, GETATTR, READ, LOOKUP, ACCESS, ...:
  // the list and its reasons are in server.cc); may_block otherwise.
  rpc::CallCost cost(const rpc::CallContext& ctx, std::span<const uint8_t> args) const override;

  // The synchronous form of call() for tests: a retransmission of a 4.0
  // call still in progress blocks this thread until the first one ends.
  rpc::Reply handle(const rpc::CallContext& ctx, std::span<const uint8_t> args);

  // Called every second by the server's timer: lease expiry.
  void tick();

  vfs::Vfs& vfs() { return vfs_; }
  const efs::Catalog& catalog() const { return catalog_; }
  Clock& clock() { return clock_; }
  StateManager& state() { return *state_; }
  Exports& exports() { return exports_; }
  const ServerOptions& options() const { return options_; }
  ReplyCache& reply_cache() { return reply_cache_; }
  // Throughput metering and pacing (src/throughput): every COMPOUND is
  // charged to the file system it ran on, and its reply waits as long as the
  // throttle says. Null (unit tests): nothing is metered.
  void set_throttle(throughput::Throttle* t) { throttle_ = t; }
  throughput::Throttle* throttle() const { return throttle_; }
  // When this server started (the pseudo-root's timestamps).
  vfs::Time start_time() const { return start_time_; }

 private:
  vfs::Vfs& vfs_;
  const efs::Catalog& catalog_;
  Clock& clock_;
  ServerOptions options_;
  Exports exports_;
  vfs::Time start_time_;
  std::unique_ptr<StateManager> state_;
  ReplyCache reply_cache_;
  throughput::Throttle* throttle_ = nullptr;

  // One attempt at a call: the reply, or nullopt when the call is a
  // retransmission of a 4.0 call still in progress (try again later).
  // `wait` receives how long the reply is held back for throughput.
  std::optional<rpc::Reply> try_handle(const rpc::CallContext& ctx, std::span<const uint8_t> args,
                                       std::chrono::nanoseconds* wait);
  rpc::Reply run(const rpc::CallContext& ctx, std::span<const uint8_t> args, CompoundFacts* facts);
};

}  // namespace efs::nfs4
