// One file system's namespace and data: the implementation of
// vfs::FileSystem. Split by data flow: file_system.cc (reads: getattr,
// lookup, access, readdir, resolve_path, metering), namespace_ops.cc
// (create, mkdir, symlink, mknod, link, remove, rename), data_ops.cc (read,
// write, commit, setattr), open_holds.cc (holds and orphans: open files whose
// last name is gone).
//
// Concurrency: every metadata change runs in one SQLite write transaction
// (group-committed with concurrent ones, each in its own savepoint; the Db
// serializes them), so checks and changes inside one are atomic. UNSTABLE
// writes do not touch SQLite: their new size, mtime, ctime and change live in
// an in-memory overlay (pending_) until COMMIT, a stable write or any other
// change of that inode folds them into its row. Operations that change a
// regular file's row hold that inode's stripe lock, so an overlay is never
// built on a stale row.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "chunk/chunk_store.h"
#include "meta/db.h"
#include "vfs/group_commit.h"
#include "vfs/inode_table.h"
#include "vfs/metadata_cache.h"
#include "vfs/vfs.h"

namespace efs::vfs {

class FileSystemImpl final : public FileSystem,
                             public std::enable_shared_from_this<FileSystemImpl> {
 public:
  FileSystemImpl(meta::Db& db, GroupCommit& commits, chunk::ChunkStore& chunks, std::string id,
                 int64_t num, uint32_t generation, const Clock& clock);

  const std::string& id() const override { return id_; }
  uint64_t fsid() const override { return static_cast<uint64_t>(table_.fs_num()); }
  Ino root() const override { return kRootIno; }

  VResult<Attr> getattr(Ino ino) override;
  VResult<Attr> lookup(const Cred& cred, Ino dir, std::string_view name) override;
  VResult<Attr> lookup_parent(const Cred& cred, Ino dir) override;
  VResult<uint32_t> access(const Cred& cred, Ino ino, uint32_t want) override;
  VResult<CreateResult> create_file(const Cred& cred, Ino dir, std::string_view name,
                                    CreateMode how, const SetAttr& attrs,
                                    uint64_t verifier) override;
  VResult<CreateResult> mkdir(const Cred& cred, Ino dir, std::string_view name,
                              const SetAttr& attrs) override;
  VResult<CreateResult> symlink(const Cred& cred, Ino dir, std::string_view name,
                                std::string_view target, const SetAttr& attrs) override;
  VResult<std::string> readlink(Ino ino) override;
  VResult<CreateResult> mknod(const Cred& cred, Ino dir, std::string_view name, FileType type,
                              const SetAttr& attrs) override;
  VResult<ChangeInfo> link(const Cred& cred, Ino target, Ino dir, std::string_view name) override;
  VResult<ChangeInfo> remove(const Cred& cred, Ino dir, std::string_view name) override;
  VResult<RenameResult> rename(const Cred& cred, Ino src_dir, std::string_view src_name,
                               Ino dst_dir, std::string_view dst_name) override;
  VResult<Attr> setattr(const Cred& cred, Ino ino, const SetAttr& attrs) override;
  VResult<ReadResult> read(Ino ino, uint64_t offset, uint32_t count) override;
  VResult<ReadInto> read_into(Ino ino, uint64_t offset, std::span<uint8_t> dst) override;
  VResult<WriteResult> write(Ino ino, uint64_t offset, std::span<const uint8_t> data,
                             Stability stable, uint32_t writer_uid) override;
  VResult<bool> commit(Ino ino) override;
  VResult<ReaddirResult> readdir(const Cred& cred, Ino dir, uint64_t cookie,
                                 uint32_t max_entries) override;
  VResult<Ino> resolve_path(std::string_view path,
                            const std::optional<CreationInfo>& create) override;
  MeteredSize metered_size() override;
  VResult<std::shared_ptr<OpenHold>> hold(Ino ino) override;
  Status<> flush_access_times() override;
  VResult<std::vector<ClassMove>> run_lifecycle(const LifecyclePolicy& policy,
                                                bool recalls_only) override;
  bool recalls_waiting() override;
  Status<> set_change_log(bool on) override;
  bool change_log_on() const override { return log_changes_.load(std::memory_order_acquire); }
  VResult<ChangeLogRead> read_change_log(uint64_t after) override;
  Status<> trim_change_log(uint64_t upto) override;
  VResult<ReadResult> read_for_copy(Ino ino, uint64_t offset, uint32_t count) override;
  // For Vfs, before the file system is first used: whether its change log
  // is on, and where its sequence continues (change_log.cc).
  Status<> load_change_log();

  // For Vfs: the generation every handle of this file system carries.
  uint32_t generation() const { return generation_; }
  // True if ino exists (handles: stale otherwise).
  VResult<bool> exists(Ino ino);
  // Called when the file system is deleted: every later call gives stale.
  void mark_deleted() { deleted_ = true; }
  bool deleted() const { return deleted_; }
  // Number of holds on ino (tests and logs).
  uint32_t holds_of(Ino ino);
  // The Vfs's cache of namespace rows (metadata_cache.h); set before the
  // file system is first used. Null: every read asks SQLite.
  void attach_cache(MetadataCache* cache) { cache_ = cache; }
  // The data-access gate (Vfs::set_data_access): with a reason, READ, WRITE,
  // COMMIT and truncating SETATTR give io and log it; nullopt opens it.
  void set_data_access(std::optional<std::string> refused_reason);
  // First-byte latencies and the Vfs's recall hook (Vfs::on_recall); set
  // before the file system is first used.
  void set_lifecycle(const LifecycleOptions& options, std::function<void()>* wake) {
    lifecycle_ = options;
    recall_wake_ = wake;
  }

 private:
  // ---- Storage classes (lifecycle_ops.cc) ----
  // A READ or WRITE of ino: resets its lifecycle timer (in memory, see
  // accessed_) and, outside Standard, queues it for a recall. Returns the
  // file's class.
  StorageClass note_access(Ino ino, bool wrote);
  // Sleeps the first-byte latency of cls, if one is configured.
  void first_byte_wait(StorageClass cls) const;
  // Moves one file to `to` (copy, commit, switch, drop: chunk/class_move.cc);
  // nullopt if nothing moved (gone, moved meanwhile, accessed meanwhile, or
  // a failure, logged).
  std::optional<ClassMove> move_file(Ino ino, StorageClass to, bool aging);

  // io (and a rate-limited log line naming op, inode and reason) while the
  // gate is closed; ok otherwise. One atomic load when open.
  Errc check_data_access(const char* op, Ino ino);
  class Hold;
  // The last hold of ino went: frees it if its last name is gone.
  void release(Ino ino);
  // The size, times and change of a regular file after UNSTABLE writes not
  // yet folded into its row.
  struct Pending {
    uint64_t size = 0;
    Time mtime, ctime;
    uint64_t change = 0;
  };

  // One write transaction. Rows of regular files stored through it are
  // remembered so their overlays can be dropped once it commits.
  struct Tx {
    meta::Conn& c;
    std::vector<std::pair<Ino, uint64_t>> stored;
    std::vector<std::pair<Ino, uint64_t>> dropped_data;  // (inode, size): data to drop
  };

  // Locks the stripes of a set of inodes in a fixed order (no deadlock).
  class StripeLock {
   public:
    StripeLock(FileSystemImpl& fs, std::vector<Ino> inos);
    ~StripeLock();
    StripeLock(const StripeLock&) = delete;

   private:
    FileSystemImpl& fs_;
    std::vector<std::size_t> held_;
  };

  // Records n in the change log (store() calls it while the log is on).
  Errc log_change(Tx& tx, Ino ino);
  // read() and read_for_copy(); `noted`: a client's READ (lifecycle timer).
  VResult<ReadResult> read_data(Ino ino, uint64_t offset, uint32_t count, bool noted);
  VResult<ReadInto> read_data_into(Ino ino, uint64_t offset, std::span<uint8_t> dst, bool noted);

  // Called in a write transaction, with n's stripe locked, when the last
  // name of non-directory n goes: erases it, or, if it is a held regular
  // file, keeps it as an orphan (nlink 0, in vfs_orphans) until release().
  Errc unlink_last(Tx& tx, Inode& n, const Time& now);

  // Runs fn in a write transaction; Errc::ok commits, anything else rolls back.
  // `frees_space`: the operation frees space (REMOVE, truncation), so if it
  // fails for lack of space it is retried once with the space reserve given
  // back (docs/full-disk.md).
  // `synced`: the commit acknowledges stable data and is fsynced
  // (GroupCommit::run).
  Errc write_tx(const std::function<Errc(Tx&)>& fn, bool frees_space = false, bool synced = false);
  Errc write_tx_once(const std::function<Errc(Tx&)>& fn, bool synced = false);
  // Runs fn on a reader snapshot.
  Errc read_tx(const std::function<Errc(meta::Conn&)>& fn);

  // Row of ino with its overlay applied; noent/stale if missing.
  Errc load(meta::Conn& c, Ino ino, Inode& out, Errc missing = Errc::stale);
  Errc store(Tx& tx, const Inode& n);
  std::optional<Pending> pending(Ino ino);
  void apply(const std::optional<Pending>& p, Inode& n) const;
  VResult<Inode> get_inode(Ino ino);
  // Committed row of ino, from the cache or SQLite (filling the cache); no
  // overlay. `missing` if there is none. (cached_reads.cc)
  Errc row(Ino ino, Inode& out, Errc missing);
  // row() with the overlay applied (as load(), outside a transaction).
  Errc current(Ino ino, Inode& out, Errc missing);
  bool caching() const { return cache_ && cache_->enabled(); }
  // The inode `name` in `dir` points to now (0: none), a hint taken before
  // a namespace change locks its stripes (namespace_ops.cc).
  Ino peek(Ino dir, std::string_view name);
  VResult<Attr> lookup_uncached(const Cred& cred, Ino dir, std::string_view name);
  VResult<ReaddirResult> readdir_uncached(const Cred& cred, Ino dir, uint64_t cookie,
                                          uint32_t max_entries);

  // Shared by create_file / mkdir / symlink.
  struct NewObject {
    FileType type;
    uint32_t mode;
    std::string target;
    uint64_t verifier = 0;
  };
  Errc make_object(Tx& tx, const Cred& cred, Inode& dir, std::string_view name,
                   const NewObject& obj, const SetAttr& attrs, Inode& out);
  // mkdir / symlink / mknod: the parent checks, `limits`, then make_object.
  VResult<CreateResult> create_entry(const Cred& cred, Ino dir, std::string_view name,
                                     const NewObject& obj, const SetAttr& attrs,
                                     const std::function<Errc(Tx&, Inode&)>& limits = {});
  // Checks + applies attrs to n in tx (setattr rules).
  Errc apply_setattr(Tx& tx, const Cred& cred, Inode& n, const SetAttr& attrs, bool creating);
  // Depth of directory ino below the root (root = 0).
  Errc depth(meta::Conn& c, Ino dir, uint32_t& out);
  // Logs and answers a directory past kMaxDepth.
  Errc too_deep(std::string_view name) const;
  // Levels of directories below dir (0: none), counted up to limit + 1.
  Errc height(meta::Conn& c, Ino dir, uint32_t limit, uint32_t& out);
  // True if `dir` is `ancestor` or lies below it.
  Errc is_within(meta::Conn& c, Ino dir, Ino ancestor, bool& out);
  Errc check_live() const { return deleted_ ? Errc::stale : Errc::ok; }
  // Now, by the clock the Vfs was opened with (hides vfs::now_time()).
  Time now_time() const { return vfs::now_time(clock_); }

  meta::Db& db_;
  GroupCommit& commits_;
  chunk::ChunkStore& chunks_;
  const Clock& clock_;
  std::string id_;
  InodeTable table_;
  uint32_t generation_;
  std::atomic<bool> deleted_{false};

  // The data-access gate: closed while data_refused_ is set.
  std::atomic<bool> data_refused_{false};
  std::mutex refused_mu_;  // guards the three below
  std::string refused_reason_;
  std::chrono::steady_clock::time_point last_refusal_log_{};
  uint64_t refusals_unlogged_ = 0;

  MetadataCache* cache_ = nullptr;

  std::mutex pending_mu_;
  std::unordered_map<Ino, Pending> pending_;
  std::array<std::mutex, 64> stripes_;

  // Lifecycle timers: the emulator-clock time (ms) of each file's last
  // READ or WRITE not yet written to vfs_lifecycle. Kept in memory because
  // a SQLite write per READ would put the single writer (and an fsync per
  // batch) on the read path; flush_access_times() writes them in one
  // transaction every few seconds and before each lifecycle pass. A crash
  // loses at most that window of timer resets (a file may then move a few
  // seconds of idleness early, never lose data).
  // Sharded by inode: every READ and WRITE notes its file here, and one map
  // behind one mutex per file system made 16 readers of different files
  // queue on it.
  struct alignas(64) AccessShard {
    std::mutex mu;
    std::unordered_map<Ino, int64_t> at;
  };
  std::array<AccessShard, 16> accessed_;
  AccessShard& access_shard(Ino ino) { return accessed_[ino % accessed_.size()]; }
  std::mutex access_mu_;  // guards recalls_
  // Files outside Standard that a READ (false) or WRITE (true) touched.
  std::unordered_map<Ino, bool> recalls_;
  LifecycleOptions lifecycle_;
  std::function<void()>* recall_wake_ = nullptr;

  // The change log (change_log.cc): on/off, and the next seq to hand out.
  // Seqs are taken inside write transactions, which run one at a time in
  // commit order, so they grow in commit order.
  std::atomic<bool> log_changes_{false};
  std::atomic<uint64_t> next_change_seq_{1};

  // Open holds per inode, and the held inodes whose last name is gone.
  std::mutex holds_mu_;
  std::unordered_map<Ino, uint32_t> holds_;
  std::unordered_set<Ino> orphans_;
};

// Set-ID bits a change of content or owner clears (Linux should_remove_suid):
// S_ISUID always, S_ISGID only with group-execute (without it the bit means
// mandatory locking, which is kept).
inline uint32_t set_id_bits_to_clear(uint32_t mode) {
  uint32_t kill = mode & 04000u;
  if ((mode & 02010u) == 02010u) kill |= 02000u;
  return kill;
}

// "" -> inval; over 255 bytes -> nametoolong; ".", "..", '/' or NUL -> badname
// (RFC 8881 18.16.4 / 15.1.7: the component name rules Linux nfsd applies).
Errc check_name(std::string_view name);

}  // namespace efs::vfs
