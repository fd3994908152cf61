// Open files that outlive their name. POSIX keeps an unlinked file alive
// while it is open; over NFSv4 "open" is an open stateid, which the NFS layer
// backs with a hold (FileSystem::hold). The last name of a held regular file
// going (REMOVE, or RENAME over it) leaves the inode row and its data with
// nlink 0 and a row in vfs_orphans; the last hold going frees both. Holds live
// in memory only, so every orphan found when the Vfs opens is freed there
// (free_orphans in vfs.cc).
//
// Ordering: hold() and every unlink of a name take the inode's stripe lock
// around their check and change, so a hold either comes before the unlink
// (which then keeps the inode) or finds the row gone (stale).
#include <spdlog/spdlog.h>

#include "vfs/file_system.h"

namespace efs::vfs {

class FileSystemImpl::Hold final : public OpenHold {
 public:
  Hold(std::shared_ptr<FileSystemImpl> fs, Ino ino) : fs_(std::move(fs)), ino_(ino) {}
  ~Hold() override { fs_->release(ino_); }
  Hold(const Hold&) = delete;
  Hold& operator=(const Hold&) = delete;

 private:
  std::shared_ptr<FileSystemImpl> fs_;
  Ino ino_;
};

VResult<std::shared_ptr<OpenHold>> FileSystemImpl::hold(Ino ino) {
  if (deleted_) return fail(Errc::stale);
  StripeLock lock(*this, {ino});
  auto live = exists(ino);
  if (!live) return fail(live.error());
  if (!*live) return fail(Errc::stale);
  {
    std::lock_guard lk(holds_mu_);
    ++holds_[ino];
  }
  return std::shared_ptr<OpenHold>(std::make_shared<Hold>(shared_from_this(), ino));
}

uint32_t FileSystemImpl::holds_of(Ino ino) {
  std::lock_guard lk(holds_mu_);
  auto it = holds_.find(ino);
  return it == holds_.end() ? 0 : it->second;
}

void FileSystemImpl::release(Ino ino) {
  StripeLock lock(*this, {ino});
  {
    std::lock_guard lk(holds_mu_);
    auto it = holds_.find(ino);
    if (it == holds_.end()) return;  // not reached: every Hold counted itself
    if (--it->second > 0) return;
    holds_.erase(it);
    // Only an orphan needs the database: closing a named file costs nothing.
    if (!orphans_.erase(ino)) return;
  }
  // A deleted file system (or a Vfs shutting down) leaves the orphan to the
  // next start-up.
  if (deleted_) return;
  Errc e = write_tx([&](Tx& tx) {
    auto r = table_.get(tx.c, ino);
    if (!r) return Errc::io;
    // A transaction that orphaned it may have rolled back: then it has a name.
    if (!*r || (*r)->nlink != 0) return Errc::ok;
    if (!table_.erase(tx.c, ino) || !table_.remove_orphan(tx.c, ino)) return Errc::io;
    tx.dropped_data.emplace_back(ino, (*r)->size);
    tx.stored.emplace_back(ino, UINT64_MAX);  // drop its overlay
    return Errc::ok;
  });
  if (e != Errc::ok) {
    // The row stays in vfs_orphans, so the next start-up frees it.
    spdlog::warn("vfs {}: freeing orphaned inode {} failed ({}); freed at next start",
                 id_, ino, static_cast<uint32_t>(e));
    return;
  }
  spdlog::debug("vfs {}: freed inode {} at its last close", id_, ino);
}

Errc FileSystemImpl::unlink_last(Tx& tx, Inode& n, const Time& now) {
  bool held = false;
  if (n.type == FileType::reg) {
    std::lock_guard lk(holds_mu_);
    held = holds_.count(n.ino) > 0;
    // Inserted before the commit: if the transaction rolls back, release()
    // finds a named row and leaves it.
    if (held) orphans_.insert(n.ino);
  }
  if (!held) {
    if (!table_.erase(tx.c, n.ino)) return Errc::io;
    if (n.type == FileType::reg) tx.dropped_data.emplace_back(n.ino, n.size);
    tx.stored.emplace_back(n.ino, UINT64_MAX);  // drop its overlay
    return Errc::ok;
  }
  // POSIX unlink(2): an open file stays until its last close, with no links.
  n.nlink = 0;
  n.ctime = now;
  ++n.change;
  if (!table_.add_orphan(tx.c, n.ino)) return Errc::io;
  spdlog::debug("vfs {}: inode {} lost its last name while open: kept until closed", id_, n.ino);
  return store(tx, n);
}

}  // namespace efs::vfs
