// 4.0 client ops: SETCLIENTID, SETCLIENTID_CONFIRM, RENEW, RELEASE_LOCKOWNER
// (RFC 7530 16.33, 16.34, 16.29, 16.37). Callback information is accepted
// and kept, but no callback is ever made (EFS grants no delegations).
#include "common/log.h"
#include "nfs4/ops/state_convert.h"
#include "nfs4/ops/state_ops.h"
#include "nfs4/server.h"

namespace efs::nfs4 {

using namespace state_convert;

nfsstat4 op_setclientid(Compound& c, const SETCLIENTID4args& args, SETCLIENTID4res& res) {
  auto r = c.server.state().setclientid(args.client.verifier, args.client.id, principal(c),
                                        args.callback.cb_program);
  if (!r) return res.status = r.error();
  res.resok4 = std::move(*r);
  return res.status = NFS4_OK;
}

nfsstat4 op_setclientid_confirm(Compound& c, const SETCLIENTID_CONFIRM4args& args,
                                SETCLIENTID_CONFIRM4res& res) {
  return res.status = c.server.state().setclientid_confirm(args.clientid, args.setclientid_confirm,
                                                           principal(c));
}

nfsstat4 op_renew(Compound& c, const RENEW4args& args, RENEW4res& res) {
  return res.status = c.server.state().renew(args.clientid);
}

nfsstat4 op_release_lockowner(Compound& c, const RELEASE_LOCKOWNER4args& args,
                              RELEASE_LOCKOWNER4res& res) {
  return res.status =
             c.server.state().release_lockowner(args.lock_owner.clientid, args.lock_owner.owner);
}

}  // namespace efs::nfs4
