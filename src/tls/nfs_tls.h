// TLS on the NFS port as efs-utils expects it (net/tls_front.h is the RPC
// server's side): the server certificate a connection gets, and the client
// identity its certificate proves.
//
// Which server certificate. efs-utils' stunnel checks the name
// `fs-<id>.efs.<region>.amazonaws.com` (checkHost) and, with efs-proxy,
// connects to a mount target's IP; it sends SNI only for IPv6. File systems
// and mount targets come and go at run time, so the certificate is picked
// per connection, not re-issued for the whole server on every catalog
// change:
//   - a connection accepted on a mount target's address gets a certificate
//     for that mount target's file system: fs-<id>.efs.<region>.amazonaws.com,
//     *.fs-<id>.efs.<region>.amazonaws.com (the `{az}.fs-...` names) and the
//     IPs of its mount targets;
//   - else the SNI name, when it names a file system, picks that one's;
//   - else (the main listener, no SNI) one naming every file system.
// Certificates are issued on first use by the CA (tls/certificates.h; under
// a millisecond) and cached by their names, so a new file system or mount
// target simply yields a new entry: no reload, no window where the old
// certificate lacks the new name, and a certificate names one file system
// rather than thousands. With --tls-cert/--tls-key every connection gets
// the user's certificate instead.
//
// Client certificates (efs_extensions.h) are optional. When one is sent it
// must be valid now and either self-signed with a good signature (what
// efs-utils makes) or issued by our CA; expired, not yet valid, issued by
// an unknown CA, or with a bad signature: the handshake fails and the
// reason is logged. Its EFS extensions must then agree with the catalog
// (its file system is the mount target's, its access point belongs to it)
// and its efs_client_auth signature must verify against --iam-credentials;
// without that file the IAM identity is accepted unverified (logged) and
// the principal is the account's root user, as the emulator's STS answers.
#pragma once

#include <asio/ssl/context.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "efs/catalog.h"
#include "net/tls_front.h"
#include "tls/certificates.h"
#include "tls/efs_extensions.h"
#include "tls/iam_credentials.h"

namespace efs::tls {

struct NfsTlsOptions {
  std::string dir;        // <data dir>/tls
  std::string cert_file;  // --tls-cert (with key_file): the user's own
  std::string key_file;
  std::string iam_credentials_file;  // --iam-credentials; empty: identities unverified
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::string dns_name_suffix = "amazonaws.com";
};

// fs-<id>.efs.<region>.<suffix> and its wildcard for the {az}. names.
std::vector<std::string> file_system_dns_names(const std::string& fs_id, const std::string& region,
                                               const std::string& suffix);

// Checks a client's claims against the catalog and credentials (the part of
// identify() that needs no TLS; unit-tested on its own). `routed_fs` is the
// file system of the mount target the connection arrived at ("" for none).
struct ClaimCheck {
  const EfsClaims& claims;
  std::string public_key_hash;
  std::string routed_fs;
  std::time_t now = 0;
};
Result<rpc::ClientIdentity, std::string> check_claims(const ClaimCheck& in,
                                                      const efs::CatalogSnapshot& snap,
                                                      const std::optional<IamCredentials>& creds,
                                                      const NfsTlsOptions& options);

class NfsTls : public net::TlsFront {
 public:
  static Result<std::shared_ptr<NfsTls>, Error> open(const NfsTlsOptions& options,
                                                     const efs::Catalog& catalog);
  NfsTls(const NfsTlsOptions& options, const efs::Catalog& catalog);

  asio::ssl::context& context() override { return ctx_; }
  void prepare(SSL* ssl, const rpc::CallContext& conn) override;
  Result<std::shared_ptr<const rpc::ClientIdentity>, std::string> identify(
      SSL* ssl, const rpc::CallContext& conn) override;

  // The CA clients should trust (the user's own with --tls-cert: empty).
  std::string ca_file() const;
  // The certificate a connection to `local_address` would get, or for the
  // SNI name `server_name` when not empty (for tests and the fuzzer).
  X509* certificate_for(const std::string& local_address, const std::string& server_name);

 private:
  static int on_server_name(SSL* ssl, int* alert, void* self);
  X509* cached(const std::vector<std::string>& dns, const std::vector<std::string>& ips);

  NfsTlsOptions options_;
  const efs::Catalog& catalog_;
  asio::ssl::context ctx_;
  std::unique_ptr<Authority> authority_;  // null with the user's certificate
  std::optional<IamCredentials> credentials_;
  std::mutex mu_;                         // guards certs_
  std::map<std::string, X509Ptr> certs_;  // by their names, joined
};

}  // namespace efs::tls
