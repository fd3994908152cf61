// NFSv4 client records and 4.1 sessions (RFC 7530 9.1.1 / 16.33, RFC 8881
// 2.4, 2.10, 18.35-18.36). These are the types Compound forward-declares;
// their mutable fields belong to StateManager, which guards them with its
// table lock, except a session's slot table, which has its own mutex so that
// SEQUENCE and the reply cache do not contend with opens and locks.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "nfs4/state/types.h"

namespace efs::nfs4 {

class Session;

// What CREATE_SESSION answered, kept on the client for a replayed request
// with the same sequence id (RFC 8881 18.36.4, "the CREATE_SESSION reply cache").
struct CreateSessionResult {
  SessionId sessionid{};
  uint32_t sequence = 0;
  uint32_t flags = 0;
  ChannelAttrs fore, back;
};

class Client {
 public:
  uint64_t clientid = 0;
  std::vector<uint8_t> owner_id;  // co_ownerid / nfs_client_id4.id
  Verifier verifier{};            // the client's boot verifier
  Principal principal;            // who established the record
  uint32_t minorversion = 0;
  bool confirmed = false;
  Verifier confirm{};                               // 4.0 SETCLIENTID confirm verifier
  uint32_t cb_program = 0;                          // accepted and kept; no callbacks are ever made
  std::chrono::steady_clock::time_point renewed{};  // last lease renewal
  // 4.1: the CREATE_SESSION slot (RFC 8881 18.36.4).
  uint32_t cs_sequence = 0;  // last processed CREATE_SESSION sequence id
  std::optional<CreateSessionResult> cs_reply;
  bool reclaim_complete = false;
  // True when the owner had a persisted record from before this server boot:
  // only such clients may reclaim during grace.
  bool may_reclaim = false;
  std::set<std::shared_ptr<Session>> sessions;
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

  SessionId id{};
  uint64_t clientid = 0;
  uint32_t flags = 0;
  uint32_t cb_program = 0;
  ChannelAttrs fore, back;

  // The compound loop's limits (RFC 8881 18.36.3, negotiated channel attributes).
  uint32_t max_ops() const { return fore.maxoperations; }
  uint32_t max_request() const { return fore.maxrequestsize; }
  uint32_t max_response() const { return fore.maxresponsesize; }
  uint32_t max_response_cached() const { return fore.maxresponsesize_cached; }

  // Ends the request on `slotid`: keeps `reply` (the whole encoded
  // COMPOUND4res) for a retransmission when it fits maxresponsesize_cached,
  // otherwise remembers that the reply is not cached (a retry then gets
  // NFS4ERR_RETRY_UNCACHED_REP).
  void store_reply(uint32_t slotid, const std::vector<uint8_t>& reply);

  std::mutex mu;  // guards slots and connections
  std::vector<Slot> slots;
  std::set<uint64_t> connections;  // bound connection ids (BIND_CONN_TO_SESSION, RFC 8881 2.10.3.1)
};

}  // namespace efs::nfs4
