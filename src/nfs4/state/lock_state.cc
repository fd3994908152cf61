// Byte-range locks: LOCK, LOCKT, LOCKU, RELEASE_LOCKOWNER (RFC 7530
// 16.10-16.12, 16.37; RFC 8881 18.10-18.12). Locks are advisory (EFS: READ
// and WRITE never check them), POSIX-style: a lock-owner's ranges on a file
// merge and split, upgrades and downgrades replace the overlapped part. A
// file's ranges live in its shard (FileShard::ranges), under the shard lock.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "nfs4/state/state_manager.h"

namespace efs::nfs4 {

namespace {

constexpr uint64_t kToEof = UINT64_MAX;  // length all ones: to the end of the file

// RFC 7530 16.10.4: a zero length, or one that runs past 2^64, is invalid.
bool to_range(uint64_t offset, uint64_t length, uint64_t* first, uint64_t* last) {
  if (length == 0) return false;
  *first = offset;
  if (length == kToEof) {
    *last = UINT64_MAX;
    return true;
  }
  if (length - 1 > UINT64_MAX - offset) return false;
  *last = offset + (length - 1);
  return true;
}

uint64_t range_length(const LockRange& r) {
  return r.last == UINT64_MAX ? kToEof : r.last - r.first + 1;
}

bool same_lock_owner(const StateOwner* a, const StateOwner* b) {
  return a && b && a->clientid == b->clientid && a->owner == b->owner;
}

void bump(stateid4& s) {
  if (++s.seqid == 0) s.seqid = 1;
}

// Removes [first, last] of owner's ranges in v, splitting ranges that stick out.
void cut(std::vector<LockRange>& v, const StateOwner* owner, uint64_t first, uint64_t last) {
  std::vector<LockRange> out;
  out.reserve(v.size() + 1);
  for (auto& r : v) {
    if (!same_lock_owner(r.owner.get(), owner) || r.last < first || r.first > last) {
      out.push_back(r);
      continue;
    }
    if (r.first < first) out.push_back({r.owner, r.first, first - 1, r.write});
    if (r.last > last) out.push_back({r.owner, last + 1, r.last, r.write});
  }
  v = std::move(out);
}

// Merges owner's touching ranges of the same type (POSIX coalescing).
void coalesce(std::vector<LockRange>& v, const StateOwner* owner) {
  std::vector<LockRange> mine, out;
  for (auto& r : v) (same_lock_owner(r.owner.get(), owner) ? mine : out).push_back(r);
  std::sort(mine.begin(), mine.end(),
            [](const LockRange& a, const LockRange& b) { return a.first < b.first; });
  for (auto& r : mine) {
    if (!out.empty() && same_lock_owner(out.back().owner.get(), owner) &&
        out.back().write == r.write && out.back().last != UINT64_MAX &&
        out.back().last + 1 >= r.first) {
      out.back().last = std::max(out.back().last, r.last);
    } else {
      out.push_back(r);
    }
  }
  v = std::move(out);
}

}  // namespace

std::optional<LockDenied> StateManager::conflict_locked(FileShard& shard, const StateOwner* owner,
                                                        FileKey file, bool write, uint64_t first,
                                                        uint64_t last) {
  auto it = shard.ranges.find(file);
  if (it == shard.ranges.end()) return std::nullopt;
  for (const auto& r : it->second) {
    if (same_lock_owner(r.owner.get(), owner)) continue;
    if (r.last < first || r.first > last) continue;
    if (!write && !r.write) continue;  // two read locks share
    return LockDenied{r.first, range_length(r), r.write, r.owner->clientid, r.owner->owner};
  }
  return std::nullopt;
}

void StateManager::unlock_range_locked(FileShard& shard, const StateOwner* owner, FileKey file,
                                       uint64_t first, uint64_t last) {
  auto it = shard.ranges.find(file);
  if (it == shard.ranges.end()) return;
  cut(it->second, owner, first, last);
  if (it->second.empty()) shard.ranges.erase(it);
}

bool StateManager::owner_holds_locks_locked(FileShard& shard, const StateOwner* owner,
                                            FileKey file) {
  auto it = shard.ranges.find(file);
  if (it == shard.ranges.end()) return false;
  return std::any_of(it->second.begin(), it->second.end(),
                     [&](const LockRange& r) { return same_lock_owner(r.owner.get(), owner); });
}

StateOpResult StateManager::lock(const LockRequest& req) {
  StateOpResult r;
  uint64_t first = 0, last = 0;
  if (!to_range(req.offset, req.length, &first, &last)) {
    r.status = NFS4ERR_INVAL;
    return r;
  }
  Client* sc = req.session_client.get();
  Found f;
  std::shared_ptr<StateOwner> lock_owner;
  std::shared_ptr<LockState> ls;
  std::shared_ptr<OpenState> open;
  if (req.new_lock_owner) {
    // open_to_lock_owner4: the open-owner's seqid is the one in play.
    r.status = lookup_stateid(req.open_sid, req.minorversion, sc, false, &f);
    if (r.status != NFS4_OK) return r;
    if (f.lock) {
      r.status = NFS4ERR_BAD_STATEID;
      return r;
    }
    if (req.minorversion == 0) {
      r.seqid_owner = f.owner;
      r.seqid = req.open_seqid;
      r.status = owner_seqid_locked(*f.owner, req.open_seqid, &r.replay);
      if (r.status != NFS4_OK || r.replay) return r;
    }
    if (f.closed || f.open->file != req.file || (req.minorversion == 0 && !f.owner->confirmed)) {
      r.status = NFS4ERR_BAD_STATEID;
      return r;
    }
    r.status = seqid_check(req.open_sid, *f.sid, req.minorversion);
    if (r.status != NFS4_OK) return r;
    uint64_t clientid = f.owner->clientid;
    // The new lock-owner must belong to the open's client (as Linux nfsd checks).
    if (req.minorversion == 0 && req.lo_clientid != clientid) {
      r.status = NFS4ERR_BAD_STATEID;
      return r;
    }
    open = f.open;
    bool created = false;
    lock_owner = get_owner_locked(*f.client, false, req.lo_owner, &created);
    for (auto& l : lock_owner->locks) {
      if (l->file == req.file) ls = l;
    }
  } else {
    r.status = lookup_stateid(req.lock_sid, req.minorversion, sc, false, &f);
    if (r.status != NFS4_OK) return r;
    if (!f.lock) {
      r.status = NFS4ERR_BAD_STATEID;
      return r;
    }
    if (req.minorversion == 0) {
      r.seqid_owner = f.owner;
      r.seqid = req.lock_seqid;
      r.status = owner_seqid_locked(*f.owner, req.lock_seqid, &r.replay);
      if (r.status != NFS4_OK || r.replay) return r;
    }
    if (f.lock->file != req.file) {
      r.status = NFS4ERR_BAD_STATEID;
      return r;
    }
    r.status = seqid_check(req.lock_sid, *f.sid, req.minorversion);
    if (r.status != NFS4_OK) return r;
    lock_owner = f.owner;
    ls = f.lock;
    open = f.open;
  }
  // The client is f.client (live: checked under its lock); the state found
  // is req.file's, so f.shard is that file's shard.
  Client& client = *f.client;
  FileShard& shard = *f.shard;
  renew(client);
  r.status = grace_check_locked(client, req.minorversion, req.reclaim);
  if (r.status != NFS4_OK) return r;
  if (auto d = conflict_locked(shard, lock_owner.get(), req.file, req.write, first, last)) {
    r.status = NFS4ERR_DENIED;
    r.denied = std::move(*d);
    return r;
  }
  std::vector<LockRange> next = shard.ranges[req.file];
  cut(next, lock_owner.get(), first, last);
  next.push_back({lock_owner, first, last, req.write});
  coalesce(next, lock_owner.get());
  // EFS allows 512 locks per file. Past that we answer NFS4ERR_DENIED (the
  // one LOCK error both minor versions allow that the client turns into a
  // plain "lock not granted"), describing the requested range.
  if (next.size() > opts_.max_locks_per_file) {
    spdlog::info("nfs4 LOCK: file {}:{} has {} locks (limit {}): DENIED", req.file.fsid,
                 req.file.ino, shard.ranges[req.file].size(), opts_.max_locks_per_file);
    r.status = NFS4ERR_DENIED;
    r.denied =
        LockDenied{req.offset, req.length, req.write, lock_owner->clientid, lock_owner->owner};
    if (shard.ranges[req.file].empty()) shard.ranges.erase(req.file);
    return r;
  }
  shard.ranges[req.file] = std::move(next);
  if (ls) {
    bump(ls->sid);
  } else {
    ls = std::make_shared<LockState>();
    ls->sid = new_stateid_locked(shard, lock_owner->clientid);
    ls->owner = lock_owner;
    ls->open = open;
    ls->file = req.file;
    shard.lock_states[ls->sid.other] = ls;
    lock_owner->locks.insert(ls);
    if (open) open->locks.insert(ls);
  }
  if (req.new_lock_owner && req.minorversion == 0) {
    // The new lock-owner's sequence starts at lock_seqid (RFC 7530 16.10.5).
    lock_owner->seqid = req.lock_seqid;
    lock_owner->seqid_set = true;
  }
  r.sid = ls->sid;
  return r;
}

StateOpResult StateManager::locku(const stateid4& sid, uint32_t seqid, bool write, uint64_t offset,
                                  uint64_t length, FileKey file, uint32_t minorversion,
                                  Client* session_client) {
  (void)write;  // the type does not matter for unlocking (RFC 7530 16.12.4)
  StateOpResult r;
  uint64_t first = 0, last = 0;
  Found f;
  r.status = lookup_stateid(sid, minorversion, session_client, false, &f);
  if (r.status != NFS4_OK) return r;
  if (!f.lock) {
    r.status = NFS4ERR_BAD_STATEID;
    return r;
  }
  if (minorversion == 0) {
    r.seqid_owner = f.owner;
    r.seqid = seqid;
    r.status = owner_seqid_locked(*f.owner, seqid, &r.replay);
    if (r.status != NFS4_OK || r.replay) return r;
  }
  if (!to_range(offset, length, &first, &last)) {
    r.status = NFS4ERR_INVAL;
    return r;
  }
  if (f.lock->file != file) {
    r.status = NFS4ERR_BAD_STATEID;
    return r;
  }
  r.status = seqid_check(sid, *f.sid, minorversion);
  if (r.status != NFS4_OK) return r;
  unlock_range_locked(*f.shard, f.owner.get(), file, first, last);
  renew(*f.client);
  bump(*f.sid);
  r.sid = *f.sid;
  return r;
}

nfsstat4 StateManager::lockt(uint32_t minorversion, Client* session_client, uint64_t clientid,
                             std::span<const uint8_t> owner, bool write, uint64_t offset,
                             uint64_t length, FileKey file, LockDenied* denied) {
  uint64_t first = 0, last = 0;
  if (!to_range(offset, length, &first, &last)) return NFS4ERR_INVAL;
  if (minorversion >= 1) {
    if (!session_client) return NFS4ERR_SERVERFAULT;
    clientid = session_client->clientid;
  } else {
    nfsstat4 s = client_for_40(clientid, nullptr);
    if (s != NFS4_OK) return s;
  }
  if (grace_now()) return NFS4ERR_GRACE;  // RFC 7530 9.6.2: LOCKT too
  StateOwner probe;
  probe.clientid = clientid;
  probe.owner.assign(owner.begin(), owner.end());
  // LOCKT only reads the file's ranges: its shard lock alone.
  FileShard& shard = shard_for(file);
  std::lock_guard sl(shard.mu);
  if (auto d = conflict_locked(shard, &probe, file, write, first, last)) {
    if (denied) *denied = std::move(*d);
    return NFS4ERR_DENIED;
  }
  return NFS4_OK;
}

nfsstat4 StateManager::release_lockowner(uint64_t clientid, std::span<const uint8_t> owner) {
  std::shared_ptr<Client> c;
  nfsstat4 s = client_for_40(clientid, &c);
  if (s != NFS4_OK) return s;
  std::lock_guard cl(c->mu);
  auto it = c->lock_owners.find(std::vector<uint8_t>(owner.begin(), owner.end()));
  if (it == c->lock_owners.end()) return NFS4_OK;
  auto lo = it->second;
  // RFC 7530 16.37.4: not while the lock-owner holds locks. The client lock
  // keeps its ranges from changing between this check and the release.
  for (auto& l : lo->locks) {
    FileShard& shard = shard_for(l->file);
    std::lock_guard sl(shard.mu);
    if (owner_holds_locks_locked(shard, lo.get(), l->file)) return NFS4ERR_LOCKS_HELD;
  }
  for (auto& l : std::set(lo->locks)) {
    FileShard& shard = shard_for(l->file);
    std::lock_guard sl(shard.mu);
    remove_lock_state_locked(shard, l);
  }
  c->lock_owners.erase(it);
  return NFS4_OK;
}

}  // namespace efs::nfs4
