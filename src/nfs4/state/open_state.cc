// Opens and stateids: OPEN's state part, OPEN_CONFIRM, OPEN_DOWNGRADE, CLOSE
// (RFC 7530 16.16-16.20, RFC 8881 18.16-18.20), 4.0 owner seqids (RFC 7530
// 9.1.7) and the stateid checks of READ/WRITE/SETATTR, TEST_STATEID and
// FREE_STATEID (RFC 8881 8.2, 18.38, 18.48). A stateid-taking op locks the
// client that owns the stateid, then the shard other[8] names (lock order in
// state_manager.h); the READ/WRITE check locks the shard alone.
#include <spdlog/spdlog.h>

#include "nfs4/state/state_manager.h"

namespace efs::nfs4 {

namespace {

// RFC 7530 9.1.7: these errors mean the request was never seen as part of
// the owner's sequence, so its seqid does not advance.
bool seqid_advances(nfsstat4 s) {
  switch (s) {
    case NFS4ERR_STALE_CLIENTID:
    case NFS4ERR_STALE_STATEID:
    case NFS4ERR_BAD_STATEID:
    case NFS4ERR_BAD_SEQID:
    case NFS4ERR_RESOURCE:
      return false;
    default:
      return true;
  }
}

void bump(stateid4& s) {
  // RFC 8881 8.2.2: seqid 0 is reserved in 4.1 ("current"), so wrap to 1.
  if (++s.seqid == 0) s.seqid = 1;
}

}  // namespace

nfsstat4 StateManager::seqid_check(const stateid4& presented, const stateid4& current,
                                   uint32_t minorversion) {
  // RFC 8881 8.2.2: in 4.1 seqid 0 means "the current one".
  if (minorversion >= 1 && presented.seqid == 0) return NFS4_OK;
  if (presented.seqid == current.seqid) return NFS4_OK;
  // A seqid the server never handed out is bad; an earlier one is old.
  return presented.seqid > current.seqid ? NFS4ERR_BAD_STATEID : NFS4ERR_OLD_STATEID;
}

nfsstat4 StateManager::precheck_stateid(const stateid4& sid, uint32_t minorversion,
                                        const Client* session_client, uint64_t* clientid) const {
  if (other_is_zero(sid) || is_read_bypass(sid)) return NFS4ERR_BAD_STATEID;
  if (stateid_boot(sid) != boot_) return NFS4ERR_STALE_STATEID;
  if (stateid_shard(sid) >= kFileShards) return NFS4ERR_BAD_STATEID;
  *clientid = (uint64_t(boot_) << 32) | stateid_client_low(sid);
  // RFC 8881 8.2.4: a stateid is only valid for the client that owns the session.
  if (minorversion >= 1 && session_client && session_client->clientid != *clientid) {
    return NFS4ERR_BAD_STATEID;
  }
  return NFS4_OK;
}

nfsstat4 StateManager::missing_stateid_status(const stateid4& sid, uint32_t minorversion) {
  if (minorversion >= 1) return NFS4ERR_BAD_STATEID;
  uint64_t clientid = (uint64_t(boot_) << 32) | stateid_client_low(sid);
  std::shared_lock lk(clients_mu_);
  return expired_.count(clientid) || superseded_.count(clientid) ? NFS4ERR_EXPIRED
                                                                 : NFS4ERR_BAD_STATEID;
}

nfsstat4 StateManager::find_in_shard_locked(FileShard& shard, const stateid4& sid,
                                            uint32_t minorversion, bool check_seqid, Found* f) {
  if (auto it = shard.opens.find(sid.other); it != shard.opens.end()) {
    f->open = it->second;
    f->owner = it->second->owner.lock();
    f->sid = &it->second->sid;
  } else if (auto jt = shard.lock_states.find(sid.other); jt != shard.lock_states.end()) {
    f->lock = jt->second;
    f->open = jt->second->open.lock();
    f->owner = jt->second->owner.lock();
    f->sid = &jt->second->sid;
  } else if (auto kt = shard.closed.find(sid.other); kt != shard.closed.end()) {
    f->open = kt->second;
    f->owner = kt->second->owner.lock();
    f->sid = &kt->second->sid;
    f->closed = true;
  } else {
    f->missing = true;
    return NFS4ERR_BAD_STATEID;
  }
  if (!f->owner) return NFS4ERR_BAD_STATEID;
  if (check_seqid) return seqid_check(sid, *f->sid, minorversion);
  return NFS4_OK;
}

nfsstat4 StateManager::lookup_stateid(const stateid4& sid, uint32_t minorversion,
                                      Client* session_client, bool check_seqid, Found* f) {
  uint64_t clientid = 0;
  if (nfsstat4 s = precheck_stateid(sid, minorversion, session_client, &clientid); s != NFS4_OK) {
    return s;
  }
  if (minorversion >= 1 && session_client) {
    f->client = session_client;  // kept alive by the COMPOUND
  } else {
    {
      std::shared_lock lk(clients_mu_);
      if (minorversion == 0 && (expired_.count(clientid) || superseded_.count(clientid))) {
        return NFS4ERR_EXPIRED;
      }
      f->keep = find_client_locked(clientid);
    }
    if (!f->keep) return NFS4ERR_BAD_STATEID;
    f->client = f->keep.get();
  }
  f->client_lk = std::unique_lock(f->client->mu);
  // Expired or purged after the lookup: its state is gone.
  if (!f->client->live) return minorversion == 0 ? NFS4ERR_EXPIRED : NFS4ERR_BAD_STATEID;
  f->shard = &shards_[stateid_shard(sid)];
  f->shard_lk = std::unique_lock(f->shard->mu);
  return find_in_shard_locked(*f->shard, sid, minorversion, check_seqid, f);
}

nfsstat4 StateManager::owner_seqid_locked(StateOwner& owner, uint32_t seqid,
                                          std::optional<OwnerReply>* replay) {
  // RFC 7530 9.1.7: next seqid -> new request; same seqid -> retransmission,
  // answered with the saved reply; anything else is NFS4ERR_BAD_SEQID.
  if (!owner.seqid_set) return NFS4_OK;
  if (seqid == owner.seqid + 1) return NFS4_OK;
  if (seqid == owner.seqid && owner.last_reply) {
    *replay = owner.last_reply;
    return NFS4_OK;
  }
  return NFS4ERR_BAD_SEQID;
}

void StateManager::owner_reply(const std::shared_ptr<StateOwner>& owner, uint32_t seqid,
                               nfsstat4 status, OwnerReply reply) {
  if (!owner || !seqid_advances(status)) return;
  auto c = owner->client.lock();
  if (!c) return;
  std::lock_guard cl(c->mu);
  owner->seqid = seqid;
  owner->seqid_set = true;
  owner->last_reply = std::move(reply);
  // A closed open is kept only for a retransmission of that CLOSE.
  if (owner->closed_other && owner->closed_seqid != seqid) {
    FileShard& shard = shards_[(*owner->closed_other)[8]];
    std::lock_guard sl(shard.mu);
    shard.closed.erase(*owner->closed_other);
    owner->closed_other.reset();
  }
}

std::shared_ptr<StateOwner> StateManager::get_owner_locked(Client& c, bool open_owner,
                                                           std::span<const uint8_t> owner,
                                                           bool* created) {
  auto& table = open_owner ? c.open_owners : c.lock_owners;
  std::vector<uint8_t> key(owner.begin(), owner.end());
  auto& slot = table[key];
  *created = !slot;
  if (!slot) {
    slot = std::make_shared<StateOwner>();
    slot->is_open_owner = open_owner;
    slot->clientid = c.clientid;
    slot->owner = std::move(key);
    slot->client = c.weak_from_this();
  }
  return slot;
}

void StateManager::remove_lock_state_locked(FileShard& shard,
                                            const std::shared_ptr<LockState>& ls) {
  auto owner = ls->owner.lock();
  if (owner) {
    unlock_range_locked(shard, owner.get(), ls->file, 0, UINT64_MAX);
    owner->locks.erase(ls);
  }
  if (auto open = ls->open.lock()) open->locks.erase(ls);
  shard.lock_states.erase(ls->sid.other);
}

void StateManager::remove_open_locked(FileShard& shard, const std::shared_ptr<OpenState>& open) {
  // The open's lock stateids are of the same file, so in the same shard.
  for (auto& l : std::set(open->locks)) remove_lock_state_locked(shard, l);
  if (auto owner = open->owner.lock()) owner->opens.erase(open);
  shard.opens.erase(open->sid.other);
  // The file's last open may free an unlinked file (a database write): CLOSE
  // moves the hold out first to drop it after the locks; expiry drops it here.
  open->hold.reset();
}

OpenStart StateManager::open_begin(const OpenRequest& req) {
  OpenStart st;
  if (req.minorversion >= 1) {
    st.client = req.session_client;
    if (!st.client) {
      st.status = NFS4ERR_SERVERFAULT;
      return st;
    }
  } else {
    st.status = client_for_40(req.clientid, &st.client);
    if (st.status != NFS4_OK) return st;
  }
  std::lock_guard cl(st.client->mu);
  if (!st.client->live) {
    st.status = req.minorversion == 0 ? NFS4ERR_EXPIRED : NFS4ERR_BADSESSION;
    return st;
  }
  bool created = false;
  st.owner = get_owner_locked(*st.client, true, req.owner, &created);
  if (req.minorversion == 0 && !created) {
    if (!st.owner->confirmed && st.owner->seqid_set && req.seqid == st.owner->seqid &&
        st.owner->last_reply) {
      st.replay = st.owner->last_reply;  // the OPEN itself, retransmitted
      return st;
    }
    if (!st.owner->confirmed) {
      // RFC 7530 16.18.5: a new OPEN for an open-owner never confirmed
      // starts that owner over; its unconfirmed opens go.
      for (auto& o : std::set(st.owner->opens)) {
        FileShard& shard = shard_for(o->file);
        std::lock_guard sl(shard.mu);
        remove_open_locked(shard, o);
      }
      st.owner->seqid_set = false;
      st.owner->last_reply.reset();
    } else {
      st.status = owner_seqid_locked(*st.owner, req.seqid, &st.replay);
      if (st.status != NFS4_OK || st.replay) return st;
    }
  }
  renew(*st.client);
  // Share reservations: EFS answers NFS4ERR_NOTSUPP for any deny other than
  // OPEN4_SHARE_DENY_NONE (EFS User Guide, "Unsupported NFSv4 features").
  if (req.access == 0 || req.access > OPEN4_SHARE_ACCESS_BOTH || req.deny > 3) {
    st.status = NFS4ERR_INVAL;
    return st;
  }
  if (req.deny != OPEN4_SHARE_DENY_NONE) {
    spdlog::debug("nfs4 OPEN: share deny {} refused (EFS: NOTSUPP)", req.deny);
    st.status = NFS4ERR_NOTSUPP;
    return st;
  }
  st.status = grace_check_locked(*st.client, req.minorversion, req.reclaim);
  return st;
}

SResult<OpenGranted> StateManager::open_commit(const OpenStart& start, const OpenRequest& req,
                                               FileKey file, std::shared_ptr<vfs::OpenHold> hold) {
  auto& owner = start.owner;
  Client& c = *start.client;
  std::lock_guard cl(c.mu);
  // The client may have expired while vfs worked.
  auto it = c.open_owners.find(owner->owner);
  if (!c.live || it == c.open_owners.end() || it->second != owner) {
    return fail(req.minorversion == 0 ? NFS4ERR_EXPIRED : NFS4ERR_BADSESSION);
  }
  std::shared_ptr<OpenState> open;
  for (auto& o : owner->opens) {
    if (o->file == file) open = o;
  }
  FileShard& shard = shard_for(file);
  std::lock_guard sl(shard.mu);
  OpenGranted g;
  if (open) {
    // RFC 7530 9.1.4.1: the same owner opening the same file again upgrades
    // the one open stateid.
    open->access |= req.access;
    open->deny |= req.deny;
    open->access_bmap |= uint8_t(1u << req.access);
    bump(open->sid);
  } else {
    open = std::make_shared<OpenState>();
    open->sid = new_stateid_locked(shard, owner->clientid);
    open->owner = owner;
    open->file = file;
    open->access = req.access;
    open->deny = req.deny;
    open->access_bmap = uint8_t(1u << req.access);
    open->hold = std::move(hold);
    shard.opens[open->sid.other] = open;
    owner->opens.insert(open);
  }
  if (req.minorversion >= 1) owner->confirmed = true;  // 4.1 has no OPEN_CONFIRM
  g.confirm = req.minorversion == 0 && !owner->confirmed;
  g.sid = open->sid;
  return g;
}

StateOpResult StateManager::open_confirm(const stateid4& sid, uint32_t seqid, FileKey file) {
  StateOpResult r;
  Found f;
  r.status = lookup_stateid(sid, 0, nullptr, false, &f);
  if (r.status != NFS4_OK) return r;
  if (f.lock) {
    r.status = NFS4ERR_BAD_STATEID;
    return r;
  }
  r.seqid_owner = f.owner;
  r.seqid = seqid;
  r.status = owner_seqid_locked(*f.owner, seqid, &r.replay);
  if (r.status != NFS4_OK || r.replay) return r;
  if (f.closed || f.open->file != file || f.owner->confirmed) {
    r.status = NFS4ERR_BAD_STATEID;
    return r;
  }
  r.status = seqid_check(sid, *f.sid, 0);
  if (r.status != NFS4_OK) return r;
  f.owner->confirmed = true;
  bump(*f.sid);
  r.sid = *f.sid;
  return r;
}

bool StateManager::open_stateid_op(const stateid4& sid, uint32_t seqid, FileKey file,
                                   uint32_t minorversion, Client* session_client, Found& f,
                                   StateOpResult& r) {
  r.status = lookup_stateid(sid, minorversion, session_client, false, &f);
  if (r.status != NFS4_OK) return false;
  if (f.lock) {
    r.status = NFS4ERR_BAD_STATEID;
    return false;
  }
  if (minorversion == 0) {
    r.seqid_owner = f.owner;
    r.seqid = seqid;
    r.status = owner_seqid_locked(*f.owner, seqid, &r.replay);
    if (r.status != NFS4_OK || r.replay) return false;
  }
  if (f.closed || f.open->file != file) {
    r.status = NFS4ERR_BAD_STATEID;
    return false;
  }
  r.status = seqid_check(sid, *f.sid, minorversion);
  return r.status == NFS4_OK;
}

StateOpResult StateManager::open_downgrade(const stateid4& sid, uint32_t seqid, uint32_t access,
                                           uint32_t deny, FileKey file, uint32_t minorversion,
                                           Client* session_client) {
  StateOpResult r;
  Found f;
  if (!open_stateid_op(sid, seqid, file, minorversion, session_client, f, r)) return r;
  OpenState& o = *f.open;
  // RFC 7530 16.19.4: the new access and deny must be ones this open-owner
  // used in an OPEN of this file (a subset of what is held).
  if (access == 0 || access > OPEN4_SHARE_ACCESS_BOTH || (access & ~o.access) || (deny & ~o.deny) ||
      !(o.access_bmap & (1u << access))) {
    r.status = NFS4ERR_INVAL;
    return r;
  }
  o.access = access;
  o.deny = deny;
  uint8_t bmap = 0;
  for (uint32_t a = 1; a <= OPEN4_SHARE_ACCESS_BOTH; ++a) {
    if ((o.access_bmap & (1u << a)) && !(a & ~access)) bmap |= uint8_t(1u << a);
  }
  o.access_bmap = bmap;
  bump(o.sid);
  r.sid = o.sid;
  return r;
}

StateOpResult StateManager::close(const stateid4& sid, uint32_t seqid, FileKey file,
                                  uint32_t minorversion, Client* session_client) {
  StateOpResult r;
  std::shared_ptr<vfs::OpenHold> hold;  // declared before f: dropped after f's locks
  Found f;
  if (!open_stateid_op(sid, seqid, file, minorversion, session_client, f, r)) return r;
  auto open = f.open;
  // RFC 7530 16.2.4: CLOSE while the open's lock-owners still hold locks.
  for (auto& l : open->locks) {
    if (auto lo = l->owner.lock(); lo && owner_holds_locks_locked(*f.shard, lo.get(), file)) {
      r.status = NFS4ERR_LOCKS_HELD;
      return r;
    }
  }
  renew(*f.client);
  hold = std::move(open->hold);
  remove_open_locked(*f.shard, open);
  if (minorversion == 0) {
    bump(open->sid);
    r.sid = open->sid;
    std::optional<StateOther> previous = f.owner->closed_other;
    f.shard->closed[open->sid.other] = open;
    f.owner->closed_other = open->sid.other;
    f.owner->closed_seqid = seqid;
    if (previous) {
      // The owner's previously closed open may live in another shard: one
      // shard lock at a time (the client lock stays held).
      FileShard& old = shards_[(*previous)[8]];
      if (&old != f.shard) f.shard_lk.unlock();
      std::unique_lock ol(old.mu, std::defer_lock);
      if (&old != f.shard) ol.lock();
      old.closed.erase(*previous);
    }
  } else {
    r.sid = invalid_stateid();  // RFC 8881 18.2.4
  }
  // An open-owner with nothing open is forgotten in 4.1 (no seqid to keep).
  if (minorversion >= 1 && f.owner->opens.empty()) f.client->open_owners.erase(f.owner->owner);
  return r;
}

nfsstat4 StateManager::check_io_stateid(const stateid4& sid, FileKey file, bool for_write,
                                        uint32_t minorversion, Client* session_client) {
  // Anonymous and READ-bypass stateids (RFC 7530 9.1.4.3): no share
  // reservations (EFS has no deny) and advisory locks only, so nothing can
  // conflict; the caller checks permissions.
  if (is_anonymous(sid) || is_read_bypass(sid)) return NFS4_OK;
  uint64_t clientid = 0;
  if (nfsstat4 s = precheck_stateid(sid, minorversion, session_client, &clientid); s != NFS4_OK) {
    return s;
  }
  // Only the shard lock: READ/WRITE of different files never meet, and
  // neither waits for a client's opens, locks or SEQUENCE.
  FileShard& shard = shards_[stateid_shard(sid)];
  Found f;
  std::shared_ptr<Client> renew_client;
  nfsstat4 s;
  {
    std::lock_guard sl(shard.mu);
    s = find_in_shard_locked(shard, sid, minorversion, true, &f);
    if (s == NFS4_OK) {
      if (f.closed || !f.open || f.open->file != file) {
        s = NFS4ERR_BAD_STATEID;
      } else if (auto oo = f.open->owner.lock(); minorversion == 0 && (!oo || !oo->confirmed)) {
        s = NFS4ERR_BAD_STATEID;  // OPEN_CONFIRM pending
      } else if (for_write && !(f.open->access & OPEN4_SHARE_ACCESS_WRITE)) {
        // RFC 7530 9.1.4.4 / 8881 8.2.5: writing through a read-only open.
        // Reading through a write-only open is allowed (as Linux nfsd does).
        s = NFS4ERR_OPENMODE;
      }
    }
  }
  if (f.missing) return missing_stateid_status(sid, minorversion);
  // RFC 7530 9.5: in 4.0 any use of a client's stateid renews its lease (an
  // atomic store: no client lock).
  if (minorversion == 0 && f.owner && (s == NFS4_OK || s == NFS4ERR_OPENMODE)) {
    if (auto c = f.owner->client.lock()) renew(*c);
  }
  return s;
}

bool StateManager::is_stale(const stateid4& sid) const {
  return !other_is_zero(sid) && !is_read_bypass(sid) && stateid_boot(sid) != boot_;
}

nfsstat4 StateManager::test_stateid(Client& client, const stateid4& sid) {
  Found f;
  nfsstat4 s = lookup_stateid(sid, 1, &client, true, &f);
  if (s == NFS4_OK && f.closed) return NFS4ERR_BAD_STATEID;
  return s;
}

nfsstat4 StateManager::free_stateid(Client& client, const stateid4& sid) {
  Found f;
  nfsstat4 s = lookup_stateid(sid, 1, &client, false, &f);
  if (s != NFS4_OK) return s;
  if (f.closed) return NFS4ERR_BAD_STATEID;
  // RFC 8881 18.38.3: an open stateid is freed by CLOSE, and a lock stateid
  // only once it holds no locks.
  if (!f.lock) return NFS4ERR_LOCKS_HELD;
  if (owner_holds_locks_locked(*f.shard, f.owner.get(), f.lock->file)) return NFS4ERR_LOCKS_HELD;
  remove_lock_state_locked(*f.shard, f.lock);
  return NFS4_OK;
}

}  // namespace efs::nfs4
