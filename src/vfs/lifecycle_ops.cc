// Storage classes of one file system: lifecycle timers, the mover's pass,
// one file's move, and SizeInBytes per class. Rules: lifecycle_rules.h;
// the chunk side and the crash protocol: chunk/class_move.cc; tables:
// docs/schema-vfs.md (vfs_lifecycle, vfs_lifecycle_moves).
//
// Concurrency of a move: the mover holds the file's stripe lock (the lock
// every WRITE, COMMIT, SETATTR and REMOVE of it takes) from before the copy
// until the switch, so no write can land in the old copy after it was
// copied: a write during a move waits for it and then lands in the new
// class. READs take no stripe lock: they read the old copy, which stays
// whole and current until the switch, and the switch waits for reads in
// flight (ChunkStore's class lock). So a reader never sees a half-moved file
// and no write is lost.
#include <spdlog/spdlog.h>

#include <map>
#include <thread>
#include <unordered_set>

#include "vfs/file_system.h"
#include "vfs/lifecycle_recovery.h"
#include "vfs/metering.h"

namespace efs::vfs {

namespace {

int64_t epoch_ms(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.now().time_since_epoch())
      .count();
}

StorageClass class_of(int64_t v) {
  switch (v) {
    case 1:
      return StorageClass::ia;
    case 2:
      return StorageClass::archive;
    default:
      return StorageClass::standard;
  }
}

int64_t class_value(StorageClass c) {
  switch (c) {
    case StorageClass::ia:
      return 1;
    case StorageClass::archive:
      return 2;
    case StorageClass::standard:
      break;
  }
  return 0;
}

}  // namespace

StorageClass FileSystemImpl::note_access(Ino ino, bool wrote) {
  const StorageClass cls = chunks_.storage_class(id_, ino);
  const int64_t now = epoch_ms(clock_);
  {
    AccessShard& sh = access_shard(ino);
    std::lock_guard lk(sh.mu);
    sh.at[ino] = now;
  }
  if (cls != StorageClass::standard) {
    {
      std::lock_guard lk(access_mu_);
      bool& w = recalls_[ino];
      w = w || wrote;
    }
    if (recall_wake_ && *recall_wake_) (*recall_wake_)();
  }
  return cls;
}

void FileSystemImpl::first_byte_wait(StorageClass cls) const {
  auto wait = cls == StorageClass::ia        ? lifecycle_.ia_first_byte_latency
              : cls == StorageClass::archive ? lifecycle_.archive_first_byte_latency
                                             : std::chrono::milliseconds(0);
  if (wait.count() > 0) std::this_thread::sleep_for(wait);
}

bool FileSystemImpl::recalls_waiting() {
  std::lock_guard lk(access_mu_);
  return !recalls_.empty();
}

Status<> FileSystemImpl::flush_access_times() {
  std::unordered_map<Ino, int64_t> batch;
  for (AccessShard& sh : accessed_) {
    std::unordered_map<Ino, int64_t> part;
    {
      std::lock_guard lk(sh.mu);
      part.swap(sh.at);
    }
    if (batch.empty())
      batch.swap(part);
    else
      batch.insert(part.begin(), part.end());
  }
  if (batch.empty() || deleted_) return {};
  Errc e = write_tx([&](Tx& tx) {
    // Only files that still exist get a row (a removed file's row went with
    // its inode, InodeTable::erase).
    auto& s = tx.c.stmt(
        "INSERT INTO vfs_lifecycle(fs, ino, class, last_access_ms) SELECT ?1, ?2, 0, ?3 "
        "WHERE EXISTS (SELECT 1 FROM vfs_inodes WHERE fs = ?1 AND ino = ?2 AND type = 1) "
        "ON CONFLICT(fs, ino) DO UPDATE SET last_access_ms = "
        "max(last_access_ms, excluded.last_access_ms)");
    for (auto [ino, at] : batch) {
      s.reset();
      s.bind(1, table_.fs_num()).bind(2, static_cast<int64_t>(ino)).bind(3, at);
      if (!s.run()) return Errc::io;
    }
    return Errc::ok;
  });
  if (e != Errc::ok) {
    // Put them back (newer ones noted meanwhile win): the next flush retries.
    for (auto [ino, at] : batch) {
      AccessShard& sh = access_shard(ino);
      std::lock_guard lk(sh.mu);
      auto [it, fresh] = sh.at.emplace(ino, at);
      if (!fresh) it->second = std::max(it->second, at);
    }
    return fail(Error{"vfs " + id_ + ": cannot write lifecycle timers"});
  }
  return {};
}

VResult<std::vector<ClassMove>> FileSystemImpl::run_lifecycle(const LifecyclePolicy& policy,
                                                              bool recalls_only) {
  if (deleted_) return fail(Errc::stale);
  if (auto s = flush_access_times(); !s) spdlog::warn("{}", s.error().message);
  struct Planned {
    Ino ino;
    StorageClass to;
    bool aging;
  };
  std::vector<Planned> plan;
  std::unordered_map<Ino, bool> recalls;
  {
    std::lock_guard lk(access_mu_);
    recalls.swap(recalls_);
  }
  std::unordered_set<Ino> recalling;
  for (auto [ino, wrote] : recalls) {
    if (auto to = recall_on_access(policy, chunks_.storage_class(id_, ino), wrote)) {
      plan.push_back({ino, *to, false});
      recalling.insert(ino);
    }
  }
  if (!recalls_only && policy.moves_files()) {
    const int64_t now = epoch_ms(clock_);
    Errc e = read_tx([&](meta::Conn& c) {
      auto& q = c.stmt(
          "SELECT i.ino, i.size, i.btime_s, COALESCE(l.class, 0), l.last_access_ms "
          "FROM vfs_inodes i LEFT JOIN vfs_lifecycle l ON l.fs = i.fs AND l.ino = i.ino "
          "WHERE i.fs = ? AND i.type = 1");
      q.bind(1, table_.fs_num());
      while (q.step()) {
        const Ino ino = static_cast<Ino>(q.i64(0));
        // Coming back this pass. Other accessed files age by the timer just
        // flushed: an access noted while a file was in IA but recorded after
        // a recall had brought it back must not hold it in Standard on the
        // next pass (a clock advance may have made it due again since).
        if (recalling.count(ino)) continue;
        // Never read or written since it was made: its timer starts at birth.
        const int64_t last = q.is_null(4) ? q.i64(2) * 1000 : q.i64(4);
        FileFacts f;
        f.size = static_cast<uint64_t>(q.i64(1));
        f.cls = class_of(q.i64(3));
        f.idle_seconds = static_cast<double>(now - last) / 1000.0;
        if (auto to = transition_due(policy, f)) plan.push_back({ino, *to, true});
      }
      return q.error().empty() ? Errc::ok : Errc::io;
    });
    if (e != Errc::ok) return fail(e);
  }
  std::vector<ClassMove> moved;
  for (const auto& p : plan) {
    if (auto m = move_file(p.ino, p.to, p.aging)) moved.push_back(std::move(*m));
  }
  if (moved.empty()) return moved;
  // Names for the report: one pass over the file system's entries.
  std::unordered_map<Ino, std::pair<Ino, std::string>> parent;
  (void)read_tx([&](meta::Conn& c) {
    auto& q = c.stmt("SELECT dir, name, child FROM vfs_dirents WHERE fs = ?");
    q.bind(1, table_.fs_num());
    while (q.step()) {
      auto name = q.blob(1);
      parent.emplace(static_cast<Ino>(q.i64(2)),
                     std::pair<Ino, std::string>(static_cast<Ino>(q.i64(0)),
                                                 std::string(name.begin(), name.end())));
    }
    return Errc::ok;
  });
  for (auto& m : moved) {
    std::vector<std::string> parts;
    Ino cur = m.ino;
    for (uint32_t depth = 0; cur != kRootIno && depth <= kMaxDepth; ++depth) {
      auto it = parent.find(cur);
      if (it == parent.end()) {
        parts.clear();
        break;
      }
      parts.push_back(it->second.second);
      cur = it->second.first;
    }
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) m.path += "/" + *it;
  }
  return moved;
}

std::optional<ClassMove> FileSystemImpl::move_file(Ino ino, StorageClass to, bool aging) {
  StripeLock lock(*this, {ino});
  if (deleted_) return std::nullopt;
  auto n = get_inode(ino);  // with UNSTABLE writes' size
  if (!n || n->type != FileType::reg) return std::nullopt;
  const StorageClass from = chunks_.storage_class(id_, ino);
  if (from == to) return std::nullopt;
  if (aging) {
    // Read or written since the pass looked: its timer started again.
    {
      AccessShard& sh = access_shard(ino);
      std::lock_guard lk(sh.mu);
      if (sh.at.count(ino)) return std::nullopt;
    }
    std::lock_guard lk(access_mu_);
    if (recalls_.count(ino)) return std::nullopt;
  }
  const int64_t fs = table_.fs_num();
  auto drop_intent = [&] {
    (void)write_tx([&](Tx& tx) {
      auto& d = tx.c.stmt("DELETE FROM vfs_lifecycle_moves WHERE fs = ? AND ino = ?");
      d.bind_all(fs, static_cast<int64_t>(ino));
      return d.run() ? Errc::ok : Errc::io;
    });
  };
  // 0: the intent, so a crash from here on is finished or rolled back at
  // the next start (recover_class_moves).
  Errc e = write_tx([&](Tx& tx) {
    auto& s = tx.c.stmt(
        "INSERT OR REPLACE INTO vfs_lifecycle_moves(fs, ino, from_class, to_class) "
        "VALUES (?, ?, ?, ?)");
    s.bind_all(fs, static_cast<int64_t>(ino), class_value(from), class_value(to));
    return s.run() ? Errc::ok : Errc::io;
  });
  if (e != Errc::ok) {
    spdlog::error("vfs {}: lifecycle: cannot record the move of inode {}", id_, ino);
    return std::nullopt;
  }
  // 1: copy into the new class, durable.
  auto copied = chunks_.copy_to_class(id_, ino, n->size, to);
  if (!copied) {
    spdlog::error("vfs {}: lifecycle: copying inode {} to {} failed: {}; it stays in {}", id_, ino,
                  chunk::storage_class_name(to), copied.error().message,
                  chunk::storage_class_name(from));
    if (auto d = chunks_.drop_copy(id_, ino, n->size, to); d) drop_intent();
    return std::nullopt;
  }
  // 2: the class change, fsynced: from here on the new copy is the file.
  const int64_t born_ms = n->btime.sec * 1000;
  const int64_t now = epoch_ms(clock_);
  e = write_tx(
      [&](Tx& tx) {
        auto row = table_.get(tx.c, ino);
        if (!row) return Errc::io;
        if (!*row) return Errc::stale;
        auto& s = tx.c.stmt(
            "INSERT INTO vfs_lifecycle(fs, ino, class, last_access_ms) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(fs, ino) DO UPDATE SET class = excluded.class");
        s.bind_all(fs, static_cast<int64_t>(ino), class_value(to), aging ? born_ms : now);
        return s.run() ? Errc::ok : Errc::io;
      },
      false, /*synced=*/true);
  if (e != Errc::ok) {
    spdlog::error("vfs {}: lifecycle: cannot commit the move of inode {} to {}; it stays in {}",
                  id_, ino, chunk::storage_class_name(to), chunk::storage_class_name(from));
    if (auto d = chunks_.drop_copy(id_, ino, n->size, to); d) drop_intent();
    return std::nullopt;
  }
  // 3: readers and writers use the new copy; 4: the old one goes.
  chunks_.switch_class(id_, ino, to);
  if (auto d = chunks_.drop_copy(id_, ino, n->size, from); !d) {
    // The intent stays: the next start removes the old copy.
    spdlog::warn(
        "vfs {}: lifecycle: inode {} moved to {}, but its old copy in {} stays until "
        "restart: {}",
        id_, ino, chunk::storage_class_name(to), chunk::storage_class_name(from),
        d.error().message);
  } else {
    drop_intent();
  }
  ClassMove m;
  m.fs_id = id_;
  m.ino = ino;
  m.from = from;
  m.to = to;
  m.bytes = *copied;
  return m;
}

MeteredSize FileSystemImpl::metered_size() {
  // Files up to 1 MiB are metered by their size; larger ones by what the host
  // really stores when that is less: EFS meters a sparse file by its actual
  // storage. Each class from vfs_lifecycle, the row the mover commits.
  constexpr int64_t kLargeFile = 1 << 20;
  MeteredSize m;
  struct Large {
    Ino ino;
    uint64_t size;
    StorageClass cls;
  };
  std::vector<Large> large;
  Errc e = read_tx([&](meta::Conn& c) {
    auto& s = c.stmt(
        "SELECT CASE WHEN i.type = 1 THEN COALESCE(l.class, 0) ELSE 0 END, COUNT(*), "
        "COALESCE(SUM(CASE WHEN i.type != 1 OR i.size = 0 THEN 4096 "
        "ELSE (i.size + 4095) / 4096 * 4096 END), 0) "
        "FROM vfs_inodes i LEFT JOIN vfs_lifecycle l ON l.fs = i.fs AND l.ino = i.ino "
        "WHERE i.fs = ? AND NOT (i.type = 1 AND i.size > ?) GROUP BY 1");
    s.bind_all(table_.fs_num(), kLargeFile);
    while (s.step())
      add_objects(m, class_of(s.i64(0)), static_cast<uint64_t>(s.i64(1)),
                  static_cast<uint64_t>(s.i64(2)));
    if (!s.error().empty()) return Errc::io;
    auto& l = c.stmt(
        "SELECT i.ino, i.size, COALESCE(l.class, 0) FROM vfs_inodes i LEFT JOIN vfs_lifecycle l "
        "ON l.fs = i.fs AND l.ino = i.ino WHERE i.fs = ? AND i.type = 1 AND i.size > ?");
    l.bind_all(table_.fs_num(), kLargeFile);
    while (l.step())
      large.push_back(
          {static_cast<Ino>(l.i64(0)), static_cast<uint64_t>(l.i64(1)), class_of(l.i64(2))});
    return l.error().empty() ? Errc::ok : Errc::io;
  });
  if (e != Errc::ok) return MeteredSize{};
  for (const auto& f : large) {
    add_object(
        m, f.cls,
        metered_data_bytes(FileType::reg, f.size, chunks_.allocated_bytes(id_, f.ino, f.size)));
  }
  return m;
}

// ---- At start-up (lifecycle_recovery.h) ----

Status<> recover_class_moves(meta::Db& db, chunk::ChunkStore& chunks) {
  // Every class the database commits, into the store first: drop_copy
  // refuses to touch a file's live copy.
  auto r = db.read([&](meta::Conn& c) -> Status<> {
    auto& q = c.stmt(
        "SELECT f.fs_id, l.ino, l.class FROM vfs_lifecycle l JOIN vfs_file_systems f "
        "ON f.num = l.fs WHERE l.class != 0");
    while (q.step())
      chunks.set_storage_class(q.text(0), static_cast<uint64_t>(q.i64(1)), class_of(q.i64(2)));
    if (!q.error().empty()) return fail(Error{"vfs: load storage classes: " + q.error()});
    return {};
  });
  if (!r) return r;
  struct Half {
    int64_t fs;
    std::string fs_id;
    Ino ino;
    StorageClass from, to, now;
    uint64_t size;
  };
  std::vector<Half> halves;
  r = db.read([&](meta::Conn& c) -> Status<> {
    auto& q = c.stmt(
        "SELECT m.fs, f.fs_id, m.ino, m.from_class, m.to_class, COALESCE(l.class, 0), "
        "COALESCE(i.size, 0) FROM vfs_lifecycle_moves m JOIN vfs_file_systems f ON f.num = m.fs "
        "LEFT JOIN vfs_lifecycle l ON l.fs = m.fs AND l.ino = m.ino "
        "LEFT JOIN vfs_inodes i ON i.fs = m.fs AND i.ino = m.ino");
    while (q.step())
      halves.push_back({q.i64(0), q.text(1), static_cast<Ino>(q.i64(2)), class_of(q.i64(3)),
                        class_of(q.i64(4)), class_of(q.i64(5)), static_cast<uint64_t>(q.i64(6))});
    if (!q.error().empty()) return fail(Error{"vfs: list interrupted moves: " + q.error()});
    return {};
  });
  if (!r || halves.empty()) return r;
  int finished = 0, rolled_back = 0;
  for (const auto& h : halves) {
    // The committed class holds the file; the other copy is either a copy
    // never committed (roll back) or the old copy not yet dropped (finish).
    const StorageClass stale = h.now == h.to ? h.from : h.to;
    // Every segment a file can have: the size may have changed since.
    const uint64_t probe = std::max<uint64_t>(h.size, kMaxFileSize);
    if (stale != h.now) {
      if (auto d = chunks.drop_copy(h.fs_id, h.ino, probe, stale); !d)
        return fail(Error{"vfs: recover the move of inode " + std::to_string(h.ino) + " of " +
                          h.fs_id + ": " + d.error().message});
    }
    (h.now == h.to ? finished : rolled_back) += 1;
    spdlog::info("vfs {}: lifecycle: inode {} was moving {} -> {} at the last stop: {}", h.fs_id,
                 h.ino, chunk::storage_class_name(h.from), chunk::storage_class_name(h.to),
                 h.now == h.to ? "finished" : "rolled back");
  }
  auto w = db.write([&](meta::Conn& c) -> Status<> {
    auto& d = c.stmt("DELETE FROM vfs_lifecycle_moves WHERE fs = ? AND ino = ?");
    for (const auto& h : halves) {
      d.reset();
      d.bind_all(h.fs, static_cast<int64_t>(h.ino));
      if (!d.run()) return fail(Error{"vfs: clear interrupted moves: " + d.error()});
    }
    return {};
  });
  if (!w) return w;
  spdlog::info("vfs: lifecycle recovery: {} interrupted move(s) finished, {} rolled back", finished,
               rolled_back);
  return {};
}

}  // namespace efs::vfs
