#include "xdr/nfs4_compound.h"

namespace efs::xdr::nfs4 {

CompoundArgsDecode decode_compound_args(efs::xdr::Reader& r, uint32_t max_ops) {
  CompoundArgsDecode out;
  decode_utf8string(r, out.args.tag);
  out.args.minorversion = r.u32();
  // Each op is at least its 4-byte opcode, so a count larger than the bytes
  // left can be refused before anything is allocated.
  uint32_t n = r.count(0xffffffffu, 4);
  if (!r.ok()) {
    out.status = NFS4ERR_BADXDR;
    return out;
  }
  out.header_ok = true;
  out.op_count = n;
  if (n > max_ops) {
    out.status = NFS4ERR_TOO_MANY_OPS;
    return out;
  }
  out.args.argarray.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    efs::xdr::Reader at_op = r;
    int32_t op = r.i32();
    out.stop_opcode = op;
    if (!r.ok()) {
      out.status = NFS4ERR_BADXDR;
      return out;
    }
    if (!is_known_opcode(op) && op != OP_ILLEGAL) {
      out.status = NFS4ERR_OP_ILLEGAL;
      return out;
    }
    r = at_op;
    nfs_argop4 arg;
    if (!decode(r, arg)) {
      out.status = NFS4ERR_BADXDR;
      return out;
    }
    out.args.argarray.push_back(std::move(arg));
  }
  out.stop_opcode = 0;
  out.trailing_bytes = r.remaining();
  return out;
}

}  // namespace efs::xdr::nfs4
