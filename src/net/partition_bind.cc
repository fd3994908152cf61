#include "net/partition_bind.h"

#include <spdlog/spdlog.h>

#include <climits>
#include <random>

#include "xdr/xdr.h"

namespace efs::net {

namespace {

// efs_prot.x / awsfile_prot.x.
constexpr uint32_t kProxyIdLength = 16;
constexpr uint32_t kProxyIncarnationLength = 8;
constexpr uint32_t kBindReady = 3;  // BindResponseType READY
constexpr uint32_t kAwsFileErrInval = 2;

}  // namespace

Result<std::vector<uint8_t>, BindArgsError> bind_client_to_partition(
    std::span<const uint8_t> args, const std::array<uint8_t, 64>& partition_id,
    int scale_up_fields) {
  // struct ProxyIdentifier { opaque identifier<16>; opaque incarnation<8>; },
  // optionally followed by ConnectionMetrics (the CSI driver's version),
  // which we do not need.
  xdr::Reader r(args);
  r.opaque(kProxyIdLength);
  r.opaque(kProxyIncarnationLength);
  if (!r.ok()) return fail(BindArgsError{});
  std::vector<uint8_t> body;
  xdr::Writer w(&body);
  w.u32(kBindReady);
  w.fixed(partition_id);                    // PartitionId: opaque[64]
  w.i32(1);                                 // max_multiplexed_connections
  w.i32(INT_MAX);                           // scale_up_bytes_per_sec_threshold: never
  w.i32(INT_MAX);                           // scale_up_threshold_breached_duration_sec
  if (scale_up_fields > 3) w.i32(INT_MAX);  // scale_up_lookback_window_size_sec
  return body;
}

PartitionBindProgram::PartitionBindProgram(uint32_t prog) : prog_(prog) {
  // One partition per process: any fixed bytes would do; random ones make
  // a restart look like a new server, as it is.
  std::random_device rd;
  for (auto& b : partition_id_) b = static_cast<uint8_t>(rd());
}

asio::awaitable<rpc::Reply> PartitionBindProgram::call(const rpc::CallContext& ctx,
                                                       std::span<const uint8_t> args) {
  rpc::Reply reply;
  if (ctx.proc == 0) co_return reply;  // NULL
  const bool aws_file = prog_ == kAwsFileProgram;
  const uint32_t bind_proc = aws_file ? 2 : 1;
  if (ctx.proc == bind_proc) {
    auto body = bind_client_to_partition(args, partition_id_, aws_file ? 4 : 3);
    if (!body) {
      spdlog::info("rpc: program {} bind_client_to_partition from {}: undecodable arguments", prog_,
                   ctx.remote_address);
      reply.stat = rpc::AcceptStat::garbage_args;
      co_return reply;
    }
    spdlog::debug("rpc: program {} bind_client_to_partition from {}:{} on connection {}: READY",
                  prog_, ctx.remote_address, ctx.remote_port, ctx.connection_id);
    reply.body = std::move(*body);
    co_return reply;
  }
  if (aws_file && ctx.proc == 3) {
    // AwsFileChannelInitRes: AWSFILE_ERR_INVAL, void.
    xdr::Writer w(&reply.body);
    w.u32(kAwsFileErrInval);
    co_return reply;
  }
  reply.stat = rpc::AcceptStat::proc_unavail;
  co_return reply;
}

}  // namespace efs::net
