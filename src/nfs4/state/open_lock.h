// Open and lock state (RFC 7530 9, RFC 8881 8-9): state owners, the stateids
// they hold per file, the byte-range locks of each file, and the file shards
// that hold them. Plain data; the rules live in StateManager (open_state.cc,
// lock_state.cc). Guards: "client lock" is the owning Client::mu, "shard
// lock" the FileShard::mu of the file (lock order in state_manager.h). Every
// change of an open or lock holds both; READ/WRITE checks hold the shard only.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "nfs4/state/stateid.h"

namespace efs::vfs {
class OpenHold;  // vfs/vfs.h
}

namespace efs::nfs4 {

class Client;
struct OpenState;
struct LockState;

// Orders byte strings (owners) by length, then bytes. Used instead of
// std::less<std::vector<uint8_t>>, whose inlined three-way compare GCC 12
// reports as -Wstringop-overread at -O3 (a false positive that broke the
// release build).
struct BytesLess {
  bool operator()(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) const {
    if (a.size() != b.size()) return a.size() < b.size();
    return !a.empty() && std::memcmp(a.data(), b.data(), a.size()) < 0;
  }
};
using OwnerSet = std::set<std::vector<uint8_t>, BytesLess>;

// The last reply of a 4.0 state owner, replayed when the client retransmits
// a request with the same seqid (RFC 7530 9.1.9).
struct OwnerReply {
  uint32_t op = 0;             // nfs_opnum4 of the op that produced it
  std::vector<uint8_t> bytes;  // that op's encoded result (e.g. OPEN4res)
};

// An open-owner or lock-owner (state_owner4: client id + opaque owner).
struct StateOwner {
  // Fixed at creation.
  bool is_open_owner = true;
  uint64_t clientid = 0;
  std::vector<uint8_t> owner;
  std::weak_ptr<Client> client;
  // 4.0 open-owners: OPEN_CONFIRM done (RFC 7530 16.18); 4.1: set by the first
  // OPEN. Atomic: READ/WRITE read it under the shard lock only.
  std::atomic<bool> confirmed{false};
  // Client lock. 4.0 only (RFC 7530 9.1.7): the last seqid processed and its reply.
  uint32_t seqid = 0;
  bool seqid_set = false;
  std::optional<OwnerReply> last_reply;
  std::set<std::shared_ptr<OpenState>> opens;  // open-owner
  std::set<std::shared_ptr<LockState>> locks;  // lock-owner
  // 4.0: the open this owner closed last, kept for a retransmitted CLOSE.
  std::optional<StateOther> closed_other;
  uint32_t closed_seqid = 0;
};

// One open-owner's open of one file (RFC 7530 9.1.4.1: one stateid per pair).
struct OpenState {
  std::weak_ptr<StateOwner> owner;  // fixed
  FileKey file;                     // fixed
  // Shard lock.
  stateid4 sid;
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
  std::weak_ptr<StateOwner> owner;  // fixed
  std::weak_ptr<OpenState> open;    // fixed
  FileKey file;                     // fixed
  stateid4 sid;                     // shard lock
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

// The open and lock state of the files that hash to one shard, under one
// mutex. A file's shard is fixed (StateManager::shard_of), and its stateids
// name the shard in other[8], so no lookup crosses shards.
struct FileShard {
  std::mutex mu;
  uint32_t next_stateid = 1;  // 24 bits (other[9..11]); in-use values are skipped on wrap
  std::map<StateOther, std::shared_ptr<OpenState>> opens;
  std::map<StateOther, std::shared_ptr<LockState>> lock_states;
  std::map<FileKey, std::vector<LockRange>> ranges;
  // Closed 4.0 opens kept so a retransmitted CLOSE is answered from the
  // owner's reply cache (RFC 7530 9.1.9) until the owner's next op.
  std::map<StateOther, std::shared_ptr<OpenState>> closed;
};

}  // namespace efs::nfs4
