// One sync of a replication pair (replica_sync.h). A pass runs in phases,
// so that nothing the destination still needs is dropped early:
//  1. directories: each changed source directory (all of them in a first
//     sync) is compared with its copy. Missing entries are linked to the
//     mapped inode (a hard link or a rename on the source), moved there (a
//     renamed directory) or copied anew (new objects; a new directory's
//     whole subtree). A destination entry in the way is renamed aside, not
//     removed, so a later entry of the pass may still link it.
//  2. files: each changed file whose change attribute moved since its last
//     copy gets its data and attributes again.
//  3. removals: destination entries with no source entry (and those moved
//     aside) go, whole subtrees at once.
//  4. directory attributes, last, as every change inside a directory moves
//     its mtime.
// The map (source inode -> destination inode and the source's change
// attribute when it was copied) is written in batches after the copies it
// describes are durable; the position in the change log moves only after
// the last batch.
#include "vfs/replica_sync.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "vfs/inode_table.h"

namespace efs::vfs {

namespace {

constexpr uint32_t kCopyBytes = 1u << 20;
constexpr uint32_t kListBatch = 1024;
constexpr std::size_t kMapBatch = 512;
// Prefix of a destination entry moved out of the way during a pass.
constexpr std::string_view kAsidePrefix = ".efs-local-replica-aside-";

std::string errc_name(Errc e) {
  return "nfsstat4 " + std::to_string(static_cast<uint32_t>(e));
}

// Before each commit of our own (GroupCommit does the same for the vfs's).
Status<> commit_point(Disk* disk) {
  if (disk) return disk->commit_point();
  return {};
}

bool gone(Errc e) {
  return e == Errc::stale || e == Errc::noent;
}

struct MapEntry {
  Ino dest = 0;
  uint64_t change = 0;
};

struct PairRow {
  bool found = false;
  int64_t source = 0;
  bool synced = false;
  uint64_t synced_seq = 0;
};

Status<PairRow> read_pair(meta::Db& db, int64_t dest) {
  PairRow row;
  auto s = db.read([&](meta::Conn& c) -> Status<> {
    auto& q = c.stmt("SELECT source, synced, synced_seq FROM vfs_replicas WHERE dest = ?");
    q.bind_all(dest);
    if (q.step()) {
      row.found = true;
      row.source = q.i64(0);
      row.synced = q.i64(1) != 0;
      row.synced_seq = static_cast<uint64_t>(q.i64(2));
    }
    std::string err = q.error();
    q.reset();
    if (!err.empty()) return fail(Error{"replica: " + err});
    return {};
  });
  if (!s) return fail(s.error());
  return row;
}

// One pass over a pair.
class Pass {
 public:
  Pass(meta::Db& db, Disk* disk, FileSystem& src, FileSystem& dst, const std::atomic<bool>* cancel)
      : db_(db),
        disk_(disk),
        src_(src),
        dst_(dst),
        dest_num_(static_cast<int64_t>(dst.fsid())),
        cancel_(cancel) {}

  Result<ReplicaSyncStats, ReplicaSyncError> run(const PairRow& pair) {
    stats_.full = !pair.synced;
    auto log = src_.read_change_log(pair.synced ? pair.synced_seq : 0);
    if (!log) return fail(ReplicaSyncError{log.error(), false, "cannot read the change log"});
    if (!load_map()) return fail(err_);
    map_[src_.root()] = MapEntry{dst_.root(), map_[src_.root()].change};
    if (stats_.full) {
      if (!diff(src_.root(), dst_.root(), true)) return fail(err_);
    } else {
      stats_.changes_read = log->inodes.size();
      std::vector<std::pair<Ino, Attr>> files;
      for (Ino ino : log->inodes) {
        if (!go_on()) return fail(err_);
        auto a = src_.getattr(ino);
        if (!a) {
          if (gone(a.error())) continue;  // removed: its directory's entry says so
          return (src_fail(a.error(), "getattr", ino), fail(err_));
        }
        if (a->type == FileType::dir) {
          auto m = mapped(ino, FileType::dir);
          if (!m) continue;  // new: its parent's comparison copies it
          if (!diff(ino, m->ino, false)) return fail(err_);
        } else if (a->nlink > 0) {
          files.emplace_back(ino, *a);
        }
      }
      for (auto& [ino, a] : files) {
        if (!go_on()) return fail(err_);
        auto it = map_.find(ino);
        if (it == map_.end() || it->second.change == a.change) continue;
        auto m = mapped(ino, a.type);
        if (!m) continue;  // its directory's comparison copied it
        if (!update(ino, a, *m)) return fail(err_);
      }
    }
    for (const auto& r : removals_) {
      auto e = dst_.lookup(root_, r.dir, r.name);
      if (!e) {
        if (gone(e.error())) continue;  // moved away meanwhile
        return (dst_fail(e.error(), "lookup", r.dir), fail(err_));
      }
      if (e->ino != r.ino) continue;
      if (!remove_tree(r.dir, r.name, *e)) return fail(err_);
    }
    for (auto [s, d] : dirs_) {
      auto a = src_.getattr(s);
      if (!a) {
        if (gone(a.error())) continue;
        return (src_fail(a.error(), "getattr", s), fail(err_));
      }
      auto cur = dst_.getattr(d);
      if (!cur) return (dst_fail(cur.error(), "getattr", d), fail(err_));
      if (!set_attrs(d, *a, *cur)) return fail(err_);
      note_map(s, d, a->change);
    }
    if (!flush_map()) return fail(err_);
    // Every copy is durable (each went through a COMMIT or a metadata
    // transaction): the pair's position moves, then the log is trimmed.
    auto s = db_.write_synced([&](meta::Conn& c) -> Status<> {
      auto& u = c.stmt("UPDATE vfs_replicas SET synced = 1, synced_seq = ? WHERE dest = ?");
      u.bind_all(static_cast<int64_t>(log->upto), dest_num_);
      if (!u.run()) return efs::fail(Error{"replica: " + u.error()});
      return commit_point(disk_);
    });
    if (!s) return fail(ReplicaSyncError{Errc::io, true, s.error().message});
    if (auto t = src_.trim_change_log(log->upto); !t)
      spdlog::warn("replica {} -> {}: {}", src_.id(), dst_.id(), t.error().message);
    return stats_;
  }

 private:
  struct Removal {
    Ino dir;
    std::string name;
    Ino ino;
  };

  // False (with err_) once the caller asked the pass to stop.
  bool go_on() {
    if (!cancel_ || !cancel_->load(std::memory_order_relaxed)) return true;
    err_ = ReplicaSyncError{Errc::delay, false, "the sync was cut short (replication deleted)"};
    return false;
  }

  bool src_fail(Errc e, const char* what, Ino ino) {
    err_ = ReplicaSyncError{e, false,
                            std::string(what) + " of source inode " + std::to_string(ino) + " of " +
                                src_.id() + " failed (" + errc_name(e) + ")"};
    return false;
  }
  bool dst_fail(Errc e, const char* what, Ino ino) {
    err_ = ReplicaSyncError{e, true,
                            std::string(what) + " of destination inode " + std::to_string(ino) +
                                " of " + dst_.id() + " failed (" + errc_name(e) + ")"};
    return false;
  }
  Result<ReplicaSyncStats, ReplicaSyncError> fail(const ReplicaSyncError& e) {
    return efs::fail(e);
  }

  bool load_map() {
    auto s = db_.read([&](meta::Conn& c) -> Status<> {
      auto& q =
          c.stmt("SELECT src_ino, dest_ino, src_change FROM vfs_replica_inodes WHERE dest = ?");
      q.bind_all(dest_num_);
      while (q.step())
        map_[static_cast<Ino>(q.i64(0))] =
            MapEntry{static_cast<Ino>(q.i64(1)), static_cast<uint64_t>(q.i64(2))};
      std::string err = q.error();
      q.reset();
      if (!err.empty()) return efs::fail(Error{"replica map: " + err});
      return {};
    });
    if (!s) err_ = ReplicaSyncError{Errc::io, true, s.error().message};
    return s.ok();
  }

  void note_map(Ino s, Ino d, uint64_t change) {
    map_[s] = MapEntry{d, change};
    dirty_.emplace_back(s, MapEntry{d, change});
  }

  bool flush_map() {
    if (dirty_.empty()) return true;
    auto s = db_.write_synced([&](meta::Conn& c) -> Status<> {
      auto& u = c.stmt(
          "INSERT INTO vfs_replica_inodes(dest, src_ino, dest_ino, src_change) VALUES (?, ?, ?, ?) "
          "ON CONFLICT(dest, src_ino) DO UPDATE SET dest_ino = excluded.dest_ino, "
          "src_change = excluded.src_change");
      for (const auto& [s, m] : dirty_) {
        u.bind_all(dest_num_, static_cast<int64_t>(s), static_cast<int64_t>(m.dest),
                   static_cast<int64_t>(m.change));
        if (!u.run()) return efs::fail(Error{"replica map: " + u.error()});
        u.reset();
      }
      return commit_point(disk_);
    });
    if (!s) {
      err_ = ReplicaSyncError{Errc::io, true, s.error().message};
      return false;
    }
    dirty_.clear();
    return true;
  }

  // The destination inode mapped to source inode s, if it still exists with
  // the same type.
  std::optional<Attr> mapped(Ino s, FileType type) {
    auto it = map_.find(s);
    if (it == map_.end()) return std::nullopt;
    auto a = dst_.getattr(it->second.dest);
    if (!a || a->type != type || (type != FileType::dir && a->nlink == 0)) return std::nullopt;
    return *a;
  }

  // Every entry of a directory (nullopt: the error is in err_; an empty
  // vector with `vanished` if the directory went meanwhile).
  bool list(FileSystem& fs, bool is_dest, Ino dir, std::vector<DirEntry>& out, bool& vanished) {
    vanished = false;
    uint64_t cookie = 0;
    for (;;) {
      auto r = fs.readdir(root_, dir, cookie, kListBatch);
      if (!r) {
        if (gone(r.error()) || r.error() == Errc::notdir) {
          vanished = true;
          return true;
        }
        return is_dest ? dst_fail(r.error(), "readdir", dir) : src_fail(r.error(), "readdir", dir);
      }
      for (auto& e : r->entries) {
        cookie = e.cookie;
        out.push_back(std::move(e));
      }
      if (r->eof || r->entries.empty()) return true;
    }
  }

  bool diff(Ino s_dir, Ino d_dir, bool whole_tree) {
    if (!done_.insert(s_dir).second) return true;
    std::vector<DirEntry> src_entries, dst_entries;
    bool vanished = false;
    if (!list(src_, false, s_dir, src_entries, vanished)) return false;
    if (vanished) return true;  // removed since: its parent's entry says so
    if (!list(dst_, true, d_dir, dst_entries, vanished)) return false;
    if (vanished) return dst_fail(Errc::stale, "readdir", d_dir);
    dirs_.emplace_back(s_dir, d_dir);
    std::unordered_map<std::string, Attr> at;
    for (auto& e : dst_entries) at.emplace(e.name, e.attr);
    std::unordered_set<std::string> names;
    // Entries whose inode already has a copy first: they link or move
    // existing copies into place before new copies could take their names.
    std::stable_partition(src_entries.begin(), src_entries.end(),
                          [&](const DirEntry& e) { return map_.count(e.attr.ino) != 0; });
    for (const auto& se : src_entries) {
      if (!go_on()) return false;
      names.insert(se.name);
      auto here = at.find(se.name);
      auto m = mapped(se.attr.ino, se.attr.type);
      if (here != at.end() && m && here->second.ino == m->ino) {
        if (whole_tree) {
          if (se.attr.type == FileType::dir) {
            if (!diff(se.attr.ino, m->ino, true)) return false;
          } else if (map_[se.attr.ino].change != se.attr.change) {
            if (!update(se.attr.ino, se.attr, *m)) return false;
          }
        }
        continue;
      }
      if (here != at.end()) {
        if (!set_aside(d_dir, se.name, here->second)) return false;
        at.erase(here);
      }
      if (m && place(se, *m, d_dir)) {
        if (whole_tree && se.attr.type == FileType::dir && !diff(se.attr.ino, m->ino, true))
          return false;
        continue;
      }
      if (!err_.message.empty()) return false;
      if (!copy_new(d_dir, se)) return false;
    }
    for (const auto& e : dst_entries)
      if (!names.count(e.name)) removals_.push_back(Removal{d_dir, e.name, e.attr.ino});
    return true;
  }

  // Renames a destination entry out of the way (removed in phase 3 unless
  // a later entry links or moves it).
  bool set_aside(Ino d_dir, const std::string& name, const Attr& a) {
    std::string aside = std::string(kAsidePrefix) + std::to_string(a.ino);
    auto r = dst_.rename(root_, d_dir, name, d_dir, aside);
    if (!r) {
      if (gone(r.error())) return true;
      return dst_fail(r.error(), "rename aside", a.ino);
    }
    removals_.push_back(Removal{d_dir, aside, a.ino});
    return true;
  }

  // Puts the existing copy m of se at d_dir/se.name: a hard link, or for a
  // directory a rename from where it is. False (err_ empty) if it cannot be
  // done, so the caller copies anew.
  bool place(const DirEntry& se, const Attr& m, Ino d_dir) {
    if (se.attr.type != FileType::dir) {
      auto l = dst_.link(root_, m.ino, d_dir, se.name);
      if (!l) {
        spdlog::debug("replica {}: link of inode {} as {}: {}", dst_.id(), m.ino, se.name,
                      errc_name(l.error()));
        return false;
      }
      ++stats_.linked;
      return true;
    }
    auto parent = dst_.lookup_parent(root_, m.ino);
    if (!parent) return false;
    std::vector<DirEntry> entries;
    bool vanished = false;
    if (!list(dst_, true, parent->ino, entries, vanished)) return false;
    for (const auto& e : entries) {
      if (e.attr.ino != m.ino) continue;
      auto r = dst_.rename(root_, parent->ino, e.name, d_dir, se.name);
      if (!r) {
        // Into its own subtree, for one: a new copy instead.
        spdlog::debug("replica {}: rename of directory {} to {}: {}", dst_.id(), m.ino, se.name,
                      errc_name(r.error()));
        return false;
      }
      ++stats_.linked;
      return true;
    }
    return false;
  }

  bool copy_new(Ino d_dir, const DirEntry& se) {
    const Attr& a = se.attr;
    SetAttr sa;
    sa.mode = a.mode;
    VResult<CreateResult> made = efs::fail(Errc::badtype);
    switch (a.type) {
      case FileType::reg:
        made = dst_.create_file(root_, d_dir, se.name, CreateMode::guarded, sa, 0);
        break;
      case FileType::dir:
        made = dst_.mkdir(root_, d_dir, se.name, sa);
        break;
      case FileType::lnk: {
        auto target = src_.readlink(a.ino);
        if (!target) {
          if (gone(target.error())) return true;
          return src_fail(target.error(), "readlink", a.ino);
        }
        made = dst_.symlink(root_, d_dir, se.name, *target, sa);
        break;
      }
      case FileType::sock:
      case FileType::fifo:
        made = dst_.mknod(root_, d_dir, se.name, a.type, sa);
        break;
      default:
        spdlog::warn("replica {}: source inode {} has type {}, which EFS does not store; skipped",
                     src_.id(), a.ino, static_cast<uint32_t>(a.type));
        return true;
    }
    if (!made) return dst_fail(made.error(), "create", d_dir);
    ++stats_.created;
    const Ino d = made->attr.ino;
    if (a.type == FileType::reg) {
      if (!copy_data(a.ino, d, true)) return false;
    }
    if (a.type == FileType::dir) {
      // Its attributes are set in phase 4 (dirs_), after its entries.
      note_map(a.ino, d, a.change);
      if (!diff(a.ino, d, true)) return false;
    } else {
      if (!set_attrs(d, a, made->attr)) return false;
      note_map(a.ino, d, a.change);
    }
    if (dirty_.size() >= kMapBatch) return flush_map();
    return true;
  }

  // A changed non-directory with a copy m: data (regular files) and attributes again.
  // A rename or a chmod moves the change attribute but not mtime or size:
  // then only the attributes are set again (rsync's quick check; a write
  // followed by setting mtime back at the same size is not seen).
  bool update(Ino s, const Attr& a, const Attr& m) {
    const bool same_data = m.size == a.size && m.mtime == a.mtime;
    if (a.type == FileType::reg && !same_data && !copy_data(s, m.ino, false)) return false;
    auto cur = dst_.getattr(m.ino);
    if (!cur) return dst_fail(cur.error(), "getattr", m.ino);
    if (!set_attrs(m.ino, a, *cur)) return false;
    ++stats_.updated;
    note_map(s, m.ino, a.change);
    if (dirty_.size() >= kMapBatch) return flush_map();
    return true;
  }

  // Copies the data of source file s over destination file d, then sets d's
  // size and makes it durable. `fresh`: d is new and empty, so zero blocks
  // can stay holes.
  bool copy_data(Ino s, Ino d, bool fresh) {
    uint64_t off = 0;
    for (;;) {
      if (!go_on()) return false;
      auto r = src_.read_for_copy(s, off, kCopyBytes);
      if (!r) {
        if (gone(r.error())) break;  // removed meanwhile: the next sync removes the copy
        return src_fail(r.error(), "read", s);
      }
      if (r->data.empty()) break;
      const bool zeros = std::all_of(r->data.begin(), r->data.end(), [](uint8_t b) { return !b; });
      if (!(fresh && zeros)) {
        auto w = dst_.write(d, off, r->data, Stability::unstable, 0);
        if (!w) return dst_fail(w.error(), "write", d);
      }
      off += r->data.size();
      stats_.bytes += r->data.size();
      if (r->eof) break;
    }
    auto cur = dst_.getattr(d);
    if (!cur) return dst_fail(cur.error(), "getattr", d);
    if (cur->size != off) {
      SetAttr sz;
      sz.size = off;
      if (auto t = dst_.setattr(root_, d, sz); !t) return dst_fail(t.error(), "truncate", d);
    }
    if (auto c = dst_.commit(d); !c) return dst_fail(c.error(), "commit", d);
    return true;
  }

  // Owner, then mode and times (a change of owner clears set-ID bits, so
  // the mode comes after it).
  bool set_attrs(Ino d, const Attr& a, const Attr& cur) {
    if (cur.uid != a.uid || cur.gid != a.gid) {
      SetAttr own;
      own.uid = a.uid;
      own.gid = a.gid;
      if (auto r = dst_.setattr(root_, d, own); !r) return dst_fail(r.error(), "chown", d);
    }
    SetAttr rest;
    rest.mode = a.mode;
    rest.atime_how = TimeHow::client_time;
    rest.atime = a.atime;
    rest.mtime_how = TimeHow::client_time;
    rest.mtime = a.mtime;
    if (auto r = dst_.setattr(root_, d, rest); !r) return dst_fail(r.error(), "setattr", d);
    return true;
  }

  bool remove_tree(Ino dir, const std::string& name, const Attr& a) {
    if (a.type == FileType::dir) {
      std::vector<DirEntry> entries;
      bool vanished = false;
      if (!list(dst_, true, a.ino, entries, vanished)) return false;
      for (const auto& e : entries)
        if (!remove_tree(a.ino, e.name, e.attr)) return false;
    }
    auto r = dst_.remove(root_, dir, name);
    if (!r && !gone(r.error())) return dst_fail(r.error(), "remove", dir);
    ++stats_.removed;
    return true;
  }

  meta::Db& db_;
  Disk* disk_;
  FileSystem& src_;
  FileSystem& dst_;
  const int64_t dest_num_;
  const std::atomic<bool>* cancel_;
  const Cred root_{};
  std::unordered_map<Ino, MapEntry> map_;
  std::vector<std::pair<Ino, MapEntry>> dirty_;
  std::unordered_set<Ino> done_;           // source directories compared
  std::vector<std::pair<Ino, Ino>> dirs_;  // (source, destination) directories compared
  std::vector<Removal> removals_;
  ReplicaSyncStats stats_;
  ReplicaSyncError err_;
};

}  // namespace

Status<> ReplicaSync::attach(FileSystem& src, FileSystem& dest) {
  const int64_t d = static_cast<int64_t>(dest.fsid());
  const int64_t s = static_cast<int64_t>(src.fsid());
  auto w = db_.write([&](meta::Conn& c) -> Status<> {
    auto& q = c.stmt("SELECT source FROM vfs_replicas WHERE dest = ?");
    q.bind_all(d);
    const bool same = q.step() && q.i64(0) == s;
    q.reset();
    if (same) return {};
    for (const char* sql : {"DELETE FROM vfs_replica_inodes WHERE dest = ?",
                            "DELETE FROM vfs_replicas WHERE dest = ?"}) {
      auto& x = c.stmt(sql);
      x.bind_all(d);
      if (!x.run()) return fail(Error{"replica attach: " + x.error()});
    }
    auto& ins = c.stmt("INSERT INTO vfs_replicas(dest, source) VALUES (?, ?)");
    ins.bind_all(d, s);
    if (!ins.run()) return fail(Error{"replica attach: " + ins.error()});
    spdlog::info("replica: {} paired with source {}; the first sync copies the whole tree",
                 dest.id(), src.id());
    return commit_point(disk_);
  });
  if (!w) return w;
  // Before the first sync reads the log's position: every change after it is logged.
  return src.set_change_log(true);
}

Result<bool, Error> ReplicaSync::synced_once(FileSystem& src, FileSystem& dest) {
  auto row = read_pair(db_, static_cast<int64_t>(dest.fsid()));
  if (!row) return fail(row.error());
  return row->found && row->source == static_cast<int64_t>(src.fsid()) && row->synced;
}

Result<ReplicaSyncStats, ReplicaSyncError> ReplicaSync::sync(FileSystem& src, FileSystem& dest,
                                                             const std::atomic<bool>* cancel) {
  auto row = read_pair(db_, static_cast<int64_t>(dest.fsid()));
  if (!row) return fail(ReplicaSyncError{Errc::io, true, row.error().message});
  if (!row->found || row->source != static_cast<int64_t>(src.fsid()))
    return fail(
        ReplicaSyncError{Errc::inval, true, dest.id() + " is not a replica of " + src.id()});
  if (!src.change_log_on()) {
    // Should not happen (attach turns it on and it is stored): without the
    // log nothing says what changed, so compare everything.
    if (auto s = src.set_change_log(true); !s)
      return fail(ReplicaSyncError{Errc::io, false, s.error().message});
    row->synced = false;
  }
  Pass pass(db_, disk_, src, dest, cancel);
  return pass.run(*row);
}

Status<> ReplicaSync::detach(FileSystem* src, FileSystem& dest) {
  const int64_t d = static_cast<int64_t>(dest.fsid());
  auto w = db_.write([&](meta::Conn& c) -> Status<> {
    for (const char* sql : {"DELETE FROM vfs_replica_inodes WHERE dest = ?",
                            "DELETE FROM vfs_replicas WHERE dest = ?"}) {
      auto& x = c.stmt(sql);
      x.bind_all(d);
      if (!x.run()) return fail(Error{"replica detach: " + x.error()});
    }
    return commit_point(disk_);
  });
  if (!w) return w;
  if (src) return src->set_change_log(false);
  return {};
}

}  // namespace efs::vfs
