#include "meta/db.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace efs::meta {

int error_code_of(int sqlite_rc, int system_errno) {
  if ((sqlite_rc & 0xff) == SQLITE_FULL) return ENOSPC;
  // SQLite reports a failed write of its shared-memory file or a failed
  // fsync as an I/O error; the system call's errno says whether space ran out.
  if ((sqlite_rc & 0xff) == SQLITE_IOERR && (system_errno == ENOSPC || system_errno == EDQUOT))
    return ENOSPC;
  return 0;
}

Error sqlite_error(sqlite3* db, int sqlite_rc, std::string what) {
  int sys = db ? sqlite3_system_errno(db) : 0;
  std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(sqlite_rc);
  return Error{std::move(what) + ": " + msg, error_code_of(sqlite_rc, sys)};
}

Stmt::~Stmt() { sqlite3_finalize(s_); }

Stmt& Stmt::bind(int i, int64_t v) {
  sqlite3_bind_int64(s_, i, v);
  return *this;
}
Stmt& Stmt::bind(int i, double v) {
  sqlite3_bind_double(s_, i, v);
  return *this;
}
Stmt& Stmt::bind(int i, std::string_view v) {
  sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::bind_blob(int i, std::span<const uint8_t> v) {
  sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::bind_null(int i) {
  sqlite3_bind_null(s_, i);
  return *this;
}

namespace {
std::atomic<uint64_t> g_steps{0};
}  // namespace

uint64_t statement_steps() { return g_steps.load(std::memory_order_relaxed); }

bool Stmt::step() {
  g_steps.fetch_add(1, std::memory_order_relaxed);
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) {
    sqlite3* db = sqlite3_db_handle(s_);
    err_ = sqlite3_errmsg(db);
    code_ = error_code_of(rc, sqlite3_system_errno(db));
    if (code_ == ENOSPC && full_errors_) ++*full_errors_;
  }
  return false;
}

bool Stmt::run() {
  err_.clear();
  code_ = 0;
  while (step()) {
  }
  bool ok = err_.empty();
  sqlite3_reset(s_);
  return ok;
}

void Stmt::reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
  err_.clear();
  code_ = 0;
}

int64_t Stmt::i64(int col) const { return sqlite3_column_int64(s_, col); }
double Stmt::f64(int col) const { return sqlite3_column_double(s_, col); }
std::string Stmt::text(int col) const {
  auto p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
  return p ? std::string(p, sqlite3_column_bytes(s_, col)) : std::string();
}
std::vector<uint8_t> Stmt::blob(int col) const {
  auto p = static_cast<const uint8_t*>(sqlite3_column_blob(s_, col));
  int n = sqlite3_column_bytes(s_, col);
  return p ? std::vector<uint8_t>(p, p + n) : std::vector<uint8_t>();
}
bool Stmt::is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }

Conn::~Conn() {
  cache_.clear();
  sqlite3_close_v2(db_);
}

Status<> Conn::exec(std::string_view sql) {
  char* err = nullptr;
  std::string s(sql);
  if (int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err); rc != SQLITE_OK) {
    std::string msg = err ? err : "sqlite error";
    sqlite3_free(err);
    int code = error_code_of(rc, sqlite3_system_errno(db_));
    if (code == ENOSPC) ++full_errors_;
    return fail(Error{msg, code});
  }
  return {};
}

Stmt& Conn::stmt(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    it->second->reset();
    return *it->second;
  }
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &s, nullptr) != SQLITE_OK) {
    // A bad SQL string is a programming error; make it loud.
    spdlog::critical("sqlite prepare failed: {}: {}", sqlite3_errmsg(db_), sql);
    std::abort();
  }
  auto [ins, _] = cache_.emplace(sql, std::make_unique<Stmt>(s, &full_errors_));
  return *ins->second;
}

void Conn::reset_all() {
  for (auto& [sql, st] : cache_) sqlite3_reset(st->raw());
}

Result<std::unique_ptr<Conn>, Error> Db::open_conn(bool readonly) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_NOMUTEX | (readonly ? SQLITE_OPEN_READONLY
                                              : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  if (int rc = sqlite3_open_v2(path_.c_str(), &db, flags, nullptr); rc != SQLITE_OK) {
    Error e = sqlite_error(db, rc, "open " + path_);
    sqlite3_close_v2(db);
    return fail(std::move(e));
  }
  sqlite3_busy_timeout(db, 10000);
  auto c = std::make_unique<Conn>(db);
  if (!readonly) {
    // WAL with synchronous=NORMAL: a committed transaction is in the WAL
    // file (the kernel's page cache) before we answer, so it survives the
    // process dying at any point (kill -9), which is the durability promise
    // efs-local makes for metadata; it may be lost if the whole machine loses
    // power before the next checkpoint, like the metadata of a kernel file
    // system between journal commits (what nfs-ganesha's VFS export relies
    // on). File data acknowledged as stable (FILE_SYNC, COMMIT) is fsynced,
    // and so is the commit that records it (write_synced), which makes every
    // earlier transaction durable too. docs/crash-consistency.md.
    auto s = c->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
    if (!s) return fail(s.error());
  }
  return c;
}

Result<std::unique_ptr<Db>, Error> Db::open(const std::string& path, int readers) {
  DbOptions o;
  o.readers = readers;
  return open(path, o);
}

Result<std::unique_ptr<Db>, Error> Db::open(const std::string& path, const DbOptions& opts) {
  std::unique_ptr<Db> d(new Db());
  d->path_ = path;
  d->max_readers_ = opts.readers;
  if (!opts.space_reserve.empty()) {
    d->reserve_ = std::make_unique<SpaceReserve>(opts.space_reserve, opts.space_reserve_bytes);
    auto avail = d->reserve_->free_bytes();
    if (avail && *avail < kStartupHeadroomBytes) {
      // Opening a WAL database maps a 32 KiB shared-memory file and may
      // replay the WAL: take that room from the reserve, keep the rest for
      // the REMOVEs that will free space.
      uint64_t got = d->reserve_->release(kStartupHeadroomBytes);
      d->reserve_short_ = true;
      spdlog::warn(
          "the disk of {} is full ({} bytes free; {} taken from the space reserve): reads are "
          "served, every change fails with NFS4ERR_NOSPC / InternalServerError until space is "
          "freed (deleting files works)",
          path, *avail, got);
    }
  }
  auto w = d->open_conn(false);
  if (!w) return fail(w.error());
  d->writer_ = std::move(*w);
  // Checkpoints on a thread of their own (on_wal_commit); without that
  // connection (cannot open it), SQLite's auto-checkpoint stays on.
  if (auto ck = d->open_conn(false)) {
    d->checkpointer_conn_ = std::move(*ck);
    sqlite3_wal_hook(d->writer_->raw(), &Db::on_wal_commit, d.get());
    d->checkpointer_ = std::thread([db = d.get()] { db->checkpoint_loop(); });
  } else {
    spdlog::warn("db: no checkpoint connection for {} ({}): checkpoints run on commits",
                 path, ck.error().message);
  }
  // IF NOT EXISTS: an existing data dir is opened without writing, so a
  // start-up on a full disk gets this far.
  auto s = d->writer_->exec(
      "CREATE TABLE IF NOT EXISTS schema_versions(module TEXT PRIMARY KEY, version INTEGER NOT "
      "NULL)");
  if (!s) return fail(s.error());
  if (d->reserve_ && !d->reserve_->restore()) {
    d->reserve_short_ = true;
    auto avail = d->reserve_->free_bytes();
    spdlog::warn(
        "space reserve {}: only {} of {} bytes held ({} bytes free on its disk); it is "
        "completed once space is freed",
        d->reserve_->path(), d->reserve_->held(), d->reserve_->target(), avail ? *avail : 0);
  }
  return d;
}

bool Db::release_space_reserve(uint64_t bytes) {
  if (!reserve_) return false;
  uint64_t got = reserve_->release(bytes);
  if (got == 0) return false;
  reserve_short_ = true;
  return true;
}

void Db::restore_space_reserve() {
  if (!reserve_ || !reserve_short_.load()) return;
  if (reserve_->restore()) reserve_short_ = false;
}

Db::~Db() {
  stop_checkpointer();
  idle_readers_.clear();
  writer_.reset();
}

int Db::on_wal_commit(void* self, sqlite3* db, const char* name, int pages) {
  auto* d = static_cast<Db*>(self);
  if (pages < kWalPagesCheckpoint) {
    // Below the threshold (the WAL was reset, or is still short): the next
    // time past it asks at once.
    d->ckpt_asked_at_ = d->writer_ckpt_at_ = 0;
    return SQLITE_OK;
  }
  // Once per kWalPagesCheckpointStep pages of growth; a smaller WAL than
  // last time was reset meanwhile, and counts from its new start.
  auto due = [d, pages](int& at, int threshold) {
    if (pages < threshold) return false;
    if (at != 0 && pages >= at && pages - at < kWalPagesCheckpointStep) return false;
    at = pages;
    d->checkpoint_requests_.fetch_add(1, std::memory_order_relaxed);
    return true;
  };
  if (pages >= kWalPagesWriterCheckpoint) {
    // The checkpointer is far behind, or its copies always end a few commits
    // short of the WAL's end: copy here, with no write in flight, so that the
    // next transaction finds the WAL wholly copied and starts it over.
    if (due(d->writer_ckpt_at_, kWalPagesWriterCheckpoint))
      (void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return SQLITE_OK;
  }
  if (due(d->ckpt_asked_at_, kWalPagesCheckpoint)) {
    {
      std::lock_guard lk(d->ckpt_mu_);
      if (d->ckpt_wanted_) return SQLITE_OK;
      d->ckpt_wanted_ = true;
    }
    d->ckpt_cv_.notify_one();
  }
  return SQLITE_OK;
}

void Db::checkpoint_loop() {
  std::unique_lock lk(ckpt_mu_);
  for (;;) {
    ckpt_cv_.wait(lk, [&] { return ckpt_wanted_ || ckpt_stop_; });
    if (ckpt_stop_) return;
    lk.unlock();
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(checkpointer_conn_->raw(), nullptr,
                                       SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc == SQLITE_OK) background_checkpoints_.fetch_add(1);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      // A full disk, say: the WAL keeps the data; the next commit past the
      // threshold asks again.
      spdlog::warn("db: checkpoint of {} failed: {}", path_,
                   sqlite3_errmsg(checkpointer_conn_->raw()));
    }
    lk.lock();
    // Commits during the run did not ask again (the flag was set). If the
    // WAL could not be emptied (a reader still uses its end), the next
    // commit finds it still past the threshold and asks once more, as
    // SQLite's auto-checkpoint retries on every commit.
    ckpt_wanted_ = false;
  }
}

void Db::stop_checkpointer() {
  if (!checkpointer_.joinable()) return;
  {
    std::lock_guard lk(ckpt_mu_);
    ckpt_stop_ = true;
  }
  ckpt_cv_.notify_one();
  checkpointer_.join();
  if (writer_) sqlite3_wal_hook(writer_->raw(), nullptr, nullptr);
  checkpointer_conn_.reset();
}

Status<> Db::write(const std::function<Status<>(Conn&)>& fn) {
  std::lock_guard lk(write_mu_);
  return write_locked(fn);
}

Status<> Db::write_synced(const std::function<Status<>(Conn&)>& fn) {
  std::lock_guard lk(write_mu_);
  // SQLite refuses to change the safety level inside a transaction: set it
  // around this one. FULL makes COMMIT fsync the WAL.
  if (auto& full = writer_->stmt("PRAGMA synchronous=FULL"); !full.run())
    return fail(Error{full.error(), full.code()});
  auto r = write_locked(fn);
  if (auto& normal = writer_->stmt("PRAGMA synchronous=NORMAL"); !normal.run())
    spdlog::error("db: cannot go back to synchronous=NORMAL: {}", normal.error());
  return r;
}

Status<> Db::write_locked(const std::function<Status<>(Conn&)>& fn) {
  // BEGIN/COMMIT go through cached statements: sqlite3_exec would parse
  // them again on every transaction of the hot path.
  if (auto& b = writer_->stmt("BEGIN IMMEDIATE"); !b.run())
    return fail(Error{b.error(), b.code()});
  auto r = fn(*writer_);
  writer_->reset_all();
  if (!r) {
    (void)writer_->exec("ROLLBACK");
    return r;
  }
  if (auto& cm = writer_->stmt("COMMIT"); !cm.run()) {
    // SQLITE_FULL at COMMIT leaves the transaction open: roll it back so the
    // next one starts clean. The error keeps its cause (ENOSPC).
    Error why{cm.error(), cm.code()};
    (void)writer_->exec("ROLLBACK");
    return fail(std::move(why));
  }
  if (reserve_short_.load()) {
    // Space may have been freed outside the vfs (on the host): look at most
    // once a second.
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
                   .count();
    auto last = last_restore_try_ms_.load();
    if (now - last >= 1000 && last_restore_try_ms_.compare_exchange_strong(last, now))
      restore_space_reserve();
  }
  return {};
}

Status<> Db::write_freeing(const std::function<Status<>(Conn&)>& fn) {
  auto once = [&] {
    return write([&](Conn& c) -> Status<> {
      const uint64_t full_before = c.disk_full_errors();
      auto r = fn(c);
      // fn's own error may have dropped the cause: the connection kept it.
      if (!r && r.error().code == 0 && c.disk_full_errors() != full_before)
        return fail(Error{r.error().message, ENOSPC});
      return r;
    });
  };
  auto s = once();
  bool released = false;
  while (!s && is_disk_full(s.error()) && release_space_reserve()) {
    spdlog::warn("meta: disk full; retrying a change that frees space with the space reserve");
    released = true;
    s = once();
  }
  if (released) restore_space_reserve();
  return s;
}

Status<> Db::read(const std::function<Status<>(Conn&)>& fn) {
  std::unique_ptr<Conn> c;
  {
    std::lock_guard lk(read_mu_);
    if (!idle_readers_.empty()) {
      c = std::move(idle_readers_.back());
      idle_readers_.pop_back();
    }
  }
  if (!c) {
    auto o = open_conn(true);
    if (!o) return fail(o.error());
    c = std::move(*o);
  }
  Status<> r = fail(Error{"read transaction failed"});
  if (c->stmt("BEGIN").run()) {
    r = fn(*c);
    c->reset_all();
    (void)c->stmt("COMMIT").run();
  }
  std::lock_guard lk(read_mu_);
  if (static_cast<int>(idle_readers_.size()) < max_readers_) idle_readers_.push_back(std::move(c));
  return r;
}

Status<> Db::ensure_schema(const std::string& module, const std::vector<std::string>& migrations) {
  return write([&](Conn& c) -> Status<> {
    auto& q = c.stmt("SELECT version FROM schema_versions WHERE module = ?");
    q.bind(1, module);
    int64_t have = q.step() ? q.i64(0) : 0;
    q.reset();
    if (have > static_cast<int64_t>(migrations.size()))
      return fail(Error{"data dir has " + module + " schema version " + std::to_string(have) +
                        ", newer than this efs-local knows (" +
                        std::to_string(migrations.size()) + ")"});
    for (auto v = have; v < static_cast<int64_t>(migrations.size()); ++v) {
      if (auto s = c.exec(migrations[v]); !s)
        return fail(Error{module + " migration " + std::to_string(v + 1) + ": " + s.error().message,
                          s.error().code});
    }
    // Up to date: write nothing, so a start-up on a full disk passes here.
    if (have == static_cast<int64_t>(migrations.size())) return {};
    auto& u = c.stmt("INSERT OR REPLACE INTO schema_versions(module, version) VALUES(?, ?)");
    u.bind(1, module).bind(2, static_cast<int64_t>(migrations.size()));
    if (!u.run()) return fail(Error{u.error(), u.code()});
    return {};
  });
}

}  // namespace efs::meta
