#include "tls/certificates.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace efs::tls {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

namespace {

constexpr long kCaDays = 3650;
constexpr long kServerDays = 365;
// A kept server.pem this close to its notAfter is issued again at start.
constexpr long kRenewBeforeDays = 30;

bool expires_within(X509* cert, long days) {
  ASN1_TIME* limit = X509_gmtime_adj(nullptr, days * 24 * 3600);
  bool soon = ASN1_TIME_compare(X509_get0_notAfter(cert), limit) <= 0;
  ASN1_TIME_free(limit);
  return soon;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes through a temporary file renamed into place, with `mode` from the
// start (a key is never readable by others, not even briefly).
Status<> write_file(const std::string& path, const std::string& data, mode_t mode) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return fail(Error{"cannot create " + tmp + ": " + std::strerror(errno), errno});
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return fail(Error{"cannot write " + tmp + ": " + std::strerror(e), e});
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    return fail(Error{"cannot write " + tmp + ": " + std::strerror(errno), errno});
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return fail(Error{"cannot rename " + tmp + ": " + std::strerror(errno), errno});
  return {};
}

PkeyPtr new_key() {
  return PkeyPtr(EVP_EC_gen("P-256"));
}

std::string key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

PkeyPtr load_key(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

X509Ptr load_cert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

bool add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate skeleton: version 3, a random 128-bit serial, validity.
X509Ptr new_cert(EVP_PKEY* subject_key, const std::string& common_name, long days) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;  // positive (RFC 5280 4.1.2.2)
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  // An hour of slack for clocks behind ours.
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * 24 * 3600);
  X509_set_pubkey(cert.get(), subject_key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("efs-local"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  return cert;
}

}  // namespace

std::string to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

Result<std::unique_ptr<Authority>, Error> Authority::open(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(Error{"cannot create " + dir + ": " + ec.message()});
  auto a = std::make_unique<Authority>();
  a->ca_file_ = dir + "/ca.pem";
  const std::string ca_key_file = dir + "/ca-key.pem";
  const std::string server_key_file = dir + "/server-key.pem";
  const std::string server_file = dir + "/server.pem";

  bool fresh_ca = false;
  if (fs::exists(a->ca_file_) && fs::exists(ca_key_file)) {
    a->ca_cert_ = load_cert(read_file(a->ca_file_));
    a->ca_key_ = load_key(read_file(ca_key_file));
    if (!a->ca_cert_ || !a->ca_key_)
      return fail(Error{"cannot read the CA in " + dir + ": " + openssl_error() +
                        " (remove the directory to make a new CA)"});
  } else {
    a->ca_key_ = new_key();
    if (!a->ca_key_) return fail(Error{"cannot make a CA key: " + openssl_error()});
    a->ca_cert_ = new_cert(a->ca_key_.get(), "efs-local CA", kCaDays);
    X509_set_issuer_name(a->ca_cert_.get(), X509_get_subject_name(a->ca_cert_.get()));
    if (!add_ext(a->ca_cert_.get(), a->ca_cert_.get(), NID_basic_constraints, "critical,CA:TRUE") ||
        !add_ext(a->ca_cert_.get(), a->ca_cert_.get(), NID_key_usage,
                 "critical,keyCertSign,cRLSign") ||
        !add_ext(a->ca_cert_.get(), a->ca_cert_.get(), NID_subject_key_identifier, "hash") ||
        X509_sign(a->ca_cert_.get(), a->ca_key_.get(), EVP_sha256()) == 0)
      return fail(Error{"cannot make the CA certificate: " + openssl_error()});
    if (auto s = write_file(ca_key_file, key_pem(a->ca_key_.get()), 0600); !s)
      return fail(s.error());
    if (auto s = write_file(a->ca_file_, to_pem(a->ca_cert_.get()), 0644); !s)
      return fail(s.error());
    fresh_ca = true;
    spdlog::info("tls: created the CA {} (give it to NFS clients as their CA file)", a->ca_file_);
  }

  if (!fresh_ca && fs::exists(server_key_file) && fs::exists(server_file)) {
    a->server_key_ = load_key(read_file(server_key_file));
    a->server_cert_ = load_cert(read_file(server_file));
    if (!a->server_key_ || !a->server_cert_)
      return fail(Error{"cannot read the server certificate in " + dir + ": " + openssl_error()});
    if (!expires_within(a->server_cert_.get(), kRenewBeforeDays)) return a;
    spdlog::info("tls: {} expires within {} days: issuing it again", server_file, kRenewBeforeDays);
  } else {
    a->server_key_ = new_key();
    if (!a->server_key_) return fail(Error{"cannot make a server key: " + openssl_error()});
  }
  auto cert = a->issue({"localhost"}, {"127.0.0.1", "::1"});
  if (!cert) return fail(cert.error());
  a->server_cert_ = std::move(*cert);
  if (auto s = write_file(server_key_file, key_pem(a->server_key_.get()), 0600); !s)
    return fail(s.error());
  if (auto s = write_file(server_file, to_pem(a->server_cert_.get()), 0644); !s)
    return fail(s.error());
  return a;
}

Result<X509Ptr, Error> Authority::issue(const std::vector<std::string>& dns_names,
                                        const std::vector<std::string>& ip_addresses) const {
  std::string san;
  for (const auto& d : dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + d;
  for (const auto& ip : ip_addresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
  if (san.empty()) return fail(Error{"a server certificate needs at least one name"});
  const std::string cn = dns_names.empty() ? ip_addresses.front() : dns_names.front();
  // RFC 5280 4.1.2.6 lets the CN be anything; it is capped at 64 characters.
  X509Ptr cert = new_cert(server_key_.get(), cn.substr(0, 64), kServerDays);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert_.get()));
  if (!add_ext(cert.get(), ca_cert_.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_ext(cert.get(), ca_cert_.get(), NID_key_usage, "critical,digitalSignature") ||
      !add_ext(cert.get(), ca_cert_.get(), NID_ext_key_usage, "serverAuth") ||
      !add_ext(cert.get(), ca_cert_.get(), NID_subject_alt_name, san) ||
      !add_ext(cert.get(), ca_cert_.get(), NID_authority_key_identifier, "keyid:always") ||
      X509_sign(cert.get(), ca_key_.get(), EVP_sha256()) == 0)
    return fail(Error{"cannot issue a server certificate: " + openssl_error()});
  return cert;
}

}  // namespace efs::tls
