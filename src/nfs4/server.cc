#include "nfs4/server.h"

#include "common/log.h"
#include "nfs4/compound.h"
#include "nfs4/state/state_manager.h"

namespace efs::nfs4 {

namespace {
constexpr uint32_t kProcNull = 0;
constexpr uint32_t kProcCompound = 1;
}  // namespace

Server::Server(vfs::Vfs& vfs, const efs::Catalog& catalog, Clock& clock, ServerOptions options,
               meta::Db* db)
    : vfs_(vfs), catalog_(catalog), clock_(clock), options_(options), exports_(vfs, catalog) {
  auto since_epoch = clock.now().time_since_epoch();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count();
  start_time_ = {ns / 1000000000, static_cast<uint32_t>(ns % 1000000000)};
  StateOptions so;
  so.lease_time = options.lease_time;
  so.grace_time = options.grace_time;
  state_ = std::make_unique<StateManager>(clock, so, db);
}

Server::~Server() = default;

rpc::Reply Server::handle(const rpc::CallContext& ctx, std::span<const uint8_t> args) {
  rpc::Reply reply;
  switch (ctx.proc) {
    case kProcNull:
      return reply;
    case kProcCompound: {
      auto body = run_compound(*this, ctx, args);
      if (!body) {
        reply.stat = rpc::AcceptStat::garbage_args;
        return reply;
      }
      reply.body = std::move(*body);
      return reply;
    }
    default:
      spdlog::info("nfs4: xid {:#x}: procedure {} unavailable", ctx.xid, ctx.proc);
      reply.stat = rpc::AcceptStat::proc_unavail;
      return reply;
  }
}

asio::awaitable<rpc::Reply> Server::call(const rpc::CallContext& ctx,
                                         std::span<const uint8_t> args) {
  co_return handle(ctx, args);
}

void Server::connection_closed(uint64_t connection_id) {
  state_->connection_closed(connection_id);
}

void Server::tick() {
  state_->tick();
}

}  // namespace efs::nfs4
