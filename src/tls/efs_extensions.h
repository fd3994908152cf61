// The EFS extensions of the client certificate efs-utils makes for a TLS
// mount (mount_efs, certificate_utils.py: an `openssl ca -selfsign`
// certificate per mount, valid 3 hours), under arc 1.3.6.1.4.1.4843.7:
//   .1 access point:    UTF8String "fsap-..."          (accesspoint=)
//   .2 efs_client_auth: SEQUENCE {                     (iam)
//        accessKeyId   UTF8String,
//        signature     OCTET STRING  -- the hex digits of a SigV4 signature
//        sigv4DateTime UTCTime,
//        sessionToken  [0] EXPLICIT UTF8String OPTIONAL }
//   .3 file system:     UTF8String "fs-..."            (always)
//   .4 client info:     SEQUENCE OF UTF8String         (efs-utils.conf [client-info])
// The parsers take the DER of one extension's value (the extnValue OCTET
// STRING's contents) and never trust a length.
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace efs::tls {

inline constexpr const char* kOidAccessPoint = "1.3.6.1.4.1.4843.7.1";
inline constexpr const char* kOidClientAuth = "1.3.6.1.4.1.4843.7.2";
inline constexpr const char* kOidFileSystem = "1.3.6.1.4.1.4843.7.3";
inline constexpr const char* kOidClientInfo = "1.3.6.1.4.1.4843.7.4";

struct ClientAuth {
  std::string access_key_id;
  std::string signature;      // lowercase hex, as efs-utils writes it
  std::time_t signed_at = 0;  // sigv4DateTime, UTC
  std::string session_token;  // empty when absent
};

struct EfsClaims {
  std::optional<std::string> access_point_id;
  std::optional<ClientAuth> client_auth;
  std::optional<std::string> file_system_id;
  std::vector<std::string> client_info;
  bool any() const { return access_point_id || client_auth || file_system_id; }
};

// Each returns a reason on malformed input.
Result<std::string, std::string> parse_utf8_extension(std::span<const uint8_t> der);
Result<ClientAuth, std::string> parse_client_auth(std::span<const uint8_t> der);
Result<std::vector<std::string>, std::string> parse_client_info(std::span<const uint8_t> der);
// UTCTime "YYMMDDHHMMSSZ" (RFC 5280 4.1.2.5.1: YY < 50 is 20YY).
Result<std::time_t, std::string> parse_utc_time(std::string_view text);

// All four from a certificate; an extension present twice is refused.
Result<EfsClaims, std::string> parse_efs_claims(X509* cert);

}  // namespace efs::tls
