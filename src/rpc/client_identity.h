// Who is on the other end of a connection, as the transport established it:
// whether it came over TLS, and what the client certificate efs-utils makes
// (mount_efs, "iam"/"accesspoint" mount options) asserted and efs-local
// verified. The policy checks use it: aws:SecureTransport, the principal,
// elasticfilesystem:AccessPointArn. Header-only so rpc/ depends on nothing.
#pragma once

#include <string>

namespace efs::rpc {

struct ClientIdentity {
  // The connection is TLS (the client may still have sent no certificate).
  bool secure_transport = false;
  // The IAM principal the certificate's efs_client_auth extension proved
  // (or, without --iam-credentials, asserted): an IAM user or role ARN.
  // Empty: anonymous.
  std::string principal_arn;
  // The signature was checked against --iam-credentials; false when the
  // identity was accepted unverified (no credentials file given).
  bool principal_verified = false;
  std::string access_key_id;
  // fsap-... from the certificate (OID 1.3.6.1.4.1.4843.7.1): PUTROOTFH
  // leads to this access point's root, as a mount through /fsap-... does.
  std::string access_point_id;
  // fs-... from the certificate (OID .7.3), checked against the mount
  // target the connection arrived at; empty without a certificate.
  std::string file_system_id;
};

}  // namespace efs::rpc
