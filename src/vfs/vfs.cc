// Vfs: the file systems of one data dir, and the file handles that name
// their inodes.
#include "vfs/vfs.h"

#include <spdlog/spdlog.h>

#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "chunk/chunk_store.h"
#include "common/ids.h"
#include "meta/db.h"
#include "vfs/file_handle.h"
#include "vfs/file_system.h"
#include "vfs/group_commit.h"
#include "vfs/inode_table.h"
#include "vfs/lifecycle_recovery.h"

namespace efs::vfs {

namespace {

class VfsImpl final : public Vfs {
 public:
  VfsImpl(meta::Db& db, std::unique_ptr<chunk::ChunkStore> chunks, const HandleKey& handle_key,
          Clock& clock, Disk& disk, const VfsOptions& options)
      : db_(db),
        clock_(clock),
        commits_(db, &disk),
        lifecycle_(options.lifecycle),
        cache_(options.metadata_cache_entries),
        chunks_(std::move(chunks)),
        verifier_(random_u64()),
        handle_key_(handle_key) {}
  // Holds that outlive the Vfs (open state torn down later) must not touch
  // the database or the chunk store: their orphans are freed at next start.
  ~VfsImpl() override {
    std::lock_guard lk(mu_);
    for (auto& [id, fs] : by_id_) fs->mark_deleted();
  }

  Status<> create_file_system(const std::string& fs_id) override {
    if (!is_id(fs_id, "fs")) return fail(Error{"vfs: not a file system id: " + fs_id});
    return db_.write([&](meta::Conn& c) -> Status<> {
      auto& q = c.stmt("SELECT 1 FROM vfs_file_systems WHERE fs_id = ?");
      q.bind_all(fs_id);
      bool exists = q.step();
      q.reset();
      if (exists) return {};
      auto& ins = c.stmt(
          "INSERT INTO vfs_file_systems(fs_id, generation, next_ino) VALUES (?, ?, ?) "
          "RETURNING num");
      uint32_t gen = static_cast<uint32_t>(random_u64());
      ins.bind_all(fs_id, static_cast<int64_t>(gen), static_cast<int64_t>(kRootIno + 1));
      if (!ins.step()) return fail(Error{"vfs: create " + fs_id + ": " + ins.error()});
      int64_t num = ins.i64(0);
      ins.reset();
      InodeTable t(num);
      Inode root;
      root.ino = kRootIno;
      root.type = FileType::dir;
      root.mode = 0755;
      root.nlink = 2;
      root.atime = root.mtime = root.ctime = root.btime = now_time(clock_);
      root.generation = gen;
      root.parent = kRootIno;
      if (auto s = t.put(c, root); !s) return s;
      spdlog::info("vfs: created namespace of {}", fs_id);
      return {};
    });
  }

  Status<> delete_file_system(const std::string& fs_id) override {
    {
      std::lock_guard lk(mu_);
      auto it = by_id_.find(fs_id);
      if (it != by_id_.end()) {
        it->second->mark_deleted();
        by_id_.erase(it);
      }
    }
    int64_t num = 0;
    auto s = db_.write([&](meta::Conn& c) -> Status<> {
      auto& q = c.stmt("SELECT num FROM vfs_file_systems WHERE fs_id = ?");
      q.bind_all(fs_id);
      if (!q.step()) {
        q.reset();
        return {};
      }
      num = q.i64(0);
      q.reset();
      for (const char* sql :
           {"DELETE FROM vfs_dirents WHERE fs = ?", "DELETE FROM vfs_inodes WHERE fs = ?",
            "DELETE FROM vfs_orphans WHERE fs = ?", "DELETE FROM vfs_lifecycle WHERE fs = ?",
            "DELETE FROM vfs_lifecycle_moves WHERE fs = ?", "DELETE FROM vfs_changes WHERE fs = ?",
            "DELETE FROM vfs_change_logs WHERE fs = ?", "DELETE FROM vfs_replicas WHERE dest = ?",
            "DELETE FROM vfs_replica_inodes WHERE dest = ?",
            "DELETE FROM vfs_file_systems WHERE num = ?"}) {
        auto& d = c.stmt(sql);
        d.bind_all(num);
        if (!d.run()) return fail(Error{"vfs: delete " + fs_id + ": " + d.error()});
      }
      return {};
    });
    if (!s) return s;
    // Numbers are never reused (AUTOINCREMENT): this only gives the memory back.
    if (num) cache_.drop_file_system(num);
    if (auto r = chunks_->remove_file_system(fs_id); !r) {
      return fail(Error{"vfs: delete data of " + fs_id + ": " + r.error().message});
    }
    spdlog::info("vfs: deleted namespace and data of {}", fs_id);
    return {};
  }

  std::shared_ptr<FileSystem> file_system(const std::string& fs_id) override { return find(fs_id); }

  std::vector<uint8_t> make_handle(const FileSystem& fs, Ino ino,
                                   std::span<const uint8_t> binding) override {
    auto& impl = static_cast<const FileSystemImpl&>(fs);
    return encode_handle(HandleFields{fs.id(), ino, impl.generation()}, handle_key_, binding);
  }

  VResult<std::pair<std::shared_ptr<FileSystem>, Ino>> resolve_handle(
      std::span<const uint8_t> handle, std::span<const uint8_t> binding) override {
    // The signature is checked before any lookup (decode_handle).
    auto f = decode_handle(handle, handle_key_, binding);
    if (!f) return fail(f.error());
    auto fs = find(f->fs_id);
    if (!fs || fs->generation() != f->generation) return fail(Errc::stale);
    auto live = fs->exists(f->ino);
    if (!live) return fail(live.error());
    if (!*live) return fail(Errc::stale);
    return std::pair<std::shared_ptr<FileSystem>, Ino>(std::move(fs), f->ino);
  }

  uint64_t write_verifier() const override { return verifier_; }

  std::size_t metadata_cache_size() const override { return cache_.size(); }

  Status<> set_data_key(const std::string& fs_id,
                        std::span<const uint8_t, kDataKeyBytes> key) override {
    static_assert(kDataKeyBytes == chunk::ChunkStore::kDataKeyBytes);
    if (auto r = chunks_->set_data_key(fs_id, key); !r)
      return fail(Error{"vfs: data key of " + fs_id + ": " + r.error().message, r.error().err});
    return {};
  }

  void forget_data_key(const std::string& fs_id) override { chunks_->forget_data_key(fs_id); }

  void set_data_access(const std::string& fs_id,
                       std::optional<std::string> refused_reason) override {
    std::shared_ptr<FileSystemImpl> live;
    {
      std::lock_guard lk(mu_);
      if (refused_reason)
        refused_[fs_id] = *refused_reason;
      else
        refused_.erase(fs_id);
      auto it = by_id_.find(fs_id);
      if (it != by_id_.end()) live = it->second;
    }
    if (live) live->set_data_access(std::move(refused_reason));
  }

  void on_recall(std::function<void()> wake) override { recall_wake_ = std::move(wake); }

 private:
  std::shared_ptr<FileSystemImpl> find(const std::string& fs_id) {
    {
      // Every operation finds its file system here: readers share the lock.
      std::shared_lock rd(mu_);
      auto it = by_id_.find(fs_id);
      if (it != by_id_.end()) return it->second;
    }
    std::lock_guard lk(mu_);
    auto it = by_id_.find(fs_id);
    if (it != by_id_.end()) return it->second;
    int64_t num = 0;
    uint32_t gen = 0;
    bool found = false;
    auto s = db_.read([&](meta::Conn& c) -> Status<> {
      auto& q = c.stmt("SELECT num, generation FROM vfs_file_systems WHERE fs_id = ?");
      q.bind_all(fs_id);
      if (q.step()) {
        found = true;
        num = q.i64(0);
        gen = static_cast<uint32_t>(q.i64(1));
      }
      q.reset();
      return {};
    });
    if (!s || !found) return nullptr;
    auto fs = std::make_shared<FileSystemImpl>(db_, commits_, *chunks_, fs_id, num, gen, clock_);
    fs->attach_cache(&cache_);
    if (auto l = fs->load_change_log(); !l) {
      spdlog::error("vfs: {}: {}", fs_id, l.error().message);
      return nullptr;
    }
    fs->set_lifecycle(lifecycle_, &recall_wake_);
    if (auto r = refused_.find(fs_id); r != refused_.end()) fs->set_data_access(r->second);
    by_id_.emplace(fs_id, fs);
    return fs;
  }

  meta::Db& db_;
  Clock& clock_;
  GroupCommit commits_;
  LifecycleOptions lifecycle_;
  std::function<void()> recall_wake_;  // Vfs::on_recall
  MetadataCache cache_;                // shared by all file systems: one entry budget
  std::unique_ptr<chunk::ChunkStore> chunks_;
  uint64_t verifier_;
  const HandleKey handle_key_;  // signs file handles (file_handle.h)
  std::shared_mutex mu_;        // guards by_id_ and refused_
  std::unordered_map<std::string, std::shared_ptr<FileSystemImpl>> by_id_;
  // Closed data-access gates by file system (set_data_access), also of file
  // systems not opened yet.
  std::unordered_map<std::string, std::string> refused_;
};

}  // namespace

namespace {

// Files that were open when their last name went, and still open when the
// server stopped: no client can reach them now (open state does not survive
// a restart), so their data and rows go. Data first: a crash in between
// leaves the rows, and the next start tries again.
Status<> free_orphans(meta::Db& db, chunk::ChunkStore& chunks) {
  struct Orphan {
    int64_t fs;
    std::string fs_id;
    Ino ino;
    uint64_t size;
  };
  std::vector<Orphan> found;
  auto r = db.read([&](meta::Conn& c) -> Status<> {
    auto& q = c.stmt(
        "SELECT o.fs, f.fs_id, o.ino, COALESCE(i.size, 0) FROM vfs_orphans o"
        " JOIN vfs_file_systems f ON f.num = o.fs"
        " LEFT JOIN vfs_inodes i ON i.fs = o.fs AND i.ino = o.ino");
    while (q.step()) {
      found.push_back(
          Orphan{q.i64(0), q.text(1), static_cast<Ino>(q.i64(2)), static_cast<uint64_t>(q.i64(3))});
    }
    std::string err = q.error();
    q.reset();
    if (!err.empty()) return fail(Error{"vfs: list orphans: " + err});
    return {};
  });
  if (!r) return r;
  if (found.empty()) return {};
  for (const auto& o : found) {
    if (auto d = chunks.remove(o.fs_id, o.ino, o.size); !d) {
      return fail(Error{"vfs: free orphaned inode " + std::to_string(o.ino) + " of " + o.fs_id +
                        ": " + d.error().message});
    }
  }
  auto w = db.write([&](meta::Conn& c) -> Status<> {
    for (const auto& o : found) {
      InodeTable t(o.fs);
      if (auto e = t.erase(c, o.ino); !e) return e;
      if (auto e = t.remove_orphan(c, o.ino); !e) return e;
    }
    return {};
  });
  if (!w) return w;
  spdlog::info("vfs: freed {} file(s) left open and unlinked at the last stop", found.size());
  return {};
}

}  // namespace

Result<std::unique_ptr<Vfs>, Error> Vfs::open(meta::Db& db, const std::string& data_dir,
                                              const VfsOptions& options) {
  return open(db, data_dir, Clock::global(), host_disk(), options);
}

Result<std::unique_ptr<Vfs>, Error> Vfs::open(meta::Db& db, const std::string& data_dir,
                                              Clock& clock, Disk& disk, const VfsOptions& options) {
  if (auto s = db.ensure_schema("vfs", schema_migrations()); !s) return fail(s.error());
  auto chunks = chunk::ChunkStore::open(disk, data_dir);
  if (!chunks) return fail(chunks.error());
  // Before anything reads file data: each file's class, and interrupted
  // moves finished or rolled back (chunk/class_move.cc).
  if (auto s = recover_class_moves(db, **chunks); !s) return fail(s.error());
  // Not fatal: the orphans stay listed and cost only disk until a later start.
  if (auto s = free_orphans(db, **chunks); !s) spdlog::warn("{}", s.error().message);
  auto handle_key = load_or_create_handle_key(data_dir);
  if (!handle_key) return fail(handle_key.error());
  return std::unique_ptr<Vfs>(
      new VfsImpl(db, std::move(*chunks), *handle_key, clock, disk, options));
}

}  // namespace efs::vfs
