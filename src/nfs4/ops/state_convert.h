// What the state op files share beyond the generated wire types (which the
// state layer speaks too): the 4.1 current stateid, the caller's principal,
// the file key, and the 4.0 owner reply cache. Internal to src/nfs4/ops.
#pragma once

#include <optional>
#include <vector>

#include "nfs4/compound.h"
#include "nfs4/state/state_manager.h"
#include "xdr/xdr.h"

namespace efs::nfs4::state_convert {

// RFC 8881 16.2.3.1.2: in 4.1 the special "current stateid" (seqid 1, other
// zero) stands for the stateid the previous op of this COMPOUND produced.
inline nfsstat4 resolve(const Compound& c, const stateid4& in, stateid4* out) {
  stateid4 s = in;
  if (c.minorversion >= 1 && is_current_stateid(s)) {
    if (!c.has_current_stateid) return NFS4ERR_BAD_STATEID;
    s = c.current_stateid;
  }
  *out = s;
  return NFS4_OK;
}

inline void set_current(Compound& c, const stateid4& s) {
  if (c.minorversion < 1) return;
  c.current_stateid = s;
  c.has_current_stateid = true;
}

// The principal that owns a client record: the AUTH_SYS uid and machine
// name (before access point squashing); AUTH_NONE is nobody.
inline Principal principal(const Compound& c) {
  if (!c.call.auth_sys) return Principal{65534u};
  return Principal{c.call.auth_sys->uid, c.call.auth_sys->machine_name};
}

inline FileKey file_key(const CurrentFh& fh) {
  return FileKey{fh.fs ? fh.fs->fsid() : 0, fh.ino};
}

template <class T>
std::vector<uint8_t> encode_bytes(const T& v) {
  std::vector<uint8_t> out;
  xdr::Writer w(&out);
  encode(w, v);
  return out;
}

template <class T>
bool decode_bytes(const std::vector<uint8_t>& in, T& v) {
  xdr::Reader r(in);
  return decode(r, v);
}

// How the ops that consume an owner's seqid answer (RFC 7530 9.1.7): a
// retransmission gets the owner's last reply again; otherwise the status,
// `fill` puts the results (the new stateid, a lock conflict) into res, and a
// new stateid becomes the 4.1 current stateid. In 4.0 the reply is kept as
// the owner's last one for the next retransmission.
template <class R, class Res, class Fill>
nfsstat4 answer_seqid_op(Compound& c, StateManager& sm, const R& r, nfs_opnum4 op, Res& res,
                         Fill fill) {
  if (r.replay) {
    if (!decode_bytes(r.replay->bytes, res)) return res.status = NFS4ERR_SERVERFAULT;
    return res.status;
  }
  res.status = r.status;
  fill(res);
  if (r.status == NFS4_OK) set_current(c, r.sid);
  if (c.minorversion == 0) {
    sm.owner_reply(r.seqid_owner, r.seqid, r.status,
                   OwnerReply{static_cast<uint32_t>(op), encode_bytes(res)});
  }
  return res.status;
}

}  // namespace efs::nfs4::state_convert
