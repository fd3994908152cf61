// StateManager: construction, persistence of client records, grace period,
// lease expiry and the id allocators. The protocol rules are in clients.cc,
// open_state.cc and lock_state.cc.
#include "nfs4/state/state_manager.h"

#include <spdlog/spdlog.h>

#include "common/ids.h"
#include "meta/db.h"

namespace efs::nfs4 {

const char* to_string(Nfs4Stat s) {
  switch (s) {
    case Nfs4Stat::ok:
      return "NFS4_OK";
    case Nfs4Stat::perm:
      return "NFS4ERR_PERM";
    case Nfs4Stat::noent:
      return "NFS4ERR_NOENT";
    case Nfs4Stat::access:
      return "NFS4ERR_ACCESS";
    case Nfs4Stat::exist:
      return "NFS4ERR_EXIST";
    case Nfs4Stat::inval:
      return "NFS4ERR_INVAL";
    case Nfs4Stat::notsupp:
      return "NFS4ERR_NOTSUPP";
    case Nfs4Stat::toosmall:
      return "NFS4ERR_TOOSMALL";
    case Nfs4Stat::serverfault:
      return "NFS4ERR_SERVERFAULT";
    case Nfs4Stat::delay:
      return "NFS4ERR_DELAY";
    case Nfs4Stat::denied:
      return "NFS4ERR_DENIED";
    case Nfs4Stat::expired:
      return "NFS4ERR_EXPIRED";
    case Nfs4Stat::grace:
      return "NFS4ERR_GRACE";
    case Nfs4Stat::clid_inuse:
      return "NFS4ERR_CLID_INUSE";
    case Nfs4Stat::resource:
      return "NFS4ERR_RESOURCE";
    case Nfs4Stat::stale_clientid:
      return "NFS4ERR_STALE_CLIENTID";
    case Nfs4Stat::stale_stateid:
      return "NFS4ERR_STALE_STATEID";
    case Nfs4Stat::old_stateid:
      return "NFS4ERR_OLD_STATEID";
    case Nfs4Stat::bad_stateid:
      return "NFS4ERR_BAD_STATEID";
    case Nfs4Stat::bad_seqid:
      return "NFS4ERR_BAD_SEQID";
    case Nfs4Stat::not_same:
      return "NFS4ERR_NOT_SAME";
    case Nfs4Stat::no_grace:
      return "NFS4ERR_NO_GRACE";
    case Nfs4Stat::reclaim_bad:
      return "NFS4ERR_RECLAIM_BAD";
    case Nfs4Stat::locks_held:
      return "NFS4ERR_LOCKS_HELD";
    case Nfs4Stat::openmode:
      return "NFS4ERR_OPENMODE";
    case Nfs4Stat::admin_revoked:
      return "NFS4ERR_ADMIN_REVOKED";
    case Nfs4Stat::badsession:
      return "NFS4ERR_BADSESSION";
    case Nfs4Stat::badslot:
      return "NFS4ERR_BADSLOT";
    case Nfs4Stat::complete_already:
      return "NFS4ERR_COMPLETE_ALREADY";
    case Nfs4Stat::conn_not_bound_to_session:
      return "NFS4ERR_CONN_NOT_BOUND_TO_SESSION";
    case Nfs4Stat::seq_misordered:
      return "NFS4ERR_SEQ_MISORDERED";
    case Nfs4Stat::retry_uncached_rep:
      return "NFS4ERR_RETRY_UNCACHED_REP";
    case Nfs4Stat::too_many_ops:
      return "NFS4ERR_TOO_MANY_OPS";
    case Nfs4Stat::clientid_busy:
      return "NFS4ERR_CLIENTID_BUSY";
    case Nfs4Stat::encr_alg_unsupp:
      return "NFS4ERR_ENCR_ALG_UNSUPP";
  }
  return "?";
}

namespace {

// Client records survive a restart only so that their owners may reclaim
// during the grace period (RFC 8881 8.4.2.1: the server must know which
// clients held state before it restarted).
const std::vector<std::string> kMigrations = {
    "CREATE TABLE nfs4_clients ("
    "  owner BLOB PRIMARY KEY,"
    "  minorversion INTEGER NOT NULL)",
};

void put_be32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

}  // namespace

const std::string& StateManager::server_owner_major() {
  static const std::string s = "efs-local";
  return s;
}
const std::string& StateManager::server_scope() {
  static const std::string s = "efs-local";
  return s;
}

StateManager::StateManager(Clock& clock, StateOptions options, meta::Db* db)
    : clock_(clock), opts_(options), db_(db) {
  // A nonzero boot instance that differs between restarts: stateids and client
  // ids of an earlier boot are recognised as stale (RFC 7530 9.1.4.3).
  do {
    boot_ = static_cast<uint32_t>(random_u64());
  } while (boot_ == 0);
  if (opts_.max_slots == 0) opts_.max_slots = 1;
  if (opts_.max_operations == 0) opts_.max_operations = 1;
  load_persisted();
}

StateManager::~StateManager() = default;

void StateManager::load_persisted() {
  if (!db_) return;
  auto s = db_->ensure_schema("nfs4_state", kMigrations);
  if (!s) {
    spdlog::error("nfs4 state: cannot create client table: {}", s.error().message);
    return;
  }
  OwnerSet owners;
  auto r = db_->read([&](meta::Conn& c) -> Status<> {
    auto& st = c.stmt("SELECT owner FROM nfs4_clients");
    while (st.step()) owners.insert(st.blob(0));
    if (!st.error().empty()) return fail(Error{st.error()});
    return {};
  });
  if (!r) {
    spdlog::error("nfs4 state: cannot read client records: {}", r.error().message);
    return;
  }
  if (!owners.empty()) {
    reclaimable_ = std::move(owners);
    grace_ = true;
    grace_end_ = clock_.steady_now() + opts_.grace_time;
    spdlog::info("nfs4 state: grace period of {}s for {} client(s) from before restart",
                 opts_.grace_time.count(), reclaimable_.size());
  }
}

void StateManager::persist_client(const std::vector<uint8_t>& owner_id, uint32_t minorversion) {
  if (!db_) return;
  auto r = db_->write([&](meta::Conn& c) -> Status<> {
    auto& st = c.stmt("INSERT OR REPLACE INTO nfs4_clients(owner, minorversion) VALUES(?1, ?2)");
    st.bind_blob(1, owner_id);
    st.bind(2, static_cast<int64_t>(minorversion));
    if (!st.run()) return fail(Error{st.error()});
    return {};
  });
  if (!r) spdlog::error("nfs4 state: cannot persist client record: {}", r.error().message);
}

void StateManager::forget_clients(const std::vector<std::vector<uint8_t>>& owner_ids) {
  if (!db_ || owner_ids.empty()) return;
  // Deleting frees space: it may use the space reserve on a full disk, so a
  // client that unmounted is not waited for in a grace period after restart.
  auto r = db_->write_freeing([&](meta::Conn& c) -> Status<> {
    for (const auto& o : owner_ids) {
      auto& st = c.stmt("DELETE FROM nfs4_clients WHERE owner = ?1");
      st.bind_blob(1, o);
      if (!st.run()) return fail(Error{st.error()});
    }
    return {};
  });
  if (!r) spdlog::error("nfs4 state: cannot delete client records: {}", r.error().message);
}

bool StateManager::grace_locked() {
  if (grace_ && clock_.steady_now() >= grace_end_) {
    // The records are deleted on the next tick (no database work under mu_).
    end_grace_locked(&pending_forget_);
  }
  return grace_;
}

Nfs4Stat StateManager::grace_check_locked(const Client& client, uint32_t minorversion,
                                          bool reclaim) {
  const bool grace = grace_locked();
  if (reclaim) {
    // RFC 8881 8.4.2.1 / 18.51.3, RFC 7530 9.6.2: a reclaim needs a grace
    // period, a client that held state before the restart, and (4.1) no
    // RECLAIM_COMPLETE from it yet; otherwise NFS4ERR_NO_GRACE.
    if (!grace || !client.may_reclaim || client.reclaim_complete) return Nfs4Stat::no_grace;
    return Nfs4Stat::ok;
  }
  // RFC 8881 8.4.2 / RFC 7530 9.6.2: during grace no new locking state for
  // anyone (a client that finished reclaiming included).
  if (grace) return Nfs4Stat::grace;
  // RFC 8881 18.51.3: "If non-reclaim locking operations are done before
  // the RECLAIM_COMPLETE, an NFS4ERR_GRACE error will be returned" - a 4.1
  // client must send RECLAIM_COMPLETE after establishing its client id, in
  // or out of a grace period (pynfs RECC3; Linux nfsd does the same for OPEN).
  if (minorversion >= 1 && !client.reclaim_complete) return Nfs4Stat::grace;
  return Nfs4Stat::ok;
}

bool StateManager::in_grace() {
  std::lock_guard lk(mu_);
  return grace_locked();
}

void StateManager::end_grace_locked(std::vector<std::vector<uint8_t>>* forget) {
  if (!grace_) return;
  grace_ = false;
  for (const auto& o : reclaimable_) {
    if (!reestablished_.count(o)) forget->push_back(o);
  }
  spdlog::info("nfs4 state: grace period over ({} of {} client(s) came back)",
               reestablished_.size(), reclaimable_.size());
  reclaimable_.clear();
  reclaim_done_.clear();
}

uint64_t StateManager::new_clientid_locked() {
  return (uint64_t(boot_) << 32) | next_client_++;
}

StateId StateManager::new_stateid_locked(uint64_t clientid) {
  StateId s;
  s.seqid = 1;
  put_be32(s.other.data(), boot_);
  put_be32(s.other.data() + 4, static_cast<uint32_t>(clientid));
  put_be32(s.other.data() + 8, next_stateid_++);
  return s;
}

std::shared_ptr<Client> StateManager::find_client_locked(uint64_t clientid) {
  auto it = confirmed_.find(clientid);
  return it == confirmed_.end() ? nullptr : it->second;
}

Nfs4Stat StateManager::client_for_40_locked(uint64_t clientid, std::shared_ptr<Client>* out) {
  if ((clientid >> 32) != boot_) return Nfs4Stat::stale_clientid;
  if (expired_.count(clientid)) return Nfs4Stat::expired;
  auto c = find_client_locked(clientid);
  if (!c || c->minorversion != 0) return Nfs4Stat::stale_clientid;
  renew_locked(*c);
  if (out) *out = std::move(c);
  return Nfs4Stat::ok;
}

void StateManager::renew_locked(Client& c) {
  c.renewed = clock_.steady_now();
}

bool StateManager::lease_expired_locked(const Client& c) const {
  return clock_.steady_now() > c.renewed + opts_.lease_time;
}

bool StateManager::client_has_state_locked(const Client& c) const {
  auto it = open_owners_.lower_bound({c.clientid, {}});
  if (it != open_owners_.end() && it->first.first == c.clientid) return true;
  auto jt = lock_owners_.lower_bound({c.clientid, {}});
  if (jt != lock_owners_.end() && jt->first.first == c.clientid) return true;
  return !c.sessions.empty();
}

void StateManager::drop_client_state_locked(uint64_t clientid) {
  for (auto* table : {&open_owners_, &lock_owners_}) {
    auto it = table->lower_bound({clientid, {}});
    while (it != table->end() && it->first.first == clientid) {
      auto owner = it->second;
      for (auto& o : std::set(owner->opens)) remove_open_locked(o);
      for (auto& l : std::set(owner->locks)) remove_lock_state_locked(l);
      if (owner->closed_other) closed_.erase(*owner->closed_other);
      it = table->erase(it);
    }
  }
  // Ranges are owned by lock-owners; remove_lock_state_locked dropped them.
}

void StateManager::expire_client_locked(const std::shared_ptr<Client>& c, bool tombstone) {
  drop_client_state_locked(c->clientid);
  for (auto& s : c->sessions) sessions_.erase(s->id);
  c->sessions.clear();
  confirmed_.erase(c->clientid);
  auto u = unconfirmed_.find(c->clientid);
  if (u != unconfirmed_.end() && u->second == c) unconfirmed_.erase(u);
  if (tombstone) expired_.insert(c->clientid);
}

void StateManager::tick() {
  std::vector<std::vector<uint8_t>> forget;
  {
    std::lock_guard lk(mu_);
    forget.swap(pending_forget_);
    if (grace_ && clock_.steady_now() >= grace_end_) end_grace_locked(&forget);
    // Unconfirmed records that were never confirmed within a lease go quietly.
    for (auto it = unconfirmed_.begin(); it != unconfirmed_.end();) {
      if (lease_expired_locked(*it->second)) {
        it = unconfirmed_.erase(it);
      } else {
        ++it;
      }
    }
    // RFC 7530 9.5 / RFC 8881 8.3: a client whose lease expired loses its
    // opens and locks. A 4.0 client then gets NFS4ERR_EXPIRED for its client
    // id and stateids; a 4.1 client loses its sessions too, so its next
    // SEQUENCE gets NFS4ERR_BADSESSION and it starts over with EXCHANGE_ID.
    std::vector<std::shared_ptr<Client>> expired;
    for (auto& [id, c] : confirmed_) {
      if (lease_expired_locked(*c)) expired.push_back(c);
    }
    for (auto& c : expired) {
      spdlog::info("nfs4 state: lease of client {:x} (v4.{}) expired; its state is released",
                   c->clientid, c->minorversion);
      expire_client_locked(c, c->minorversion == 0);
      bool other_live = false;
      for (auto& [id, o] : confirmed_) other_live |= o->owner_id == c->owner_id;
      if (!other_live) forget.push_back(c->owner_id);
    }
  }
  forget_clients(forget);
}

void StateManager::connection_closed(uint64_t connection_id) {
  std::lock_guard lk(mu_);
  for (auto& [id, s] : sessions_) {
    std::lock_guard sl(s->mu);
    s->connections.erase(connection_id);
  }
}

std::size_t StateManager::client_count() {
  std::lock_guard lk(mu_);
  return confirmed_.size();
}

std::size_t StateManager::open_count() {
  std::lock_guard lk(mu_);
  return opens_.size();
}

std::size_t StateManager::lock_range_count(FileKey file) {
  std::lock_guard lk(mu_);
  auto it = ranges_.find(file);
  return it == ranges_.end() ? 0 : it->second.size();
}

}  // namespace efs::nfs4
