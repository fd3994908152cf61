// The file system policy, applied to NFS clients (EFS user guide, "Using IAM
// to control file system data access"). Three actions decide what a client
// may do through an export:
//   elasticfilesystem:ClientMount       reach the file system at all (read)
//   elasticfilesystem:ClientWrite       change data or metadata
//   elasticfilesystem:ClientRootAccess  uid 0 keeps root; otherwise squashed
// with the condition keys aws:SecureTransport (the connection is TLS),
// elasticfilesystem:AccessPointArn (set when the handle came through an
// access point) and elasticfilesystem:AccessedViaMountTarget (always true:
// every NFS client here reaches the file system through a mount target or
// the address standing in for one). The principal is the client's verified
// IAM identity, anonymous without one.
//
// Where it bites (compound.cc):
//  - before each op that uses the current filehandle: no ClientMount ->
//    NFS4ERR_ACCESS, so a mount (PUTROOTFH, LOOKUP, GETFH) fails with
//    "access denied by server", and a mounted client loses access;
//  - before WRITE, CREATE, REMOVE, RENAME, LINK, SETATTR, and in OPEN for
//    write or create: no ClientWrite -> NFS4ERR_ACCESS;
//  - in the credential: no ClientRootAccess -> uid 0 becomes 65534/65534,
//    as the AUTH_SYS root squash EFS applies.
// A replication destination (CurrentFh::read_only) answers NFS4ERR_ROFS to
// the same set of changes, policy or not.
// No policy: EFS's default, all three allowed. Each handle carries the policy
// of the catalog snapshot it was decoded with, so a PutFileSystemPolicy
// applies to a mounted client from its next COMPOUND.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "efs/catalog.h"
#include "xdr/nfs4_xdr.h"

namespace efs::nfs4 {

struct Compound;
struct CurrentFh;

struct ExportAccess {
  bool mount = true;
  bool write = true;
  bool root = true;
};

// Caches the decision for the export of the current filehandle: one COMPOUND
// usually stays in one export, so the policy is evaluated once per COMPOUND.
class PolicyGate {
 public:
  const ExportAccess& access(const Compound& c);

 private:
  std::shared_ptr<const efs::ExportPolicy> policy_;  // held: no reuse of a freed address
  std::string access_point_id_;
  ExportAccess access_;
};

// Before op `op` runs on c.current: NFS4_OK, or NFS4ERR_ACCESS when the
// policy forbids it (logged with the deciding statement).
xdr::nfs4::nfsstat4 gate_op(Compound& c, uint32_t op);
// OPEN, which knows only after decoding whether it writes or creates.
xdr::nfs4::nfsstat4 gate_write(Compound& c, const char* what);

}  // namespace efs::nfs4
