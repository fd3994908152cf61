// Opens and stateids: OPEN's state part, OPEN_CONFIRM, OPEN_DOWNGRADE, CLOSE
// (RFC 7530 16.16-16.20, RFC 8881 18.16-18.20), 4.0 owner seqids (RFC 7530
// 9.1.7) and the stateid checks of READ/WRITE/SETATTR, TEST_STATEID and
// FREE_STATEID (RFC 8881 8.2, 18.38, 18.48).
#include <spdlog/spdlog.h>

#include "nfs4/state/state_manager.h"

namespace efs::nfs4 {

namespace {

uint32_t get_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

// RFC 7530 9.1.7: these errors mean the request was never seen as part of
// the owner's sequence, so its seqid does not advance.
bool seqid_advances(Nfs4Stat s) {
  switch (s) {
    case Nfs4Stat::stale_clientid:
    case Nfs4Stat::stale_stateid:
    case Nfs4Stat::bad_stateid:
    case Nfs4Stat::bad_seqid:
    case Nfs4Stat::resource:
      return false;
    default:
      return true;
  }
}

void bump(StateId& s) {
  // RFC 8881 8.2.2: seqid 0 is reserved in 4.1 ("current"), so wrap to 1.
  if (++s.seqid == 0) s.seqid = 1;
}

}  // namespace

Nfs4Stat StateManager::seqid_check(const StateId& presented, const StateId& current,
                                   uint32_t minorversion) {
  // RFC 8881 8.2.2: in 4.1 seqid 0 means "the current one".
  if (minorversion >= 1 && presented.seqid == 0) return Nfs4Stat::ok;
  if (presented.seqid == current.seqid) return Nfs4Stat::ok;
  // A seqid the server never handed out is bad; an earlier one is old.
  return presented.seqid > current.seqid ? Nfs4Stat::bad_stateid : Nfs4Stat::old_stateid;
}

Nfs4Stat StateManager::lookup_stateid_locked(const StateId& sid, uint32_t minorversion,
                                             const Client* session_client, bool check_seqid,
                                             Found* f) {
  if (other_is_zero(sid) || is_read_bypass(sid)) return Nfs4Stat::bad_stateid;
  if (get_be32(sid.other.data()) != boot_) return Nfs4Stat::stale_stateid;
  uint64_t clientid = (uint64_t(boot_) << 32) | get_be32(sid.other.data() + 4);
  if (minorversion >= 1) {
    // RFC 8881 8.2.4: a stateid is only valid for the client that owns the session.
    if (session_client && session_client->clientid != clientid) return Nfs4Stat::bad_stateid;
  } else if (expired_.count(clientid) || superseded_.count(clientid)) {
    return Nfs4Stat::expired;
  }
  if (auto it = opens_.find(sid.other); it != opens_.end()) {
    f->open = it->second;
    f->owner = it->second->owner.lock();
    f->sid = &it->second->sid;
  } else if (auto jt = lock_states_.find(sid.other); jt != lock_states_.end()) {
    f->lock = jt->second;
    f->open = jt->second->open.lock();
    f->owner = jt->second->owner.lock();
    f->sid = &jt->second->sid;
  } else if (auto kt = closed_.find(sid.other); kt != closed_.end()) {
    f->open = kt->second;
    f->owner = kt->second->owner.lock();
    f->sid = &kt->second->sid;
    f->closed = true;
  } else {
    return Nfs4Stat::bad_stateid;
  }
  if (!f->owner) return Nfs4Stat::bad_stateid;
  if (check_seqid) return seqid_check(sid, *f->sid, minorversion);
  return Nfs4Stat::ok;
}

Nfs4Stat StateManager::owner_seqid_locked(StateOwner& owner, uint32_t seqid, bool,
                                          std::optional<OwnerReply>* replay) {
  // RFC 7530 9.1.7: next seqid -> new request; same seqid -> retransmission,
  // answered with the saved reply; anything else is NFS4ERR_BAD_SEQID.
  if (!owner.seqid_set) return Nfs4Stat::ok;
  if (seqid == owner.seqid + 1) return Nfs4Stat::ok;
  if (seqid == owner.seqid && owner.last_reply) {
    *replay = owner.last_reply;
    return Nfs4Stat::ok;
  }
  return Nfs4Stat::bad_seqid;
}

void StateManager::owner_reply(const std::shared_ptr<StateOwner>& owner, uint32_t seqid,
                               Nfs4Stat status, OwnerReply reply) {
  if (!owner) return;
  std::lock_guard lk(mu_);
  if (!seqid_advances(status)) return;
  owner->seqid = seqid;
  owner->seqid_set = true;
  owner->last_reply = std::move(reply);
  // A closed open is kept only for a retransmission of that CLOSE.
  if (owner->closed_other && owner->closed_seqid != seqid) {
    closed_.erase(*owner->closed_other);
    owner->closed_other.reset();
  }
}

std::shared_ptr<StateOwner> StateManager::find_owner_locked(bool open_owner, uint64_t clientid,
                                                            std::span<const uint8_t> owner) {
  auto& table = open_owner ? open_owners_ : lock_owners_;
  auto it = table.find({clientid, std::vector<uint8_t>(owner.begin(), owner.end())});
  return it == table.end() ? nullptr : it->second;
}

std::shared_ptr<StateOwner> StateManager::get_owner_locked(bool open_owner, uint64_t clientid,
                                                           std::span<const uint8_t> owner,
                                                           bool* created) {
  auto& table = open_owner ? open_owners_ : lock_owners_;
  OwnerKey key{clientid, std::vector<uint8_t>(owner.begin(), owner.end())};
  auto& slot = table[key];
  *created = !slot;
  if (!slot) {
    slot = std::make_shared<StateOwner>();
    slot->is_open_owner = open_owner;
    slot->clientid = clientid;
    slot->owner = key.second;
  }
  return slot;
}

void StateManager::remove_lock_state_locked(const std::shared_ptr<LockState>& ls) {
  auto owner = ls->owner.lock();
  if (owner) {
    unlock_range_locked(owner.get(), ls->file, 0, UINT64_MAX);
    owner->locks.erase(ls);
  }
  if (auto open = ls->open.lock()) open->locks.erase(ls);
  lock_states_.erase(ls->sid.other);
}

void StateManager::remove_open_locked(const std::shared_ptr<OpenState>& open) {
  for (auto& l : std::set(open->locks)) remove_lock_state_locked(l);
  if (auto owner = open->owner.lock()) owner->opens.erase(open);
  opens_.erase(open->sid.other);
  // The file's last open may free an unlinked file (a database write): CLOSE
  // moves the hold out first to drop it after mu_; expiry drops it here.
  open->hold.reset();
}

OpenStart StateManager::open_begin(const OpenRequest& req) {
  OpenStart st;
  std::lock_guard lk(mu_);
  if (req.minorversion >= 1) {
    st.client = req.session_client;
    if (!st.client) {
      st.status = Nfs4Stat::serverfault;
      return st;
    }
  } else {
    st.status = client_for_40_locked(req.clientid, &st.client);
    if (st.status != Nfs4Stat::ok) return st;
  }
  bool created = false;
  st.owner = get_owner_locked(true, st.client->clientid, req.owner, &created);
  if (req.minorversion == 0 && !created) {
    if (!st.owner->confirmed && st.owner->seqid_set && req.seqid == st.owner->seqid &&
        st.owner->last_reply) {
      st.replay = st.owner->last_reply;  // the OPEN itself, retransmitted
      return st;
    }
    if (!st.owner->confirmed) {
      // RFC 7530 16.18.5: a new OPEN for an open-owner never confirmed
      // starts that owner over; its unconfirmed opens go.
      for (auto& o : std::set(st.owner->opens)) remove_open_locked(o);
      st.owner->seqid_set = false;
      st.owner->last_reply.reset();
    } else {
      st.status = owner_seqid_locked(*st.owner, req.seqid, false, &st.replay);
      if (st.status != Nfs4Stat::ok || st.replay) return st;
    }
  }
  renew_locked(*st.client);
  // Share reservations: EFS answers NFS4ERR_NOTSUPP for any deny other than
  // OPEN4_SHARE_DENY_NONE (EFS User Guide, "Unsupported NFSv4 features").
  if (req.access == 0 || req.access > kShareAccessBoth || req.deny > 3) {
    st.status = Nfs4Stat::inval;
    return st;
  }
  if (req.deny != kShareDenyNone) {
    spdlog::debug("nfs4 OPEN: share deny {} refused (EFS: NOTSUPP)", req.deny);
    st.status = Nfs4Stat::notsupp;
    return st;
  }
  st.status = grace_check_locked(*st.client, req.minorversion, req.reclaim);
  return st;
}

SResult<OpenGranted> StateManager::open_commit(const OpenStart& start, const OpenRequest& req,
                                               FileKey file, std::shared_ptr<vfs::OpenHold> hold) {
  std::lock_guard lk(mu_);
  auto& owner = start.owner;
  // The client may have expired while vfs worked.
  auto it = open_owners_.find({owner->clientid, owner->owner});
  if (it == open_owners_.end() || it->second != owner) {
    return fail(req.minorversion == 0 ? Nfs4Stat::expired : Nfs4Stat::badsession);
  }
  std::shared_ptr<OpenState> open;
  for (auto& o : owner->opens) {
    if (o->file == file) open = o;
  }
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
    open->sid = new_stateid_locked(owner->clientid);
    open->owner = owner;
    open->file = file;
    open->access = req.access;
    open->deny = req.deny;
    open->access_bmap = uint8_t(1u << req.access);
    open->hold = std::move(hold);
    opens_[open->sid.other] = open;
    owner->opens.insert(open);
  }
  if (req.minorversion >= 1) owner->confirmed = true;  // 4.1 has no OPEN_CONFIRM
  g.confirm = req.minorversion == 0 && !owner->confirmed;
  g.sid = open->sid;
  return g;
}

StateOpResult StateManager::open_confirm(const StateId& sid, uint32_t seqid, FileKey file) {
  StateOpResult r;
  std::lock_guard lk(mu_);
  Found f;
  r.status = lookup_stateid_locked(sid, 0, nullptr, false, &f);
  if (r.status != Nfs4Stat::ok) return r;
  if (f.lock) {
    r.status = Nfs4Stat::bad_stateid;
    return r;
  }
  r.seqid_owner = f.owner;
  r.seqid = seqid;
  r.status = owner_seqid_locked(*f.owner, seqid, false, &r.replay);
  if (r.status != Nfs4Stat::ok || r.replay) return r;
  if (f.closed || f.open->file != file || f.owner->confirmed) {
    r.status = Nfs4Stat::bad_stateid;
    return r;
  }
  r.status = seqid_check(sid, *f.sid, 0);
  if (r.status != Nfs4Stat::ok) return r;
  f.owner->confirmed = true;
  bump(*f.sid);
  r.sid = *f.sid;
  return r;
}

bool StateManager::open_stateid_op_locked(const StateId& sid, uint32_t seqid, FileKey file,
                                          uint32_t minorversion, const Client* session_client,
                                          Found& f, StateOpResult& r) {
  r.status = lookup_stateid_locked(sid, minorversion, session_client, false, &f);
  if (r.status != Nfs4Stat::ok) return false;
  if (f.lock) {
    r.status = Nfs4Stat::bad_stateid;
    return false;
  }
  if (minorversion == 0) {
    r.seqid_owner = f.owner;
    r.seqid = seqid;
    r.status = owner_seqid_locked(*f.owner, seqid, false, &r.replay);
    if (r.status != Nfs4Stat::ok || r.replay) return false;
  }
  if (f.closed || f.open->file != file) {
    r.status = Nfs4Stat::bad_stateid;
    return false;
  }
  r.status = seqid_check(sid, *f.sid, minorversion);
  return r.status == Nfs4Stat::ok;
}

StateOpResult StateManager::open_downgrade(const StateId& sid, uint32_t seqid, uint32_t access,
                                           uint32_t deny, FileKey file, uint32_t minorversion,
                                           const Client* session_client) {
  StateOpResult r;
  std::lock_guard lk(mu_);
  Found f;
  if (!open_stateid_op_locked(sid, seqid, file, minorversion, session_client, f, r)) return r;
  OpenState& o = *f.open;
  // RFC 7530 16.19.4: the new access and deny must be ones this open-owner
  // used in an OPEN of this file (a subset of what is held).
  if (access == 0 || access > kShareAccessBoth || (access & ~o.access) || (deny & ~o.deny) ||
      !(o.access_bmap & (1u << access))) {
    r.status = Nfs4Stat::inval;
    return r;
  }
  o.access = access;
  o.deny = deny;
  uint8_t bmap = 0;
  for (uint32_t a = 1; a <= kShareAccessBoth; ++a) {
    if ((o.access_bmap & (1u << a)) && !(a & ~access)) bmap |= uint8_t(1u << a);
  }
  o.access_bmap = bmap;
  bump(o.sid);
  r.sid = o.sid;
  return r;
}

StateOpResult StateManager::close(const StateId& sid, uint32_t seqid, FileKey file,
                                  uint32_t minorversion, const Client* session_client) {
  StateOpResult r;
  std::shared_ptr<vfs::OpenHold> hold;  // declared before lk: dropped after mu_ is released
  std::lock_guard lk(mu_);
  Found f;
  if (!open_stateid_op_locked(sid, seqid, file, minorversion, session_client, f, r)) return r;
  auto open = f.open;
  // RFC 7530 16.2.4: CLOSE while the open's lock-owners still hold locks.
  for (auto& l : open->locks) {
    if (auto lo = l->owner.lock(); lo && owner_holds_locks_locked(lo.get(), file)) {
      r.status = Nfs4Stat::locks_held;
      return r;
    }
  }
  if (auto c = find_client_locked(f.owner->clientid)) renew_locked(*c);
  hold = std::move(open->hold);
  remove_open_locked(open);
  if (minorversion == 0) {
    bump(open->sid);
    r.sid = open->sid;
    if (f.owner->closed_other) closed_.erase(*f.owner->closed_other);
    closed_[open->sid.other] = open;
    f.owner->closed_other = open->sid.other;
    f.owner->closed_seqid = seqid;
  } else {
    r.sid = invalid_stateid();  // RFC 8881 18.2.4
  }
  // An open-owner with nothing open is forgotten in 4.1 (no seqid to keep).
  if (minorversion >= 1 && f.owner->opens.empty()) {
    open_owners_.erase({f.owner->clientid, f.owner->owner});
  }
  return r;
}

Nfs4Stat StateManager::check_io_stateid(const StateId& sid, FileKey file, bool for_write,
                                        uint32_t minorversion, const Client* session_client) {
  // Anonymous and READ-bypass stateids (RFC 7530 9.1.4.3): no share
  // reservations (EFS has no deny) and advisory locks only, so nothing can
  // conflict; the caller checks permissions.
  if (is_anonymous(sid) || is_read_bypass(sid)) return Nfs4Stat::ok;
  std::lock_guard lk(mu_);
  Found f;
  Nfs4Stat s = lookup_stateid_locked(sid, minorversion, session_client, true, &f);
  if (s != Nfs4Stat::ok) return s;
  if (f.closed || !f.open) return Nfs4Stat::bad_stateid;
  if (f.open->file != file) return Nfs4Stat::bad_stateid;
  if (minorversion == 0) {
    auto oo = f.open->owner.lock();
    if (!oo || !oo->confirmed) return Nfs4Stat::bad_stateid;  // OPEN_CONFIRM pending
    if (auto c = find_client_locked(f.owner->clientid)) renew_locked(*c);
  }
  // RFC 7530 9.1.4.4 / 8881 8.2.5: writing through a read-only open. Reading
  // through a write-only open is allowed (as Linux nfsd does).
  if (for_write && !(f.open->access & kShareAccessWrite)) return Nfs4Stat::openmode;
  return Nfs4Stat::ok;
}

bool StateManager::is_stale(const StateId& sid) const {
  return !other_is_zero(sid) && !is_read_bypass(sid) && get_be32(sid.other.data()) != boot_;
}

Nfs4Stat StateManager::test_stateid(const Client& client, const StateId& sid) {
  std::lock_guard lk(mu_);
  Found f;
  Nfs4Stat s = lookup_stateid_locked(sid, 1, &client, true, &f);
  if (s == Nfs4Stat::ok && f.closed) return Nfs4Stat::bad_stateid;
  return s;
}

Nfs4Stat StateManager::free_stateid(const Client& client, const StateId& sid) {
  std::lock_guard lk(mu_);
  Found f;
  Nfs4Stat s = lookup_stateid_locked(sid, 1, &client, false, &f);
  if (s != Nfs4Stat::ok) return s;
  if (f.closed) return Nfs4Stat::bad_stateid;
  // RFC 8881 18.38.3: an open stateid is freed by CLOSE, and a lock stateid
  // only once it holds no locks.
  if (!f.lock) return Nfs4Stat::locks_held;
  if (owner_holds_locks_locked(f.owner.get(), f.lock->file)) return Nfs4Stat::locks_held;
  remove_lock_state_locked(f.lock);
  return Nfs4Stat::ok;
}

}  // namespace efs::nfs4
