// The state layer's vocabulary beyond the wire types: it speaks the generated
// XDR types (nfsstat4, stateid4, verifier4, sessionid4, channel_attrs4,
// CREATE_SESSION4args, ... from src/xdr/nfs4.x) and adds only what the wire
// has no word for: which file a piece of state belongs to (FileKey), who
// established a client record (Principal), and how our stateids lay out
// their `other` field.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <utility>

#include "xdr/nfs4_xdr.h"  // generated from src/xdr/nfs4.x

namespace efs::nfs4 {

using namespace efs::xdr::nfs4;

// stateid4.other (RFC 8881 8.2: 12 opaque bytes the server lays out). Ours:
//   other[0..3]  the server boot instance (a stateid from an earlier boot is stale)
//   other[4..7]  the low 32 bits of the owning client id (the client record lock)
//   other[8]     the file shard that holds the state (see FileShard), so a
//                lookup goes straight to one shard lock
//   other[9..11] a per-shard counter
using StateOther = decltype(stateid4::other);

inline void put_be32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}
inline uint32_t get_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
inline uint32_t stateid_boot(const stateid4& s) {
  return get_be32(s.other.data());
}
inline uint32_t stateid_client_low(const stateid4& s) {
  return get_be32(s.other.data() + 4);
}
inline uint32_t stateid_shard(const stateid4& s) {
  return s.other[8];
}

inline bool same_stateid(const stateid4& a, const stateid4& b) {
  return a.seqid == b.seqid && a.other == b.other;
}

// RFC 8881 8.2.3 special stateids.
inline bool other_is_zero(const stateid4& s) {
  return s.other == StateOther{};
}
inline bool is_anonymous(const stateid4& s) {
  return s.seqid == 0 && other_is_zero(s);
}
inline bool is_read_bypass(const stateid4& s) {
  StateOther ones;
  ones.fill(0xff);
  return s.seqid == 0xffffffffu && s.other == ones;
}
inline bool is_current_stateid(const stateid4& s) {
  return s.seqid == 1 && other_is_zero(s);
}
// The "invalid" special stateid, returned by 4.1 CLOSE (RFC 8881 18.2.4).
inline stateid4 invalid_stateid() {
  return stateid4{0xffffffffu, {}};
}

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

// A file as the state layer sees it: (file system's fsid, inode).
struct FileKey {
  uint64_t fsid = 0;
  uint64_t ino = 0;
  friend auto operator<=>(const FileKey&, const FileKey&) = default;
};

// RFC 8881 18.16.3: the 4.1 "want" bits ride above the OPEN4_SHARE_ACCESS_*
// bits of share_access; this keeps the access part.
inline constexpr uint32_t kShareAccessMask = 0xff;

}  // namespace efs::nfs4
