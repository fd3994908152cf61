// efs-proxy's first call on each connection (efs-utils 2.x, `mount -t efs`
// without the legacy stunnel mode): bind_client_to_partition, which on EFS
// picks the server partition a client's connections are multiplexed onto.
// efs-local has one partition, so the bind always answers READY with the
// same partition id, and a ScaleUpConfig that keeps efs-proxy on the one
// connection (max_multiplexed_connections 1, a threshold no client reaches):
// more connections would bring nothing here.
//
// Two programs carry it (aws/efs-utils src/proxy): older efs-proxy calls
// program 100200 version 1, procedure 1 (efs_prot.x: a three-field
// ScaleUpConfig); newer ones call AWSFILE_PROGRAM 400123 version 1,
// procedure 2 (awsfile_prot.x: four fields), and then procedure 3,
// awsfile_channel_init (the S3 read bypass), which is answered
// AWSFILE_ERR_INVAL ("API unavailable") so the proxy goes on without it.
// Procedure 1 of 400123 (COMPOUND wrapped in the AWS program) is
// PROC_UNAVAIL: efs-proxy sends NFS calls as program 100003.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "common/result.h"
#include "rpc/program.h"

namespace efs::net {

inline constexpr uint32_t kAwsFileProgram = 400123;
inline constexpr uint32_t kEfsProxyProgram = 100200;

// The BindClientResponse (READY) for a bind_client_to_partition call, with a
// ScaleUpConfig of 3 fields (program 100200) or 4 (400123); fails for
// undecodable ProxyIdentifier arguments.
struct BindArgsError {};
Result<std::vector<uint8_t>, BindArgsError> bind_client_to_partition(
    std::span<const uint8_t> args, const std::array<uint8_t, 64>& partition_id,
    int scale_up_fields);

class PartitionBindProgram : public rpc::Program {
 public:
  // prog is kAwsFileProgram or kEfsProxyProgram.
  explicit PartitionBindProgram(uint32_t prog);
  uint32_t program() const override { return prog_; }
  uint32_t min_version() const override { return 1; }
  uint32_t max_version() const override { return 1; }
  asio::awaitable<rpc::Reply> call(const rpc::CallContext& ctx,
                                   std::span<const uint8_t> args) override;
  rpc::CallCost cost(const rpc::CallContext&, std::span<const uint8_t>) const override {
    return rpc::CallCost::inline_ok;
  }

 private:
  uint32_t prog_;
  std::array<uint8_t, 64> partition_id_{};
};

}  // namespace efs::net
