#include "nfs4/server.h"

#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <thread>

#include "common/log.h"
#include "nfs4/compound.h"
#include "nfs4/state/state_manager.h"
#include "throughput/throttle.h"
#include "xdr/nfs4_xdr.h"
#include "xdr/xdr.h"

namespace efs::nfs4 {

namespace {
constexpr uint32_t kProcNull = 0;
constexpr uint32_t kProcCompound = 1;
// How often a retransmission waiting for its first transmission looks again.
constexpr std::chrono::milliseconds kInProgressPoll{2};

// The minor version of a COMPOUND4args (after its tag), or nullopt when the
// header does not decode (the loop then answers GARBAGE_ARGS).
std::optional<uint32_t> compound_minor(std::span<const uint8_t> args) {
  xdr::Reader r(args);
  r.opaque(0xffffffffu);
  uint32_t minor = r.u32();
  if (!r.ok()) return std::nullopt;
  return minor;
}

// Ops that never wait for a disk write, with the size of their arguments
// known from the wire alone, so the COMPOUND can be walked without a full
// decode: they touch memory (filehandles, the session's slot table), the
// page cache (READ takes no stripe lock, vfs/data_ops.cc) and SQLite reads
// (a separate connection pool that never waits for the writer in WAL mode,
// meta/db.h). Everything else -- WRITE, COMMIT, OPEN, CREATE, REMOVE,
// RENAME, SETATTR, EXCHANGE_ID (client records are persisted), ... -- may
// wait for group commit or an fdatasync. READDIR is left out: a large
// directory is long work that would hold an I/O thread as surely as a
// commit.
// Skips one op's arguments; false when the op is not one of them (or its
// arguments are cut short).
bool skip_inline_op(xdr::Reader& r, uint32_t op) {
  using namespace xdr::nfs4;
  switch (op) {
    case OP_GETFH:
    case OP_LOOKUPP:
    case OP_PUTPUBFH:
    case OP_PUTROOTFH:
    case OP_READLINK:
    case OP_RESTOREFH:
    case OP_SAVEFH:
      break;
    case OP_ACCESS:
      r.u32();
      break;
    case OP_GETATTR: {
      // bitmap4: a counted array of u32; a count past the data fails below.
      uint32_t words = r.u32();
      if (words > r.remaining() / 4) return false;
      r.fixed(std::size_t{words} * 4);
      break;
    }
    case OP_LOOKUP:
      r.opaque(0xffffffffu);  // component4
      break;
    case OP_PUTFH:
      r.opaque(NFS4_FHSIZE);
      break;
    case OP_READ:
      r.fixed(16);  // stateid4
      r.u64();      // offset
      r.u32();      // count
      break;
    case OP_SEQUENCE:
      r.fixed(NFS4_SESSIONID_SIZE);
      r.fixed(4 * 4);  // sequenceid, slotid, highest_slotid, cachethis
      break;
    default:
      return false;
  }
  return r.ok();
}

}  // namespace

rpc::CallCost Server::cost(const rpc::CallContext& ctx, std::span<const uint8_t> args) const {
  if (ctx.proc == kProcNull) return rpc::CallCost::inline_ok;
  if (ctx.proc != kProcCompound) return rpc::CallCost::inline_ok;  // PROC_UNAVAIL at once
  // COMPOUND4args: tag, minorversion, argarray<>.
  xdr::Reader r(args);
  r.opaque(0xffffffffu);
  r.u32();
  uint32_t count = r.u32();
  if (!r.ok()) return rpc::CallCost::may_block;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t op = r.u32();
    if (!r.ok() || !skip_inline_op(r, op)) return rpc::CallCost::may_block;
  }
  return rpc::CallCost::inline_ok;
}

Server::Server(vfs::Vfs& vfs, const efs::Catalog& catalog, Clock& clock, ServerOptions options,
               meta::Db* db)
    : vfs_(vfs),
      catalog_(catalog),
      clock_(clock),
      options_(options),
      exports_(vfs, catalog),
      reply_cache_(options.reply_cache) {
  auto since_epoch = clock.now().time_since_epoch();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count();
  start_time_ = {ns / 1000000000, static_cast<uint32_t>(ns % 1000000000)};
  StateOptions so;
  so.lease_time = options.lease_time;
  so.grace_time = options.grace_time;
  state_ = std::make_unique<StateManager>(clock, so, db);
}

Server::~Server() = default;

rpc::Reply Server::run(const rpc::CallContext& ctx, std::span<const uint8_t> args,
                       CompoundFacts* facts) {
  rpc::Reply reply;
  switch (ctx.proc) {
    case kProcNull:
      return reply;
    case kProcCompound: {
      auto body = run_compound(*this, ctx, args, facts);
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

std::optional<rpc::Reply> Server::try_handle(const rpc::CallContext& ctx,
                                             std::span<const uint8_t> args,
                                             std::chrono::nanoseconds* wait) {
  // Only 4.0 COMPOUNDs go through the duplicate request cache (reply_cache.h
  // says why it lives here); 4.1 has its session slots, NULL is harmless.
  if (ctx.proc != kProcCompound || compound_minor(args) != 0u) {
    CompoundFacts facts;
    auto reply = run(ctx, args, &facts);
    if (wait) *wait = facts.throttle_wait;
    return reply;
  }

  auto key = ReplyCache::key_of(ctx.remote_address, ctx.remote_port, ctx.xid, ctx.proc, args);
  auto found = reply_cache_.begin(key, clock_.steady_now());
  if (found.state == ReplyCache::State::hit) {
    spdlog::debug("nfs4: xid {:#x} from {}:{}: retransmission answered from the reply cache",
                  ctx.xid, ctx.remote_address, ctx.remote_port);
    rpc::Reply reply;
    reply.body = std::move(found.reply);
    return reply;
  }
  if (found.state == ReplyCache::State::in_progress) return std::nullopt;

  // The entry is in progress until finish() or abandon(), even if an op throws.
  struct Abandon {
    ReplyCache& cache;
    const ReplyCache::Key& key;
    bool armed = true;
    ~Abandon() {
      if (armed) cache.abandon(key);
    }
  } guard{reply_cache_, key};
  CompoundFacts facts;
  rpc::Reply reply = run(ctx, args, &facts);
  if (wait) *wait = facts.throttle_wait;
  if (reply.stat == rpc::AcceptStat::success && facts.non_idempotent) {
    guard.armed = false;
    reply_cache_.finish(key, reply.body, clock_.steady_now());
  }
  return reply;
}

rpc::Reply Server::handle(const rpc::CallContext& ctx, std::span<const uint8_t> args) {
  for (;;) {
    if (auto reply = try_handle(ctx, args, nullptr)) return std::move(*reply);
    std::this_thread::sleep_for(kInProgressPoll);
  }
}

asio::awaitable<rpc::Reply> Server::call(const rpc::CallContext& ctx,
                                         std::span<const uint8_t> args) {
  std::optional<asio::steady_timer> timer;
  for (;;) {
    std::chrono::nanoseconds wait{0};
    if (auto reply = try_handle(ctx, args, &wait)) {
      if (wait > std::chrono::nanoseconds(0)) {
        // Throughput (throttle.h): the reply, and so the client's next
        // request on this slot or connection, waits on a timer; no thread
        // is held and no other file system's calls wait behind it.
        if (!timer) timer.emplace(co_await asio::this_coro::executor);
        timer->expires_after(wait);
        asio::error_code ec;
        co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      co_return std::move(*reply);
    }
    // A retransmission of a call that still runs (on another connection of
    // the same client): wait for its reply without holding a thread.
    if (!timer) timer.emplace(co_await asio::this_coro::executor);
    timer->expires_after(kInProgressPoll);
    co_await timer->async_wait(asio::use_awaitable);
  }
}

void Server::connection_closed(uint64_t connection_id) {
  state_->connection_closed(connection_id);
  if (throttle_) throttle_->connection_closed(connection_id);
}

void Server::tick() {
  state_->tick();
}

}  // namespace efs::nfs4
