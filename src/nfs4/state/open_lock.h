// Open and lock state (RFC 7530 9, RFC 8881 8-9): state owners, the stateids
// they hold per file, and the byte-range locks of each file. Plain data; the
// rules live in StateManager (open_state.cc, lock_state.cc).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "nfs4/state/types.h"

namespace efs::vfs {
class OpenHold;  // vfs/vfs.h
}

namespace efs::nfs4 {

struct OpenState;
struct LockState;

// The last reply of a 4.0 state owner, replayed when the client retransmits
// a request with the same seqid (RFC 7530 9.1.9).
struct OwnerReply {
  uint32_t op = 0;             // nfs_opnum4 of the op that produced it
  std::vector<uint8_t> bytes;  // that op's encoded result (e.g. OPEN4res)
};

// An open-owner or lock-owner (state_owner4: client id + opaque owner).
struct StateOwner {
  bool is_open_owner = true;
  uint64_t clientid = 0;
  std::vector<uint8_t> owner;
  // 4.0 only (RFC 7530 9.1.7): the last seqid processed and its reply.
  uint32_t seqid = 0;
  bool seqid_set = false;
  std::optional<OwnerReply> last_reply;
  bool confirmed = false;  // 4.0 open-owners: OPEN_CONFIRM done (RFC 7530 16.18)
  std::set<std::shared_ptr<OpenState>> opens;  // open-owner
  std::set<std::shared_ptr<LockState>> locks;  // lock-owner
  // 4.0: the open this owner closed last, kept for a retransmitted CLOSE.
  std::optional<StateOther> closed_other;
  uint32_t closed_seqid = 0;
};

// One open-owner's open of one file (RFC 7530 9.1.4.1: one stateid per pair).
struct OpenState {
  StateId sid;
  std::weak_ptr<StateOwner> owner;
  FileKey file;
  uint32_t access = 0;  // union of OPEN4_SHARE_ACCESS_* granted
  uint32_t deny = 0;
  uint8_t access_bmap = 0;  // which access values were opened (1 << access), for OPEN_DOWNGRADE
  std::set<std::shared_ptr<LockState>> locks;  // lock stateids derived from this open
  // Keeps the file (and its data) alive if its last name goes while open;
  // dropped when the open is removed.
  std::shared_ptr<vfs::OpenHold> hold;
};

// One lock-owner's locking state on one file.
struct LockState {
  StateId sid;
  std::weak_ptr<StateOwner> owner;
  std::weak_ptr<OpenState> open;
  FileKey file;
};

// One held byte range; `last` is inclusive so a range to EOF (length all
// ones) is [offset, UINT64_MAX].
struct LockRange {
  std::shared_ptr<StateOwner> owner;
  uint64_t first = 0;
  uint64_t last = 0;
  bool write = false;
};

// RFC 7530 16.10 LOCK4denied.
struct LockDenied {
  uint64_t offset = 0;
  uint64_t length = 0;
  bool write = false;
  uint64_t clientid = 0;
  std::vector<uint8_t> owner;
};

}  // namespace efs::nfs4
