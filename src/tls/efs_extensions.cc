#include "tls/efs_extensions.h"

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <algorithm>

namespace efs::tls {

namespace {

// DER tags (X.690 8.1.2).
constexpr uint8_t kTagOctetString = 0x04;
constexpr uint8_t kTagUtf8String = 0x0c;
constexpr uint8_t kTagUtcTime = 0x17;
constexpr uint8_t kTagSequence = 0x30;
constexpr uint8_t kTagContext0 = 0xa0;
// Nothing in these extensions comes near this; a longer value is an attack.
constexpr std::size_t kMaxValue = 16 * 1024;

struct Tlv {
  uint8_t tag = 0;
  std::span<const uint8_t> value;
};

// One TLV from the front of `in` (definite lengths only, as DER requires).
Result<Tlv, std::string> next_tlv(std::span<const uint8_t>& in) {
  if (in.size() < 2) return fail(std::string("truncated DER"));
  Tlv t;
  t.tag = in[0];
  if ((t.tag & 0x1f) == 0x1f) return fail(std::string("multi-byte DER tags are not used here"));
  std::size_t len = in[1];
  std::size_t pos = 2;
  if (len & 0x80) {
    std::size_t octets = len & 0x7f;
    if (octets == 0 || octets > 3) return fail(std::string("bad DER length"));
    if (in.size() < pos + octets) return fail(std::string("truncated DER length"));
    len = 0;
    for (std::size_t i = 0; i < octets; ++i) len = (len << 8) | in[pos + i];
    pos += octets;
  }
  if (len > kMaxValue) return fail(std::string("DER value too long"));
  if (in.size() - pos < len) return fail(std::string("DER value runs past its container"));
  t.value = in.subspan(pos, len);
  in = in.subspan(pos + len);
  return t;
}

std::string as_string(std::span<const uint8_t> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size());
}

// Printable ASCII only: every value here is an id, a key or base64/hex.
bool printable(std::span<const uint8_t> v) {
  return std::all_of(v.begin(), v.end(), [](uint8_t c) { return c >= 0x20 && c < 0x7f; });
}

Result<std::string, std::string> utf8_value(std::span<const uint8_t>& in, const char* what) {
  auto t = next_tlv(in);
  if (!t) return fail(t.error());
  if (t->tag != kTagUtf8String) return fail(std::string(what) + " is not a UTF8String");
  if (!printable(t->value)) return fail(std::string(what) + " has non-printable characters");
  return as_string(t->value);
}

bool digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int num(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

}  // namespace

Result<std::time_t, std::string> parse_utc_time(std::string_view t) {
  if (t.size() != 13 || t[12] != 'Z' || !digits(t.substr(0, 12)))
    return fail(std::string("sigv4DateTime is not a UTCTime YYMMDDHHMMSSZ"));
  std::tm tm{};
  int yy = num(t.substr(0, 2));
  tm.tm_year = (yy < 50 ? 2000 + yy : 1900 + yy) - 1900;
  tm.tm_mon = num(t.substr(2, 2)) - 1;
  tm.tm_mday = num(t.substr(4, 2));
  tm.tm_hour = num(t.substr(6, 2));
  tm.tm_min = num(t.substr(8, 2));
  tm.tm_sec = num(t.substr(10, 2));
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60)
    return fail(std::string("sigv4DateTime is out of range"));
  return timegm(&tm);
}

Result<std::string, std::string> parse_utf8_extension(std::span<const uint8_t> der) {
  auto v = utf8_value(der, "the value");
  if (!v) return v;
  if (!der.empty()) return fail(std::string("trailing bytes after the UTF8String"));
  return v;
}

Result<ClientAuth, std::string> parse_client_auth(std::span<const uint8_t> der) {
  auto seq = next_tlv(der);
  if (!seq) return fail(seq.error());
  if (seq->tag != kTagSequence) return fail(std::string("efs_client_auth is not a SEQUENCE"));
  if (!der.empty()) return fail(std::string("trailing bytes after efs_client_auth"));
  auto in = seq->value;
  ClientAuth a;
  auto key = utf8_value(in, "accessKeyId");
  if (!key) return fail(key.error());
  a.access_key_id = std::move(*key);
  auto sig = next_tlv(in);
  if (!sig) return fail(sig.error());
  if (sig->tag != kTagOctetString || !printable(sig->value))
    return fail(std::string("signature is not an OCTET STRING of hex digits"));
  a.signature = as_string(sig->value);
  auto when = next_tlv(in);
  if (!when) return fail(when.error());
  if (when->tag != kTagUtcTime) return fail(std::string("sigv4DateTime is not a UTCTime"));
  auto t = parse_utc_time(as_string(when->value));
  if (!t) return fail(t.error());
  a.signed_at = *t;
  if (!in.empty()) {
    auto tok = next_tlv(in);
    if (!tok) return fail(tok.error());
    if (tok->tag != kTagContext0) return fail(std::string("unexpected field after sigv4DateTime"));
    auto inner = tok->value;
    auto s = utf8_value(inner, "sessionToken");
    if (!s) return fail(s.error());
    if (!inner.empty()) return fail(std::string("trailing bytes in sessionToken"));
    a.session_token = std::move(*s);
  }
  if (!in.empty()) return fail(std::string("trailing fields in efs_client_auth"));
  if (a.access_key_id.empty() || a.signature.empty())
    return fail(std::string("efs_client_auth has an empty access key or signature"));
  return a;
}

Result<std::vector<std::string>, std::string> parse_client_info(std::span<const uint8_t> der) {
  auto seq = next_tlv(der);
  if (!seq) return fail(seq.error());
  if (seq->tag != kTagSequence) return fail(std::string("client info is not a SEQUENCE"));
  if (!der.empty()) return fail(std::string("trailing bytes after client info"));
  std::vector<std::string> out;
  auto in = seq->value;
  while (!in.empty()) {
    auto v = utf8_value(in, "a client info value");
    if (!v) return fail(v.error());
    out.push_back(std::move(*v));
  }
  return out;
}

Result<EfsClaims, std::string> parse_efs_claims(X509* cert) {
  EfsClaims claims;
  const int count = X509_get_ext_count(cert);
  for (int i = 0; i < count; ++i) {
    X509_EXTENSION* ext = X509_get_ext(cert, i);
    char oid[80];
    if (OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1) <= 0) continue;
    const std::string_view name(oid);
    if (!name.starts_with("1.3.6.1.4.1.4843.7.")) continue;
    const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
    std::span<const uint8_t> der(ASN1_STRING_get0_data(data),
                                 static_cast<std::size_t>(ASN1_STRING_length(data)));
    auto twice = [&](const char* what) { return fail(std::string(what) + " appears twice"); };
    if (name == kOidAccessPoint) {
      if (claims.access_point_id) return twice("the access point extension");
      auto v = parse_utf8_extension(der);
      if (!v) return fail("access point extension: " + v.error());
      claims.access_point_id = std::move(*v);
    } else if (name == kOidClientAuth) {
      if (claims.client_auth) return twice("efs_client_auth");
      auto v = parse_client_auth(der);
      if (!v) return fail("efs_client_auth extension: " + v.error());
      claims.client_auth = std::move(*v);
    } else if (name == kOidFileSystem) {
      if (claims.file_system_id) return twice("the file system extension");
      auto v = parse_utf8_extension(der);
      if (!v) return fail("file system extension: " + v.error());
      claims.file_system_id = std::move(*v);
    } else if (name == kOidClientInfo) {
      auto v = parse_client_info(der);
      if (!v) return fail("client info extension: " + v.error());
      claims.client_info = std::move(*v);
    }
  }
  return claims;
}

}  // namespace efs::tls
