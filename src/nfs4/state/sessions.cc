// 4.1 sessions: CREATE_SESSION / DESTROY_SESSION / BIND_CONN_TO_SESSION /
// SEQUENCE (RFC 8881 18.36, 18.37, 18.34, 18.46) and the slot table's reply
// cache (2.10.6). SEQUENCE takes sessions_mu_ shared just to find its
// session and then only that session's mutex: SEQUENCEs of different
// clients never wait on each other, nor on opens, locks or I/O checks.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "nfs4/state/state_manager.h"

namespace efs::nfs4 {

namespace {

bool same_owner(const Client& c, const std::vector<uint8_t>& id, uint32_t minor) {
  return c.minorversion == minor && c.owner_id == id;
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

SResult<CREATE_SESSION4resok> StateManager::create_session(const CREATE_SESSION4args& args,
                                                           const Principal& principal,
                                                           uint64_t connection_id) {
  // RFC 8881 18.36.3: PERSIST, CONN_BACK_CHAN and CONN_RDMA are the only
  // csa_flags; any other bit is NFS4ERR_INVAL. Arguments are checked before
  // the client id, as Linux nfsd does (pynfs CSESS29 expects TOOSMALL even
  // where the compound is otherwise odd).
  constexpr uint32_t kSessionFlags = CREATE_SESSION4_FLAG_PERSIST |
                                     CREATE_SESSION4_FLAG_CONN_BACK_CHAN |
                                     CREATE_SESSION4_FLAG_CONN_RDMA;
  const channel_attrs4& fore = args.csa_fore_chan_attrs;
  const channel_attrs4& back = args.csa_back_chan_attrs;
  if (args.csa_flags & ~kSessionFlags) {
    spdlog::info("nfs4 CREATE_SESSION: undefined csa_flags bits {:#x}: INVAL",
                 args.csa_flags & ~kSessionFlags);
    return fail(NFS4ERR_INVAL);
  }
  // RFC 8881 18.36.4: a fore channel whose maxima cannot carry even a
  // SEQUENCE-only COMPOUND is NFS4ERR_TOOSMALL.
  if (fore.ca_maxrequestsize < kMinForeRequestSize ||
      fore.ca_maxresponsesize < kMinForeResponseSize) {
    spdlog::info(
        "nfs4 CREATE_SESSION: fore channel maxrequestsize {} / maxresponsesize {}: TOOSMALL",
        fore.ca_maxrequestsize, fore.ca_maxresponsesize);
    return fail(NFS4ERR_TOOSMALL);
  }
  std::vector<uint8_t> persist;
  CREATE_SESSION4resok out;
  {
    std::unique_lock lk(clients_mu_);
    auto conf = find_client_locked(args.csa_clientid);
    if (conf && conf->minorversion != 1) conf.reset();
    std::shared_ptr<Client> unconf;
    if (!conf) {
      auto it = unconfirmed_.find(args.csa_clientid);
      if (it != unconfirmed_.end() && it->second->minorversion == 1) unconf = it->second;
    }
    std::shared_ptr<Client> rec = conf ? conf : unconf;
    if (!rec) return fail(NFS4ERR_STALE_CLIENTID);
    // RFC 8881 18.36.4: the principal must be the one that created an
    // *unconfirmed* client id (else NFS4ERR_CLID_INUSE). A confirmed client
    // may open further sessions under any principal: only SP4_MACH_CRED or
    // SP4_SSV state protection would tie it to one, and we serve SP4_NONE.
    if (unconf && rec->principal != principal) {
      spdlog::info("nfs4 CREATE_SESSION: client {:x} created by uid {}, caller uid {}: CLID_INUSE",
                   rec->clientid, rec->principal.uid, principal.uid);
      return fail(NFS4ERR_CLID_INUSE);
    }
    {
      // The CREATE_SESSION slot (RFC 8881 18.36.4): same sequence id -> the
      // cached reply; the next one -> a new session; anything else misordered.
      std::lock_guard cl(rec->mu);
      if (args.csa_sequence == rec->cs_sequence && rec->cs_reply) return *rec->cs_reply;
      if (args.csa_sequence != rec->cs_sequence + 1) return fail(NFS4ERR_SEQ_MISORDERED);
    }
    if (unconf) {
      std::vector<std::shared_ptr<Client>> old;
      for (auto& [cid, c] : confirmed_) {
        if (same_owner(*c, unconf->owner_id, 1)) old.push_back(c);
      }
      for (auto& c : old) expire_client_locked(c, false);
      unconfirmed_.erase(unconf->clientid);
      unconf->confirmed = true;
      {
        std::lock_guard cl(unconf->mu);
        unconf->may_reclaim = note_reestablished(unconf->owner_id);
      }
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
    put64(s->id.data() + 8, (uint64_t(boot_) << 32) | next_session_.fetch_add(1));
    s->clientid = conf->clientid;
    s->client = conf;
    // No persistent reply cache (EFS lists it as unsupported) and no RDMA; the
    // back channel is accepted as asked though no callback is ever sent.
    s->flags = args.csa_flags & CREATE_SESSION4_FLAG_CONN_BACK_CHAN;
    s->cb_program = args.csa_cb_program;
    // RFC 8881 18.36.3: the server may lower any channel attribute.
    s->fore.ca_headerpadsize = 0;
    s->fore.ca_maxrequestsize = std::min(fore.ca_maxrequestsize, opts_.max_request_size);
    s->fore.ca_maxresponsesize = std::min(fore.ca_maxresponsesize, opts_.max_response_size);
    s->fore.ca_maxresponsesize_cached =
        std::min(fore.ca_maxresponsesize_cached, opts_.max_response_size_cached);
    s->fore.ca_maxoperations = std::clamp(fore.ca_maxoperations, 1u, opts_.max_operations);
    s->fore.ca_maxrequests = std::clamp(fore.ca_maxrequests, 1u, opts_.max_slots);
    s->back = back;
    s->back.ca_headerpadsize = 0;
    s->back.ca_maxrequests = std::clamp(back.ca_maxrequests, 1u, 16u);
    s->back.ca_maxoperations = std::clamp(back.ca_maxoperations, 1u, 16u);
    s->slots.resize(s->fore.ca_maxrequests);
    s->connections.insert(connection_id);

    out.csr_sessionid = s->id;
    out.csr_sequence = args.csa_sequence;
    out.csr_flags = s->flags;
    out.csr_fore_chan_attrs = s->fore;
    out.csr_back_chan_attrs = s->back;
    std::lock_guard cl(conf->mu);
    {
      std::unique_lock sm(sessions_mu_);
      sessions_[s->id] = s;
    }
    conf->sessions.insert(s);
    renew(*conf);
    conf->cs_sequence = args.csa_sequence;
    conf->cs_reply = out;
  }
  if (!persist.empty()) persist_client(persist, 1);
  return out;
}

nfsstat4 StateManager::destroy_session(const sessionid4& id, uint64_t connection_id) {
  // With SP4_NONE any connection of the client may act for the session
  // (RFC 8881 2.10.3.1 binds connections implicitly), so no
  // CONN_NOT_BOUND_TO_SESSION check here.
  (void)connection_id;
  std::shared_ptr<Session> s;
  {
    std::shared_lock sm(sessions_mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return NFS4ERR_BADSESSION;
    s = it->second;
  }
  auto c = s->client.lock();
  if (!c) return NFS4ERR_BADSESSION;
  std::lock_guard cl(c->mu);
  {
    std::unique_lock sm(sessions_mu_);
    // Gone meanwhile (a concurrent DESTROY_SESSION or the client's expiry).
    if (!sessions_.erase(id)) return NFS4ERR_BADSESSION;
  }
  c->sessions.erase(s);
  {
    std::lock_guard sl(s->mu);
    s->destroyed = true;
  }
  renew(*c);
  return NFS4_OK;
}

SResult<channel_dir_from_server4> StateManager::bind_conn_to_session(const sessionid4& id,
                                                                     channel_dir_from_client4 dir,
                                                                     uint64_t connection_id) {
  std::shared_ptr<Session> s;
  {
    std::shared_lock sm(sessions_mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return fail(NFS4ERR_BADSESSION);
    s = it->second;
  }
  channel_dir_from_server4 granted;
  switch (dir) {
    case CDFC4_FORE:
      granted = CDFS4_FORE;
      break;
    case CDFC4_BACK:
      granted = CDFS4_BACK;
      break;
    case CDFC4_FORE_OR_BOTH:
    case CDFC4_BACK_OR_BOTH:
      granted = CDFS4_BOTH;
      break;
    default:
      return fail(NFS4ERR_INVAL);
  }
  {
    std::lock_guard sl(s->mu);
    if (s->destroyed) return fail(NFS4ERR_BADSESSION);
    s->connections.insert(connection_id);
  }
  if (auto c = s->client.lock()) renew(*c);
  return granted;
}

SResult<SequenceOk> StateManager::sequence(const SEQUENCE4args& args, uint64_t connection_id) {
  std::shared_ptr<Session> s;
  {
    std::shared_lock sm(sessions_mu_);
    auto it = sessions_.find(args.sa_sessionid);
    if (it == sessions_.end()) return fail(NFS4ERR_BADSESSION);
    s = it->second;
  }
  auto c = s->client.lock();
  if (!c) return fail(NFS4ERR_BADSESSION);

  SequenceOk out;
  {
    std::lock_guard sl(s->mu);
    if (s->destroyed) return fail(NFS4ERR_BADSESSION);
    // RFC 8881 18.46.3 / 2.10.6.1.
    if (args.sa_slotid >= s->slots.size()) return fail(NFS4ERR_BADSLOT);
    Session::Slot& slot = s->slots[args.sa_slotid];
    if (args.sa_sequenceid == slot.seqid + 1) {
      if (slot.in_progress) return fail(NFS4ERR_SEQ_MISORDERED);
      slot.seqid = args.sa_sequenceid;
      slot.in_progress = true;
      slot.has_reply = false;
      slot.reply.clear();
    } else if (args.sa_sequenceid == slot.seqid && slot.seqid != 0) {
      if (slot.in_progress) return fail(NFS4ERR_DELAY);
      if (!slot.has_reply) return fail(NFS4ERR_RETRY_UNCACHED_REP);
      out.replay = slot.reply;
    } else {
      return fail(NFS4ERR_SEQ_MISORDERED);
    }
    // SP4_NONE: a SEQUENCE on any connection binds it to the session.
    s->connections.insert(connection_id);
    out.resok.sr_highest_slotid = static_cast<uint32_t>(s->slots.size() - 1);
    out.resok.sr_target_highest_slotid = out.resok.sr_highest_slotid;
  }
  renew(*c);  // the lease is an atomic: no client lock
  out.resok.sr_sessionid = args.sa_sessionid;
  out.resok.sr_sequenceid = args.sa_sequenceid;
  out.resok.sr_slotid = args.sa_slotid;
  out.resok.sr_status_flags = 0;
  out.session = s;
  out.client = std::move(c);
  return out;
}

}  // namespace efs::nfs4
