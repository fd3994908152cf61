// efs-local's certificate authority for the NFS port (README, "TLS"): a CA
// that clients trust (efs-utils' `cafile`, stunnel's CAfile) and the server
// certificates it signs. Created under <data dir>/tls on first start and
// reused after, so a client keeps trusting the same CA across restarts:
//   ca.pem          the CA certificate (hand it to clients)
//   ca-key.pem      its key (0600)
//   server-key.pem  the key of every server certificate (0600)
//   server.pem      a server certificate for localhost / 127.0.0.1 / ::1
// Keys are ECDSA P-256: signing a certificate costs well under a
// millisecond, so certificates naming file systems are issued at run time
// (tls/nfs_tls.h says when) and kept in memory only.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "tls/openssl_ptr.h"

namespace efs::tls {

class Authority {
 public:
  // Loads the files in `dir`, creating the directory and any missing file
  // (a missing CA also replaces the server files: they must chain to it).
  static Result<std::unique_ptr<Authority>, Error> open(const std::string& dir);

  // A certificate for these DNS names and IP addresses (subjectAltName),
  // signed by the CA for the server key; valid from an hour ago for a year.
  Result<X509Ptr, Error> issue(const std::vector<std::string>& dns_names,
                               const std::vector<std::string>& ip_addresses) const;

  X509* ca_cert() const { return ca_cert_.get(); }
  EVP_PKEY* server_key() const { return server_key_.get(); }
  X509* base_server_cert() const { return server_cert_.get(); }
  const std::string& ca_file() const { return ca_file_; }

 private:
  X509Ptr ca_cert_;
  PkeyPtr ca_key_;
  PkeyPtr server_key_;
  X509Ptr server_cert_;
  std::string ca_file_;
};

// PEM text of a certificate (for tests and the fuzzer's seeds).
std::string to_pem(X509* cert);

}  // namespace efs::tls
