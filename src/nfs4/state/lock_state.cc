// Byte-range locks: LOCK, LOCKT, LOCKU, RELEASE_LOCKOWNER (RFC 7530
// 16.10-16.12, 16.37; RFC 8881 18.10-18.12). Locks are advisory (EFS: READ
// and WRITE never check them), POSIX-style: a lock-owner's ranges on a file
// merge and split, upgrades and downgrades replace the overlapped part.
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

void bump(StateId& s) {
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

std::optional<LockDenied> StateManager::conflict_locked(const StateOwner* owner, FileKey file,
                                                        bool write, uint64_t first, uint64_t last) {
  auto it = ranges_.find(file);
  if (it == ranges_.end()) return std::nullopt;
  for (const auto& r : it->second) {
    if (same_lock_owner(r.owner.get(), owner)) continue;
    if (r.last < first || r.first > last) continue;
    if (!write && !r.write) continue;  // two read locks share
    return LockDenied{r.first, range_length(r), r.write, r.owner->clientid, r.owner->owner};
  }
  return std::nullopt;
}

void StateManager::unlock_range_locked(const StateOwner* owner, FileKey file, uint64_t first,
                                       uint64_t last) {
  auto it = ranges_.find(file);
  if (it == ranges_.end()) return;
  cut(it->second, owner, first, last);
  if (it->second.empty()) ranges_.erase(it);
}

bool StateManager::owner_holds_locks_locked(const StateOwner* owner, FileKey file) {
  auto it = ranges_.find(file);
  if (it == ranges_.end()) return false;
  return std::any_of(it->second.begin(), it->second.end(),
                     [&](const LockRange& r) { return same_lock_owner(r.owner.get(), owner); });
}

StateOpResult StateManager::lock(const LockRequest& req) {
  StateOpResult r;
  uint64_t first = 0, last = 0;
  if (!to_range(req.offset, req.length, &first, &last)) {
    r.status = Nfs4Stat::inval;
    return r;
  }
  std::lock_guard lk(mu_);
  const Client* sc = req.session_client.get();
  Found f;
  std::shared_ptr<StateOwner> lock_owner;
  std::shared_ptr<LockState> ls;
  std::shared_ptr<OpenState> open;
  if (req.new_lock_owner) {
    // open_to_lock_owner4: the open-owner's seqid is the one in play.
    r.status = lookup_stateid_locked(req.open_sid, req.minorversion, sc, false, &f);
    if (r.status != Nfs4Stat::ok) return r;
    if (f.lock) {
      r.status = Nfs4Stat::bad_stateid;
      return r;
    }
    if (req.minorversion == 0) {
      r.seqid_owner = f.owner;
      r.seqid = req.open_seqid;
      r.status = owner_seqid_locked(*f.owner, req.open_seqid, false, &r.replay);
      if (r.status != Nfs4Stat::ok || r.replay) return r;
    }
    if (f.closed || f.open->file != req.file || (req.minorversion == 0 && !f.owner->confirmed)) {
      r.status = Nfs4Stat::bad_stateid;
      return r;
    }
    r.status = seqid_check(req.open_sid, *f.sid, req.minorversion);
    if (r.status != Nfs4Stat::ok) return r;
    uint64_t clientid = f.owner->clientid;
    // The new lock-owner must belong to the open's client (as Linux nfsd checks).
    if (req.minorversion == 0 && req.lo_clientid != clientid) {
      r.status = Nfs4Stat::bad_stateid;
      return r;
    }
    open = f.open;
    bool created = false;
    lock_owner = get_owner_locked(false, clientid, req.lo_owner, &created);
    for (auto& l : lock_owner->locks) {
      if (l->file == req.file) ls = l;
    }
  } else {
    r.status = lookup_stateid_locked(req.lock_sid, req.minorversion, sc, false, &f);
    if (r.status != Nfs4Stat::ok) return r;
    if (!f.lock) {
      r.status = Nfs4Stat::bad_stateid;
      return r;
    }
    if (req.minorversion == 0) {
      r.seqid_owner = f.owner;
      r.seqid = req.lock_seqid;
      r.status = owner_seqid_locked(*f.owner, req.lock_seqid, false, &r.replay);
      if (r.status != Nfs4Stat::ok || r.replay) return r;
    }
    if (f.lock->file != req.file) {
      r.status = Nfs4Stat::bad_stateid;
      return r;
    }
    r.status = seqid_check(req.lock_sid, *f.sid, req.minorversion);
    if (r.status != Nfs4Stat::ok) return r;
    lock_owner = f.owner;
    ls = f.lock;
    open = f.open;
  }
  auto client = find_client_locked(lock_owner->clientid);
  if (!client) {
    r.status = req.minorversion == 0 ? Nfs4Stat::expired : Nfs4Stat::badsession;
    return r;
  }
  renew_locked(*client);
  r.status = grace_check_locked(*client, req.minorversion, req.reclaim);
  if (r.status != Nfs4Stat::ok) return r;
  if (auto d = conflict_locked(lock_owner.get(), req.file, req.write, first, last)) {
    r.status = Nfs4Stat::denied;
    r.denied = std::move(*d);
    return r;
  }
  std::vector<LockRange> next = ranges_[req.file];
  cut(next, lock_owner.get(), first, last);
  next.push_back({lock_owner, first, last, req.write});
  coalesce(next, lock_owner.get());
  // EFS allows 512 locks per file. Past that we answer NFS4ERR_DENIED (the
  // one LOCK error both minor versions allow that the client turns into a
  // plain "lock not granted"), describing the requested range.
  if (next.size() > opts_.max_locks_per_file) {
    spdlog::info("nfs4 LOCK: file {}:{} has {} locks (limit {}): DENIED", req.file.fsid,
                 req.file.ino, ranges_[req.file].size(), opts_.max_locks_per_file);
    r.status = Nfs4Stat::denied;
    r.denied =
        LockDenied{req.offset, req.length, req.write, lock_owner->clientid, lock_owner->owner};
    if (ranges_[req.file].empty()) ranges_.erase(req.file);
    return r;
  }
  ranges_[req.file] = std::move(next);
  if (ls) {
    bump(ls->sid);
  } else {
    ls = std::make_shared<LockState>();
    ls->sid = new_stateid_locked(lock_owner->clientid);
    ls->owner = lock_owner;
    ls->open = open;
    ls->file = req.file;
    lock_states_[ls->sid.other] = ls;
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

StateOpResult StateManager::locku(const StateId& sid, uint32_t seqid, bool write, uint64_t offset,
                                  uint64_t length, FileKey file, uint32_t minorversion,
                                  const Client* session_client) {
  (void)write;  // the type does not matter for unlocking (RFC 7530 16.12.4)
  StateOpResult r;
  uint64_t first = 0, last = 0;
  std::lock_guard lk(mu_);
  Found f;
  r.status = lookup_stateid_locked(sid, minorversion, session_client, false, &f);
  if (r.status != Nfs4Stat::ok) return r;
  if (!f.lock) {
    r.status = Nfs4Stat::bad_stateid;
    return r;
  }
  if (minorversion == 0) {
    r.seqid_owner = f.owner;
    r.seqid = seqid;
    r.status = owner_seqid_locked(*f.owner, seqid, false, &r.replay);
    if (r.status != Nfs4Stat::ok || r.replay) return r;
  }
  if (!to_range(offset, length, &first, &last)) {
    r.status = Nfs4Stat::inval;
    return r;
  }
  if (f.lock->file != file) {
    r.status = Nfs4Stat::bad_stateid;
    return r;
  }
  r.status = seqid_check(sid, *f.sid, minorversion);
  if (r.status != Nfs4Stat::ok) return r;
  unlock_range_locked(f.owner.get(), file, first, last);
  if (auto c = find_client_locked(f.owner->clientid)) renew_locked(*c);
  bump(*f.sid);
  r.sid = *f.sid;
  return r;
}

Nfs4Stat StateManager::lockt(uint32_t minorversion, const Client* session_client, uint64_t clientid,
                             std::span<const uint8_t> owner, bool write, uint64_t offset,
                             uint64_t length, FileKey file, LockDenied* denied) {
  uint64_t first = 0, last = 0;
  if (!to_range(offset, length, &first, &last)) return Nfs4Stat::inval;
  std::lock_guard lk(mu_);
  if (minorversion >= 1) {
    if (!session_client) return Nfs4Stat::serverfault;
    clientid = session_client->clientid;
  } else {
    Nfs4Stat s = client_for_40_locked(clientid, nullptr);
    if (s != Nfs4Stat::ok) return s;
  }
  if (grace_locked()) return Nfs4Stat::grace;  // RFC 7530 9.6.2: LOCKT too
  StateOwner probe;
  probe.clientid = clientid;
  probe.owner.assign(owner.begin(), owner.end());
  if (auto d = conflict_locked(&probe, file, write, first, last)) {
    if (denied) *denied = std::move(*d);
    return Nfs4Stat::denied;
  }
  return Nfs4Stat::ok;
}

Nfs4Stat StateManager::release_lockowner(uint64_t clientid, std::span<const uint8_t> owner) {
  std::lock_guard lk(mu_);
  Nfs4Stat s = client_for_40_locked(clientid, nullptr);
  if (s != Nfs4Stat::ok) return s;
  auto lo = find_owner_locked(false, clientid, owner);
  if (!lo) return Nfs4Stat::ok;
  // RFC 7530 16.37.4: not while the lock-owner holds locks.
  for (auto& l : lo->locks) {
    if (owner_holds_locks_locked(lo.get(), l->file)) return Nfs4Stat::locks_held;
  }
  for (auto& l : std::set(lo->locks)) remove_lock_state_locked(l);
  lock_owners_.erase({lo->clientid, lo->owner});
  return Nfs4Stat::ok;
}

}  // namespace efs::nfs4
