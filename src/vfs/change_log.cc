// The change log of one file system (vfs.h, "Change log"; tables
// vfs_change_logs and vfs_changes in docs/schema-vfs.md): what the
// replicator (replica_sync.h) must look at since its last completed sync.
//
// One row per changed inode, keyed (fs, ino), holding the seq of its latest
// change: an inode changed a thousand times between two syncs is one row.
// Seqs come from an in-memory counter taken inside the write transaction
// (store()), and write transactions run one at a time (GroupCommit over the
// one SQLite writer), so a seq is taken after every smaller one committed:
// a reader that sees seq s sees every change with a smaller seq.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <span>

#include "vfs/file_system.h"

namespace efs::vfs {

Status<> FileSystemImpl::load_change_log() {
  bool on = false;
  uint64_t next = 1;
  auto s = db_.read([&](meta::Conn& c) -> Status<> {
    auto& q = c.stmt("SELECT trimmed_upto FROM vfs_change_logs WHERE fs = ?");
    q.bind_all(table_.fs_num());
    if (q.step()) {
      on = true;
      next = static_cast<uint64_t>(q.i64(0)) + 1;
    }
    std::string err = q.error();
    q.reset();
    if (!err.empty()) return fail(Error{"change log: " + err});
    auto& m = c.stmt("SELECT MAX(seq) FROM vfs_changes WHERE fs = ?");
    m.bind_all(table_.fs_num());
    if (m.step() && !m.is_null(0)) next = std::max(next, static_cast<uint64_t>(m.i64(0)) + 1);
    err = m.error();
    m.reset();
    if (!err.empty()) return fail(Error{"change log: " + err});
    return {};
  });
  if (!s) return s;
  next_change_seq_.store(next);
  log_changes_.store(on, std::memory_order_release);
  return {};
}

Errc FileSystemImpl::log_change(Tx& tx, Ino ino) {
  auto& s = tx.c.stmt(
      "INSERT INTO vfs_changes(fs, ino, seq) VALUES (?, ?, ?) "
      "ON CONFLICT(fs, ino) DO UPDATE SET seq = excluded.seq");
  s.bind_all(table_.fs_num(), static_cast<int64_t>(ino),
             static_cast<int64_t>(next_change_seq_.fetch_add(1)));
  if (!s.run()) {
    spdlog::error("vfs {}: change log of inode {}: {}", id_, ino, s.error());
    return Errc::io;
  }
  return Errc::ok;
}

Status<> FileSystemImpl::set_change_log(bool on) {
  if (on == change_log_on()) return {};
  const bool was = change_log_on();
  // Through the group commit, so that the flag flips between two write
  // transactions: every later one sees it.
  Errc e = write_tx([&](Tx& tx) -> Errc {
    const char* sql[] = {"INSERT OR IGNORE INTO vfs_change_logs(fs) VALUES (?)"};
    const char* off[] = {"DELETE FROM vfs_changes WHERE fs = ?",
                         "DELETE FROM vfs_change_logs WHERE fs = ?"};
    for (const char* q : on ? std::span<const char*>(sql) : std::span<const char*>(off)) {
      auto& s = tx.c.stmt(q);
      s.bind_all(table_.fs_num());
      if (!s.run()) return Errc::io;
    }
    log_changes_.store(on, std::memory_order_release);
    return Errc::ok;
  });
  if (e != Errc::ok) {
    log_changes_.store(was, std::memory_order_release);
    return fail(Error{"vfs " + id_ + ": cannot turn the change log " + (on ? "on" : "off") +
                      " (nfsstat4 " + std::to_string(static_cast<uint32_t>(e)) + ")"});
  }
  spdlog::info("vfs {}: change log {}", id_, on ? "on" : "off");
  return {};
}

VResult<FileSystem::ChangeLogRead> FileSystemImpl::read_change_log(uint64_t after) {
  ChangeLogRead out;
  out.upto = after;
  Errc e = read_tx([&](meta::Conn& c) -> Errc {
    auto& m = c.stmt("SELECT MAX(seq) FROM vfs_changes WHERE fs = ?");
    m.bind_all(table_.fs_num());
    if (m.step() && !m.is_null(0)) out.upto = std::max(out.upto, static_cast<uint64_t>(m.i64(0)));
    bool bad = !m.error().empty();
    m.reset();
    if (bad) return Errc::io;
    auto& q =
        c.stmt("SELECT ino FROM vfs_changes WHERE fs = ? AND seq > ? AND seq <= ? ORDER BY seq");
    q.bind_all(table_.fs_num(), static_cast<int64_t>(after), static_cast<int64_t>(out.upto));
    while (q.step()) out.inodes.push_back(static_cast<Ino>(q.i64(0)));
    bad = !q.error().empty();
    q.reset();
    return bad ? Errc::io : Errc::ok;
  });
  if (e != Errc::ok) return fail(e);
  return out;
}

Status<> FileSystemImpl::trim_change_log(uint64_t upto) {
  Errc e = write_tx(
      [&](Tx& tx) -> Errc {
        auto& d = tx.c.stmt("DELETE FROM vfs_changes WHERE fs = ? AND seq <= ?");
        d.bind_all(table_.fs_num(), static_cast<int64_t>(upto));
        if (!d.run()) return Errc::io;
        auto& u = tx.c.stmt(
            "UPDATE vfs_change_logs SET trimmed_upto = MAX(trimmed_upto, ?) WHERE fs = ?");
        u.bind_all(static_cast<int64_t>(upto), table_.fs_num());
        if (!u.run()) return Errc::io;
        return Errc::ok;
      },
      true);
  if (e != Errc::ok)
    return fail(Error{"vfs " + id_ + ": cannot trim the change log (nfsstat4 " +
                      std::to_string(static_cast<uint32_t>(e)) + ")"});
  return {};
}

}  // namespace efs::vfs
