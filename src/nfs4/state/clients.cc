// Client records: SETCLIENTID / SETCLIENTID_CONFIRM / RENEW (NFSv4.0, RFC
// 7530 16.33, 16.34, 16.29) and EXCHANGE_ID / DESTROY_CLIENTID /
// RECLAIM_COMPLETE (NFSv4.1, RFC 8881 18.35, 18.50, 18.51). All of them
// change the client table, so they hold clients_mu_ exclusively; a client
// record's own fields are then changed under its Client::mu (lock order in
// state_manager.h). Sessions are in sessions.cc.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/ids.h"
#include "nfs4/state/state_manager.h"

namespace efs::nfs4 {

namespace {

verifier4 random_verifier() {
  verifier4 v;
  uint64_t r = random_u64();
  for (int i = 0; i < 8; ++i) v[i] = uint8_t(r >> (8 * i));
  return v;
}

bool same_owner(const Client& c, std::span<const uint8_t> id, uint32_t minor) {
  return c.minorversion == minor &&
         std::equal(c.owner_id.begin(), c.owner_id.end(), id.begin(), id.end());
}

}  // namespace

// ---------------------------------------------------------------- 4.0

SResult<SETCLIENTID4resok> StateManager::setclientid(const verifier4& verifier,
                                                     std::span<const uint8_t> id,
                                                     const Principal& principal,
                                                     uint32_t cb_program) {
  std::unique_lock lk(clients_mu_);
  std::shared_ptr<Client> conf, unconf;
  for (auto& [cid, c] : confirmed_) {
    if (same_owner(*c, id, 0)) conf = c;
  }
  for (auto& [cid, c] : unconfirmed_) {
    if (same_owner(*c, id, 0)) unconf = c;
  }
  if (conf && conf->principal != principal) {
    // RFC 7530 16.33.5: another principal's record with live state keeps its id.
    if (client_has_state_locked(*conf) && !lease_expired(*conf)) {
      spdlog::info("nfs4 SETCLIENTID: owner in use by uid {} (caller uid {}): CLID_INUSE",
                   conf->principal.uid, principal.uid);
      return fail(NFS4ERR_CLID_INUSE);
    }
    expire_client_locked(conf, false);
    conf.reset();
  }
  if (unconf) unconfirmed_.erase(unconf->clientid);

  auto c = std::make_shared<Client>();
  c->owner_id.assign(id.begin(), id.end());
  c->verifier = verifier;
  c->principal = principal;
  c->minorversion = 0;
  c->confirm = random_verifier();
  c->cb_program = cb_program;
  renew(*c);
  // Same verifier: a callback update of the confirmed record, which keeps its
  // client id; otherwise (new owner, or the client rebooted) a new client id.
  c->clientid = (conf && conf->verifier == verifier) ? conf->clientid : new_clientid_locked();
  unconfirmed_[c->clientid] = c;
  SETCLIENTID4resok ok;
  ok.clientid = c->clientid;
  ok.setclientid_confirm = c->confirm;
  return ok;
}

nfsstat4 StateManager::setclientid_confirm(uint64_t clientid, const verifier4& confirm,
                                           const Principal& principal) {
  std::vector<uint8_t> persist;
  {
    std::unique_lock lk(clients_mu_);
    if ((clientid >> 32) != boot_) return NFS4ERR_STALE_CLIENTID;
    auto conf = find_client_locked(clientid);
    auto uit = unconfirmed_.find(clientid);
    std::shared_ptr<Client> unconf = uit == unconfirmed_.end() ? nullptr : uit->second;
    if (unconf && unconf->minorversion == 0 && unconf->confirm == confirm) {
      if (unconf->principal != principal) return NFS4ERR_CLID_INUSE;
      unconfirmed_.erase(uit);
      if (conf) {
        // Callback update (RFC 7530 16.34.5): the confirmed record takes the new callback.
        conf->cb_program = unconf->cb_program;
        conf->confirm = confirm;
        renew(*conf);
        return NFS4_OK;
      }
      // A client that rebooted (RFC 7530 16.34.5, 9.6.1): its earlier
      // incarnation's opens and locks are released now. The old client id
      // is simply unknown afterwards (STALE_CLIENTID), but its stateids
      // answer NFS4ERR_EXPIRED: RFC 7530 13.1.5.3 defines EXPIRED for state
      // "released due to cancellation of the client's lease", which is what
      // confirming the new incarnation does, while STALE_STATEID (13.1.5.5)
      // is for stateids of an earlier *server* instance, which these are not.
      std::vector<std::shared_ptr<Client>> old;
      for (auto& [cid, c] : confirmed_) {
        if (same_owner(*c, unconf->owner_id, 0)) old.push_back(c);
      }
      for (auto& c : old) {
        spdlog::info("nfs4 SETCLIENTID_CONFIRM: client {:x} rebooted; state of {:x} released",
                     clientid, c->clientid);
        expire_client_locked(c, false);
        superseded_.insert(c->clientid);
      }
      unconf->confirmed = true;
      {
        std::lock_guard cl(unconf->mu);
        unconf->may_reclaim = note_reestablished(unconf->owner_id);
      }
      renew(*unconf);
      confirmed_[clientid] = unconf;
      persist = unconf->owner_id;
      spdlog::info("nfs4 SETCLIENTID_CONFIRM: client {:x} confirmed (uid {})", clientid,
                   principal.uid);
    } else if (conf && conf->minorversion == 0 && conf->confirm == confirm) {
      // A retransmitted confirm of a record already confirmed.
      if (conf->principal != principal) return NFS4ERR_CLID_INUSE;
      renew(*conf);
      return NFS4_OK;
    } else {
      return NFS4ERR_STALE_CLIENTID;
    }
  }
  persist_client(persist, 0);
  return NFS4_OK;
}

nfsstat4 StateManager::renew(uint64_t clientid) {
  return client_for_40(clientid, nullptr);
}

// ---------------------------------------------------------------- 4.1

SResult<EXCHANGE_ID4resok> StateManager::exchange_id(const verifier4& verifier,
                                                     std::span<const uint8_t> id, uint32_t flags,
                                                     uint32_t state_protect_how,
                                                     const Principal& principal) {
  // RFC 8881 18.35.3: undefined flag bits, or CONFIRMED_R from a client, are
  // invalid. SUPP_FENCE_OPS (0x4) is defined by NFSv4.2 (RFC 7862 15.1), not
  // 4.1, so a 4.1 EXCHANGE_ID carrying it is refused as Linux nfsd does.
  constexpr uint32_t kClientFlags = EXCHGID4_FLAG_SUPP_MOVED_REFER | EXCHGID4_FLAG_SUPP_MOVED_MIGR |
                                    EXCHGID4_FLAG_BIND_PRINC_STATEID | EXCHGID4_FLAG_USE_NON_PNFS |
                                    EXCHGID4_FLAG_USE_PNFS_MDS | EXCHGID4_FLAG_USE_PNFS_DS |
                                    EXCHGID4_FLAG_UPD_CONFIRMED_REC_A;
  if (flags & ~kClientFlags) {
    spdlog::info("nfs4 EXCHANGE_ID: undefined eia_flags bits {:#x}: INVAL", flags & ~kClientFlags);
    return fail(NFS4ERR_INVAL);
  }
  if (id.empty()) return fail(NFS4ERR_INVAL);
  // Only SP4_NONE: SP4_MACH_CRED needs a machine credential that AUTH_SYS
  // cannot prove (what Linux nfsd also answers), and we implement no SSV
  // algorithm (RFC 8881 18.35.4: NFS4ERR_ENCR_ALG_UNSUPP).
  if (state_protect_how == 1) return fail(NFS4ERR_INVAL);
  if (state_protect_how != 0) return fail(NFS4ERR_ENCR_ALG_UNSUPP);

  std::unique_lock lk(clients_mu_);
  std::shared_ptr<Client> conf, unconf;
  for (auto& [cid, c] : confirmed_) {
    if (same_owner(*c, id, 1)) conf = c;
  }
  for (auto& [cid, c] : unconfirmed_) {
    if (same_owner(*c, id, 1)) unconf = c;
  }
  const uint32_t reply_flags = EXCHGID4_FLAG_USE_NON_PNFS;
  auto answer = [](const Client& c, uint32_t sequenceid, uint32_t eir_flags) {
    EXCHANGE_ID4resok ok;
    ok.eir_clientid = c.clientid;
    ok.eir_sequenceid = sequenceid;
    ok.eir_flags = eir_flags;
    return ok;
  };
  // The next CREATE_SESSION sequence id of a confirmed record (its slot).
  auto next_cs = [](Client& c) {
    std::lock_guard cl(c.mu);
    return c.cs_sequence + 1;
  };
  if (flags & EXCHGID4_FLAG_UPD_CONFIRMED_REC_A) {
    // RFC 8881 18.35.4 cases 6-9 (update of a confirmed record).
    if (!conf) return fail(NFS4ERR_NOENT);
    if (conf->principal != principal) return fail(NFS4ERR_PERM);
    if (conf->verifier != verifier) return fail(NFS4ERR_NOT_SAME);
    renew(*conf);
    return answer(*conf, next_cs(*conf), reply_flags | EXCHGID4_FLAG_CONFIRMED_R);
  }
  if (conf) {
    if (conf->principal != principal) {
      // Case 3: another principal's live record.
      if (client_has_state_locked(*conf) && !lease_expired(*conf)) {
        spdlog::info("nfs4 EXCHANGE_ID: owner in use by uid {} (caller uid {}): CLID_INUSE",
                     conf->principal.uid, principal.uid);
        return fail(NFS4ERR_CLID_INUSE);
      }
    } else if (conf->verifier == verifier) {
      // Case 2: the same client again (a retry, or trunking): same record.
      renew(*conf);
      return answer(*conf, next_cs(*conf), reply_flags | EXCHGID4_FLAG_CONFIRMED_R);
    }
    // Case 5 (client restart) and case 3 without state: a new unconfirmed
    // record; the old one goes when CREATE_SESSION confirms the new one.
  }
  if (unconf) unconfirmed_.erase(unconf->clientid);  // case 4
  auto c = std::make_shared<Client>();
  c->clientid = new_clientid_locked();
  c->owner_id.assign(id.begin(), id.end());
  c->verifier = verifier;
  c->principal = principal;
  c->minorversion = 1;
  renew(*c);
  unconfirmed_[c->clientid] = c;
  return answer(*c, 1, reply_flags);
}

nfsstat4 StateManager::destroy_clientid(uint64_t clientid) {
  std::vector<std::vector<uint8_t>> forget;
  {
    std::unique_lock lk(clients_mu_);
    auto c = find_client_locked(clientid);
    if (!c) {
      auto it = unconfirmed_.find(clientid);
      if (it == unconfirmed_.end()) return NFS4ERR_STALE_CLIENTID;
      unconfirmed_.erase(it);
      return NFS4_OK;
    }
    // RFC 8881 18.50.3: not while sessions (or state) remain.
    {
      std::lock_guard cl(c->mu);
      if (!c->sessions.empty()) return NFS4ERR_CLIENTID_BUSY;
    }
    expire_client_locked(c, false);
    forget.push_back(c->owner_id);
  }
  forget_clients(forget);
  return NFS4_OK;
}

nfsstat4 StateManager::reclaim_complete(Client& client, bool one_fs) {
  // rca_one_fs: a per-file-system completion, which we need not track
  // (RFC 8881 18.51.3 lets the server ignore it).
  if (one_fs) return NFS4_OK;
  std::vector<std::vector<uint8_t>> forget;
  {
    std::lock_guard cl(client.mu);
    if (client.reclaim_complete) return NFS4ERR_COMPLETE_ALREADY;
    client.reclaim_complete = true;
    renew(client);
    std::lock_guard g(grace_mu_);
    if (grace_) {
      reclaim_done_.insert(client.owner_id);
      bool all = std::all_of(reclaimable_.begin(), reclaimable_.end(),
                             [&](const auto& o) { return reclaim_done_.count(o) > 0; });
      // RFC 8881 8.4.2.1: once every client that held state has said it is
      // done, no reclaim can come any more and the grace period may end.
      if (all) end_grace_locked(&forget);
    }
  }
  forget_clients(forget);
  return NFS4_OK;
}

}  // namespace efs::nfs4
