// libFuzzer target: bytes as received on a TCP connection go through record
// assembly, call decoding, credential checks and dispatch to a trivial
// program, the path every NFS client's bytes take before nfs4/ sees them.
// Build and run with tests/fuzz/rpc/fuzz.sh.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <variant>

#include "xdr/nfs4_compound.h"
#include "rpc/dispatcher.h"
#include "rpc/record.h"

namespace {

// Stands in for the NFSv4 program (100003, version 4): proc 0 is NULL,
// proc 1 is COMPOUND.
class FuzzNfs : public efs::rpc::Program {
 public:
  uint32_t program() const override { return 100003; }
  uint32_t min_version() const override { return 4; }
  uint32_t max_version() const override { return 4; }
  asio::awaitable<efs::rpc::Reply> call(const efs::rpc::CallContext& ctx,
                                        std::span<const uint8_t> args) override {
    efs::rpc::Reply r;
    if (ctx.proc == 0) co_return r;
    if (ctx.proc != 1) {
      r.stat = efs::rpc::AcceptStat::proc_unavail;
      co_return r;
    }
    // Every input that passes the RPC layer also goes through the
    // generated NFSv4 codecs: COMPOUND decoding one op at a time, and the
    // decoded ops encoded again (the server's own encoders).
    if (ctx.proc == 1) {
      efs::xdr::Reader rd(args);
      auto decoded = efs::xdr::nfs4::decode_compound_args(rd, 64);
      if (decoded.status != efs::xdr::nfs4::NFS4_OK) r.stat = efs::rpc::AcceptStat::garbage_args;
      (void)efs::xdr::nfs4::to_bytes(decoded.args);
    }
    r.body.assign(args.begin(), args.end());
    co_return r;
  }
};

FuzzNfs nfs;
efs::rpc::Dispatcher& dispatcher() {
  static efs::rpc::Dispatcher d = [] {
    efs::rpc::Dispatcher x;
    if (!x.add(nfs).ok()) std::abort();
    return x;
  }();
  return d;
}

void check_reply(const efs::rpc::ReplyRecord& r) {
  // Every reply is one last fragment whose length covers head and body.
  if (r.head.size() < 4 + 12) std::abort();
  uint32_t mark = (uint32_t(r.head[0]) << 24) | (uint32_t(r.head[1]) << 16) |
                  (uint32_t(r.head[2]) << 8) | r.head[3];
  if (!(mark & efs::rpc::kLastFragmentBit)) std::abort();
  if ((mark & efs::rpc::kFragmentLengthMask) != r.head.size() - 4 + r.body.size()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks how the stream is cut into reads, so splits inside
  // headers and payloads are explored too. A small record limit keeps the
  // size check reachable.
  std::size_t chunk = 1 + data[0] % 64;
  std::size_t limit = (data[0] & 0x80) ? 256 : efs::rpc::kDefaultMaxRecord;
  std::span<const uint8_t> stream(data + 1, size - 1);

  efs::rpc::RecordAssembler assembler(limit);
  asio::io_context io;
  efs::rpc::CallContext conn;
  conn.local_address = "127.0.0.1";
  conn.local_port = 2049;
  conn.remote_address = "127.0.0.1:700";
  conn.connection_id = 1;
  for (std::size_t off = 0; off < stream.size(); off += chunk) {
    auto piece = stream.subspan(off, std::min(chunk, stream.size() - off));
    if (!assembler.feed(piece).ok()) break;  // the connection would close here
    bool close = false;
    while (auto record = assembler.take()) {
      auto admitted = dispatcher().admit(*record, conn);
      if (!admitted.ok()) {
        close = true;  // undecodable call: the connection would close here
        break;
      }
      if (auto* ready = std::get_if<efs::rpc::ReplyRecord>(&*admitted)) {
        check_reply(*ready);
        continue;
      }
      auto call = std::get<efs::rpc::AdmittedCall>(std::move(*admitted));
      asio::co_spawn(
          io,
          [call]() -> asio::awaitable<void> {
            check_reply(co_await efs::rpc::Dispatcher::run(call));
          },
          asio::detached);
      io.run();
      io.restart();
    }
    if (close) break;
  }
  return 0;
}
