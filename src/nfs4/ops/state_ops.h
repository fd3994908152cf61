// The state ops (RFC 7530 16 / RFC 8881 18), one handler per op with the
// convention of compound.h: clients and sessions (session.cc, clientid40.cc),
// opens (open.cc), locks (lock.cc). The rules live in state/StateManager;
// these handlers translate wire types and touch vfs for OPEN.
#pragma once

#include "nfs4/compound.h"

namespace efs::nfs4 {

// ops/session.cc (4.1)
nfsstat4 op_exchange_id(Compound& c, const EXCHANGE_ID4args& args, EXCHANGE_ID4res& res);
nfsstat4 op_create_session(Compound& c, const CREATE_SESSION4args& args, CREATE_SESSION4res& res);
nfsstat4 op_destroy_session(Compound& c, const DESTROY_SESSION4args& args,
                            DESTROY_SESSION4res& res);
nfsstat4 op_sequence(Compound& c, const SEQUENCE4args& args, SEQUENCE4res& res);
nfsstat4 op_bind_conn_to_session(Compound& c, const BIND_CONN_TO_SESSION4args& args,
                                 BIND_CONN_TO_SESSION4res& res);
nfsstat4 op_destroy_clientid(Compound& c, const DESTROY_CLIENTID4args& args,
                             DESTROY_CLIENTID4res& res);
nfsstat4 op_reclaim_complete(Compound& c, const RECLAIM_COMPLETE4args& args,
                             RECLAIM_COMPLETE4res& res);
nfsstat4 op_test_stateid(Compound& c, const TEST_STATEID4args& args, TEST_STATEID4res& res);
nfsstat4 op_free_stateid(Compound& c, const FREE_STATEID4args& args, FREE_STATEID4res& res);

// ops/clientid40.cc (4.0)
nfsstat4 op_setclientid(Compound& c, const SETCLIENTID4args& args, SETCLIENTID4res& res);
nfsstat4 op_setclientid_confirm(Compound& c, const SETCLIENTID_CONFIRM4args& args,
                                SETCLIENTID_CONFIRM4res& res);
nfsstat4 op_renew(Compound& c, const RENEW4args& args, RENEW4res& res);
nfsstat4 op_release_lockowner(Compound& c, const RELEASE_LOCKOWNER4args& args,
                              RELEASE_LOCKOWNER4res& res);

// ops/open.cc
nfsstat4 op_open(Compound& c, const OPEN4args& args, OPEN4res& res);
nfsstat4 op_open_confirm(Compound& c, const OPEN_CONFIRM4args& args, OPEN_CONFIRM4res& res);
nfsstat4 op_open_downgrade(Compound& c, const OPEN_DOWNGRADE4args& args, OPEN_DOWNGRADE4res& res);
nfsstat4 op_close(Compound& c, const CLOSE4args& args, CLOSE4res& res);
// No delegation is ever granted (EFS), so there is none to return or purge.
nfsstat4 op_delegreturn(Compound& c, const DELEGRETURN4args& args, DELEGRETURN4res& res);
nfsstat4 op_delegpurge(Compound& c, const DELEGPURGE4args& args, DELEGPURGE4res& res);

// ops/lock.cc
nfsstat4 op_lock(Compound& c, const LOCK4args& args, LOCK4res& res);
nfsstat4 op_lockt(Compound& c, const LOCKT4args& args, LOCKT4res& res);
nfsstat4 op_locku(Compound& c, const LOCKU4args& args, LOCKU4res& res);

}  // namespace efs::nfs4
