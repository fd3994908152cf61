// StateManager: construction, persistence of client records, grace period,
// lease expiry, the id allocators, the file shards and the test hooks. The
// protocol rules are in clients.cc, sessions.cc, open_state.cc and
// lock_state.cc.
#include "nfs4/state/state_manager.h"

#include <spdlog/spdlog.h>

#include "common/ids.h"
#include "meta/db.h"

namespace efs::nfs4 {

namespace {

// Client records survive a restart only so that their owners may reclaim
// during the grace period (RFC 8881 8.4.2.1: the server must know which
// clients held state before it restarted).
const std::vector<std::string> kMigrations = {
    "CREATE TABLE nfs4_clients ("
    "  owner BLOB PRIMARY KEY,"
    "  minorversion INTEGER NOT NULL)",
};

}  // namespace

const std::string& StateManager::server_owner_major() {
  static const std::string s = "efs-local";
  return s;
}
const std::string& StateManager::server_scope() {
  static const std::string s = "efs-local";
  return s;
}

uint32_t StateManager::shard_of(FileKey file) {
  // A 64-bit mix of (fsid, ino) so that consecutive inodes spread over shards.
  uint64_t h = file.ino * 0x9e3779b97f4a7c15ull ^ (file.fsid + 0x632be59bd9b4e019ull);
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 29;
  return static_cast<uint32_t>(h % kFileShards);
}

StateManager::StateManager(Clock& clock, StateOptions options, meta::Db* db)
    : clock_(clock), opts_(options), db_(db) {
  static_assert(kFileShards <= 256, "the shard index is one byte of stateid other");
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
    std::lock_guard g(grace_mu_);
    reclaimable_ = std::move(owners);
    grace_end_ = clock_.steady_now() + opts_.grace_time;
    grace_ = true;
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

// ---------------------------------------------------------------- grace

bool StateManager::grace_now() {
  if (!grace_.load(std::memory_order_acquire)) return false;
  std::lock_guard g(grace_mu_);
  if (grace_ && clock_.steady_now() >= grace_end_) {
    // The records are deleted on the next tick (no database work under a lock).
    end_grace_locked(&pending_forget_);
  }
  return grace_;
}

bool StateManager::note_reestablished(const std::vector<uint8_t>& owner_id) {
  if (!grace_now()) return false;
  std::lock_guard g(grace_mu_);
  if (!grace_ || !reclaimable_.count(owner_id)) return false;
  reestablished_.insert(owner_id);
  return true;
}

nfsstat4 StateManager::grace_check_locked(const Client& client, uint32_t minorversion,
                                          bool reclaim) {
  const bool grace = grace_now();
  if (reclaim) {
    // RFC 8881 8.4.2.1 / 18.51.3, RFC 7530 9.6.2: a reclaim needs a grace
    // period, a client that held state before the restart, and (4.1) no
    // RECLAIM_COMPLETE from it yet; otherwise NFS4ERR_NO_GRACE.
    if (!grace || !client.may_reclaim || client.reclaim_complete) return NFS4ERR_NO_GRACE;
    return NFS4_OK;
  }
  // RFC 8881 8.4.2 / RFC 7530 9.6.2: during grace no new locking state for
  // anyone (a client that finished reclaiming included).
  if (grace) return NFS4ERR_GRACE;
  // RFC 8881 18.51.3: "If non-reclaim locking operations are done before
  // the RECLAIM_COMPLETE, an NFS4ERR_GRACE error will be returned" - a 4.1
  // client must send RECLAIM_COMPLETE after establishing its client id, in
  // or out of a grace period (pynfs RECC3; Linux nfsd does the same for OPEN).
  if (minorversion >= 1 && !client.reclaim_complete) return NFS4ERR_GRACE;
  return NFS4_OK;
}

bool StateManager::in_grace() {
  return grace_now();
}

void StateManager::end_grace_locked(std::vector<std::vector<uint8_t>>* forget) {
  if (!grace_) return;
  grace_.store(false, std::memory_order_release);
  for (const auto& o : reclaimable_) {
    if (!reestablished_.count(o)) forget->push_back(o);
  }
  spdlog::info("nfs4 state: grace period over ({} of {} client(s) came back)",
               reestablished_.size(), reclaimable_.size());
  reclaimable_.clear();
  reclaim_done_.clear();
}

// ---------------------------------------------------------------- ids

uint64_t StateManager::new_clientid_locked() {
  return (uint64_t(boot_) << 32) | next_client_++;
}

stateid4 StateManager::new_stateid_locked(FileShard& shard, uint64_t clientid) {
  stateid4 s;
  s.seqid = 1;
  put_be32(s.other.data(), boot_);
  put_be32(s.other.data() + 4, static_cast<uint32_t>(clientid));
  s.other[8] = static_cast<uint8_t>(&shard - shards_);
  // A 24-bit counter per shard; after a wrap, values still in use are skipped.
  for (;;) {
    uint32_t n = shard.next_stateid++ & 0xffffffu;
    if (n == 0) continue;
    s.other[9] = uint8_t(n >> 16);
    s.other[10] = uint8_t(n >> 8);
    s.other[11] = uint8_t(n);
    if (!shard.opens.count(s.other) && !shard.lock_states.count(s.other) &&
        !shard.closed.count(s.other)) {
      return s;
    }
  }
}

// ---------------------------------------------------------------- clients

std::shared_ptr<Client> StateManager::find_client_locked(uint64_t clientid) {
  auto it = confirmed_.find(clientid);
  return it == confirmed_.end() ? nullptr : it->second;
}

nfsstat4 StateManager::client_for_40(uint64_t clientid, std::shared_ptr<Client>* out) {
  if ((clientid >> 32) != boot_) return NFS4ERR_STALE_CLIENTID;
  std::shared_ptr<Client> c;
  {
    std::shared_lock lk(clients_mu_);
    if (expired_.count(clientid)) return NFS4ERR_EXPIRED;
    c = find_client_locked(clientid);
  }
  if (!c || c->minorversion != 0) return NFS4ERR_STALE_CLIENTID;
  renew(*c);
  if (out) *out = std::move(c);
  return NFS4_OK;
}

bool StateManager::lease_expired(const Client& c) const {
  return clock_.steady_now() > c.renewed() + opts_.lease_time;
}

bool StateManager::client_has_state_locked(Client& c) {
  std::lock_guard cl(c.mu);
  return !c.open_owners.empty() || !c.lock_owners.empty() || !c.sessions.empty();
}

void StateManager::drop_client_state_locked(Client& c) {
  for (auto& [name, owner] : c.open_owners) {
    for (auto& o : std::set(owner->opens)) {
      FileShard& shard = shard_for(o->file);
      std::lock_guard sl(shard.mu);
      remove_open_locked(shard, o);
    }
    if (owner->closed_other) {
      FileShard& shard = shards_[(*owner->closed_other)[8]];
      std::lock_guard sl(shard.mu);
      shard.closed.erase(*owner->closed_other);
    }
  }
  for (auto& [name, owner] : c.lock_owners) {
    for (auto& l : std::set(owner->locks)) {
      FileShard& shard = shard_for(l->file);
      std::lock_guard sl(shard.mu);
      remove_lock_state_locked(shard, l);
    }
  }
  c.open_owners.clear();
  c.lock_owners.clear();
}

void StateManager::expire_client_locked(const std::shared_ptr<Client>& c, bool tombstone) {
  {
    std::lock_guard cl(c->mu);
    c->live = false;
    drop_client_state_locked(*c);
    {
      std::unique_lock sm(sessions_mu_);
      for (auto& s : c->sessions) sessions_.erase(s->id);
    }
    for (auto& s : c->sessions) {
      std::lock_guard sl(s->mu);
      s->destroyed = true;
    }
    c->sessions.clear();
  }
  confirmed_.erase(c->clientid);
  auto u = unconfirmed_.find(c->clientid);
  if (u != unconfirmed_.end() && u->second == c) unconfirmed_.erase(u);
  if (tombstone) expired_.insert(c->clientid);
}

void StateManager::tick() {
  std::vector<std::vector<uint8_t>> forget;
  {
    std::lock_guard g(grace_mu_);
    forget.swap(pending_forget_);
    if (grace_ && clock_.steady_now() >= grace_end_) end_grace_locked(&forget);
  }
  {
    std::unique_lock lk(clients_mu_);
    // Unconfirmed records that were never confirmed within a lease go quietly.
    for (auto it = unconfirmed_.begin(); it != unconfirmed_.end();) {
      if (lease_expired(*it->second)) {
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
      if (lease_expired(*c)) expired.push_back(c);
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
  std::shared_lock lk(sessions_mu_);
  for (auto& [id, s] : sessions_) {
    std::lock_guard sl(s->mu);
    s->connections.erase(connection_id);
  }
}

// ---------------------------------------------------------------- introspection

std::size_t StateManager::client_count() {
  std::shared_lock lk(clients_mu_);
  return confirmed_.size();
}

std::size_t StateManager::open_count() {
  std::size_t n = 0;
  for (auto& shard : shards_) {
    std::lock_guard sl(shard.mu);
    n += shard.opens.size();
  }
  return n;
}

std::size_t StateManager::lock_range_count(FileKey file) {
  FileShard& shard = shard_for(file);
  std::lock_guard sl(shard.mu);
  auto it = shard.ranges.find(file);
  return it == shard.ranges.end() ? 0 : it->second.size();
}

bool StateManager::hold_client_lock_for_test(uint64_t clientid, const std::function<void()>& fn) {
  std::shared_ptr<Client> c;
  {
    std::shared_lock lk(clients_mu_);
    c = find_client_locked(clientid);
  }
  if (!c) return false;
  std::lock_guard cl(c->mu);
  fn();
  return true;
}

void StateManager::hold_file_shard_for_test(FileKey file, const std::function<void()>& fn) {
  std::lock_guard sl(shard_for(file).mu);
  fn();
}

}  // namespace efs::nfs4
