// 4.1 client and session ops: EXCHANGE_ID, CREATE_SESSION, DESTROY_SESSION,
// SEQUENCE, BIND_CONN_TO_SESSION, DESTROY_CLIENTID, RECLAIM_COMPLETE,
// TEST_STATEID, FREE_STATEID (RFC 8881 18.35-18.38, 18.46-18.51).
#include "common/log.h"
#include "nfs4/ops/state_convert.h"
#include "nfs4/ops/state_ops.h"
#include "nfs4/server.h"

namespace efs::nfs4 {

using namespace state_convert;

nfsstat4 op_exchange_id(Compound& c, const EXCHANGE_ID4args& args, EXCHANGE_ID4res& res) {
  auto& sm = c.server.state();
  auto r = sm.exchange_id(args.eia_clientowner.co_verifier, args.eia_clientowner.co_ownerid,
                          args.eia_flags, static_cast<uint32_t>(args.eia_state_protect.spa_how),
                          principal(c));
  if (!r) {
    spdlog::info("nfs4 EXCHANGE_ID: {}", to_string(r.error()));
    return res.eir_status = r.error();
  }
  auto& ok = res.eir_resok4;
  ok = std::move(*r);  // eir_clientid, eir_sequenceid, eir_flags
  ok.eir_state_protect.spr_how = SP4_NONE;
  // RFC 8881 2.5: the same owner and scope across restarts tell the client it
  // may reclaim its state here.
  const auto& major = StateManager::server_owner_major();
  const auto& scope = StateManager::server_scope();
  ok.eir_server_owner.so_minor_id = 0;
  ok.eir_server_owner.so_major_id.assign(major.begin(), major.end());
  ok.eir_server_scope.assign(scope.begin(), scope.end());
  nfs_impl_id4 impl;
  impl.nii_domain = "efs-local";
  impl.nii_name = "efs-local NFSv4.1 server";
  ok.eir_server_impl_id.push_back(std::move(impl));
  return res.eir_status = NFS4_OK;
}

nfsstat4 op_create_session(Compound& c, const CREATE_SESSION4args& args, CREATE_SESSION4res& res) {
  auto r = c.server.state().create_session(args, principal(c), c.call.connection_id);
  if (!r) {
    spdlog::info("nfs4 CREATE_SESSION: client {:x}: {}", args.csa_clientid, to_string(r.error()));
    return res.csr_status = r.error();
  }
  res.csr_resok4 = std::move(*r);
  return res.csr_status = NFS4_OK;
}

nfsstat4 op_destroy_session(Compound& c, const DESTROY_SESSION4args& args,
                            DESTROY_SESSION4res& res) {
  return res.dsr_status =
             c.server.state().destroy_session(args.dsa_sessionid, c.call.connection_id);
}

nfsstat4 op_sequence(Compound& c, const SEQUENCE4args& args, SEQUENCE4res& res) {
  auto r = c.server.state().sequence(args, c.call.connection_id);
  if (!r) {
    spdlog::debug("nfs4 SEQUENCE: slot {} seq {}: {}", args.sa_slotid, args.sa_sequenceid,
                  to_string(r.error()));
    return res.sr_status = r.error();
  }
  res.sr_resok4 = r->resok;
  c.session = r->session;
  c.client = r->client;
  c.cachethis = args.sa_cachethis;
  if (r->replay) {
    // RFC 8881 2.10.6.1.3: a retransmission gets the cached reply, whole.
    c.replay = std::move(*r->replay);
  } else {
    std::shared_ptr<Session> s = r->session;
    uint32_t slot = args.sa_slotid;
    c.store_reply = [s, slot](const std::vector<uint8_t>& reply) { s->store_reply(slot, reply); };
  }
  return res.sr_status = NFS4_OK;
}

nfsstat4 op_bind_conn_to_session(Compound& c, const BIND_CONN_TO_SESSION4args& args,
                                 BIND_CONN_TO_SESSION4res& res) {
  auto r = c.server.state().bind_conn_to_session(args.bctsa_sessid, args.bctsa_dir,
                                                 c.call.connection_id);
  if (!r) return res.bctsr_status = r.error();
  res.bctsr_resok4.bctsr_sessid = args.bctsa_sessid;
  res.bctsr_resok4.bctsr_dir = *r;
  res.bctsr_resok4.bctsr_use_conn_in_rdma_mode = false;  // no RDMA
  return res.bctsr_status = NFS4_OK;
}

nfsstat4 op_destroy_clientid(Compound& c, const DESTROY_CLIENTID4args& args,
                             DESTROY_CLIENTID4res& res) {
  return res.dcr_status = c.server.state().destroy_clientid(args.dca_clientid);
}

nfsstat4 op_reclaim_complete(Compound& c, const RECLAIM_COMPLETE4args& args,
                             RECLAIM_COMPLETE4res& res) {
  if (!c.client) return res.rcr_status = NFS4ERR_OP_NOT_IN_SESSION;
  if (args.rca_one_fs && !c.current.set()) return res.rcr_status = NFS4ERR_NOFILEHANDLE;
  return res.rcr_status = c.server.state().reclaim_complete(*c.client, args.rca_one_fs);
}

nfsstat4 op_test_stateid(Compound& c, const TEST_STATEID4args& args, TEST_STATEID4res& res) {
  if (!c.client) return res.tsr_status = NFS4ERR_OP_NOT_IN_SESSION;
  // RFC 8881 18.48.3: one status per stateid; the special ones are not
  // tested (the current stateid is not resolved here either).
  for (const auto& s : args.ts_stateids) {
    res.tsr_resok4.tsr_status_codes.push_back(c.server.state().test_stateid(*c.client, s));
  }
  return res.tsr_status = NFS4_OK;
}

nfsstat4 op_free_stateid(Compound& c, const FREE_STATEID4args& args, FREE_STATEID4res& res) {
  if (!c.client) return res.fsr_status = NFS4ERR_OP_NOT_IN_SESSION;
  stateid4 s;
  if (nfsstat4 st = resolve(c, args.fsa_stateid, &s); st != NFS4_OK) return res.fsr_status = st;
  return res.fsr_status = c.server.state().free_stateid(*c.client, s);
}

}  // namespace efs::nfs4
