#include "rpc/message.h"

#include <cstring>

#include "rpc/record.h"
#include "xdr/xdr.h"

namespace efs::rpc {

const char* to_string(CallFault f) {
  switch (f) {
    case CallFault::truncated:
      return "record too short for an RPC call header";
    case CallFault::not_a_call:
      return "message is not an RPC CALL";
    case CallFault::bad_auth_length:
      return "credential or verifier length runs past the record";
  }
  return "unknown";
}

Result<CallHeader, CallFault> decode_call(std::span<const uint8_t> record) {
  xdr::Reader r(record);
  CallHeader h;
  h.xid = r.u32();
  uint32_t mtype = r.u32();
  if (!r.ok()) return fail(CallFault::truncated);
  if (mtype != static_cast<uint32_t>(MsgType::call)) return fail(CallFault::not_a_call);
  h.rpcvers = r.u32();
  if (!r.ok()) return fail(CallFault::truncated);
  if (h.rpcvers != kRpcVersion) return h;
  h.prog = r.u32();
  h.vers = r.u32();
  h.proc = r.u32();
  h.cred_flavor = r.u32();
  if (!r.ok()) return fail(CallFault::truncated);
  // The 400-byte cap on auth bodies is checked by the dispatcher, which
  // answers AUTH_BADCRED; here only the framing must hold.
  h.cred_body = r.opaque(0xffffffffu);
  if (!r.ok()) return fail(CallFault::bad_auth_length);
  h.verf_flavor = r.u32();
  if (!r.ok()) return fail(CallFault::truncated);
  h.verf_body = r.opaque(0xffffffffu);
  if (!r.ok()) return fail(CallFault::bad_auth_length);
  h.args = r.rest();
  return h;
}

Result<AuthSys, AuthStat> decode_auth_sys(std::span<const uint8_t> body) {
  xdr::Reader r(body);
  AuthSys a;
  a.stamp = r.u32();
  a.machine_name = r.string(kMaxMachineName);
  a.uid = r.u32();
  a.gid = r.u32();
  uint32_t n = r.count(kMaxAuthSysGids);
  a.gids.reserve(n);
  for (uint32_t i = 0; i < n && r.ok(); ++i) a.gids.push_back(r.u32());
  // Trailing bytes mean the client and we disagree on the layout; Linux
  // nfsd refuses them the same way.
  if (!r.ok() || r.remaining() != 0) return fail(AuthStat::badcred);
  return a;
}

void encode_auth_sys(const AuthSys& a, std::vector<uint8_t>& out) {
  xdr::Writer w(&out);
  w.u32(a.stamp);
  w.string(a.machine_name);
  w.u32(a.uid);
  w.u32(a.gid);
  w.u32(static_cast<uint32_t>(a.gids.size()));
  for (uint32_t g : a.gids) w.u32(g);
}

std::vector<uint8_t> ReplyRecord::joined() const {
  std::vector<uint8_t> out;
  out.reserve(head.size() + body.size());
  out.insert(out.end(), head.begin(), head.end());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

namespace {

// Writes the reply's xid and type after a placeholder record mark.
xdr::Writer start_reply(std::vector<uint8_t>& head, uint32_t xid, ReplyStat stat) {
  xdr::Writer w(&head);
  w.u32(0);  // record mark, patched by finish()
  w.u32(xid);
  w.u32(static_cast<uint32_t>(MsgType::reply));
  w.u32(static_cast<uint32_t>(stat));
  return w;
}

// The whole reply goes out as one last fragment (RFC 5531 section 11).
ReplyRecord finish(ReplyRecord r) {
  std::size_t len = r.head.size() - 4 + r.body.size();
  put_record_mark(r.head.data(), static_cast<uint32_t>(len));
  return r;
}

}  // namespace

ReplyRecord accepted_reply(uint32_t xid, AcceptStat stat, std::vector<uint8_t> body, uint32_t low,
                           uint32_t high) {
  ReplyRecord r;
  r.head.reserve(40);
  // A body that cannot fit in one fragment cannot be produced by any NFS
  // procedure we serve; answer SYSTEM_ERR rather than send a corrupt stream.
  if (stat == AcceptStat::success && body.size() > kFragmentLengthMask - 64) {
    stat = AcceptStat::system_err;
  }
  auto w = start_reply(r.head, xid, ReplyStat::accepted);
  w.u32(static_cast<uint32_t>(AuthFlavor::none));  // verifier: AUTH_NONE, empty body
  w.u32(0);
  w.u32(static_cast<uint32_t>(stat));
  if (stat == AcceptStat::prog_mismatch) {
    w.u32(low);
    w.u32(high);
  }
  if (stat == AcceptStat::success) r.body = std::move(body);
  return finish(std::move(r));
}

ReplyRecord rpc_mismatch_reply(uint32_t xid) {
  ReplyRecord r;
  auto w = start_reply(r.head, xid, ReplyStat::denied);
  w.u32(static_cast<uint32_t>(RejectStat::rpc_mismatch));
  w.u32(kRpcVersion);
  w.u32(kRpcVersion);
  return finish(std::move(r));
}

ReplyRecord auth_error_reply(uint32_t xid, AuthStat why) {
  ReplyRecord r;
  auto w = start_reply(r.head, xid, ReplyStat::denied);
  w.u32(static_cast<uint32_t>(RejectStat::auth_error));
  w.u32(static_cast<uint32_t>(why));
  return finish(std::move(r));
}

}  // namespace efs::rpc
