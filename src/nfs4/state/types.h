// Vocabulary of the NFSv4 state layer (clients, sessions, stateids, opens,
// locks), independent of the generated wire types so the pure logic can be
// unit-tested without the COMPOUND loop. The ops in src/nfs4/ops/ convert
// between these and the generated XDR types.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace efs::nfs4 {

// nfsstat4 values (RFC 7530 13, RFC 8881 15) that the state layer returns.
// ops/ cast them to the generated nfsstat4 (same numbers; checked by
// static_asserts in ops/state_convert.h).
enum class Nfs4Stat : uint32_t {
  ok = 0,
  perm = 1,
  noent = 2,
  access = 13,
  exist = 17,
  inval = 22,
  notsupp = 10004,
  toosmall = 10005,
  serverfault = 10006,
  delay = 10008,
  denied = 10010,
  expired = 10011,
  grace = 10013,
  clid_inuse = 10017,
  resource = 10018,
  stale_clientid = 10022,
  stale_stateid = 10023,
  old_stateid = 10024,
  bad_stateid = 10025,
  bad_seqid = 10026,
  not_same = 10027,
  no_grace = 10033,
  reclaim_bad = 10034,
  locks_held = 10037,
  openmode = 10038,
  admin_revoked = 10047,
  badsession = 10052,
  badslot = 10053,
  complete_already = 10054,
  conn_not_bound_to_session = 10055,
  seq_misordered = 10063,
  retry_uncached_rep = 10068,
  too_many_ops = 10070,
  clientid_busy = 10074,
  encr_alg_unsupp = 10079,
};

const char* to_string(Nfs4Stat s);

// A stateid4 (RFC 8881 8.2): a 32-bit seqid and 12 opaque bytes. Ours are
//   other[0..3]  the server boot instance (a stateid from an earlier boot is stale)
//   other[4..7]  the low 32 bits of the owning client id
//   other[8..11] a per-boot counter
using StateOther = std::array<uint8_t, 12>;

struct StateId {
  uint32_t seqid = 0;
  StateOther other{};
  friend bool operator==(const StateId&, const StateId&) = default;
};

// RFC 8881 8.2.3 special stateids.
inline bool is_anonymous(const StateId& s) {
  return s.seqid == 0 && s.other == StateOther{};
}
inline bool is_read_bypass(const StateId& s) {
  StateOther ones;
  ones.fill(0xff);
  return s.seqid == 0xffffffffu && s.other == ones;
}
inline bool is_current_stateid(const StateId& s) {
  return s.seqid == 1 && s.other == StateOther{};
}
inline bool other_is_zero(const StateId& s) {
  return s.other == StateOther{};
}
// The "invalid" special stateid, returned by 4.1 CLOSE (RFC 8881 18.2.4).
inline StateId invalid_stateid() {
  return StateId{0xffffffffu, {}};
}

using Verifier = std::array<uint8_t, 8>;

// Who sent a request, as a client record remembers it (RFC 8881 2.4.3,
// RFC 7530 16.33.5). For AUTH_SYS that is the credential's uid and machine
// name; AUTH_NONE is uid 65534 with no machine name. Built implicitly from a
// uid alone (the machine name empty), which is what the state tests use.
struct Principal {
  uint32_t uid = 0;
  std::string machine;
  Principal() = default;
  Principal(uint32_t u, std::string m = {}) : uid(u), machine(std::move(m)) {}  // NOLINT: implicit
  friend bool operator==(const Principal& a, const Principal& b) {
    return a.uid == b.uid && a.machine == b.machine;
  }
};
using SessionId = std::array<uint8_t, 16>;

// A file as the state layer sees it: (file system's fsid, inode).
struct FileKey {
  uint64_t fsid = 0;
  uint64_t ino = 0;
  friend auto operator<=>(const FileKey&, const FileKey&) = default;
};

// OPEN4_SHARE_ACCESS_* / OPEN4_SHARE_DENY_* (RFC 7530 16.16).
inline constexpr uint32_t kShareAccessRead = 1, kShareAccessWrite = 2, kShareAccessBoth = 3;
inline constexpr uint32_t kShareDenyNone = 0;
// RFC 8881 18.16.3: the 4.1 "want" bits ride in the upper bits of share_access.
inline constexpr uint32_t kShareAccessMask = 0xff;

// Channel attributes (channel_attrs4, RFC 8881 18.36).
struct ChannelAttrs {
  uint32_t headerpadsize = 0;
  uint32_t maxrequestsize = 0;
  uint32_t maxresponsesize = 0;
  uint32_t maxresponsesize_cached = 0;
  uint32_t maxoperations = 0;
  uint32_t maxrequests = 0;
};

// eir_flags / CREATE_SESSION flags / SEQUENCE status bits we use (RFC 8881 18.35, 18.36, 18.46).
inline constexpr uint32_t kExchgIdSuppMovedRefer = 0x1, kExchgIdSuppMovedMigr = 0x2,
                          kExchgIdSuppFenceOps = 0x4, kExchgIdBindPrincStateid = 0x100,
                          kExchgIdUseNonPnfs = 0x10000, kExchgIdUsePnfsMds = 0x20000,
                          kExchgIdUsePnfsDs = 0x40000, kExchgIdUpdConfirmedRecA = 0x40000000,
                          kExchgIdConfirmedR = 0x80000000;
inline constexpr uint32_t kCreateSessionPersist = 0x1, kCreateSessionConnBackChan = 0x2,
                          kCreateSessionConnRdma = 0x4;
inline constexpr uint32_t kSeqStatusExpiredAllStateRevoked = 0x8,
                          kSeqStatusRestartReclaimNeeded = 0x100;
// channel_dir_from_client4 / channel_dir_from_server4 (RFC 8881 18.34).
inline constexpr uint32_t kCdfcFore = 1, kCdfcBack = 2, kCdfcForeOrBoth = 3, kCdfcBackOrBoth = 7;
inline constexpr uint32_t kCdfsFore = 1, kCdfsBack = 2, kCdfsBoth = 3;

}  // namespace efs::nfs4
