// NFSv4 client records and 4.1 sessions (RFC 7530 9.1.1 / 16.33, RFC 8881
// 2.4, 2.10, 18.35-18.36). These are the types Compound forward-declares.
// Which lock guards which field is written on each field; the lock order is
// in state_manager.h.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "nfs4/state/open_lock.h"
#include "nfs4/state/stateid.h"

namespace efs::nfs4 {

class Session;

class Client : public std::enable_shared_from_this<Client> {
 public:
  // Fixed when the record is made; read without a lock.
  uint64_t clientid = 0;
  std::vector<uint8_t> owner_id;  // co_ownerid / nfs_client_id4.id
  verifier4 verifier{};           // the client's boot verifier
  Principal principal;            // who established the record
  uint32_t minorversion = 0;

  // Guarded by the client table lock (StateManager::clients_mu_, exclusive).
  bool confirmed = false;
  verifier4 confirm{};      // 4.0 SETCLIENTID confirm verifier
  uint32_t cb_program = 0;  // accepted and kept; no callbacks are ever made

  // The lease (RFC 8881 8.3): the last renewal, steady-clock nanoseconds.
  // Atomic so SEQUENCE, RENEW and READ renew a lease without any lock.
  std::atomic<int64_t> renewed_ns{0};
  void renew(std::chrono::steady_clock::time_point now) {
    renewed_ns.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  }
  std::chrono::steady_clock::time_point renewed() const {
    return std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(renewed_ns.load(std::memory_order_relaxed)));
  }

  // The client record lock: guards everything below and every mutable field
  // of this client's state owners (open_lock.h).
  std::mutex mu;
  bool live = true;  // false once expired or purged: no new state is added
  // 4.1: the CREATE_SESSION slot (RFC 8881 18.36.4).
  uint32_t cs_sequence = 0;  // last processed CREATE_SESSION sequence id
  std::optional<CREATE_SESSION4resok> cs_reply;
  bool reclaim_complete = false;
  // True when the owner had a persisted record from before this server boot:
  // only such clients may reclaim during grace.
  bool may_reclaim = false;
  std::set<std::shared_ptr<Session>> sessions;
  // This client's open-owners and lock-owners (state_owner4.owner).
  std::map<std::vector<uint8_t>, std::shared_ptr<StateOwner>, BytesLess> open_owners, lock_owners;
};

class Session {
 public:
  // One slot of the fore channel slot table (RFC 8881 2.10.6.1).
  struct Slot {
    uint32_t seqid = 0;        // last sequence id processed (0 = never used)
    bool in_progress = false;  // a request with seqid is running
    bool has_reply = false;    // reply holds its whole COMPOUND4res
    std::vector<uint8_t> reply;
  };

  // Fixed at CREATE_SESSION; read without a lock.
  sessionid4 id{};
  uint64_t clientid = 0;
  std::weak_ptr<Client> client;  // weak: the client's session set holds the session
  uint32_t flags = 0;
  uint32_t cb_program = 0;
  channel_attrs4 fore, back;

  // The compound loop's limits (RFC 8881 18.36.3, negotiated channel attributes).
  uint32_t max_ops() const { return fore.ca_maxoperations; }
  uint32_t max_request() const { return fore.ca_maxrequestsize; }
  uint32_t max_response() const { return fore.ca_maxresponsesize; }
  uint32_t max_response_cached() const { return fore.ca_maxresponsesize_cached; }

  // Ends the request on `slotid`: keeps `reply` (the whole encoded
  // COMPOUND4res) for a retransmission when it fits maxresponsesize_cached,
  // otherwise remembers that the reply is not cached (a retry then gets
  // NFS4ERR_RETRY_UNCACHED_REP).
  void store_reply(uint32_t slotid, const std::vector<uint8_t>& reply);

  // The session's own lock (a leaf: nothing is locked while it is held).
  std::mutex mu;
  bool destroyed = false;  // DESTROY_SESSION or client expiry: SEQUENCE gets BADSESSION
  std::vector<Slot> slots;
  std::set<uint64_t> connections;  // bound connection ids (BIND_CONN_TO_SESSION, RFC 8881 2.10.3.1)
};

}  // namespace efs::nfs4
