// Client records and sessions: SETCLIENTID / SETCLIENTID_CONFIRM / RENEW
// (NFSv4.0, RFC 7530 16.33, 16.34, 16.29) and EXCHANGE_ID / CREATE_SESSION /
// SEQUENCE / DESTROY_SESSION / BIND_CONN_TO_SESSION / DESTROY_CLIENTID /
// RECLAIM_COMPLETE (NFSv4.1, RFC 8881 18.35-18.37, 18.46, 18.34, 18.50, 18.51).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/ids.h"
#include "nfs4/state/state_manager.h"

namespace efs::nfs4 {

namespace {

Verifier random_verifier() {
  Verifier v;
  uint64_t r = random_u64();
  for (int i = 0; i < 8; ++i) v[i] = uint8_t(r >> (8 * i));
  return v;
}

bool same_owner(const Client& c, std::span<const uint8_t> id, uint32_t minor) {
  return c.minorversion == minor &&
         std::equal(c.owner_id.begin(), c.owner_id.end(), id.begin(), id.end());
}

}  // namespace

void Session::store_reply(uint32_t slotid, const std::vector<uint8_t>& reply) {
  std::lock_guard lk(mu);
  if (slotid >= slots.size()) return;
  Slot& s = slots[slotid];
  s.in_progress = false;
  // RFC 8881 2.10.6.1.3: the server may cache any reply; one that is larger
  // than ca_maxresponsesize_cached is not kept, and a retry then gets
  // NFS4ERR_RETRY_UNCACHED_REP.
  if (reply.size() <= max_response_cached()) {
    s.reply = reply;
    s.has_reply = true;
  } else {
    s.reply.clear();
    s.has_reply = false;
  }
}

// ---------------------------------------------------------------- 4.0

SResult<SetClientIdOk> StateManager::setclientid(const Verifier& verifier,
                                                 std::span<const uint8_t> id,
                                                 const Principal& principal, uint32_t cb_program) {
  std::lock_guard lk(mu_);
  std::shared_ptr<Client> conf, unconf;
  for (auto& [cid, c] : confirmed_) {
    if (same_owner(*c, id, 0)) conf = c;
  }
  for (auto& [cid, c] : unconfirmed_) {
    if (same_owner(*c, id, 0)) unconf = c;
  }
  if (conf && conf->principal != principal) {
    // RFC 7530 16.33.5: another principal's record with live state keeps its id.
    if (client_has_state_locked(*conf) && !lease_expired_locked(*conf)) {
      spdlog::info("nfs4 SETCLIENTID: owner in use by uid {} (caller uid {}): CLID_INUSE",
                   conf->principal.uid, principal.uid);
      return fail(Nfs4Stat::clid_inuse);
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
  c->renewed = clock_.steady_now();
  // Same verifier: a callback update of the confirmed record, which keeps its
  // client id; otherwise (new owner, or the client rebooted) a new client id.
  c->clientid = (conf && conf->verifier == verifier) ? conf->clientid : new_clientid_locked();
  unconfirmed_[c->clientid] = c;
  return SetClientIdOk{c->clientid, c->confirm};
}

Nfs4Stat StateManager::setclientid_confirm(uint64_t clientid, const Verifier& confirm,
                                           const Principal& principal) {
  std::vector<uint8_t> persist;
  {
    std::lock_guard lk(mu_);
    if ((clientid >> 32) != boot_) return Nfs4Stat::stale_clientid;
    auto conf = find_client_locked(clientid);
    auto uit = unconfirmed_.find(clientid);
    std::shared_ptr<Client> unconf = uit == unconfirmed_.end() ? nullptr : uit->second;
    if (unconf && unconf->minorversion == 0 && unconf->confirm == confirm) {
      if (unconf->principal != principal) return Nfs4Stat::clid_inuse;
      unconfirmed_.erase(uit);
      if (conf) {
        // Callback update (RFC 7530 16.34.5): the confirmed record takes the new callback.
        conf->cb_program = unconf->cb_program;
        conf->confirm = confirm;
        renew_locked(*conf);
        return Nfs4Stat::ok;
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
      unconf->may_reclaim = grace_locked() && reclaimable_.count(unconf->owner_id);
      if (unconf->may_reclaim) reestablished_.insert(unconf->owner_id);
      renew_locked(*unconf);
      confirmed_[clientid] = unconf;
      persist = unconf->owner_id;
      spdlog::info("nfs4 SETCLIENTID_CONFIRM: client {:x} confirmed (uid {})", clientid,
                   principal.uid);
    } else if (conf && conf->minorversion == 0 && conf->confirm == confirm) {
      // A retransmitted confirm of a record already confirmed.
      if (conf->principal != principal) return Nfs4Stat::clid_inuse;
      renew_locked(*conf);
      return Nfs4Stat::ok;
    } else {
      return Nfs4Stat::stale_clientid;
    }
  }
  persist_client(persist, 0);
  return Nfs4Stat::ok;
}

Nfs4Stat StateManager::renew(uint64_t clientid) {
  std::lock_guard lk(mu_);
  return client_for_40_locked(clientid, nullptr);
}

// ---------------------------------------------------------------- 4.1

SResult<ExchangeIdOk> StateManager::exchange_id(const Verifier& verifier,
                                                std::span<const uint8_t> id, uint32_t flags,
                                                uint32_t state_protect_how,
                                                const Principal& principal) {
  // RFC 8881 18.35.3: undefined flag bits, or CONFIRMED_R from a client, are
  // invalid. SUPP_FENCE_OPS (0x4) is defined by NFSv4.2 (RFC 7862 15.1), not
  // 4.1, so a 4.1 EXCHANGE_ID carrying it is refused as Linux nfsd does.
  constexpr uint32_t kClientFlags =
      kExchgIdSuppMovedRefer | kExchgIdSuppMovedMigr | kExchgIdBindPrincStateid |
      kExchgIdUseNonPnfs | kExchgIdUsePnfsMds | kExchgIdUsePnfsDs | kExchgIdUpdConfirmedRecA;
  if (flags & ~kClientFlags) {
    spdlog::info("nfs4 EXCHANGE_ID: undefined eia_flags bits {:#x}: INVAL", flags & ~kClientFlags);
    return fail(Nfs4Stat::inval);
  }
  if (id.empty()) return fail(Nfs4Stat::inval);
  // Only SP4_NONE: SP4_MACH_CRED needs a machine credential that AUTH_SYS
  // cannot prove (what Linux nfsd also answers), and we implement no SSV
  // algorithm (RFC 8881 18.35.4: NFS4ERR_ENCR_ALG_UNSUPP).
  if (state_protect_how == 1) return fail(Nfs4Stat::inval);
  if (state_protect_how != 0) return fail(Nfs4Stat::encr_alg_unsupp);

  std::lock_guard lk(mu_);
  std::shared_ptr<Client> conf, unconf;
  for (auto& [cid, c] : confirmed_) {
    if (same_owner(*c, id, 1)) conf = c;
  }
  for (auto& [cid, c] : unconfirmed_) {
    if (same_owner(*c, id, 1)) unconf = c;
  }
  const uint32_t reply_flags = kExchgIdUseNonPnfs;
  if (flags & kExchgIdUpdConfirmedRecA) {
    // RFC 8881 18.35.4 cases 6-9 (update of a confirmed record).
    if (!conf) return fail(Nfs4Stat::noent);
    if (conf->principal != principal) return fail(Nfs4Stat::perm);
    if (conf->verifier != verifier) return fail(Nfs4Stat::not_same);
    renew_locked(*conf);
    return ExchangeIdOk{conf->clientid, conf->cs_sequence + 1, reply_flags | kExchgIdConfirmedR};
  }
  if (conf) {
    if (conf->principal != principal) {
      // Case 3: another principal's live record.
      if (client_has_state_locked(*conf) && !lease_expired_locked(*conf)) {
        spdlog::info("nfs4 EXCHANGE_ID: owner in use by uid {} (caller uid {}): CLID_INUSE",
                     conf->principal.uid, principal.uid);
        return fail(Nfs4Stat::clid_inuse);
      }
    } else if (conf->verifier == verifier) {
      // Case 2: the same client again (a retry, or trunking): same record.
      renew_locked(*conf);
      return ExchangeIdOk{conf->clientid, conf->cs_sequence + 1, reply_flags | kExchgIdConfirmedR};
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
  c->renewed = clock_.steady_now();
  c->cs_sequence = 0;
  unconfirmed_[c->clientid] = c;
  return ExchangeIdOk{c->clientid, c->cs_sequence + 1, reply_flags};
}

SResult<CreateSessionResult> StateManager::create_session(const CreateSessionArgs& args,
                                                          const Principal& principal,
                                                          uint64_t connection_id) {
  // RFC 8881 18.36.3: PERSIST, CONN_BACK_CHAN and CONN_RDMA are the only
  // csa_flags; any other bit is NFS4ERR_INVAL. Arguments are checked before
  // the client id, as Linux nfsd does (pynfs CSESS29 expects TOOSMALL even
  // where the compound is otherwise odd).
  constexpr uint32_t kSessionFlags =
      kCreateSessionPersist | kCreateSessionConnBackChan | kCreateSessionConnRdma;
  if (args.flags & ~kSessionFlags) {
    spdlog::info("nfs4 CREATE_SESSION: undefined csa_flags bits {:#x}: INVAL",
                 args.flags & ~kSessionFlags);
    return fail(Nfs4Stat::inval);
  }
  // RFC 8881 18.36.4: a fore channel whose maxima cannot carry even a
  // SEQUENCE-only COMPOUND is NFS4ERR_TOOSMALL.
  if (args.fore.maxrequestsize < kMinForeRequestSize ||
      args.fore.maxresponsesize < kMinForeResponseSize) {
    spdlog::info(
        "nfs4 CREATE_SESSION: fore channel maxrequestsize {} / maxresponsesize {}: TOOSMALL",
        args.fore.maxrequestsize, args.fore.maxresponsesize);
    return fail(Nfs4Stat::toosmall);
  }
  std::vector<uint8_t> persist;
  CreateSessionResult out;
  {
    std::lock_guard lk(mu_);
    auto conf = find_client_locked(args.clientid);
    if (conf && conf->minorversion != 1) conf.reset();
    std::shared_ptr<Client> unconf;
    if (!conf) {
      auto it = unconfirmed_.find(args.clientid);
      if (it != unconfirmed_.end() && it->second->minorversion == 1) unconf = it->second;
    }
    Client* rec = conf ? conf.get() : unconf.get();
    if (!rec) return fail(Nfs4Stat::stale_clientid);
    // RFC 8881 18.36.4: the principal must be the one that created an
    // *unconfirmed* client id (else NFS4ERR_CLID_INUSE). A confirmed client
    // may open further sessions under any principal: only SP4_MACH_CRED or
    // SP4_SSV state protection would tie it to one, and we serve SP4_NONE.
    if (unconf && rec->principal != principal) {
      spdlog::info("nfs4 CREATE_SESSION: client {:x} created by uid {}, caller uid {}: CLID_INUSE",
                   rec->clientid, rec->principal.uid, principal.uid);
      return fail(Nfs4Stat::clid_inuse);
    }
    // The CREATE_SESSION slot (RFC 8881 18.36.4): same sequence id -> the
    // cached reply; the next one -> a new session; anything else misordered.
    if (args.sequence == rec->cs_sequence && rec->cs_reply) return *rec->cs_reply;
    if (args.sequence != rec->cs_sequence + 1) return fail(Nfs4Stat::seq_misordered);

    if (unconf) {
      std::vector<std::shared_ptr<Client>> old;
      for (auto& [cid, c] : confirmed_) {
        if (same_owner(*c, unconf->owner_id, 1)) old.push_back(c);
      }
      for (auto& c : old) expire_client_locked(c, false);
      unconfirmed_.erase(unconf->clientid);
      unconf->confirmed = true;
      unconf->may_reclaim = grace_locked() && reclaimable_.count(unconf->owner_id);
      if (unconf->may_reclaim) reestablished_.insert(unconf->owner_id);
      confirmed_[unconf->clientid] = unconf;
      conf = unconf;
      persist = unconf->owner_id;
      spdlog::info("nfs4 CREATE_SESSION: client {:x} confirmed (uid {})", conf->clientid,
                   principal.uid);
    }

    auto s = std::make_shared<Session>();
    auto put64 = [](uint8_t* p, uint64_t v) {
      for (int i = 0; i < 8; ++i) p[i] = uint8_t(v >> (56 - 8 * i));
    };
    put64(s->id.data(), conf->clientid);
    put64(s->id.data() + 8, (uint64_t(boot_) << 32) | next_session_++);
    s->clientid = conf->clientid;
    // No persistent reply cache (EFS lists it as unsupported) and no RDMA; the
    // back channel is accepted as asked though no callback is ever sent.
    s->flags = args.flags & kCreateSessionConnBackChan;
    s->cb_program = args.cb_program;
    // RFC 8881 18.36.3: the server may lower any channel attribute.
    const ChannelAttrs& f = args.fore;
    s->fore.headerpadsize = 0;
    s->fore.maxrequestsize = std::min(f.maxrequestsize, opts_.max_request_size);
    s->fore.maxresponsesize = std::min(f.maxresponsesize, opts_.max_response_size);
    s->fore.maxresponsesize_cached =
        std::min(f.maxresponsesize_cached, opts_.max_response_size_cached);
    s->fore.maxoperations = std::clamp(f.maxoperations, 1u, opts_.max_operations);
    s->fore.maxrequests = std::clamp(f.maxrequests, 1u, opts_.max_slots);
    s->back = args.back;
    s->back.headerpadsize = 0;
    s->back.maxrequests = std::clamp(args.back.maxrequests, 1u, 16u);
    s->back.maxoperations = std::clamp(args.back.maxoperations, 1u, 16u);
    s->slots.resize(s->fore.maxrequests);
    s->connections.insert(connection_id);
    conf->sessions.insert(s);
    sessions_[s->id] = s;
    renew_locked(*conf);

    out.sessionid = s->id;
    out.sequence = args.sequence;
    out.flags = s->flags;
    out.fore = s->fore;
    out.back = s->back;
    conf->cs_sequence = args.sequence;
    conf->cs_reply = out;
  }
  if (!persist.empty()) persist_client(persist, 1);
  return out;
}

Nfs4Stat StateManager::destroy_session(const SessionId& id, uint64_t connection_id) {
  std::lock_guard lk(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return Nfs4Stat::badsession;
  auto s = it->second;
  // With SP4_NONE any connection of the client may act for the session
  // (RFC 8881 2.10.3.1 binds connections implicitly), so no
  // CONN_NOT_BOUND_TO_SESSION check here.
  (void)connection_id;
  if (auto c = find_client_locked(s->clientid)) {
    c->sessions.erase(s);
    renew_locked(*c);
  }
  sessions_.erase(it);
  return Nfs4Stat::ok;
}

SResult<uint32_t> StateManager::bind_conn_to_session(const SessionId& id, uint32_t dir,
                                                     uint64_t connection_id) {
  std::lock_guard lk(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return fail(Nfs4Stat::badsession);
  auto& s = it->second;
  uint32_t granted;
  switch (dir) {
    case kCdfcFore:
      granted = kCdfsFore;
      break;
    case kCdfcBack:
      granted = kCdfsBack;
      break;
    case kCdfcForeOrBoth:
    case kCdfcBackOrBoth:
      granted = kCdfsBoth;
      break;
    default:
      return fail(Nfs4Stat::inval);
  }
  {
    std::lock_guard sl(s->mu);
    s->connections.insert(connection_id);
  }
  if (auto c = find_client_locked(s->clientid)) renew_locked(*c);
  return granted;
}

Nfs4Stat StateManager::destroy_clientid(uint64_t clientid) {
  std::vector<std::vector<uint8_t>> forget;
  {
    std::lock_guard lk(mu_);
    auto c = find_client_locked(clientid);
    if (!c) {
      auto it = unconfirmed_.find(clientid);
      if (it == unconfirmed_.end()) return Nfs4Stat::stale_clientid;
      unconfirmed_.erase(it);
      return Nfs4Stat::ok;
    }
    // RFC 8881 18.50.3: not while sessions (or state) remain.
    if (!c->sessions.empty()) return Nfs4Stat::clientid_busy;
    expire_client_locked(c, false);
    forget.push_back(c->owner_id);
  }
  forget_clients(forget);
  return Nfs4Stat::ok;
}

Nfs4Stat StateManager::reclaim_complete(Client& client, bool one_fs) {
  std::vector<std::vector<uint8_t>> forget;
  {
    std::lock_guard lk(mu_);
    // rca_one_fs: a per-file-system completion, which we need not track
    // (RFC 8881 18.51.3 lets the server ignore it).
    if (one_fs) return Nfs4Stat::ok;
    if (client.reclaim_complete) return Nfs4Stat::complete_already;
    client.reclaim_complete = true;
    renew_locked(client);
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
  return Nfs4Stat::ok;
}

SResult<SequenceOk> StateManager::sequence(const SequenceArgs& args, uint64_t connection_id) {
  std::lock_guard lk(mu_);
  auto it = sessions_.find(args.sessionid);
  if (it == sessions_.end()) return fail(Nfs4Stat::badsession);
  auto s = it->second;
  auto c = find_client_locked(s->clientid);
  if (!c) return fail(Nfs4Stat::badsession);

  SequenceOk out;
  {
    std::lock_guard sl(s->mu);
    // RFC 8881 18.46.3 / 2.10.6.1.
    if (args.slotid >= s->slots.size()) return fail(Nfs4Stat::badslot);
    Session::Slot& slot = s->slots[args.slotid];
    if (args.sequenceid == slot.seqid + 1) {
      if (slot.in_progress) return fail(Nfs4Stat::seq_misordered);
      slot.seqid = args.sequenceid;
      slot.in_progress = true;
      slot.has_reply = false;
      slot.reply.clear();
    } else if (args.sequenceid == slot.seqid && slot.seqid != 0) {
      if (slot.in_progress) return fail(Nfs4Stat::delay);
      if (!slot.has_reply) return fail(Nfs4Stat::retry_uncached_rep);
      out.replay = slot.reply;
    } else {
      return fail(Nfs4Stat::seq_misordered);
    }
    // SP4_NONE: a SEQUENCE on any connection binds it to the session.
    s->connections.insert(connection_id);
    out.highest_slotid = static_cast<uint32_t>(s->slots.size() - 1);
    out.target_highest_slotid = out.highest_slotid;
  }
  renew_locked(*c);
  out.status_flags = 0;
  out.session = s;
  out.client = c;
  return out;
}

}  // namespace efs::nfs4
