#include "tls/nfs_tls.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <asio/ip/address.hpp>
#include <ctime>

#include "tls/sigv4.h"

namespace efs::tls {

namespace {

// More distinct name sets than this (file systems churned by a test suite)
// and the cache starts over; connections hold their own reference.
constexpr std::size_t kMaxCachedCertificates = 1024;
// A signature dated this far ahead of our clock is refused (clock skew).
constexpr long kMaxFutureSkew = 15 * 60;

std::string_view routed_address(std::string_view local) {
  // A dual-stack socket reports IPv4 peers as IPv4-mapped IPv6 addresses.
  if (local.starts_with("::ffff:") && local.find('.') != std::string_view::npos)
    local.remove_prefix(7);
  return local;
}

std::string routed_fs(const efs::CatalogSnapshot& snap, std::string_view local) {
  if (local.empty()) return {};
  const auto* mt = snap.mount_target_at(routed_address(local));
  return mt ? mt->fs_id : std::string();
}

// "fs-1234.efs.us-east-1.amazonaws.com" or "us-east-1a.fs-1234.efs..." -> "fs-1234".
std::string fs_in_name(std::string_view name) {
  std::size_t start = 0;
  while (start < name.size()) {
    std::size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view label = name.substr(start, end - start);
    if (label.starts_with("fs-") && label.size() > 3) return std::string(label);
    start = end + 1;
  }
  return {};
}

bool valid_ip(const std::string& s) {
  asio::error_code ec;
  asio::ip::make_address(s, ec);
  return !ec;
}

std::string subject_of(X509* cert) {
  if (!cert) return "?";
  char buf[256];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof(buf));
  return buf;
}

// RFC 5280 6.1.3 done by OpenSSL; here only which failures we forgive.
int verify_client(int preverify_ok, X509_STORE_CTX* store) {
  if (preverify_ok) return 1;
  const int err = X509_STORE_CTX_get_error(store);
  const int depth = X509_STORE_CTX_get_error_depth(store);
  // efs-utils signs its client certificate with its own key (`openssl ca
  // -selfsign`); its self-signature is checked in identify(). Any other
  // failure (expired, not yet valid, issuer unknown, self-signed CA in a
  // chain) refuses the handshake.
  if (depth == 0 && err == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT) return 1;
  spdlog::warn("tls: client certificate refused: {} (depth {}, subject {})",
               X509_verify_cert_error_string(err), depth,
               subject_of(X509_STORE_CTX_get_current_cert(store)));
  return 0;
}

}  // namespace

std::vector<std::string> file_system_dns_names(const std::string& fs_id, const std::string& region,
                                               const std::string& suffix) {
  std::string base = fs_id + ".efs." + region + "." + suffix;
  std::string wildcard = "*." + base;
  return {std::move(base), std::move(wildcard)};
}

Result<rpc::ClientIdentity, std::string> check_claims(const ClaimCheck& in,
                                                      const efs::CatalogSnapshot& snap,
                                                      const std::optional<IamCredentials>& creds,
                                                      const NfsTlsOptions& options) {
  rpc::ClientIdentity id;
  id.secure_transport = true;
  const EfsClaims& claims = in.claims;
  if (!claims.any()) {
    // A client certificate that is not efs-utils': TLS, anonymous.
    id.file_system_id = in.routed_fs;
    return id;
  }
  if (!claims.file_system_id)
    return fail(std::string("the certificate has EFS extensions but no file system ID (") +
                kOidFileSystem + ")");
  const std::string& fs = *claims.file_system_id;
  if (!in.routed_fs.empty() && fs != in.routed_fs)
    return fail("the certificate names " + fs + ", but this mount target belongs to " +
                in.routed_fs);
  if (!snap.file_system(fs))
    return fail("the certificate names " + fs + ", which is not an available file system");
  id.file_system_id = fs;
  if (claims.access_point_id) {
    const auto* ap = snap.access_point(*claims.access_point_id);
    if (!ap)
      return fail("the certificate names access point " + *claims.access_point_id +
                  ", which is not available");
    if (ap->fs_id != fs)
      return fail("access point " + ap->id + " belongs to " + ap->fs_id + ", not " + fs);
    id.access_point_id = ap->id;
  }
  if (claims.client_auth) {
    const ClientAuth& auth = *claims.client_auth;
    id.access_key_id = auth.access_key_id;
    if (!creds) {
      id.principal_arn = "arn:aws:iam::" + options.account_id + ":root";
      id.principal_verified = false;
      return id;
    }
    auto it = creds->find(auth.access_key_id);
    if (it == creds->end())
      return fail("access key " + auth.access_key_id + " is not in --iam-credentials");
    const IamCredential& cred = it->second;
    if (!cred.session_token.empty() && cred.session_token != auth.session_token)
      return fail("the session token for access key " + auth.access_key_id + " does not match");
    const long age = static_cast<long>(in.now - auth.signed_at);
    if (age > kConnectSignatureLifetime)
      return fail("the efs_client_auth signature of access key " + auth.access_key_id +
                  " is older than " + std::to_string(kConnectSignatureLifetime) + " s");
    if (age < -kMaxFutureSkew) return fail("the efs_client_auth signature is dated in the future");
    ConnectRequest req;
    req.access_key_id = auth.access_key_id;
    req.region = options.region;
    req.file_system_id = fs;
    req.public_key_hash = in.public_key_hash;
    req.signed_at = auth.signed_at;
    req.session_token = auth.session_token;
    if (!same_signature(connect_signature(req, cred.secret_access_key), auth.signature))
      return fail("the efs_client_auth signature does not verify for access key " +
                  auth.access_key_id + " (wrong secret, region " + options.region +
                  ", file system or key pair)");
    id.principal_arn = cred.arn;
    id.principal_verified = true;
  }
  return id;
}

NfsTls::NfsTls(const NfsTlsOptions& options, const efs::Catalog& catalog)
    : options_(options), catalog_(catalog), ctx_(asio::ssl::context::tls_server) {}

Result<std::shared_ptr<NfsTls>, Error> NfsTls::open(const NfsTlsOptions& options,
                                                    const efs::Catalog& catalog) {
  auto t = std::make_shared<NfsTls>(options, catalog);
  SSL_CTX* ctx = t->ctx_.native_handle();
  // TLS 1.2 and 1.3 only (EFS refuses older ones too); no renegotiation.
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  // AES-128-GCM first (then OpenSSL's defaults), as AWS's own TLS policies
  // order them: as strong for this purpose, and about 15 % cheaper per byte
  // than AES-256 on both ends of a mount that streams data.
  SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:DEFAULT");
  SSL_CTX_set_ciphersuites(ctx,
                           "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
  static const unsigned char kSessionContext[] = "efs-local-nfs";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);

  // The CA exists even with the user's certificate: it is the trust anchor
  // for client certificates issued by it.
  auto authority = Authority::open(options.dir);
  if (!authority) return fail(authority.error());
  t->authority_ = std::move(*authority);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), t->authority_->ca_cert());
  SSL_CTX_add_client_CA(ctx, t->authority_->ca_cert());

  if (!options.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1)
      return fail(Error{"cannot use --tls-cert " + options.cert_file + ": " + openssl_error()});
    if (SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      return fail(Error{"cannot use --tls-key " + options.key_file + ": " + openssl_error()});
    if (SSL_CTX_check_private_key(ctx) != 1)
      return fail(Error{"--tls-key does not match --tls-cert: " + openssl_error()});
  } else {
    // A default for SSL objects prepare() did not reach (it always does).
    SSL_CTX_use_certificate(ctx, t->authority_->base_server_cert());
    SSL_CTX_use_PrivateKey(ctx, t->authority_->server_key());
    SSL_CTX_set_tlsext_servername_callback(ctx, &NfsTls::on_server_name);
    SSL_CTX_set_tlsext_servername_arg(ctx, t.get());
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, &verify_client);

  if (!options.iam_credentials_file.empty()) {
    auto creds = load_iam_credentials(options.iam_credentials_file);
    if (!creds) return fail(creds.error());
    spdlog::info("tls: {} IAM identities from {}", creds->size(), options.iam_credentials_file);
    t->credentials_ = std::move(*creds);
  }
  return t;
}

std::string NfsTls::ca_file() const {
  return options_.cert_file.empty() ? authority_->ca_file() : std::string();
}

X509* NfsTls::cached(const std::vector<std::string>& dns, const std::vector<std::string>& ips) {
  std::string key;
  for (const auto& d : dns) key.append(d).push_back(',');
  key.push_back('|');
  for (const auto& i : ips) key.append(i).push_back(',');
  std::lock_guard lock(mu_);
  auto it = certs_.find(key);
  if (it != certs_.end()) return it->second.get();
  auto cert = authority_->issue(dns, ips);
  if (!cert) {
    spdlog::error("tls: {}", cert.error().message);
    return nullptr;
  }
  if (certs_.size() >= kMaxCachedCertificates) certs_.clear();
  return certs_.emplace(std::move(key), std::move(*cert)).first->second.get();
}

X509* NfsTls::certificate_for(const std::string& local_address, const std::string& server_name) {
  if (!authority_ || !options_.cert_file.empty()) return nullptr;
  auto snap = catalog_.snapshot();
  std::string fs;
  if (!server_name.empty()) {
    fs = fs_in_name(server_name);
    if (fs.empty() || !snap->file_system(fs)) return nullptr;
  } else {
    fs = routed_fs(*snap, local_address);
  }
  std::vector<std::string> dns, ips;
  if (!fs.empty()) {
    dns = file_system_dns_names(fs, options_.region, options_.dns_name_suffix);
    for (const auto& mt : snap->mount_targets())
      if (mt.fs_id == fs && valid_ip(mt.ip)) ips.push_back(mt.ip);
  } else {
    dns = {"localhost"};
    for (const auto& f : snap->file_systems()) {
      auto names = file_system_dns_names(f.id, options_.region, options_.dns_name_suffix);
      dns.insert(dns.end(), names.begin(), names.end());
    }
    ips = {"127.0.0.1", "::1"};
    for (const auto& mt : snap->mount_targets())
      if (valid_ip(mt.ip) && mt.ip != "127.0.0.1" && mt.ip != "::1") ips.push_back(mt.ip);
  }
  return cached(dns, ips);
}

void NfsTls::prepare(SSL* ssl, const rpc::CallContext& conn) {
  if (!options_.cert_file.empty()) return;
  if (X509* cert = certificate_for(conn.local_address, "")) {
    SSL_use_certificate(ssl, cert);
    SSL_use_PrivateKey(ssl, authority_->server_key());
  }
}

int NfsTls::on_server_name(SSL* ssl, int* /*alert*/, void* arg) {
  auto* self = static_cast<NfsTls*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name) return SSL_TLSEXT_ERR_OK;  // keep prepare()'s choice
  if (X509* cert = self->certificate_for("", name)) {
    SSL_use_certificate(ssl, cert);
    SSL_use_PrivateKey(ssl, self->authority_->server_key());
  }
  return SSL_TLSEXT_ERR_OK;
}

Result<std::shared_ptr<const rpc::ClientIdentity>, std::string> NfsTls::identify(
    SSL* ssl, const rpc::CallContext& conn) {
  auto snap = catalog_.snapshot();
  X509* peer = SSL_get0_peer_certificate(ssl);
  const std::string routed = routed_fs(*snap, conn.local_address);
  if (!peer) {
    auto id = std::make_shared<rpc::ClientIdentity>();
    id->secure_transport = true;
    id->file_system_id = routed;
    return std::shared_ptr<const rpc::ClientIdentity>(std::move(id));
  }
  // The handshake checked the chain; these hold for the self-signed ones too.
  if (X509_cmp_current_time(X509_get0_notBefore(peer)) >= 0)
    return fail("the client certificate is not yet valid (" + subject_of(peer) + ")");
  if (X509_cmp_current_time(X509_get0_notAfter(peer)) <= 0)
    return fail("the client certificate has expired (" + subject_of(peer) + ")");
  // A certificate naming itself as issuer got through verify_client only as
  // self-signed, which OpenSSL forgave without checking the signature.
  if (X509_NAME_cmp(X509_get_subject_name(peer), X509_get_issuer_name(peer)) == 0 &&
      X509_verify(peer, X509_get0_pubkey(peer)) != 1) {
    ERR_clear_error();
    return fail("the self-signed client certificate's signature does not verify");
  }
  auto claims = parse_efs_claims(peer);
  if (!claims) return fail("client certificate: " + claims.error());
  ClaimCheck in{*claims, public_key_hash(peer), routed, std::time(nullptr)};
  auto id = check_claims(in, *snap, credentials_, options_);
  if (!id) return fail(id.error());
  if (!id->principal_arn.empty() && !id->principal_verified) {
    spdlog::info(
        "tls: accepting the IAM identity of access key {} unverified (no "
        "--iam-credentials): principal {}",
        id->access_key_id, id->principal_arn);
  }
  return std::shared_ptr<const rpc::ClientIdentity>(
      std::make_shared<rpc::ClientIdentity>(std::move(*id)));
}

}  // namespace efs::tls
