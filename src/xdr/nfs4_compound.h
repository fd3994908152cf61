// Decoding a COMPOUND request one operation at a time, and small helpers
// over the generated NFSv4 codecs (xdr/nfs4_xdr.h).
//
// Why not just decode(r, COMPOUND4args&): RFC 8881 section 15.2 and 16.2.3
// (RFC 7530 sections 13.2, 15.2 for 4.0) want the ops *before* an
// undecodable one executed and answered, and the bad op answered with
// NFS4ERR_OP_ILLEGAL (opcode outside the protocol) or NFS4ERR_BADXDR (its
// arguments do not decode). The all-or-nothing decoder cannot say which op
// failed; this one stops at the first bad op and reports it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "xdr/nfs4_xdr.h"
#include "xdr/xdr.h"

namespace efs::xdr::nfs4 {

struct CompoundArgsDecode {
  // tag, minorversion, and every op decoded before decoding stopped.
  COMPOUND4args args;
  // NFS4_OK: the whole request decoded.
  // NFS4ERR_BADXDR: the header (tag, minorversion, op count) is unreadable
  //   (header_ok false), or op number args.argarray.size() has arguments that
  //   do not decode (stop_opcode says which op).
  // NFS4ERR_OP_ILLEGAL: op number args.argarray.size() has an opcode that is
  //   not an NFSv4.0/4.1 operation (stop_opcode holds it). OP_ILLEGAL (10044)
  //   sent by the client decodes normally and is for the handler to refuse.
  // NFS4ERR_TOO_MANY_OPS: the op count exceeds max_ops; no op was decoded.
  //   (4.0 has no such error: a 4.0 server answers NFS4ERR_RESOURCE.)
  nfsstat4 status = NFS4_OK;
  bool header_ok = false;
  uint32_t op_count = 0;           // the count the client sent
  int32_t stop_opcode = 0;         // opcode where decoding stopped, if it did
  std::size_t trailing_bytes = 0;  // bytes left after the last op (NFS4_OK only)
};

// Reads COMPOUND4args from r. Never throws; r's error flag is left set when
// status is NFS4ERR_BADXDR.
CompoundArgsDecode decode_compound_args(efs::xdr::Reader& r, uint32_t max_ops = 1u << 20);

// True for the opcodes of NFSv4.0 and 4.1 (3..58); OP_ILLEGAL is not one.
inline bool is_known_opcode(int32_t op) {
  return op >= OP_ACCESS && op <= OP_RECLAIM_COMPLETE;
}

// Encodes any generated type into a fresh buffer.
template <class T>
std::vector<uint8_t> to_bytes(const T& v) {
  std::vector<uint8_t> out;
  efs::xdr::Writer w(&out);
  encode(w, v);
  return out;
}

// Decodes a whole buffer into v: false if it does not decode or bytes are
// left over.
template <class T>
bool from_bytes(std::span<const uint8_t> bytes, T& v) {
  efs::xdr::Reader r(bytes);
  decode(r, v);
  return r.ok() && r.remaining() == 0;
}

}  // namespace efs::xdr::nfs4
