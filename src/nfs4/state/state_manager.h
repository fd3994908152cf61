// All NFSv4 state of one server: client records (4.0 SETCLIENTID, 4.1
// EXCHANGE_ID), sessions, leases, open and lock state, and the grace period
// after a restart. The ops in src/nfs4/ops/ translate wire arguments into the
// calls below; everything here is pure logic over the clock so it is tested
// without the COMPOUND loop.
//
// Thread-safety: one table lock (mu_) guards clients, owners, stateids and
// lock ranges; a session's slot table has its own mutex. No lock is held while
// the ops call vfs, and database writes happen after mu_ is released.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "nfs4/state/open_lock.h"
#include "nfs4/state/session.h"
#include "nfs4/state/types.h"

namespace efs::meta {
class Db;
}
namespace efs::vfs {
class OpenHold;
}

namespace efs::nfs4 {

// Orders byte strings (client owners) by length, then bytes. Used instead of
// std::less<std::vector<uint8_t>>, whose inlined three-way compare GCC 12
// reports as -Wstringop-overread at -O3 (a false positive that broke the
// release build).
struct OwnerLess {
  bool operator()(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) const {
    if (a.size() != b.size()) return a.size() < b.size();
    return !a.empty() && std::memcmp(a.data(), b.data(), a.size()) < 0;
  }
};
using OwnerSet = std::set<std::vector<uint8_t>, OwnerLess>;

// RFC 8881 18.36.4: the smallest fore channel that carries a COMPOUND of one
// SEQUENCE, in bytes, RPC headers included (18.36.3 counts them) with AUTH_NONE
// credential and verifier and an empty tag:
//   call:  RPC call header 24 + credential 8 + verifier 8 + tag, minorversion,
//          op count 12 + opcode 4 + SEQUENCE4args 32 = 88
//   reply: RPC reply header 24 + status, tag, op count 12 + opcode and status 8
//          + SEQUENCE4resok 36 = 80
// Below these CREATE_SESSION answers NFS4ERR_TOOSMALL. (Linux nfsd's
// NFSD_MIN_REQ_HDR_SEQ_SZ / NFSD_MIN_RESP_HDR_SEQ_SZ are 64 each because they
// leave out the leading RPC header words; we count the whole reply, see
// kRpcReplyHeaderSize in compound.h.)
inline constexpr uint32_t kMinForeRequestSize = 24 + 8 + 8 + 12 + 4 + 32;  // 88
inline constexpr uint32_t kMinForeResponseSize = 24 + 12 + 8 + 36;         // 80

struct StateOptions {
  std::chrono::seconds lease_time{90};
  std::chrono::seconds grace_time{90};
  // Fore channel maxima (RFC 8881 18.36.3: the server negotiates down to these).
  // 1 MiB of READ/WRITE data plus headroom for the rest of the COMPOUND.
  uint32_t max_request_size = (1u << 20) + (64u << 10);
  uint32_t max_response_size = (1u << 20) + (64u << 10);
  uint32_t max_response_size_cached = 64u << 10;
  uint32_t max_operations = 64;
  uint32_t max_slots = 64;
  // EFS quota: 512 locks per file.
  std::size_t max_locks_per_file = 512;
};

template <class T>
using SResult = Result<T, Nfs4Stat>;

struct SetClientIdOk {
  uint64_t clientid = 0;
  Verifier confirm{};
};

struct ExchangeIdOk {
  uint64_t clientid = 0;
  uint32_t sequenceid = 0;
  uint32_t flags = 0;
};

struct CreateSessionArgs {
  uint64_t clientid = 0;
  uint32_t sequence = 0;
  uint32_t flags = 0;
  ChannelAttrs fore, back;
  uint32_t cb_program = 0;
};

struct SequenceArgs {
  SessionId sessionid{};
  uint32_t sequenceid = 0;
  uint32_t slotid = 0;
  uint32_t highest_slotid = 0;
  bool cachethis = false;
};

struct SequenceOk {
  uint32_t highest_slotid = 0;
  uint32_t target_highest_slotid = 0;
  uint32_t status_flags = 0;
  std::shared_ptr<Session> session;
  std::shared_ptr<Client> client;
  // Set on a retransmission: the whole cached COMPOUND4res to send again.
  std::optional<std::vector<uint8_t>> replay;
};

// OPEN's state part (RFC 7530 16.16, RFC 8881 18.16).
struct OpenRequest {
  uint32_t minorversion = 0;
  std::shared_ptr<Client> session_client;  // 4.1: from SEQUENCE; 4.0: null
  uint64_t clientid = 0;                   // 4.0: open_owner4.clientid
  std::vector<uint8_t> owner;
  uint32_t seqid = 0;   // 4.0
  uint32_t access = 0;  // share_access without the 4.1 want bits
  uint32_t deny = 0;
  bool reclaim = false;  // CLAIM_PREVIOUS
};

struct OpenStart {
  Nfs4Stat status = Nfs4Stat::ok;
  std::shared_ptr<Client> client;
  std::shared_ptr<StateOwner> owner;
  std::optional<OwnerReply> replay;  // 4.0 retransmission: answer with these bytes
};

struct OpenGranted {
  StateId sid;
  bool confirm = false;  // 4.0: OPEN4_RESULT_CONFIRM (a new open-owner)
};

// The outcome of a stateid-taking op (OPEN_CONFIRM, OPEN_DOWNGRADE, CLOSE,
// LOCK, LOCKU).
struct StateOpResult {
  Nfs4Stat status = Nfs4Stat::ok;
  StateId sid;
  std::optional<LockDenied> denied;  // LOCK: status == denied
  std::optional<OwnerReply> replay;  // 4.0 retransmission
  // 4.0: the owner whose seqid this op consumed; the op records its encoded
  // result with owner_reply() so a retransmission can be answered.
  std::shared_ptr<StateOwner> seqid_owner;
  uint32_t seqid = 0;
};

struct LockRequest {
  uint32_t minorversion = 0;
  std::shared_ptr<Client> session_client;  // 4.1
  bool write = false;
  bool reclaim = false;
  uint64_t offset = 0;
  uint64_t length = 0;
  FileKey file;
  bool new_lock_owner = false;
  // open_to_lock_owner4
  StateId open_sid;
  uint32_t open_seqid = 0;
  uint64_t lo_clientid = 0;
  std::vector<uint8_t> lo_owner;
  // exist_lock_owner4 (lock_seqid is used by both forms)
  StateId lock_sid;
  uint32_t lock_seqid = 0;
};

class StateManager {
 public:
  explicit StateManager(Clock& clock, StateOptions options = {}, meta::Db* db = nullptr);
  ~StateManager();
  StateManager(const StateManager&) = delete;
  StateManager& operator=(const StateManager&) = delete;

  const StateOptions& options() const { return opts_; }
  uint32_t lease_seconds() const { return static_cast<uint32_t>(opts_.lease_time.count()); }
  // server_owner4 / server_scope (RFC 8881 2.5): constant, so a client sees the
  // same server across restarts and reclaims its state.
  static const std::string& server_owner_major();
  static const std::string& server_scope();

  // ---- 4.0 clients (RFC 7530 16.33, 16.34, 16.29) ----
  SResult<SetClientIdOk> setclientid(const Verifier& verifier, std::span<const uint8_t> id,
                                     const Principal& principal, uint32_t cb_program);
  Nfs4Stat setclientid_confirm(uint64_t clientid, const Verifier& confirm,
                               const Principal& principal);
  Nfs4Stat renew(uint64_t clientid);

  // ---- 4.1 clients and sessions (RFC 8881 18.35-18.37, 18.46, 18.34, 18.50, 18.51) ----
  // state_protect_how is state_protect_how4 (0 SP4_NONE, 1 SP4_MACH_CRED, 2 SP4_SSV);
  // only SP4_NONE is served.
  SResult<ExchangeIdOk> exchange_id(const Verifier& verifier, std::span<const uint8_t> id,
                                    uint32_t flags, uint32_t state_protect_how,
                                    const Principal& principal);
  SResult<CreateSessionResult> create_session(const CreateSessionArgs& args,
                                              const Principal& principal, uint64_t connection_id);
  Nfs4Stat destroy_session(const SessionId& id, uint64_t connection_id);
  // Returns the channel_dir_from_server4 granted.
  SResult<uint32_t> bind_conn_to_session(const SessionId& id, uint32_t dir, uint64_t connection_id);
  Nfs4Stat destroy_clientid(uint64_t clientid);
  Nfs4Stat reclaim_complete(Client& client, bool one_fs);
  SResult<SequenceOk> sequence(const SequenceArgs& args, uint64_t connection_id);

  // ---- opens (RFC 7530 16.16-16.20, RFC 8881 18.16-18.20) ----
  // Phase 1, before touching the file: client, owner seqid (4.0), grace and
  // share checks. Phase 2 after vfs found or created the file: the stateid.
  // On failure start.status says why; start.owner may still be set (4.0: the
  // op records its reply with owner_reply() since the seqid was consumed).
  OpenStart open_begin(const OpenRequest& req);
  // `hold` (vfs::FileSystem::hold) keeps the file alive while this open
  // stateid exists; it goes when the open does (CLOSE, expiry, purge).
  SResult<OpenGranted> open_commit(const OpenStart& start, const OpenRequest& req, FileKey file,
                                   std::shared_ptr<vfs::OpenHold> hold = nullptr);
  // 4.0: records the seqid and encoded reply of an owner's op (RFC 7530 9.1.7:
  // the seqid advances except after the errors that say it was never seen).
  void owner_reply(const std::shared_ptr<StateOwner>& owner, uint32_t seqid, Nfs4Stat status,
                   OwnerReply reply);
  StateOpResult open_confirm(const StateId& sid, uint32_t seqid, FileKey file);
  StateOpResult open_downgrade(const StateId& sid, uint32_t seqid, uint32_t access, uint32_t deny,
                               FileKey file, uint32_t minorversion, const Client* session_client);
  StateOpResult close(const StateId& sid, uint32_t seqid, FileKey file, uint32_t minorversion,
                      const Client* session_client);

  // ---- byte-range locks (RFC 7530 16.10-16.12, 16.37) ----
  StateOpResult lock(const LockRequest& req);
  StateOpResult locku(const StateId& sid, uint32_t seqid, bool write, uint64_t offset,
                      uint64_t length, FileKey file, uint32_t minorversion,
                      const Client* session_client);
  // `denied` is filled when the answer is Nfs4Stat::denied.
  Nfs4Stat lockt(uint32_t minorversion, const Client* session_client, uint64_t clientid,
                 std::span<const uint8_t> owner, bool write, uint64_t offset, uint64_t length,
                 FileKey file, LockDenied* denied);
  Nfs4Stat release_lockowner(uint64_t clientid, std::span<const uint8_t> owner);

  // ---- stateids ----
  // READ/WRITE/SETATTR(size) check (RFC 8881 8.2, RFC 7530 9.1.4): special
  // stateids pass (anonymous, READ bypass); open and lock stateids must be
  // this file's, current, and (for writes) opened for writing.
  Nfs4Stat check_io_stateid(const StateId& sid, FileKey file, bool for_write, uint32_t minorversion,
                            const Client* session_client);
  // (ops/check_stateid.cc wraps this for the ops: the 4.1 current stateid
  // and the permission check of special stateids.)
  // True for a stateid handed out by an earlier boot of the server.
  bool is_stale(const StateId& sid) const;
  // TEST_STATEID (RFC 8881 18.48) for one stateid of `client`.
  Nfs4Stat test_stateid(const Client& client, const StateId& sid);
  // FREE_STATEID (RFC 8881 18.38).
  Nfs4Stat free_stateid(const Client& client, const StateId& sid);

  // ---- grace (RFC 8881 8.4.2, RFC 7530 9.6.2) ----
  bool in_grace();

  // ---- housekeeping ----
  // Every second: expires idle clients (their opens, locks and sessions go),
  // ends the grace period when it is over.
  void tick();
  void connection_closed(uint64_t connection_id);

  // Introspection for tests and logs.
  std::size_t client_count();
  std::size_t open_count();
  std::size_t lock_range_count(FileKey file);

 private:
  struct Persist;  // pending database work, done after mu_ is released

  std::shared_ptr<Client> find_client_locked(uint64_t clientid);
  Nfs4Stat client_for_40_locked(uint64_t clientid, std::shared_ptr<Client>* out);
  void renew_locked(Client& c);
  bool lease_expired_locked(const Client& c) const;
  bool client_has_state_locked(const Client& c) const;
  void expire_client_locked(const std::shared_ptr<Client>& c, bool tombstone);
  void drop_client_state_locked(uint64_t clientid);
  uint64_t new_clientid_locked();
  StateId new_stateid_locked(uint64_t clientid);
  bool grace_locked();
  // The grace rules of a locking op (OPEN, LOCK) that obtains new state or
  // reclaims old state: ok, NFS4ERR_GRACE or NFS4ERR_NO_GRACE.
  Nfs4Stat grace_check_locked(const Client& client, uint32_t minorversion, bool reclaim);
  void end_grace_locked(std::vector<std::vector<uint8_t>>* forget);
  void persist_client(const std::vector<uint8_t>& owner_id, uint32_t minorversion);
  void forget_clients(const std::vector<std::vector<uint8_t>>& owner_ids);
  void load_persisted();

  // Stateid lookup shared by the stateid-taking ops (RFC 8881 8.2.2 order:
  // special, stale, unknown, then seqid when check_seqid).
  struct Found {
    std::shared_ptr<OpenState> open;  // an open stateid, or the lock's open
    std::shared_ptr<LockState> lock;  // a lock stateid
    std::shared_ptr<StateOwner> owner;
    StateId* sid = nullptr;  // the stored stateid
    bool closed = false;     // a 4.0 open closed earlier (replay only)
  };
  Nfs4Stat lookup_stateid_locked(const StateId& sid, uint32_t minorversion,
                                 const Client* session_client, bool check_seqid, Found* f);
  static Nfs4Stat seqid_check(const StateId& presented, const StateId& current,
                              uint32_t minorversion);
  Nfs4Stat owner_seqid_locked(StateOwner& owner, uint32_t seqid, bool for_new_owner,
                              std::optional<OwnerReply>* replay);
  // The common start of CLOSE and OPEN_DOWNGRADE: sid must name a live open
  // (not a lock) of `file` with a current seqid; in 4.0 the open-owner's
  // seqid is checked first (a replay answers with the owner's last reply).
  // Sets r.status (and r.replay, r.seqid_owner, r.seqid); true when the op
  // should go on with f.open.
  bool open_stateid_op_locked(const StateId& sid, uint32_t seqid, FileKey file,
                              uint32_t minorversion, const Client* session_client, Found& f,
                              StateOpResult& r);
  void remove_open_locked(const std::shared_ptr<OpenState>& open);
  void remove_lock_state_locked(const std::shared_ptr<LockState>& ls);
  std::shared_ptr<StateOwner> find_owner_locked(bool open_owner, uint64_t clientid,
                                                std::span<const uint8_t> owner);
  std::shared_ptr<StateOwner> get_owner_locked(bool open_owner, uint64_t clientid,
                                               std::span<const uint8_t> owner, bool* created);
  std::optional<LockDenied> conflict_locked(const StateOwner* owner, FileKey file, bool write,
                                            uint64_t first, uint64_t last);
  void unlock_range_locked(const StateOwner* owner, FileKey file, uint64_t first, uint64_t last);
  bool owner_holds_locks_locked(const StateOwner* owner, FileKey file);

  Clock& clock_;
  StateOptions opts_;
  meta::Db* db_;
  uint32_t boot_;  // this server instance (stateid other[0..3], client id high bits)

  std::mutex mu_;
  uint32_t next_client_ = 1;
  uint32_t next_stateid_ = 1;
  uint32_t next_session_ = 1;
  // Client records by client id. A 4.0 callback update keeps an unconfirmed
  // record with the same id as the confirmed one (RFC 7530 16.33.5), hence two maps.
  std::map<uint64_t, std::shared_ptr<Client>> confirmed_, unconfirmed_;
  std::set<uint64_t> expired_;  // 4.0 client ids whose lease expired (NFS4ERR_EXPIRED)
  // 4.0 client ids whose client rebooted (SETCLIENTID_CONFIRM of a new
  // verifier): the ids themselves are STALE_CLIENTID, their stateids EXPIRED.
  std::set<uint64_t> superseded_;
  std::map<SessionId, std::shared_ptr<Session>> sessions_;
  using OwnerKey = std::pair<uint64_t, std::vector<uint8_t>>;
  // By client id first, so one client's owners are adjacent (lower_bound on
  // {clientid, {}} finds them); then by length and bytes.
  struct OwnerLess {
    bool operator()(const OwnerKey& a, const OwnerKey& b) const {
      if (a.first != b.first) return a.first < b.first;
      if (a.second.size() != b.second.size()) return a.second.size() < b.second.size();
      for (std::size_t i = 0; i < a.second.size(); ++i) {
        if (a.second[i] != b.second[i]) return a.second[i] < b.second[i];
      }
      return false;
    }
  };
  std::map<OwnerKey, std::shared_ptr<StateOwner>, OwnerLess> open_owners_, lock_owners_;
  std::map<StateOther, std::shared_ptr<OpenState>> opens_;
  std::map<StateOther, std::shared_ptr<LockState>> lock_states_;
  std::map<FileKey, std::vector<LockRange>> ranges_;
  // Closed 4.0 opens kept so a retransmitted CLOSE is answered from the
  // owner's reply cache (RFC 7530 9.1.9) until the owner's next op.
  std::map<StateOther, std::shared_ptr<OpenState>> closed_;

  // Grace: owners that held state before this boot and have not finished
  // reclaiming (RFC 8881 8.4.2.1).
  bool grace_ = false;
  std::chrono::steady_clock::time_point grace_end_{};
  OwnerSet reclaimable_;    // persisted before this boot
  OwnerSet reestablished_;  // came back during grace
  OwnerSet reclaim_done_;   // sent RECLAIM_COMPLETE
  // Records to delete once mu_ is released (grace ended inside an op).
  std::vector<std::vector<uint8_t>> pending_forget_;
};

}  // namespace efs::nfs4
