// ONC RPC version 2 messages (RFC 5531 sections 8 and 9): decoding a CALL's
// header and credentials, encoding REPLY headers. Pure byte work, no I/O.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "rpc/program.h"

namespace efs::rpc {

inline constexpr uint32_t kRpcVersion = 2;
// RFC 5531 section 8.2: opaque_auth bodies are at most 400 bytes.
inline constexpr uint32_t kMaxAuthBody = 400;
// RFC 5531 appendix A: authsys_parms bounds.
inline constexpr uint32_t kMaxMachineName = 255;
inline constexpr uint32_t kMaxAuthSysGids = 16;

enum class MsgType : uint32_t { call = 0, reply = 1 };
enum class AuthFlavor : uint32_t { none = 0, sys = 1, short_hand = 2, dh = 3, rpcsec_gss = 6 };
enum class ReplyStat : uint32_t { accepted = 0, denied = 1 };
enum class RejectStat : uint32_t { rpc_mismatch = 0, auth_error = 1 };
enum class AuthStat : uint32_t {
  ok = 0,
  badcred = 1,
  rejectedcred = 2,
  badverf = 3,
  rejectedverf = 4,
  tooweak = 5,
  invalidresp = 6,
  failed = 7,
};

// A CALL's header as read off the wire. Spans point into the record.
struct CallHeader {
  uint32_t xid = 0;
  uint32_t rpcvers = 0;
  // The fields below are read only when rpcvers == 2 (RFC 5531 section 9:
  // a server answers another version with RPC_MISMATCH without reading on).
  uint32_t prog = 0, vers = 0, proc = 0;
  uint32_t cred_flavor = 0;
  std::span<const uint8_t> cred_body;
  uint32_t verf_flavor = 0;
  std::span<const uint8_t> verf_body;
  std::span<const uint8_t> args;  // the procedure's arguments: the rest of the record
};

// A record that cannot be answered at all: the connection is closed, since
// without a readable xid there is no reply to send (RFC 5531 gives none).
enum class CallFault {
  truncated,        // ended inside the header (or the record is empty)
  not_a_call,       // msg_type is REPLY or unknown: we never send calls, so no reply is expected
  bad_auth_length,  // a credential or verifier length runs past the record
};
const char* to_string(CallFault f);

Result<CallHeader, CallFault> decode_call(std::span<const uint8_t> record);

// authsys_parms (RFC 5531 appendix A). Fails on truncation, on bounds
// (machinename > 255 bytes, more than 16 gids) and on trailing bytes, all of
// which a server answers with AUTH_BADCRED.
Result<AuthSys, AuthStat> decode_auth_sys(std::span<const uint8_t> body);
// The inverse, for tests and clients.
void encode_auth_sys(const AuthSys& a, std::vector<uint8_t>& out);

// A reply as sent on the wire: `head` begins with the record mark and holds
// the RPC reply header; `body` is the procedure's results, sent right after
// (kept apart so a 1 MiB READ result is not copied again).
struct ReplyRecord {
  std::vector<uint8_t> head;
  std::vector<uint8_t> body;
  std::vector<uint8_t> joined() const;
};

// MSG_ACCEPTED with verifier AUTH_NONE and the given stat. For
// AcceptStat::prog_mismatch, low/high are the supported versions; for
// success, body holds the results (for other stats it is dropped).
ReplyRecord accepted_reply(uint32_t xid, AcceptStat stat, std::vector<uint8_t> body = {},
                           uint32_t low = 0, uint32_t high = 0);
// MSG_DENIED RPC_MISMATCH: we speak only version 2.
ReplyRecord rpc_mismatch_reply(uint32_t xid);
// MSG_DENIED AUTH_ERROR.
ReplyRecord auth_error_reply(uint32_t xid, AuthStat why);

}  // namespace efs::rpc
