// Owning pointers for the OpenSSL objects tls/ keeps.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace efs::tls {

struct OpensslFree {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
using X509Ptr = std::unique_ptr<X509, OpensslFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpensslFree>;
using BioPtr = std::unique_ptr<BIO, OpensslFree>;

// A certificate and the key it certifies, shared by every connection using it.
struct ServerCredential {
  X509Ptr cert;
  EVP_PKEY* key = nullptr;  // not owned (the Authority's server key)
};

// The last OpenSSL error queue entry as text (clears the queue).
std::string openssl_error();

}  // namespace efs::tls
