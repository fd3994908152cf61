// SQLite access for every module that stores metadata: API resources (efs/),
// the namespace (vfs/), the chunk map (chunk/), keys (kms/).
//
// One database file in WAL mode. Writes go through one writer connection,
// serialized by a mutex, each inside one transaction; reads use a small pool
// of reader connections that see the last committed state. Statements are
// prepared once per connection and cached by their SQL text.
//
// Each module owns its tables and migrates them itself with ensure_schema():
// the `schema_versions` table records (module, version), so a later
// efs-local can upgrade an older data dir step by step.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cerrno>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "meta/space_reserve.h"

namespace efs::meta {

// The one place SQLite's result codes become errno-style causes (Error::code):
// SQLITE_FULL ("database or disk is full") and any I/O error whose system
// call failed with ENOSPC or EDQUOT are ENOSPC; anything else is 0.
int error_code_of(int sqlite_rc, int system_errno);
// An Error for a failed SQLite call on db, carrying that cause.
Error sqlite_error(sqlite3* db, int sqlite_rc, std::string what);
// True if e says the disk is full.
inline bool is_disk_full(const Error& e) { return e.code == ENOSPC; }

// sqlite3_step calls by every Stmt of the process so far (all connections,
// BEGIN and COMMIT included): tests check that cached paths run none.
uint64_t statement_steps();

class Stmt {
 public:
  // `full_errors`, if given, is incremented each time a step fails because
  // the disk is full (Conn::disk_full_errors()).
  explicit Stmt(sqlite3_stmt* s, uint64_t* full_errors = nullptr)
      : s_(s), full_errors_(full_errors) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  // Parameters are 1-based, as in SQLite.
  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, double v);
  Stmt& bind(int i, std::string_view v);            // TEXT
  Stmt& bind_blob(int i, std::span<const uint8_t> v);  // BLOB
  Stmt& bind_null(int i);
  // Binds each argument in order, starting at parameter 1.
  template <class... A>
  Stmt& bind_all(const A&... a) {
    int i = 0;
    (bind_one(++i, a), ...);
    return *this;
  }

  // Runs one step: true if a row is available, false when done. Errors are
  // returned through error() (and make step() return false).
  bool step();
  // Runs to completion (for statements without rows); false on error.
  bool run();
  // Resets and clears bindings so the statement can be reused.
  void reset();
  const std::string& error() const { return err_; }
  // The errno-style cause of the last error (ENOSPC: disk full), else 0.
  int code() const { return code_; }

  int64_t i64(int col) const;
  double f64(int col) const;
  std::string text(int col) const;
  std::vector<uint8_t> blob(int col) const;
  bool is_null(int col) const;

  sqlite3_stmt* raw() { return s_; }

 private:
  template <class T>
  void bind_one(int i, const T& v) {
    if constexpr (std::is_same_v<T, std::nullopt_t>) bind_null(i);
    else if constexpr (std::is_integral_v<T>) bind(i, static_cast<int64_t>(v));
    else if constexpr (std::is_floating_point_v<T>) bind(i, static_cast<double>(v));
    else bind(i, std::string_view(v));
  }
  sqlite3_stmt* s_;
  uint64_t* full_errors_;
  std::string err_;
  int code_ = 0;
};

// One SQLite connection with a statement cache. Not thread-safe: a Conn is
// used by one thread at a time (Db hands them out).
class Conn {
 public:
  explicit Conn(sqlite3* db) : db_(db) {}
  Conn(const Conn&) = delete;
  ~Conn();

  // Runs SQL without results (may hold several statements).
  Status<> exec(std::string_view sql);
  // A cached prepared statement, reset and ready to bind. Valid until the
  // next call of stmt() with the same SQL on this connection.
  Stmt& stmt(const std::string& sql);
  // Resets every cached statement: a statement left part-way through its
  // rows would otherwise keep a read transaction (and its snapshot) open.
  void reset_all();
  int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }
  std::string errmsg() const { return sqlite3_errmsg(db_); }
  sqlite3* raw() { return db_; }
  // How many statements or exec() calls on this connection failed because
  // the disk is full. A caller whose own error type dropped the cause
  // compares it before and after its work (vfs write transactions do).
  uint64_t disk_full_errors() const { return full_errors_; }

 private:
  sqlite3* db_;
  uint64_t full_errors_ = 0;
  std::unordered_map<std::string, std::unique_ptr<Stmt>> cache_;
};

struct DbOptions {
  int readers = 4;
  // A SpaceReserve file (docs/full-disk.md); empty: none.
  std::string space_reserve;
  uint64_t space_reserve_bytes = 0;  // 0: SpaceReserve's default
};

class Db {
 public:
  // Opens (creating if needed) the database at path, in WAL mode.
  static Result<std::unique_ptr<Db>, Error> open(const std::string& path, int readers = 4);
  // With a space reserve: on a full disk, open first takes
  // kStartupHeadroomBytes from the reserve so SQLite can map its shared
  // memory and recover the WAL, then serves reads; writes fail with
  // ENOSPC-coded errors until space is freed.
  static Result<std::unique_ptr<Db>, Error> open(const std::string& path, const DbOptions& opts);
  ~Db();

  // Runs fn(conn) inside BEGIN IMMEDIATE ... COMMIT on the writer connection.
  // If fn returns an error, the transaction is rolled back and the error
  // returned. Calls are serialized.
  Status<> write(const std::function<Status<>(Conn&)>& fn);
  // write() whose COMMIT is fsynced (synchronous=FULL for this transaction):
  // it, and every transaction committed before it, survives a power loss,
  // not only the process dying. For commits that acknowledge stable data
  // (FILE_SYNC WRITE, COMMIT): docs/crash-consistency.md.
  Status<> write_synced(const std::function<Status<>(Conn&)>& fn);
  // write() for changes that free space (deleting rows of records that are
  // no longer needed): if the disk is full, the space reserve is given back
  // and fn runs once more (docs/full-disk.md).
  Status<> write_freeing(const std::function<Status<>(Conn&)>& fn);
  // Runs fn(conn) on a reader connection (a consistent snapshot inside a
  // read transaction).
  Status<> read(const std::function<Status<>(Conn&)>& fn);

  // Brings module's tables to `migrations.size()`: migrations[i] upgrades
  // version i to i+1. Runs inside one write transaction.
  Status<> ensure_schema(const std::string& module, const std::vector<std::string>& migrations);

  const std::string& path() const { return path_; }
  // WAL checkpoints the background thread completed (on_wal_commit).
  uint64_t background_checkpoints() const { return background_checkpoints_.load(); }
  // Checkpoints the commit hook has asked for (of the thread, or run on the
  // writer itself): once per kWalPagesCheckpointStep pages of WAL growth.
  uint64_t checkpoint_requests() const { return checkpoint_requests_.load(); }

  // For operations that free space (REMOVE, truncation): gives a slice of
  // the space reserve back so a retry of the failed write can append to the
  // WAL. False if there is no reserve or nothing left in it.
  bool release_space_reserve(uint64_t bytes = kSpaceReserveSliceBytes);
  // Re-allocates the space reserve if it is not whole and the disk has room
  // for it; cheap when it is whole. Called after space was freed.
  void restore_space_reserve();
  // The reserve, or null.
  SpaceReserve* space_reserve() { return reserve_.get(); }

 private:
  Status<> write_locked(const std::function<Status<>(Conn&)>& fn);  // write_mu_ held
  Db() = default;
  std::string path_;
  std::unique_ptr<SpaceReserve> reserve_;
  std::atomic<bool> reserve_short_{false};
  std::atomic<int64_t> last_restore_try_ms_{0};
  std::mutex write_mu_;
  std::unique_ptr<Conn> writer_;
  std::mutex read_mu_;
  std::vector<std::unique_ptr<Conn>> idle_readers_;
  int max_readers_ = 4;
  int open_readers_ = 0;
  Result<std::unique_ptr<Conn>, Error> open_conn(bool readonly);

  // WAL checkpoints off the commit path. SQLite's own auto-checkpoint runs
  // inside the COMMIT that takes the WAL past 1000 pages, on the writer: that
  // one operation then copies the WAL into the database and fsyncs both,
  // milliseconds that every namespace change pays a share of in latency
  // (and one client's REMOVE paid it all). Instead the writer's WAL hook
  // wakes a thread with its own connection, which runs PASSIVE checkpoints
  // (never blocking the writer or readers) while commits go on. Should the
  // WAL still grow past kWalPagesWriterCheckpoint (the thread held up, say by
  // a slow disk), the writer checkpoints itself, as SQLite would.
  static int on_wal_commit(void* self, sqlite3* db, const char* name, int pages);
  void checkpoint_loop();
  void stop_checkpointer();
  static constexpr int kWalPagesCheckpoint = 1000;
  static constexpr int kWalPagesWriterCheckpoint = 2000;  // 8 MiB: docs/full-disk.md
  // Between two checkpoints the WAL grows by at least this much. A WAL is
  // only reset (written again from its start) by a writer that finds it
  // wholly copied; under steady writes the thread's copy always ends a few
  // commits behind, so without a step every commit past 1000 pages asked
  // for another checkpoint, two fsyncs each: one per 9 creates, 13 % of the
  // server's CPU in the creates figure (2026-12-03).
  static constexpr int kWalPagesCheckpointStep = 256;
  // The WAL's size when a checkpoint was last asked for (by the hook, which
  // runs on the writer only, under its write lock).
  int ckpt_asked_at_ = 0;
  int writer_ckpt_at_ = 0;
  std::unique_ptr<Conn> checkpointer_conn_;
  std::thread checkpointer_;
  std::mutex ckpt_mu_;
  std::condition_variable ckpt_cv_;
  bool ckpt_wanted_ = false;
  bool ckpt_stop_ = false;
  std::atomic<uint64_t> background_checkpoints_{0};
  std::atomic<uint64_t> checkpoint_requests_{0};
};

}  // namespace efs::meta
