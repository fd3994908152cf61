// TLS on the NFS port, as the RPC server sees it: every listener serves
// plain ONC RPC and TLS on one socket, told apart by the first byte the
// client sends. A TLS record starts with its content type, 0x16 for the
// handshake (RFC 8446 5.1, RFC 5246 6.2.1); an RPC record mark starts with
// the last-fragment bit and the top of a 31-bit length (RFC 5531 11), so a
// first byte of 0x16 would announce a non-final fragment of at least
// 0x16000000 bytes (369 MB), far past any record we accept. The two never
// collide.
//
// The certificates, the client certificate checks and the identity they
// yield live in tls/ (tls::NfsTls implements this); net/ only runs the
// handshake and keeps the identity with the connection.
#pragma once

#include <openssl/ssl.h>

#include <asio/ssl/context.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "rpc/program.h"

namespace efs::net {

inline constexpr uint8_t kTlsHandshakeRecord = 0x16;

// Whether the first byte of a connection opens a TLS handshake.
inline bool starts_tls(uint8_t first_byte) {
  return first_byte == kTlsHandshakeRecord;
}

class TlsFront {
 public:
  virtual ~TlsFront() = default;
  // The server context every TLS connection is made from (TLS 1.2+).
  virtual asio::ssl::context& context() = 0;
  // Before the handshake, on the connection's strand: picks the server
  // certificate for a connection accepted at conn.local_address.
  virtual void prepare(SSL* ssl, const rpc::CallContext& conn) = 0;
  // After the handshake: the connection's identity from the peer
  // certificate (if any), or why the connection is refused.
  virtual Result<std::shared_ptr<const rpc::ClientIdentity>, std::string> identify(
      SSL* ssl, const rpc::CallContext& conn) = 0;
};

}  // namespace efs::net
