// The SigV4 signature efs-utils puts in efs_client_auth (certificate_utils.py,
// efs_client_auth_builder): a presigned "GET /?Action=Connect" request of the
// elasticfilesystem service, whose query names the SHA-1 of the certificate's
// public key, so the signature proves the holder of the IAM secret made this
// very key pair (a copied certificate without its private key is useless,
// and a signature cannot be moved to another key):
//   GET
//   /
//   Action=Connect&PublicKeyHash=<hex>&X-Amz-Algorithm=AWS4-HMAC-SHA256&
//     X-Amz-Credential=<quote_plus(AKID/date/region/elasticfilesystem/aws4_request)>&
//     X-Amz-Date=<YYYYMMDDTHHMMSSZ>&X-Amz-Expires=86400&
//     [X-Amz-Security-Token=<quote_plus(token)>&]X-Amz-SignedHeaders=host
//   host:<fs-id>
//   host
//   <SHA-256 of the empty payload>
// then the usual string to sign and the derived signing key.
#pragma once

#include <openssl/x509.h>

#include <ctime>
#include <string>
#include <string_view>

namespace efs::tls {

inline constexpr const char* kEfsService = "elasticfilesystem";
// X-Amz-Expires of the Connect request: a signature older than this is refused.
inline constexpr long kConnectSignatureLifetime = 86400;

struct ConnectRequest {
  std::string access_key_id;
  std::string region;
  std::string file_system_id;
  std::string public_key_hash;  // lowercase hex SHA-1
  std::time_t signed_at = 0;
  std::string session_token;  // empty: none
};

// Python's urllib.parse.quote_plus, which efs-utils applies.
std::string quote_plus(std::string_view s);
std::string connect_canonical_request(const ConnectRequest& r);
// The lowercase hex signature for `secret_access_key`.
std::string connect_signature(const ConnectRequest& r, std::string_view secret_access_key);
// SHA-1 of the subjectPublicKey BIT STRING's bytes (the unused-bits octet
// excluded, as RFC 5280 4.2.1.2 method 1 and efs-utils do), lowercase hex.
std::string public_key_hash(X509* cert);
// Constant-time comparison of two signatures.
bool same_signature(std::string_view a, std::string_view b);

}  // namespace efs::tls
