#include "nfs4/policy_gate.h"

#include <spdlog/spdlog.h>

#include "nfs4/compound.h"

namespace efs::nfs4 {

namespace {

// The account of arn:<partition>:<service>::<account>:<resource>.
std::string account_of(const std::string& arn) {
  std::size_t at = 0;
  for (int field = 0; field < 4; ++field) {
    at = arn.find(':', at);
    if (at == std::string::npos) return "";
    ++at;
  }
  return arn.substr(at, arn.find(':', at) - at);
}

// The caller as a policy sees it: the connection's transport and the IAM
// identity its client certificate proved (rpc/client_identity.h); a plain
// connection is anonymous.
iam::Request nfs_request(const Compound& c, const efs::ExportPolicy& p, const std::string& action) {
  iam::Request r;
  r.action = action;
  r.resource = p.fs_arn;
  const rpc::ClientIdentity* id = c.call.identity.get();
  r.context = {
      {"aws:securetransport", id && id->secure_transport ? "true" : "false"},
      {"elasticfilesystem:accessedviamounttarget", "true"},
  };
  if (id && !id->principal_arn.empty()) {
    r.principal_arn = id->principal_arn;
    r.principal_account = account_of(id->principal_arn);
    r.context["aws:principalarn"] = r.principal_arn;
    r.context["aws:principalaccount"] = r.principal_account;
  }
  if (!c.current.access_point_id.empty()) {
    // arn:<partition>:elasticfilesystem:<region>:<account>:file-system/fs-...
    // -> ...:access-point/fsap-... (the same partition, region and account).
    auto slash = p.fs_arn.rfind(":file-system/");
    if (slash != std::string::npos)
      r.context["elasticfilesystem:accesspointarn"] =
          p.fs_arn.substr(0, slash) + ":access-point/" + c.current.access_point_id;
  }
  return r;
}

bool allowed(const Compound& c, const efs::ExportPolicy& p, const char* action) {
  auto d = p.policy.evaluate(nfs_request(c, p, std::string("elasticfilesystem:") + action));
  if (!d.allowed())
    spdlog::debug(
        "nfs4: policy of {}: {} {} ({})", p.fs_arn, action,
        d.effect == iam::Effect::deny ? "denied by statement" : "not allowed by any statement",
        d.statement.empty() ? "implicit deny" : d.statement);
  return d.allowed();
}

void log_refusal(const Compound& c, const char* action, const char* what) {
  const efs::ExportPolicy& p = *c.current.policy;
  auto d = p.policy.evaluate(nfs_request(c, p, std::string("elasticfilesystem:") + action));
  spdlog::info("nfs4: xid {:#x}: {} refused on {}{}{}: {} {}", c.call.xid, what, p.fs_arn,
               c.current.access_point_id.empty() ? "" : " through ", c.current.access_point_id,
               action,
               d.effect == iam::Effect::deny ? "denied by statement " + d.statement
                                             : std::string("allowed by no statement"));
}

// Ops that only set the current filehandle, or do not use it.
bool fh_free(uint32_t op) {
  switch (op) {
    case OP_PUTFH:
    case OP_PUTROOTFH:
    case OP_PUTPUBFH:
    case OP_RESTOREFH:
    case OP_SEQUENCE:
    case OP_EXCHANGE_ID:
    case OP_CREATE_SESSION:
    case OP_DESTROY_SESSION:
    case OP_DESTROY_CLIENTID:
    case OP_BIND_CONN_TO_SESSION:
    case OP_RECLAIM_COMPLETE:
    case OP_SETCLIENTID:
    case OP_SETCLIENTID_CONFIRM:
    case OP_RENEW:
    case OP_RELEASE_LOCKOWNER:
    case OP_TEST_STATEID:
    case OP_FREE_STATEID:
      return true;
    default:
      return false;
  }
}

// Ops that change data or metadata whatever their arguments.
bool writes(uint32_t op) {
  switch (op) {
    case OP_WRITE:
    case OP_CREATE:
    case OP_REMOVE:
    case OP_RENAME:
    case OP_LINK:
    case OP_SETATTR:
      return true;
    default:
      return false;
  }
}

}  // namespace

const ExportAccess& PolicyGate::access(const Compound& c) {
  const auto& p = c.current.policy;
  if (!p) {
    static const ExportAccess kDefault;
    return kDefault;
  }
  if (p != policy_ || c.current.access_point_id != access_point_id_) {
    policy_ = p;
    access_point_id_ = c.current.access_point_id;
    access_.mount = allowed(c, *p, "ClientMount");
    access_.write = access_.mount && allowed(c, *p, "ClientWrite");
    access_.root = allowed(c, *p, "ClientRootAccess");
  }
  return access_;
}

nfsstat4 gate_op(Compound& c, uint32_t op) {
  if (!c.current.in_fs() || fh_free(op)) return NFS4_OK;
  // A replication destination is read-only to NFS clients (EFS user guide,
  // "Replication": writes to a destination fail) until the replication is
  // deleted. One flag of the handle's snapshot.
  if (c.current.read_only && writes(op)) {
    spdlog::debug("nfs4: xid {:#x}: op {} refused on replication destination {}: NFS4ERR_ROFS",
                  c.call.xid, op, c.current.fs->id());
    return NFS4ERR_ROFS;
  }
  // A client certificate naming an access point confines the connection to
  // it (efs-utils' accesspoint= mount option): a handle of the file system
  // export or of another access point, however obtained, is refused.
  if (const auto* id = c.call.identity.get();
      id && !id->access_point_id.empty() && c.current.access_point_id != id->access_point_id) {
    spdlog::info(
        "nfs4: xid {:#x}: the client certificate names {}; a handle of {} refused", c.call.xid,
        id->access_point_id,
        c.current.access_point_id.empty() ? c.current.fs->id() : c.current.access_point_id);
    return NFS4ERR_ACCESS;
  }
  if (!c.current.policy) return NFS4_OK;
  const ExportAccess& a = c.gate.access(c);
  if (!a.mount) {
    log_refusal(c, "ClientMount", "access");
    return NFS4ERR_ACCESS;
  }
  if (writes(op) && !a.write) {
    log_refusal(c, "ClientWrite", "a change");
    return NFS4ERR_ACCESS;
  }
  return NFS4_OK;
}

nfsstat4 gate_write(Compound& c, const char* what) {
  if (c.current.read_only && c.current.in_fs()) {
    spdlog::debug("nfs4: xid {:#x}: {} refused on replication destination {}: NFS4ERR_ROFS",
                  c.call.xid, what, c.current.fs->id());
    return NFS4ERR_ROFS;
  }
  if (!c.current.policy || !c.current.in_fs() || c.gate.access(c).write) return NFS4_OK;
  log_refusal(c, "ClientWrite", what);
  return NFS4ERR_ACCESS;
}

}  // namespace efs::nfs4
