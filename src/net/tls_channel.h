// A TLS session on one RPC connection, run over the socket in bulk.
//
// Why not asio::ssl::stream: its engine moves at most one TLS record (16 KiB
// of data) per step, and every step is a trip through the scheduler and a
// syscall, so a 1 MiB READ reply cost 64 encrypt-write-complete rounds and
// a 1 MiB WRITE 64 decrypt rounds, with the data copied through asio's
// buffer and a BIO pair on the way. Profiles of sequential READs over TLS
// showed that machinery, not the cipher, as most of the server's TLS cost.
// Here OpenSSL reads and writes two plain buffers through a small custom
// BIO: a reply (all of its records) is encrypted in one go into an output
// buffer that one async_write sends; ciphertext is received 256 KiB at a
// time and decrypted record after record straight into the caller's buffer.
//
// Everything runs on the connection's strand, which is what makes sharing
// one SSL object between the reader and the writer safe: they never run at
// once, and OpenSSL allows SSL_read and SSL_write to alternate on a session
// with memory-like BIOs.
//
// Output that a read produces (an alert, a TLS 1.3 key update's answer) is
// sent by the reader itself when no write is in flight, or by the flight's
// end otherwise. Errors are asio's SSL category (the same messages the
// asio stream gave), asio::error::eof for a close_notify, and
// asio::ssl::error::stream_truncated for a peer that closed without one.
#pragma once

#include <openssl/ssl.h>

#include <asio/awaitable.hpp>
#include <asio/buffer.hpp>
#include <asio/ip/tcp.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <system_error>
#include <vector>

namespace efs::net {

class TlsChannel : public std::enable_shared_from_this<TlsChannel> {
 public:
  using WriteHandler = std::function<void(std::error_code, std::size_t)>;

  TlsChannel(asio::ip::tcp::socket& socket, SSL_CTX* ctx);
  ~TlsChannel();
  TlsChannel(const TlsChannel&) = delete;
  TlsChannel& operator=(const TlsChannel&) = delete;

  SSL* native_handle() { return ssl_; }

  // The server side of the handshake.
  asio::awaitable<std::error_code> handshake();
  // Plaintext into `into`: at least one byte, or an error. Fills as much of
  // `into` as the ciphertext already received holds.
  asio::awaitable<std::size_t> read_some(asio::mutable_buffer into, std::error_code& ec);
  // Encrypts and sends the buffers, a slice (kFlightBytes) at a time, and
  // calls `done` with the plaintext byte count when the last ciphertext is
  // on the socket. The buffers must stay valid until then. One write at a
  // time, as the connection's writer does.
  void write(std::vector<asio::const_buffer> buffers, WriteHandler done);
  // The socket is going away: no further socket operation is started.
  void detach() { socket_ = nullptr; }

  // Bytes of ciphertext taken from the socket per read.
  static constexpr std::size_t kReceiveBuffer = 256 * 1024;

 private:
  static int bio_write(BIO* b, const char* data, int len);
  static int bio_read(BIO* b, char* data, int len);
  static long bio_ctrl(BIO* b, int cmd, long num, void* ptr);
  static BIO_METHOD* bio_method();

  std::error_code ssl_error(int ret);
  // More ciphertext from the socket into in_; end of file sets peer_closed_.
  asio::awaitable<std::error_code> receive();
  // Sends what is pending, unless a flight is on (its end sends it).
  void flush();
  // Encrypts the next slice of the write in progress into pending_.
  std::error_code encrypt_some();
  // Sends pending_ and, when that completes, the next slice.
  void start_flight();

  asio::ip::tcp::socket* socket_;
  SSL* ssl_ = nullptr;
  std::vector<uint8_t> in_;  // ciphertext received
  std::size_t in_pos_ = 0, in_len_ = 0;
  bool peer_closed_ = false;           // the socket read returned end of file
  std::vector<uint8_t> pending_;       // ciphertext OpenSSL wrote, not yet sent
  std::vector<uint8_t> flight_;        // ciphertext being sent
  std::vector<uint8_t> joined_;        // small plaintext buffers joined (kJoinBelow)
  bool in_flight_ = false;
  struct Job {
    std::vector<asio::const_buffer> buffers;
    std::size_t next = 0, offset = 0;  // where encryption has got to
    std::size_t plain = 0;             // bytes encrypted so far
    WriteHandler done;
  };
  std::optional<Job> job_;             // the write in progress
};

}  // namespace efs::net
