#include "vfs/inode_table.h"

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "vfs/metadata_cache.h"

namespace efs::vfs {

const std::vector<std::string>& schema_migrations() {
  // Versions 1 to 4. Never edit a shipped migration: append a new one.
  static const std::vector<std::string> m = {
      R"sql(
CREATE TABLE vfs_file_systems(
  num INTEGER PRIMARY KEY AUTOINCREMENT,
  fs_id TEXT NOT NULL UNIQUE,
  generation INTEGER NOT NULL,
  next_ino INTEGER NOT NULL);
CREATE TABLE vfs_inodes(
  fs INTEGER NOT NULL,
  ino INTEGER NOT NULL,
  type INTEGER NOT NULL,
  mode INTEGER NOT NULL,
  nlink INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  gid INTEGER NOT NULL,
  size INTEGER NOT NULL,
  atime_s INTEGER NOT NULL, atime_ns INTEGER NOT NULL,
  mtime_s INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
  ctime_s INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,
  btime_s INTEGER NOT NULL, btime_ns INTEGER NOT NULL,
  change INTEGER NOT NULL,
  target BLOB,
  verifier INTEGER NOT NULL DEFAULT 0,
  generation INTEGER NOT NULL,
  parent INTEGER NOT NULL DEFAULT 0,
  next_cookie INTEGER NOT NULL DEFAULT 3,
  PRIMARY KEY(fs, ino)) WITHOUT ROWID;
CREATE TABLE vfs_dirents(
  fs INTEGER NOT NULL,
  dir INTEGER NOT NULL,
  name BLOB NOT NULL,
  child INTEGER NOT NULL,
  cookie INTEGER NOT NULL,
  PRIMARY KEY(fs, dir, name)) WITHOUT ROWID;
CREATE UNIQUE INDEX vfs_dirents_by_cookie ON vfs_dirents(fs, dir, cookie);
)sql",
      // Version 2: regular files whose last name went while they were open
      // (nlink 0, kept until the last close); freed at start-up after a crash.
      R"sql(
CREATE TABLE vfs_orphans(
  fs INTEGER NOT NULL,
  ino INTEGER NOT NULL,
  PRIMARY KEY(fs, ino)) WITHOUT ROWID;
)sql",
      // Version 3: storage classes (docs/schema-vfs.md). A regular file's
      // class and lifecycle timer (its last READ or WRITE, emulator-clock
      // ms; no row: Standard, timer from its birth), and the moves in
      // progress, which the next start finishes or rolls back.
      R"sql(
CREATE TABLE vfs_lifecycle(
  fs INTEGER NOT NULL,
  ino INTEGER NOT NULL,
  class INTEGER NOT NULL DEFAULT 0,
  last_access_ms INTEGER NOT NULL,
  PRIMARY KEY(fs, ino)) WITHOUT ROWID;
CREATE TABLE vfs_lifecycle_moves(
  fs INTEGER NOT NULL,
  ino INTEGER NOT NULL,
  from_class INTEGER NOT NULL,
  to_class INTEGER NOT NULL,
  PRIMARY KEY(fs, ino)) WITHOUT ROWID;
)sql",
      // Version 4: replication (docs/schema-vfs.md). The change log of
      // replication sources (a row in vfs_change_logs: the log is on), and
      // each destination's pairing and map from source to own inodes.
      R"sql(
CREATE TABLE vfs_change_logs(
  fs INTEGER PRIMARY KEY,
  trimmed_upto INTEGER NOT NULL DEFAULT 0);
CREATE TABLE vfs_changes(
  fs INTEGER NOT NULL,
  ino INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY(fs, ino)) WITHOUT ROWID;
CREATE INDEX vfs_changes_by_seq ON vfs_changes(fs, seq);
CREATE TABLE vfs_replicas(
  dest INTEGER PRIMARY KEY,
  source INTEGER NOT NULL,
  synced INTEGER NOT NULL DEFAULT 0,
  synced_seq INTEGER NOT NULL DEFAULT 0);
CREATE TABLE vfs_replica_inodes(
  dest INTEGER NOT NULL,
  src_ino INTEGER NOT NULL,
  dest_ino INTEGER NOT NULL,
  src_change INTEGER NOT NULL,
  PRIMARY KEY(dest, src_ino)) WITHOUT ROWID;
)sql",
  };
  return m;
}

Time now_time(const Clock& clock) {
  auto d = clock.now().time_since_epoch();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  int64_t sec = ns / 1000000000;
  int64_t rem = ns % 1000000000;
  if (rem < 0) {
    rem += 1000000000;
    --sec;
  }
  return Time{sec, static_cast<uint32_t>(rem)};
}

Attr to_attr(const Inode& n) {
  Attr a;
  a.ino = n.ino;
  a.type = n.type;
  a.mode = n.mode & 07777;
  a.nlink = n.nlink;
  a.uid = n.uid;
  a.gid = n.gid;
  a.size = n.type == FileType::lnk ? n.target.size() : n.size;
  // EFS meters data in 4 KiB increments; space_used excludes the 2 KiB of
  // inode metadata (EFS user guide, "Metering EFS file system objects").
  if (n.type == FileType::reg) {
    a.space_used = (n.size + 4095) / 4096 * 4096;
  } else {
    a.space_used = 4096;
  }
  a.atime = n.atime;
  a.mtime = n.mtime;
  a.ctime = n.ctime;
  a.btime = n.btime;
  a.change = n.change;
  return a;
}

namespace {

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Status<> sql_error(meta::Stmt& s, const char* what) {
  spdlog::error("vfs: {} failed: {}", what, s.error());
  return fail(Error{std::string("vfs: ") + what + ": " + s.error(), s.code()});
}

}  // namespace

constexpr const char* kInodeColumns =
    "ino, type, mode, nlink, uid, gid, size, atime_s, atime_ns, mtime_s, mtime_ns, ctime_s, "
    "ctime_ns, btime_s, btime_ns, change, target, verifier, generation, parent, next_cookie";

static Inode read_inode(meta::Stmt& s, int col0) {
  Inode n;
  int i = col0;
  n.ino = static_cast<Ino>(s.i64(i++));
  n.type = static_cast<FileType>(s.i64(i++));
  n.mode = static_cast<uint32_t>(s.i64(i++));
  n.nlink = static_cast<uint32_t>(s.i64(i++));
  n.uid = static_cast<uint32_t>(s.i64(i++));
  n.gid = static_cast<uint32_t>(s.i64(i++));
  n.size = static_cast<uint64_t>(s.i64(i++));
  auto t = [&](Time& out) {
    out.sec = s.i64(i++);
    out.nsec = static_cast<uint32_t>(s.i64(i++));
  };
  t(n.atime);
  t(n.mtime);
  t(n.ctime);
  t(n.btime);
  n.change = static_cast<uint64_t>(s.i64(i++));
  auto b = s.blob(i++);
  n.target.assign(b.begin(), b.end());
  n.verifier = static_cast<uint64_t>(s.i64(i++));
  n.generation = static_cast<uint32_t>(s.i64(i++));
  n.parent = static_cast<Ino>(s.i64(i++));
  n.next_cookie = static_cast<uint64_t>(s.i64(i++));
  return n;
}

Status<std::optional<Inode>> InodeTable::get(meta::Conn& c, Ino ino) const {
  // Built once: the statement cache is keyed by the SQL text, and this is
  // the hottest statement of the NFS server.
  static const std::string kSql =
      std::string("SELECT ") + kInodeColumns + " FROM vfs_inodes WHERE fs = ? AND ino = ?";
  auto& s = c.stmt(kSql);
  s.bind_all(fs_, static_cast<int64_t>(ino));
  std::optional<Inode> out;
  if (s.step()) out = read_inode(s, 0);
  if (!s.error().empty()) return fail(sql_error(s, "get inode").error());
  s.reset();
  return out;
}

Status<> InodeTable::put(meta::Conn& c, const Inode& n) const {
  static const std::string kSql = std::string("INSERT OR REPLACE INTO vfs_inodes(fs, ") +
                                  kInodeColumns +
                                  ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
  auto& s = c.stmt(kSql);
  s.bind_all(fs_, static_cast<int64_t>(n.ino), static_cast<int64_t>(n.type), n.mode, n.nlink, n.uid,
             n.gid, static_cast<int64_t>(n.size), n.atime.sec, n.atime.nsec, n.mtime.sec,
             n.mtime.nsec, n.ctime.sec, n.ctime.nsec, n.btime.sec, n.btime.nsec,
             static_cast<int64_t>(n.change));
  s.bind_blob(18, bytes(n.target));
  s.bind(19, static_cast<int64_t>(n.verifier));
  s.bind(20, static_cast<int64_t>(n.generation));
  s.bind(21, static_cast<int64_t>(n.parent));
  s.bind(22, static_cast<int64_t>(n.next_cookie));
  if (!s.run()) return sql_error(s, "put inode");
  if (auto* j = JournalScope::active(fs_)) j->changes.emplace_back(Journal::PutInode{n});
  return {};
}

Status<> InodeTable::add_orphan(meta::Conn& c, Ino ino) const {
  auto& s = c.stmt("INSERT OR IGNORE INTO vfs_orphans(fs, ino) VALUES (?, ?)");
  s.bind_all(fs_, static_cast<int64_t>(ino));
  if (!s.run()) return sql_error(s, "add orphan");
  return {};
}

Status<> InodeTable::remove_orphan(meta::Conn& c, Ino ino) const {
  auto& s = c.stmt("DELETE FROM vfs_orphans WHERE fs = ? AND ino = ?");
  s.bind_all(fs_, static_cast<int64_t>(ino));
  if (!s.run()) return sql_error(s, "remove orphan");
  return {};
}

Status<std::vector<Ino>> InodeTable::subdirs(meta::Conn& c, Ino dir) const {
  auto& s = c.stmt(
      "SELECT d.child FROM vfs_dirents d JOIN vfs_inodes i ON i.fs = d.fs AND i.ino = d.child"
      " WHERE d.fs = ? AND d.dir = ? AND i.type = 2");
  s.bind_all(fs_, static_cast<int64_t>(dir));
  std::vector<Ino> out;
  while (s.step()) out.push_back(static_cast<Ino>(s.i64(0)));
  if (!s.error().empty()) return fail(sql_error(s, "list subdirectories").error());
  s.reset();
  return out;
}

Status<> InodeTable::erase(meta::Conn& c, Ino ino) const {
  auto& s = c.stmt("DELETE FROM vfs_inodes WHERE fs = ? AND ino = ?");
  s.bind_all(fs_, static_cast<int64_t>(ino));
  if (!s.run()) return sql_error(s, "erase inode");
  // Its storage class and lifecycle timer go with it.
  auto& l = c.stmt("DELETE FROM vfs_lifecycle WHERE fs = ? AND ino = ?");
  l.bind_all(fs_, static_cast<int64_t>(ino));
  if (!l.run()) return sql_error(l, "erase lifecycle row");
  if (auto* j = JournalScope::active(fs_)) j->changes.emplace_back(Journal::EraseInode{ino});
  return {};
}

Status<Ino> InodeTable::allocate(meta::Conn& c) const {
  auto& s = c.stmt(
      "UPDATE vfs_file_systems SET next_ino = next_ino + 1 WHERE num = ? RETURNING next_ino");
  s.bind_all(fs_);
  if (!s.step()) {
    if (!s.error().empty()) return fail(sql_error(s, "allocate inode").error());
    return fail(Error{"vfs: allocate inode: file system row missing"});
  }
  Ino ino = static_cast<Ino>(s.i64(0)) - 1;
  s.reset();
  return ino;
}

Status<std::optional<DirentRow>> InodeTable::find(meta::Conn& c, Ino dir,
                                                  std::string_view name) const {
  auto& s = c.stmt("SELECT child, cookie FROM vfs_dirents WHERE fs = ? AND dir = ? AND name = ?");
  s.bind_all(fs_, static_cast<int64_t>(dir));
  s.bind_blob(3, bytes(name));
  std::optional<DirentRow> out;
  if (s.step()) {
    out = DirentRow{std::string(name), static_cast<Ino>(s.i64(0)), static_cast<uint64_t>(s.i64(1))};
  }
  if (!s.error().empty()) return fail(sql_error(s, "find entry").error());
  s.reset();
  return out;
}

Status<> InodeTable::link(meta::Conn& c, Inode& dir, std::string_view name, Ino child) const {
  auto& s = c.stmt("INSERT INTO vfs_dirents(fs, dir, name, child, cookie) VALUES (?,?,?,?,?)");
  s.bind_all(fs_, static_cast<int64_t>(dir.ino));
  s.bind_blob(3, bytes(name));
  s.bind(4, static_cast<int64_t>(child));
  s.bind(5, static_cast<int64_t>(dir.next_cookie));
  if (!s.run()) return sql_error(s, "add entry");
  if (auto* j = JournalScope::active(fs_)) {
    j->changes.emplace_back(Journal::AddName{dir.ino, std::string(name), child, dir.next_cookie});
  }
  ++dir.next_cookie;
  return {};
}

Status<> InodeTable::unlink(meta::Conn& c, Ino dir, std::string_view name) const {
  auto& s = c.stmt("DELETE FROM vfs_dirents WHERE fs = ? AND dir = ? AND name = ?");
  s.bind_all(fs_, static_cast<int64_t>(dir));
  s.bind_blob(3, bytes(name));
  if (!s.run()) return sql_error(s, "remove entry");
  if (auto* j = JournalScope::active(fs_)) {
    j->changes.emplace_back(Journal::RemoveName{dir, std::string(name)});
  }
  return {};
}

Status<bool> InodeTable::has_entries(meta::Conn& c, Ino dir) const {
  auto& s = c.stmt("SELECT 1 FROM vfs_dirents WHERE fs = ? AND dir = ? LIMIT 1");
  s.bind_all(fs_, static_cast<int64_t>(dir));
  bool any = s.step();
  if (!s.error().empty()) return fail(sql_error(s, "list entries").error());
  s.reset();
  return any;
}

Status<std::vector<DirentRow>> InodeTable::list(meta::Conn& c, Ino dir, uint64_t after,
                                                uint32_t limit) const {
  auto& s = c.stmt(
      "SELECT name, child, cookie FROM vfs_dirents WHERE fs = ? AND dir = ? AND cookie > ? "
      "ORDER BY cookie LIMIT ?");
  s.bind_all(fs_, static_cast<int64_t>(dir), static_cast<int64_t>(after),
             static_cast<int64_t>(limit));
  std::vector<DirentRow> out;
  while (s.step()) {
    auto b = s.blob(0);
    out.push_back(DirentRow{std::string(b.begin(), b.end()), static_cast<Ino>(s.i64(1)),
                            static_cast<uint64_t>(s.i64(2))});
  }
  if (!s.error().empty()) return fail(sql_error(s, "list entries").error());
  s.reset();
  return out;
}

Status<std::vector<std::pair<DirentRow, Inode>>> InodeTable::list_with_inodes(
    meta::Conn& c, Ino dir, uint64_t after, uint32_t limit) const {
  // The inode columns do not collide with the entry's (fs is not among them).
  static const std::string kSql =
      std::string("SELECT d.name, d.child, d.cookie, i.ino IS NOT NULL, ") + kInodeColumns +
      " FROM vfs_dirents d LEFT JOIN vfs_inodes i ON i.fs = d.fs AND i.ino = d.child"
      " WHERE d.fs = ? AND d.dir = ? AND d.cookie > ? ORDER BY d.cookie LIMIT ?";
  auto& s = c.stmt(kSql);
  s.bind_all(fs_, static_cast<int64_t>(dir), static_cast<int64_t>(after),
             static_cast<int64_t>(limit));
  std::vector<std::pair<DirentRow, Inode>> out;
  while (s.step()) {
    auto b = s.blob(0);
    DirentRow row{std::string(b.begin(), b.end()), static_cast<Ino>(s.i64(1)),
                  static_cast<uint64_t>(s.i64(2))};
    out.emplace_back(std::move(row), s.i64(3) ? read_inode(s, 4) : Inode{});
    if (!s.i64(3)) out.back().second.ino = 0;
  }
  if (!s.error().empty()) return fail(sql_error(s, "list entries").error());
  s.reset();
  return out;
}

}  // namespace efs::vfs
