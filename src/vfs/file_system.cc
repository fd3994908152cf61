#include "vfs/file_system.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "vfs/fault.h"
#include "vfs/permission.h"

namespace efs::vfs {

Errc check_name(std::string_view name) {
  if (name.empty()) return Errc::inval;
  if (name.size() > kMaxNameBytes) return Errc::nametoolong;
  if (name == "." || name == "..") return Errc::badname;
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    return Errc::badname;
  }
  return Errc::ok;
}

FileSystemImpl::FileSystemImpl(meta::Db& db, GroupCommit& commits, chunk::ChunkStore& chunks,
                               std::string id, int64_t num, uint32_t generation, const Clock& clock)
    : db_(db),
      commits_(commits),
      chunks_(chunks),
      clock_(clock),
      id_(std::move(id)),
      table_(num),
      generation_(generation) {}

FileSystemImpl::StripeLock::StripeLock(FileSystemImpl& fs, std::vector<Ino> inos) : fs_(fs) {
  for (Ino i : inos) {
    if (i) held_.push_back(i % fs.stripes_.size());
  }
  std::sort(held_.begin(), held_.end());
  held_.erase(std::unique(held_.begin(), held_.end()), held_.end());
  for (auto s : held_) fs_.stripes_[s].lock();
}

FileSystemImpl::StripeLock::~StripeLock() {
  for (auto it = held_.rbegin(); it != held_.rend(); ++it) fs_.stripes_[*it].unlock();
}

Errc FileSystemImpl::write_tx(const std::function<Errc(Tx&)>& fn, bool frees_space, bool synced) {
  Errc e = write_tx_once(fn, synced);
  if (e != Errc::nospc || !frees_space) return e;
  // SQLite needs WAL space even to delete rows: take slices of the space
  // reserve until the retry fits. Space the operation frees lets the reserve
  // be made whole again.
  while (e == Errc::nospc && db_.release_space_reserve()) {
    spdlog::warn("vfs {}: disk full; retrying an operation that frees space with the reserve", id_);
    e = write_tx_once(fn, synced);
  }
  db_.restore_space_reserve();
  return e;
}

Errc FileSystemImpl::write_tx_once(const std::function<Errc(Tx&)>& fn, bool synced) {
  if (deleted_) return Errc::stale;
  Errc e = Errc::ok;
  std::vector<std::pair<Ino, uint64_t>> stored;
  std::vector<std::pair<Ino, uint64_t>> dropped;
  // The rows this operation changes, for the cache once it committed
  // (metadata_cache.h); seq is its place in commit order.
  uint64_t seq = 0;
  Journal journal;
  auto s = commits_.run(
      [&](meta::Conn& c) -> Status<> {
        if (cache_) seq = cache_->begin_write();
        JournalScope scope(journal, table_.fs_num());
        Tx tx{c, {}, {}};
        // Table helpers report a failed statement as Errc::io without its cause;
        // the connection counts statements that failed for lack of space.
        const uint64_t full_before = c.disk_full_errors();
        e = fn(tx);
        if (e == Errc::io && c.disk_full_errors() != full_before) e = Errc::nospc;
        if (e != Errc::ok) return fail(Error{"vfs operation failed"});
        stored = std::move(tx.stored);
        dropped = std::move(tx.dropped_data);
        return {};
      },
      synced);
  // Before the overlays go (below): a reader that finds none finds the row.
  if (seq) cache_->finish_write(seq, s ? std::optional<Journal>(std::move(journal)) : std::nullopt);
  if (!s) {
    if (e == Errc::ok) {
      e = errc_of(s.error());
      if (e == Errc::nospc)
        spdlog::warn("vfs {}: the data dir's disk is full: {}", id_, s.error().message);
      else
        spdlog::error("vfs {}: transaction failed: {}", id_, s.error().message);
    }
    return e;
  }
  if (!stored.empty()) {
    std::lock_guard lk(pending_mu_);
    for (auto [ino, change] : stored) {
      auto it = pending_.find(ino);
      if (it != pending_.end() && it->second.change <= change) pending_.erase(it);
    }
  }
  for (auto [ino, size] : dropped) {
    if (auto r = chunks_.remove(id_, ino, size); !r) {
      // The namespace no longer names it; leftover bytes only cost disk.
      spdlog::warn("vfs {}: dropping data of inode {}: {}", id_, ino, r.error().message);
    }
  }
  if (!dropped.empty()) db_.restore_space_reserve();
  return Errc::ok;
}

Errc FileSystemImpl::read_tx(const std::function<Errc(meta::Conn&)>& fn) {
  if (deleted_) return Errc::stale;
  Errc e = Errc::ok;
  auto s = db_.read([&](meta::Conn& c) -> Status<> {
    e = fn(c);
    if (e != Errc::ok) return fail(Error{"vfs read failed"});
    return {};
  });
  if (!s && e == Errc::ok) {
    spdlog::error("vfs {}: read failed: {}", id_, s.error().message);
    return Errc::io;
  }
  return e;
}

std::optional<FileSystemImpl::Pending> FileSystemImpl::pending(Ino ino) {
  std::lock_guard lk(pending_mu_);
  auto it = pending_.find(ino);
  if (it == pending_.end()) return std::nullopt;
  return it->second;
}

void FileSystemImpl::apply(const std::optional<Pending>& p, Inode& n) const {
  // An overlay is newer than the row it was built on; once folded (the row's
  // change caught up) it no longer applies.
  if (!p || p->change <= n.change || n.type != FileType::reg) return;
  n.size = p->size;
  n.mtime = p->mtime;
  n.ctime = p->ctime;
  n.change = p->change;
}

Errc FileSystemImpl::load(meta::Conn& c, Ino ino, Inode& out, Errc missing) {
  auto p = pending(ino);
  auto r = table_.get(c, ino);
  if (!r) return Errc::io;
  if (!*r) return missing;
  out = std::move(**r);
  apply(p, out);
  return Errc::ok;
}

Errc FileSystemImpl::store(Tx& tx, const Inode& n) {
  if (!table_.put(tx.c, n)) return Errc::io;
  if (log_changes_.load(std::memory_order_relaxed))
    if (Errc e = log_change(tx, n.ino); e != Errc::ok) return e;
  if (n.type == FileType::reg) tx.stored.emplace_back(n.ino, n.change);
  return Errc::ok;
}

VResult<uint32_t> FileSystemImpl::access(const Cred& cred, Ino ino, uint32_t want) {
  auto n = get_inode(ino);
  if (!n) return fail(n.error());
  return granted_access(cred, *n, want);
}

VResult<std::string> FileSystemImpl::readlink(Ino ino) {
  auto n = get_inode(ino);
  if (!n) return fail(n.error());
  // RFC 8881 18.24.4: READLINK of a non-symlink is NFS4ERR_INVAL.
  if (n->type != FileType::lnk) return fail(Errc::inval);
  return std::move(n->target);
}

Errc FileSystemImpl::depth(meta::Conn& c, Ino dir, uint32_t& out) {
  out = 0;
  Ino cur = dir;
  while (cur != kRootIno) {
    auto r = table_.get(c, cur);
    if (!r) return Errc::io;
    if (!*r) return Errc::stale;
    cur = (*r)->parent;
    if (++out > kMaxDepth + 1) break;  // a loop would be a bug; do not spin
  }
  return Errc::ok;
}

Errc FileSystemImpl::is_within(meta::Conn& c, Ino dir, Ino ancestor, bool& out) {
  out = false;
  Ino cur = dir;
  for (uint32_t steps = 0; steps <= kMaxDepth + 1; ++steps) {
    if (cur == ancestor) {
      out = true;
      return Errc::ok;
    }
    if (cur == kRootIno) return Errc::ok;
    auto r = table_.get(c, cur);
    if (!r) return Errc::io;
    if (!*r) return Errc::stale;
    cur = (*r)->parent;
  }
  return Errc::ok;
}

VResult<Ino> FileSystemImpl::resolve_path(std::string_view path,
                                          const std::optional<CreationInfo>& create) {
  if (path.empty() || path[0] != '/') return fail(Errc::inval);
  Cred root_cred;  // access point root directories are resolved as root
  Ino cur = kRootIno;
  std::size_t pos = 0;
  while (pos < path.size()) {
    std::size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    std::string_view comp = path.substr(pos, next - pos);
    pos = next + 1;
    if (comp.empty()) continue;
    if (Errc e = check_name(comp); e != Errc::ok) return fail(Errc::inval);
    auto found = lookup(root_cred, cur, comp);
    if (!found && found.error() == Errc::noent && create) {
      // EFS CreationInfo: missing directories of an access point's root path
      // are made with the given owner and permissions.
      SetAttr sa;
      sa.mode = create->permissions & 07777;
      sa.uid = create->owner_uid;
      sa.gid = create->owner_gid;
      auto made = mkdir(root_cred, cur, comp, sa);
      if (!made && made.error() == Errc::exist) {
        found = lookup(root_cred, cur, comp);  // made by a concurrent caller
      } else if (!made) {
        return fail(made.error());
      } else {
        found = made->attr;
      }
    }
    if (!found) return fail(found.error());
    if (found->type != FileType::dir) return fail(Errc::notdir);
    cur = found->ino;
  }
  return cur;
}

}  // namespace efs::vfs
