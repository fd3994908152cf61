#include "tls/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <array>
#include <cctype>
#include <vector>

namespace efs::tls {

namespace {

std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char d[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(d[p[i] >> 4]);
    out.push_back(d[p[i] & 0xf]);
  }
  return out;
}

std::string sha256_hex(std::string_view s) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  return hex(md, sizeof(md));
}

std::array<unsigned char, 32> hmac(std::string_view key, std::string_view msg) {
  std::array<unsigned char, 32> out{};
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out.data(), &n);
  return out;
}

std::string_view view(const std::array<unsigned char, 32>& a) {
  return {reinterpret_cast<const char*>(a.data()), a.size()};
}

std::string format_time(std::time_t t, const char* fmt) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::size_t n = std::strftime(buf, sizeof(buf), fmt, &tm);
  return std::string(buf, n);
}

std::string scope(const ConnectRequest& r) {
  std::string s = format_time(r.signed_at, "%Y%m%d");
  s += '/';
  s += r.region;
  s += '/';
  s += kEfsService;
  s += "/aws4_request";
  return s;
}

}  // namespace

std::string quote_plus(std::string_view s) {
  static constexpr char d[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '_' || c == '.' || c == '-' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(d[c >> 4]);
      out.push_back(d[c & 0xf]);
    }
  }
  return out;
}

std::string connect_canonical_request(const ConnectRequest& r) {
  // The parameters sorted by name, as efs-utils sorts them.
  std::string q = "Action=Connect";
  q += "&PublicKeyHash=" + quote_plus(r.public_key_hash);
  q += "&X-Amz-Algorithm=AWS4-HMAC-SHA256";
  q += "&X-Amz-Credential=" + quote_plus(r.access_key_id + "/" + scope(r));
  q += "&X-Amz-Date=" + quote_plus(format_time(r.signed_at, "%Y%m%dT%H%M%SZ"));
  q += "&X-Amz-Expires=" + std::to_string(kConnectSignatureLifetime);
  if (!r.session_token.empty()) q += "&X-Amz-Security-Token=" + quote_plus(r.session_token);
  q += "&X-Amz-SignedHeaders=host";
  std::string req = "GET\n/\n";
  req += q;
  req += "\nhost:";
  req += r.file_system_id;
  req += "\nhost\n";
  req += sha256_hex("");
  return req;
}

std::string connect_signature(const ConnectRequest& r, std::string_view secret_access_key) {
  std::string to_sign = "AWS4-HMAC-SHA256\n";
  to_sign += format_time(r.signed_at, "%Y%m%dT%H%M%SZ");
  to_sign += '\n';
  to_sign += scope(r);
  to_sign += '\n';
  to_sign += sha256_hex(connect_canonical_request(r));
  std::string k = "AWS4";
  k += secret_access_key;
  auto k_date = hmac(k, format_time(r.signed_at, "%Y%m%d"));
  auto k_region = hmac(view(k_date), r.region);
  auto k_service = hmac(view(k_region), kEfsService);
  auto k_signing = hmac(view(k_service), "aws4_request");
  auto sig = hmac(view(k_signing), to_sign);
  return hex(sig.data(), sig.size());
}

std::string public_key_hash(X509* cert) {
  const ASN1_BIT_STRING* bits = X509_get0_pubkey_bitstr(cert);
  if (!bits) return {};
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(ASN1_STRING_get0_data(bits), static_cast<std::size_t>(ASN1_STRING_length(bits)), md);
  return hex(md, sizeof(md));
}

bool same_signature(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace efs::tls
