#include "net/tls_channel.h"

#include <openssl/bio.h>
#include <openssl/err.h>

#include <algorithm>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/ssl/error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cstring>
#include <mutex>

namespace efs::net {

namespace {

// Plaintext buffers smaller than this are joined before encryption, so that
// an RPC reply's 28-byte header does not become a record of its own (each
// record costs 29 bytes of framing and a cipher call).
constexpr std::size_t kJoinBelow = 16 * 1024;
// Plaintext encrypted per socket write: a batch of replies is sent a slice
// at a time, so its ciphertext never needs to be held whole.
constexpr std::size_t kFlightBytes = 1 << 20;

TlsChannel* channel_of(BIO* b) {
  return static_cast<TlsChannel*>(BIO_get_data(b));
}

}  // namespace

BIO_METHOD* TlsChannel::bio_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "efs-local tls");
    BIO_meth_set_write(m, &TlsChannel::bio_write);
    BIO_meth_set_read(m, &TlsChannel::bio_read);
    BIO_meth_set_ctrl(m, &TlsChannel::bio_ctrl);
    return m;
  }();
  return method;
}

int TlsChannel::bio_write(BIO* b, const char* data, int len) {
  BIO_clear_retry_flags(b);
  if (len <= 0) return 0;
  auto& out = channel_of(b)->pending_;
  out.insert(out.end(), reinterpret_cast<const uint8_t*>(data),
             reinterpret_cast<const uint8_t*>(data) + len);
  return len;
}

int TlsChannel::bio_read(BIO* b, char* data, int len) {
  BIO_clear_retry_flags(b);
  TlsChannel* c = channel_of(b);
  std::size_t avail = c->in_len_ - c->in_pos_;
  if (avail == 0) {
    if (c->peer_closed_) return 0;  // end of file: OpenSSL tells a clean close from a cut
    BIO_set_retry_read(b);
    return -1;
  }
  std::size_t n = std::min<std::size_t>(avail, static_cast<std::size_t>(std::max(len, 0)));
  std::memcpy(data, c->in_.data() + c->in_pos_, n);
  c->in_pos_ += n;
  return static_cast<int>(n);
}

long TlsChannel::bio_ctrl(BIO* b, int cmd, long, void*) {
  TlsChannel* c = channel_of(b);
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;  // written bytes are already in pending_
    case BIO_CTRL_PENDING:
      return static_cast<long>(c->in_len_ - c->in_pos_);
    case BIO_CTRL_EOF:
      return c->peer_closed_ && c->in_pos_ == c->in_len_;
    default:
      return 0;  // no kTLS, no datagrams, nothing else
  }
}

TlsChannel::TlsChannel(asio::ip::tcp::socket& socket, SSL_CTX* ctx)
    : socket_(&socket), ssl_(SSL_new(ctx)), in_(kReceiveBuffer) {
  if (!ssl_) return;  // handshake() reports it
  BIO* bio = BIO_new(bio_method());
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_, bio, bio);  // one BIO both ways: SSL_set_bio takes its one reference
  SSL_set_accept_state(ssl_);
}

TlsChannel::~TlsChannel() {
  if (ssl_) SSL_free(ssl_);
}

std::error_code TlsChannel::ssl_error(int ret) {
  int err = SSL_get_error(ssl_, ret);
  std::error_code ec;
  switch (err) {
    case SSL_ERROR_ZERO_RETURN:
      ec = asio::error::eof;  // close_notify
      break;
    case SSL_ERROR_SSL: {
      unsigned long e = ERR_get_error();
      // OpenSSL 3 reports a peer that closed without close_notify this way.
      if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        ec = asio::ssl::error::stream_truncated;
      } else {
        ec = std::error_code(static_cast<int>(e), asio::error::get_ssl_category());
      }
      break;
    }
    case SSL_ERROR_SYSCALL:
      ec = peer_closed_ ? std::error_code(asio::ssl::error::stream_truncated)
                        : std::make_error_code(std::errc::io_error);
      break;
    default:
      ec = std::make_error_code(std::errc::protocol_error);
  }
  ERR_clear_error();
  return ec;
}

asio::awaitable<std::error_code> TlsChannel::handshake() {
  if (!ssl_) co_return std::make_error_code(std::errc::not_enough_memory);
  for (;;) {
    ERR_clear_error();
    int r = SSL_do_handshake(ssl_);
    // The error is read before any co_await: OpenSSL's error queue is per
    // thread, and the coroutine may resume on another one.
    bool done = r == 1;
    bool want_read = !done && SSL_get_error(ssl_, r) == SSL_ERROR_WANT_READ;
    std::error_code failed = done || want_read ? std::error_code() : ssl_error(r);
    if (!pending_.empty() && socket_) {
      // Our flight of handshake messages (or the alert that ends it).
      flight_.swap(pending_);
      pending_.clear();
      std::error_code wec;
      in_flight_ = true;
      co_await asio::async_write(*socket_, asio::buffer(flight_),
                                 asio::redirect_error(asio::use_awaitable, wec));
      in_flight_ = false;
      if (wec && !failed) failed = wec;
    }
    if (failed) co_return failed;
    if (done) co_return std::error_code();
    if (std::error_code rec = co_await receive()) co_return rec;
  }
}

asio::awaitable<std::error_code> TlsChannel::receive() {
  if (!socket_) co_return asio::error::operation_aborted;
  // OpenSSL asks for more only once it has taken every byte, but keep any
  // that are left rather than rely on it.
  if (in_pos_ > 0) {
    std::memmove(in_.data(), in_.data() + in_pos_, in_len_ - in_pos_);
    in_len_ -= in_pos_;
    in_pos_ = 0;
  }
  std::error_code ec;
  std::size_t n = co_await socket_->async_read_some(
      asio::buffer(in_.data() + in_len_, in_.size() - in_len_),
      asio::redirect_error(asio::use_awaitable, ec));
  if (ec == asio::error::eof) {
    peer_closed_ = true;  // OpenSSL now sees a close_notify or an unexpected end
    co_return std::error_code();
  }
  if (ec) co_return ec;
  in_len_ += n;
  co_return std::error_code();
}

asio::awaitable<std::size_t> TlsChannel::read_some(asio::mutable_buffer into, std::error_code& ec) {
  ec = {};
  auto* p = static_cast<uint8_t*>(into.data());
  const std::size_t room = into.size();
  std::size_t got = 0;
  while (got < room) {
    ERR_clear_error();
    std::size_t n = 0;
    int r = SSL_read_ex(ssl_, p + got, room - got, &n);
    if (r == 1) {
      got += n;
      continue;  // more records may already be here
    }
    bool want_read = SSL_get_error(ssl_, r) == SSL_ERROR_WANT_READ;
    if (got > 0) break;  // what we have now; an error shows again on the next call
    if (!want_read) {
      ec = ssl_error(r);
      break;
    }
    // Nothing decrypted: send what the read produced, then wait for more.
    if (!pending_.empty()) flush();
    if (std::error_code rec = co_await receive()) {
      ec = rec;
      break;
    }
  }
  if (!pending_.empty()) flush();
  co_return got;
}

void TlsChannel::write(std::vector<asio::const_buffer> buffers, WriteHandler done) {
  job_.emplace();
  job_->buffers = std::move(buffers);
  job_->done = std::move(done);
  if (!in_flight_) start_flight();
}

std::error_code TlsChannel::encrypt_some() {
  if (!job_) return {};
  ERR_clear_error();
  Job& j = *job_;
  auto put = [&](const uint8_t* data, std::size_t size) -> std::error_code {
    if (size == 0) return {};
    std::size_t w = 0;
    if (int r = SSL_write_ex(ssl_, data, size, &w); r != 1) return ssl_error(r);
    j.plain += w;
    return {};
  };
  joined_.clear();
  std::size_t budget = kFlightBytes;
  while (j.next < j.buffers.size() && budget > 0) {
    const auto& b = j.buffers[j.next];
    const auto* q = static_cast<const uint8_t*>(b.data()) + j.offset;
    const std::size_t left = b.size() - j.offset;
    if (b.size() < kJoinBelow) {
      joined_.insert(joined_.end(), q, q + left);
      budget -= std::min(budget, left);
      ++j.next;
      j.offset = 0;
      continue;
    }
    if (std::error_code ec = put(joined_.data(), joined_.size())) return ec;
    joined_.clear();
    std::size_t take = std::min(left, budget);
    if (std::error_code ec = put(q, take)) return ec;
    j.offset += take;
    budget -= take;
    if (j.offset == b.size()) {
      ++j.next;
      j.offset = 0;
    }
  }
  return put(joined_.data(), joined_.size());
}

void TlsChannel::flush() {
  if (!in_flight_) start_flight();
}

void TlsChannel::start_flight() {
  if (!socket_) return;
  WriteHandler finish;
  std::size_t plain = 0;
  if (std::error_code ec = encrypt_some()) {
    // The connection closes on this; what was encrypted is dropped.
    pending_.clear();
    auto done = std::move(job_->done);
    job_.reset();
    asio::post(socket_->get_executor(), [done = std::move(done), ec] { done(ec, 0); });
    return;
  }
  if (job_ && job_->next == job_->buffers.size()) {
    finish = std::move(job_->done);
    plain = job_->plain;
    job_.reset();
  }
  if (pending_.empty()) {
    if (finish) asio::post(socket_->get_executor(), [finish = std::move(finish), plain] {
      finish(std::error_code(), plain);
    });
    return;
  }
  in_flight_ = true;
  flight_.swap(pending_);
  pending_.clear();
  asio::async_write(
      *socket_, asio::buffer(flight_),
      [self = shared_from_this(), finish = std::move(finish), plain](std::error_code ec,
                                                                     std::size_t) {
        self->in_flight_ = false;
        if (finish) finish(ec, ec ? 0 : plain);
        if (ec) {
          if (self->job_) {
            auto done = std::move(self->job_->done);
            self->job_.reset();
            done(ec, 0);
          }
          self->pending_.clear();
          return;
        }
        // The rest of the write, or what a read produced meanwhile; unless
        // the handler above already started the next flight.
        if (!self->in_flight_) self->start_flight();
      });
}

}  // namespace efs::net
