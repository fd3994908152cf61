// The TLS front end of the NFS port: the first-byte sniff, a server SSL
// object made exactly as a connection makes it (NfsTls's context, prepare()
// picking the certificate, the servername callback) fed the input as the
// client's first flight, and the EFS client certificate extension parsers,
// on the raw input and on the input read as a DER certificate.
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "net/tls_front.h"
#include "tls/efs_extensions.h"
#include "tls/nfs_tls.h"

namespace {

struct OneFsCatalog : efs::Catalog {
  std::shared_ptr<const efs::CatalogSnapshot> snap;
  OneFsCatalog() {
    std::vector<efs::ExportedFileSystem> fss{{"fs-0123456789abcdef0", false, ""}};
    std::vector<efs::ExportedAccessPoint> aps(1);
    aps[0].id = "fsap-0123456789abcdef0";
    aps[0].fs_id = "fs-0123456789abcdef0";
    std::vector<efs::MountTargetAddress> mts{{"fsmt-1", "fs-0123456789abcdef0", "127.0.3.1"}};
    snap = std::make_shared<efs::CatalogSnapshot>(1, fss, aps, mts);
  }
  std::shared_ptr<const efs::CatalogSnapshot> snapshot() const override { return snap; }
};

OneFsCatalog* catalog = nullptr;
std::shared_ptr<efs::tls::NfsTls> front;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  char tmpl[] = "/tmp/fuzz-tls-ca-XXXXXX";
  const char* dir = mkdtemp(tmpl);
  if (!dir) abort();
  catalog = new OneFsCatalog();
  efs::tls::NfsTlsOptions o;
  o.dir = std::string(dir) + "/tls";
  auto t = efs::tls::NfsTls::open(o, *catalog);
  if (!t) abort();
  front = *t;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  (void)efs::tls::parse_utf8_extension(in);
  (void)efs::tls::parse_client_auth(in);
  (void)efs::tls::parse_client_info(in);

  const unsigned char* p = data;
  if (X509* cert = d2i_X509(nullptr, &p, static_cast<long>(size))) {
    (void)efs::tls::parse_efs_claims(cert);
    X509_free(cert);
  }

  if (size == 0 || !efs::net::starts_tls(data[0])) return 0;
  SSL* ssl = SSL_new(front->context().native_handle());
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  BIO_write(rbio, data, static_cast<int>(size));
  SSL_set_bio(ssl, rbio, wbio);
  SSL_set_accept_state(ssl);
  efs::rpc::CallContext conn;
  conn.local_address = (size & 1) ? "127.0.3.1" : "127.0.0.1";
  front->prepare(ssl, conn);
  // Bounded: the input runs out and OpenSSL wants more, or it fails.
  for (int i = 0; i < 4 && SSL_do_handshake(ssl) != 1; ++i) {
    int e = SSL_get_error(ssl, -1);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) break;
  }
  SSL_free(ssl);
  return 0;
}
