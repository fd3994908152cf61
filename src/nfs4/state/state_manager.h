// All NFSv4 state of one server: client records (4.0 SETCLIENTID, 4.1
// EXCHANGE_ID), sessions, leases, open and lock state, and the grace period
// after a restart. The ops in src/nfs4/ops/ pass the generated wire types
// (src/xdr/nfs4.x) to the calls below; everything here is pure logic over
// the clock so it is tested without the COMPOUND loop.
//
// Thread-safety: no lock is global to NFS state. State is cut along RFC
// 8881's concepts, each with its own lock:
//   clients_mu_   (shared_mutex) the client table: confirmed/unconfirmed
//                 records, expired and superseded client ids, the id counter.
//                 Shared for lookups, exclusive to add, confirm or drop a record.
//   Client::mu    one client record: its CREATE_SESSION slot, its sessions,
//                 its open-owners and lock-owners (their seqids and replies).
//   sessions_mu_  (shared_mutex) the session id -> session map. SEQUENCE takes
//                 it shared only to find its session, then the session's own
//                 mutex: SEQUENCEs of different clients never wait on each other.
//   FileShard::mu one of kFileShards shards of open and lock state, chosen by
//                 the file (shard_of); a stateid names its shard in other[8].
//                 READ/WRITE stateid checks take only this lock.
//   Session::mu   one session's slot table and bound connections.
//   grace_mu_     the grace period's owner sets (taken only during grace).
//   Client leases are atomics (Client::renewed_ns): renewing takes no lock.
//
// Lock order (a lock may be taken while holding only locks above it):
//   clients_mu_ -> Client::mu -> sessions_mu_ -> FileShard::mu
// At most one Client::mu and one FileShard::mu are held at a time (client
// expiry visits a client's shards one after the other). Session::mu and
// grace_mu_ are leaves: nothing is locked while one is held. Nobody takes
// clients_mu_ while holding a Client::mu, nor a Client::mu under a shard lock.
// No lock is held while the ops call vfs, and database writes (client
// records) happen after every lock is released.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "nfs4/state/open_lock.h"
#include "nfs4/state/session.h"
#include "nfs4/state/stateid.h"

namespace efs::meta {
class Db;
}
namespace efs::vfs {
class OpenHold;
}

namespace efs::nfs4 {

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
using SResult = Result<T, nfsstat4>;

struct SequenceOk {
  SEQUENCE4resok resok;
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
  nfsstat4 status = NFS4_OK;
  std::shared_ptr<Client> client;
  std::shared_ptr<StateOwner> owner;
  std::optional<OwnerReply> replay;  // 4.0 retransmission: answer with these bytes
};

struct OpenGranted {
  stateid4 sid;
  bool confirm = false;  // 4.0: OPEN4_RESULT_CONFIRM (a new open-owner)
};

// The outcome of a stateid-taking op (OPEN_CONFIRM, OPEN_DOWNGRADE, CLOSE,
// LOCK, LOCKU).
struct StateOpResult {
  nfsstat4 status = NFS4_OK;
  stateid4 sid;
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
  stateid4 open_sid;
  uint32_t open_seqid = 0;
  uint64_t lo_clientid = 0;
  std::vector<uint8_t> lo_owner;
  // exist_lock_owner4 (lock_seqid is used by both forms)
  stateid4 lock_sid;
  uint32_t lock_seqid = 0;
};

class StateManager {
 public:
  // Open and lock state is cut into this many file shards (other[8] is one byte).
  static constexpr uint32_t kFileShards = 64;
  static uint32_t shard_of(FileKey file);

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
  // Fills clientid and setclientid_confirm.
  SResult<SETCLIENTID4resok> setclientid(const verifier4& verifier, std::span<const uint8_t> id,
                                         const Principal& principal, uint32_t cb_program);
  nfsstat4 setclientid_confirm(uint64_t clientid, const verifier4& confirm,
                               const Principal& principal);
  nfsstat4 renew(uint64_t clientid);

  // ---- 4.1 clients and sessions (RFC 8881 18.35-18.37, 18.46, 18.34, 18.50, 18.51) ----
  // state_protect_how is state_protect_how4 (0 SP4_NONE, 1 SP4_MACH_CRED, 2 SP4_SSV);
  // only SP4_NONE is served. Fills eir_clientid, eir_sequenceid and eir_flags
  // (the op adds the server's owner, scope and implementation id).
  SResult<EXCHANGE_ID4resok> exchange_id(const verifier4& verifier, std::span<const uint8_t> id,
                                         uint32_t flags, uint32_t state_protect_how,
                                         const Principal& principal);
  SResult<CREATE_SESSION4resok> create_session(const CREATE_SESSION4args& args,
                                               const Principal& principal, uint64_t connection_id);
  nfsstat4 destroy_session(const sessionid4& id, uint64_t connection_id);
  SResult<channel_dir_from_server4> bind_conn_to_session(const sessionid4& id,
                                                         channel_dir_from_client4 dir,
                                                         uint64_t connection_id);
  nfsstat4 destroy_clientid(uint64_t clientid);
  nfsstat4 reclaim_complete(Client& client, bool one_fs);
  SResult<SequenceOk> sequence(const SEQUENCE4args& args, uint64_t connection_id);

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
  void owner_reply(const std::shared_ptr<StateOwner>& owner, uint32_t seqid, nfsstat4 status,
                   OwnerReply reply);
  StateOpResult open_confirm(const stateid4& sid, uint32_t seqid, FileKey file);
  StateOpResult open_downgrade(const stateid4& sid, uint32_t seqid, uint32_t access, uint32_t deny,
                               FileKey file, uint32_t minorversion, Client* session_client);
  StateOpResult close(const stateid4& sid, uint32_t seqid, FileKey file, uint32_t minorversion,
                      Client* session_client);

  // ---- byte-range locks (RFC 7530 16.10-16.12, 16.37) ----
  StateOpResult lock(const LockRequest& req);
  StateOpResult locku(const stateid4& sid, uint32_t seqid, bool write, uint64_t offset,
                      uint64_t length, FileKey file, uint32_t minorversion, Client* session_client);
  // `denied` is filled when the answer is NFS4ERR_DENIED.
  nfsstat4 lockt(uint32_t minorversion, Client* session_client, uint64_t clientid,
                 std::span<const uint8_t> owner, bool write, uint64_t offset, uint64_t length,
                 FileKey file, LockDenied* denied);
  nfsstat4 release_lockowner(uint64_t clientid, std::span<const uint8_t> owner);

  // ---- stateids ----
  // READ/WRITE/SETATTR(size) check (RFC 8881 8.2, RFC 7530 9.1.4): special
  // stateids pass (anonymous, READ bypass); open and lock stateids must be
  // this file's, current, and (for writes) opened for writing. Takes only
  // the file's shard lock (and the client table, shared, on the error path
  // that tells EXPIRED from BAD_STATEID).
  nfsstat4 check_io_stateid(const stateid4& sid, FileKey file, bool for_write,
                            uint32_t minorversion, Client* session_client);
  // (ops/check_stateid.cc wraps this for the ops: the 4.1 current stateid
  // and the permission check of special stateids.)
  // True for a stateid handed out by an earlier boot of the server.
  bool is_stale(const stateid4& sid) const;
  // TEST_STATEID (RFC 8881 18.48) for one stateid of `client`.
  nfsstat4 test_stateid(Client& client, const stateid4& sid);
  // FREE_STATEID (RFC 8881 18.38).
  nfsstat4 free_stateid(Client& client, const stateid4& sid);

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
  // Cross-checks the client table, the owners and the file shards (every
  // open and lock in a shard belongs to a live owner that lists it, and back;
  // no two owners hold conflicting ranges). Returns "" when consistent, else
  // what is wrong. Takes the locks in the documented order.
  std::string audit();
  // Test hooks: run fn while this thread holds one client's record lock, or
  // one file's shard lock, to show which operations do not need it.
  // hold_client_lock_for_test is false (fn not run) for an unknown client id.
  bool hold_client_lock_for_test(uint64_t clientid, const std::function<void()>& fn);
  void hold_file_shard_for_test(FileKey file, const std::function<void()>& fn);

 private:
  // Where a stateid-taking op found its state; the locks it holds for it.
  struct Found {
    std::shared_ptr<Client> keep;  // keeps `client` alive (4.0 lookup)
    Client* client = nullptr;
    std::unique_lock<std::mutex> client_lk;  // client->mu
    FileShard* shard = nullptr;
    std::unique_lock<std::mutex> shard_lk;  // shard->mu
    std::shared_ptr<OpenState> open;        // an open stateid, or the lock's open
    std::shared_ptr<LockState> lock;        // a lock stateid
    std::shared_ptr<StateOwner> owner;
    stateid4* sid = nullptr;  // the stored stateid
    bool closed = false;      // a 4.0 open closed earlier (replay only)
    bool missing = false;     // not in its shard
  };

  // The client table (clients_mu_ held, shared or exclusive).
  std::shared_ptr<Client> find_client_locked(uint64_t clientid);
  // RENEW, OPEN, LOCKT, RELEASE_LOCKOWNER of 4.0: the confirmed client named
  // by a client id, renewed. Takes clients_mu_ shared.
  nfsstat4 client_for_40(uint64_t clientid, std::shared_ptr<Client>* out);
  void renew(Client& c) { c.renew(clock_.steady_now()); }
  bool lease_expired(const Client& c) const;
  // clients_mu_ exclusive held; takes c's lock, then its shards one by one.
  bool client_has_state_locked(Client& c);
  void expire_client_locked(const std::shared_ptr<Client>& c, bool tombstone);
  uint64_t new_clientid_locked();
  // The client whose state a stateid names (RFC 8881 8.2.2 order: special,
  // stale, client, then the state itself); locks it, then the shard, and
  // finds the state. Returns with f's locks held.
  nfsstat4 lookup_stateid(const stateid4& sid, uint32_t minorversion, Client* session_client,
                          bool check_seqid, Found* f);
  // The checks of a stateid before its state is looked at: special, stale,
  // a shard that exists, (4.1) the session's client. Sets *clientid.
  nfsstat4 precheck_stateid(const stateid4& sid, uint32_t minorversion,
                            const Client* session_client, uint64_t* clientid) const;
  // The shard part of a lookup (shard lock held).
  nfsstat4 find_in_shard_locked(FileShard& shard, const stateid4& sid, uint32_t minorversion,
                                bool check_seqid, Found* f);
  // A stateid not in its shard: EXPIRED for a 4.0 client whose lease ended
  // or that rebooted, else BAD_STATEID. Takes clients_mu_ shared.
  nfsstat4 missing_stateid_status(const stateid4& sid, uint32_t minorversion);
  stateid4 new_stateid_locked(FileShard& shard, uint64_t clientid);
  FileShard& shard_for(FileKey file) { return shards_[shard_of(file)]; }

  // Grace (grace_mu_ is a leaf).
  bool grace_now();
  // The grace rules of a locking op (OPEN, LOCK) that obtains new state or
  // reclaims old state: ok, NFS4ERR_GRACE or NFS4ERR_NO_GRACE. client.mu held.
  nfsstat4 grace_check_locked(const Client& client, uint32_t minorversion, bool reclaim);
  // A record being confirmed: may it reclaim? (notes it as come back.)
  bool note_reestablished(const std::vector<uint8_t>& owner_id);
  void end_grace_locked(std::vector<std::vector<uint8_t>>* forget);  // grace_mu_ held
  void persist_client(const std::vector<uint8_t>& owner_id, uint32_t minorversion);
  void forget_clients(const std::vector<std::vector<uint8_t>>& owner_ids);
  void load_persisted();

  static nfsstat4 seqid_check(const stateid4& presented, const stateid4& current,
                              uint32_t minorversion);
  // Client lock held.
  nfsstat4 owner_seqid_locked(StateOwner& owner, uint32_t seqid, std::optional<OwnerReply>* replay);
  // The common start of CLOSE and OPEN_DOWNGRADE: sid must name a live open
  // (not a lock) of `file` with a current seqid; in 4.0 the open-owner's
  // seqid is checked first (a replay answers with the owner's last reply).
  // Sets r.status (and r.replay, r.seqid_owner, r.seqid); true when the op
  // should go on with f.open (f's locks held).
  bool open_stateid_op(const stateid4& sid, uint32_t seqid, FileKey file, uint32_t minorversion,
                       Client* session_client, Found& f, StateOpResult& r);
  // Client lock and the state's shard lock held.
  void remove_open_locked(FileShard& shard, const std::shared_ptr<OpenState>& open);
  void remove_lock_state_locked(FileShard& shard, const std::shared_ptr<LockState>& ls);
  // Drops all of a client's owners and their state (client lock held; takes
  // the shards one at a time).
  void drop_client_state_locked(Client& c);
  // Client lock held.
  std::shared_ptr<StateOwner> get_owner_locked(Client& c, bool open_owner,
                                               std::span<const uint8_t> owner, bool* created);
  // Shard lock held.
  static std::optional<LockDenied> conflict_locked(FileShard& shard, const StateOwner* owner,
                                                   FileKey file, bool write, uint64_t first,
                                                   uint64_t last);
  static void unlock_range_locked(FileShard& shard, const StateOwner* owner, FileKey file,
                                  uint64_t first, uint64_t last);
  static bool owner_holds_locks_locked(FileShard& shard, const StateOwner* owner, FileKey file);

  Clock& clock_;
  StateOptions opts_;
  meta::Db* db_;
  uint32_t boot_;  // this server instance (stateid other[0..3], client id high bits)

  // ---- the client table (clients_mu_) ----
  std::shared_mutex clients_mu_;
  uint32_t next_client_ = 1;
  // Client records by client id. A 4.0 callback update keeps an unconfirmed
  // record with the same id as the confirmed one (RFC 7530 16.33.5), hence two maps.
  std::map<uint64_t, std::shared_ptr<Client>> confirmed_, unconfirmed_;
  std::set<uint64_t> expired_;  // 4.0 client ids whose lease expired (NFS4ERR_EXPIRED)
  // 4.0 client ids whose client rebooted (SETCLIENTID_CONFIRM of a new
  // verifier): the ids themselves are STALE_CLIENTID, their stateids EXPIRED.
  std::set<uint64_t> superseded_;

  // ---- sessions (sessions_mu_) ----
  std::shared_mutex sessions_mu_;
  std::map<sessionid4, std::shared_ptr<Session>> sessions_;
  std::atomic<uint32_t> next_session_{1};

  // ---- open and lock state ----
  FileShard shards_[kFileShards];

  // ---- grace (grace_mu_) ----
  // Owners that held state before this boot and have not finished
  // reclaiming (RFC 8881 8.4.2.1). grace_ is read without the lock first:
  // outside a grace period OPEN and LOCK take no shared lock for it.
  std::mutex grace_mu_;
  std::atomic<bool> grace_{false};
  std::chrono::steady_clock::time_point grace_end_{};
  OwnerSet reclaimable_;    // persisted before this boot
  OwnerSet reestablished_;  // came back during grace
  OwnerSet reclaim_done_;   // sent RECLAIM_COMPLETE
  // Records to delete once no lock is held (grace ended inside an op).
  std::vector<std::vector<uint8_t>> pending_forget_;
};

}  // namespace efs::nfs4
