// Conversions between the generated wire types and the state layer's own
// (state/types.h), shared by the state op files. Internal to src/nfs4/ops.
#pragma once

#include <optional>
#include <vector>

#include "nfs4/compound.h"
#include "nfs4/state/state_manager.h"
#include "xdr/xdr.h"

namespace efs::nfs4::state_convert {

// The state layer's status numbers are nfsstat4's.
static_assert(uint32_t(Nfs4Stat::bad_stateid) == uint32_t(NFS4ERR_BAD_STATEID));
static_assert(uint32_t(Nfs4Stat::seq_misordered) == uint32_t(NFS4ERR_SEQ_MISORDERED));
static_assert(uint32_t(Nfs4Stat::clientid_busy) == uint32_t(NFS4ERR_CLIENTID_BUSY));
static_assert(uint32_t(Nfs4Stat::encr_alg_unsupp) == uint32_t(NFS4ERR_ENCR_ALG_UNSUPP));
static_assert(uint32_t(Nfs4Stat::locks_held) == uint32_t(NFS4ERR_LOCKS_HELD));
static_assert(uint32_t(Nfs4Stat::retry_uncached_rep) == uint32_t(NFS4ERR_RETRY_UNCACHED_REP));

inline nfsstat4 wire(Nfs4Stat s) {
  return static_cast<nfsstat4>(static_cast<int32_t>(s));
}

inline StateId from_wire(const stateid4& s) {
  return StateId{s.seqid, s.other};
}
inline stateid4 to_wire(const StateId& s) {
  stateid4 w;
  w.seqid = s.seqid;
  w.other = s.other;
  return w;
}

// RFC 8881 16.2.3.1.2: in 4.1 the special "current stateid" (seqid 1, other
// zero) stands for the stateid the previous op of this COMPOUND produced.
inline nfsstat4 resolve(const Compound& c, const stateid4& in, StateId* out) {
  StateId s = from_wire(in);
  if (c.minorversion >= 1 && is_current_stateid(s)) {
    if (!c.has_current_stateid) return NFS4ERR_BAD_STATEID;
    s = from_wire(c.current_stateid);
  }
  *out = s;
  return NFS4_OK;
}

inline void set_current(Compound& c, const StateId& s) {
  if (c.minorversion < 1) return;
  c.current_stateid = to_wire(s);
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
  res.status = wire(r.status);
  fill(res);
  if (r.status == Nfs4Stat::ok) set_current(c, r.sid);
  if (c.minorversion == 0) {
    sm.owner_reply(r.seqid_owner, r.seqid, r.status, OwnerReply{static_cast<uint32_t>(op), encode_bytes(res)});
  }
  return res.status;
}

}  // namespace efs::nfs4::state_convert
