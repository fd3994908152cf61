#include "rpc/dispatcher.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <string>

namespace efs::rpc {

Status<> Dispatcher::add(Program& program) {
  auto [it, inserted] = programs_.emplace(program.program(), &program);
  if (!inserted) {
    return fail(Error{"RPC program " + std::to_string(program.program()) + " is already served"});
  }
  return {};
}

Program* Dispatcher::find(uint32_t prog) const {
  auto it = programs_.find(prog);
  return it == programs_.end() ? nullptr : it->second;
}

Result<Admission, CallFault> Dispatcher::admit(std::span<const uint8_t> record,
                                               const CallContext& conn) const {
  auto decoded = decode_call(record);
  if (!decoded) return fail(decoded.error());
  const CallHeader& h = *decoded;
  // RFC 5531 section 9: the only RPC version is 2; say so with the range.
  if (h.rpcvers != kRpcVersion) return Admission{rpc_mismatch_reply(h.xid)};

  // Credentials are checked before the program, as Linux sunrpc does
  // (svc_authenticate runs before the program lookup).
  if (h.cred_body.size() > kMaxAuthBody || h.verf_body.size() > kMaxAuthBody) {
    return Admission{auth_error_reply(h.xid, AuthStat::badcred)};
  }
  CallContext ctx = conn;
  ctx.xid = h.xid;
  ctx.prog = h.prog;
  ctx.vers = h.vers;
  ctx.proc = h.proc;
  ctx.auth_sys.reset();
  switch (static_cast<AuthFlavor>(h.cred_flavor)) {
    case AuthFlavor::none:
      // RFC 5531 appendix A: AUTH_NONE carries an empty body.
      if (!h.cred_body.empty()) return Admission{auth_error_reply(h.xid, AuthStat::badcred)};
      break;
    case AuthFlavor::sys: {
      auto sys = decode_auth_sys(h.cred_body);
      if (!sys) return Admission{auth_error_reply(h.xid, sys.error())};
      ctx.auth_sys = std::move(*sys);
      break;
    }
    default:
      // EFS takes AUTH_SYS only. Any other flavor (RPCSEC_GSS, AUTH_DH, ...)
      // gets AUTH_BADCRED, which is what Linux nfsd answers for a flavor it
      // has no handler for. AUTH_TOOWEAK would tell the client to retry with
      // a *stronger* flavor, which is wrong for RPCSEC_GSS and would send it
      // looking for something we do not have.
      return Admission{auth_error_reply(h.xid, AuthStat::badcred)};
  }
  // The verifier of AUTH_NONE and AUTH_SYS calls carries nothing we check;
  // replies always carry an AUTH_NONE verifier.

  Program* p = find(h.prog);
  // efs-proxy's 400123 and 100200 are served (net/partition_bind.h) when
  // the server registers them; otherwise they get PROG_UNAVAIL here too.
  if (!p) return Admission{accepted_reply(h.xid, AcceptStat::prog_unavail)};
  if (h.vers < p->min_version() || h.vers > p->max_version()) {
    return Admission{
        accepted_reply(h.xid, AcceptStat::prog_mismatch, {}, p->min_version(), p->max_version())};
  }
  // The program classifies the call here, on the I/O thread, so the
  // connection knows where to run it (program.h, "Where a call runs").
  const CallCost cost = p->cost(ctx, h.args);
  return Admission{AdmittedCall{p, std::move(ctx), h.args, cost}};
}

asio::awaitable<ReplyRecord> Dispatcher::run(AdmittedCall call) {
  Reply reply;
  bool failed = false;
  try {
    reply = co_await call.program->call(call.ctx, call.args);
  } catch (const std::exception& e) {
    spdlog::error("RPC program {} proc {} threw: {}", call.ctx.prog, call.ctx.proc, e.what());
    failed = true;
  } catch (...) {
    spdlog::error("RPC program {} proc {} threw a non-exception", call.ctx.prog, call.ctx.proc);
    failed = true;
  }
  if (failed) co_return accepted_reply(call.ctx.xid, AcceptStat::system_err);
  if (reply.stat == AcceptStat::prog_mismatch) {
    co_return accepted_reply(call.ctx.xid, reply.stat, {}, call.program->min_version(),
                             call.program->max_version());
  }
  co_return accepted_reply(call.ctx.xid, reply.stat, std::move(reply.body));
}

asio::awaitable<Result<ReplyRecord, CallFault>> Dispatcher::dispatch(
    std::span<const uint8_t> record, CallContext conn) const {
  auto admitted = admit(record, conn);
  if (!admitted) co_return fail(admitted.error());
  if (auto* ready = std::get_if<ReplyRecord>(&*admitted)) co_return std::move(*ready);
  co_return co_await run(std::get<AdmittedCall>(std::move(*admitted)));
}

void Dispatcher::connection_closed(uint64_t connection_id) const {
  for (auto& [num, p] : programs_) p->connection_closed(connection_id);
}

}  // namespace efs::rpc
