// File data and attribute changes: read, write, commit, setattr.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "vfs/fault.h"
#include "vfs/file_system.h"
#include "vfs/permission.h"

namespace efs::vfs {

namespace {

Errc chunk_errc(const chunk::ChunkError& e) {
  return errc_of_errno(e.err);
}

Errc data_type_check(const Inode& n) {
  if (n.type == FileType::dir) return Errc::isdir;
  if (n.type == FileType::lnk) return Errc::inval;  // RFC 8881 18.22.4 / 18.32.4
  if (n.type != FileType::reg) return Errc::inval;
  return Errc::ok;
}

// A client retrying refused READs in a loop would otherwise log each one.
constexpr auto kRefusalLogInterval = std::chrono::seconds(10);

}  // namespace

void FileSystemImpl::set_data_access(std::optional<std::string> refused_reason) {
  std::lock_guard lk(refused_mu_);
  if (refused_reason) {
    if (!data_refused_ || refused_reason_ != *refused_reason)
      spdlog::warn("vfs {}: data operations refused from now on: {}", id_, *refused_reason);
    refused_reason_ = std::move(*refused_reason);
    data_refused_ = true;
  } else {
    if (data_refused_) spdlog::info("vfs {}: data operations allowed again", id_);
    data_refused_ = false;
    refused_reason_.clear();
    refusals_unlogged_ = 0;
  }
}

Errc FileSystemImpl::check_data_access(const char* op, Ino ino) {
  if (!data_refused_.load(std::memory_order_acquire)) return Errc::ok;
  std::lock_guard lk(refused_mu_);
  if (!data_refused_) return Errc::ok;
  auto now = std::chrono::steady_clock::now();
  if (now - last_refusal_log_ >= kRefusalLogInterval) {
    if (refusals_unlogged_)
      spdlog::error(
          "vfs {}: {} of inode {} refused with NFS4ERR_IO: {} ({} more refused since "
          "the last such line)",
          id_, op, ino, refused_reason_, refusals_unlogged_);
    else
      spdlog::error("vfs {}: {} of inode {} refused with NFS4ERR_IO: {}", id_, op, ino,
                    refused_reason_);
    last_refusal_log_ = now;
    refusals_unlogged_ = 0;
  } else {
    ++refusals_unlogged_;
  }
  return Errc::io;
}

VResult<ReadResult> FileSystemImpl::read(Ino ino, uint64_t offset, uint32_t count) {
  return read_data(ino, offset, count, true);
}

VResult<ReadResult> FileSystemImpl::read_for_copy(Ino ino, uint64_t offset, uint32_t count) {
  return read_data(ino, offset, count, false);
}

VResult<ReadInto> FileSystemImpl::read_into(Ino ino, uint64_t offset, std::span<uint8_t> dst) {
  return read_data_into(ino, offset, dst, true);
}

VResult<ReadResult> FileSystemImpl::read_data(Ino ino, uint64_t offset, uint32_t count,
                                              bool noted) {
  // The buffer is sized by the file, not the count: replica sync copies
  // every file in 1 MiB requests, most of them for small files.
  // (A failed lookup sizes it 0; read_data_into then reports the error, in
  // its own order of checks.)
  auto n = get_inode(ino);
  ReadResult out;
  out.data.resize(n && offset < n->size ? std::min<uint64_t>(count, n->size - offset) : 0);
  auto r = read_data_into(ino, offset, out.data, noted);
  if (!r) return fail(r.error());
  out.data.resize(r->count);
  out.eof = r->eof;
  return out;
}

VResult<ReadInto> FileSystemImpl::read_data_into(Ino ino, uint64_t offset, std::span<uint8_t> dst,
                                                 bool noted) {
  if (Errc e = check_data_access("READ", ino); e != Errc::ok) return fail(e);
  auto n = get_inode(ino);
  if (!n) return fail(n.error());
  if (Errc e = data_type_check(*n); e != Errc::ok) return fail(e);
  ReadInto out;
  if (offset >= n->size) {
    out.eof = true;
    return out;
  }
  uint64_t len = std::min<uint64_t>({dst.size(), UINT32_MAX, n->size - offset});
  // READ resets the file's lifecycle timer (in memory) and may recall it
  // from IA / Archive (lifecycle_ops.cc); those classes may add latency.
  if (noted) first_byte_wait(note_access(ino, false));
  if (auto r = chunks_.read(id_, ino, offset, dst.first(len)); !r) {
    spdlog::error("vfs {}: read inode {}: {}", id_, ino, r.error().message);
    return fail(chunk_errc(r.error()));
  }
  out.count = static_cast<uint32_t>(len);
  out.eof = offset + len >= n->size;
  // EFS does not update atime on reads.
  return out;
}

VResult<WriteResult> FileSystemImpl::write(Ino ino, uint64_t offset, std::span<const uint8_t> data,
                                           Stability stable, uint32_t writer_uid) {
  if (deleted_) return fail(Errc::stale);
  if (Errc e = check_data_access("WRITE", ino); e != Errc::ok) return fail(e);
  StripeLock lock(*this, {ino});
  auto n = get_inode(ino);
  if (!n) return fail(n.error());
  if (Errc e = data_type_check(*n); e != Errc::ok) return fail(e);
  if (offset > kMaxFileSize || data.size() > kMaxFileSize - offset) {
    spdlog::info("vfs {}: write to inode {} past the EFS file size limit", id_, ino);
    return fail(Errc::fbig);
  }
  WriteResult res;
  res.count = static_cast<uint32_t>(data.size());
  if (data.empty()) {
    res.committed = stable == Stability::unstable ? Stability::unstable : Stability::file_sync;
    return res;
  }
  if (offset > n->size) {
    // Bytes between the old end and offset must read as zeros, even if an
    // earlier unacknowledged write left bytes there before a crash.
    if (auto r = chunks_.truncate(id_, ino, n->size, n->size); !r) {
      return fail(chunk_errc(r.error()));
    }
  }
  if (auto r = chunks_.write(id_, ino, offset, data); !r) {
    spdlog::error("vfs {}: write inode {}: {}", id_, ino, r.error().message);
    if (offset + data.size() > n->size) {
      // A write that ran out of space part-way stored some bytes past the
      // file's end that no size covers: give their blocks back (on a full
      // disk they are what a REMOVE would otherwise have to free).
      if (auto t = chunks_.truncate(id_, ino, n->size, offset + data.size()); !t)
        spdlog::warn("vfs {}: trimming inode {} after a failed write: {}", id_, ino,
                     t.error().message);
    }
    return fail(chunk_errc(r.error()));
  }
  // WRITE resets the lifecycle timer; outside Standard it queues a recall
  // (EFS writes land in Standard).
  note_access(ino, true);
  uint64_t new_size = std::max<uint64_t>(n->size, offset + data.size());
  Time now = now_time();
  // Linux file_remove_privs: a write by anyone but root drops set-ID bits.
  // Checked on the mode already read, so files without them pay nothing;
  // with them the write takes the metadata path below, even when UNSTABLE
  // (a cleared bit must not wait for a COMMIT that may never come).
  const bool kill_set_id = writer_uid != 0 && set_id_bits_to_clear(n->mode) != 0;
  if (stable == Stability::unstable && !kill_set_id) {
    // RFC 8881 18.32.3: UNSTABLE data and its metadata need not be durable
    // until COMMIT; keep the new size and times in memory until then.
    std::lock_guard lk(pending_mu_);
    pending_[ino] = Pending{new_size, now, now, n->change + 1};
    res.committed = Stability::unstable;
    return res;
  }
  if (stable != Stability::unstable) {
    if (auto r = chunks_.sync(id_, ino); !r) return fail(chunk_errc(r.error()));
  }
  Errc e = write_tx(
      [&](Tx& tx) {
        Inode row;
        if (Errc le = load(tx.c, ino, row); le != Errc::ok) return le;
        row.size = std::max(row.size, new_size);
        row.mtime = row.ctime = now;
        if (kill_set_id) row.mode &= ~set_id_bits_to_clear(row.mode);
        ++row.change;
        return store(tx, row);
      },
      false, /*synced=*/stable != Stability::unstable);
  if (e != Errc::ok) return fail(e);
  // An UNSTABLE write that cleared set-ID bits made its metadata durable,
  // but not its data.
  res.committed = stable == Stability::unstable ? Stability::unstable : Stability::file_sync;
  return res;
}

VResult<bool> FileSystemImpl::commit(Ino ino) {
  if (deleted_) return fail(Errc::stale);
  if (Errc e = check_data_access("COMMIT", ino); e != Errc::ok) return fail(e);
  StripeLock lock(*this, {ino});
  auto n = get_inode(ino);
  if (!n) return fail(n.error());
  if (n->type == FileType::dir) return fail(Errc::isdir);
  if (n->type != FileType::reg) return fail(Errc::inval);
  if (auto r = chunks_.sync(id_, ino); !r) {
    spdlog::error("vfs {}: commit inode {}: {}", id_, ino, r.error().message);
    return fail(chunk_errc(r.error()));
  }
  if (!pending(ino)) return true;
  Errc e = write_tx(
      [&](Tx& tx) {
        Inode row;
        if (Errc le = load(tx.c, ino, row); le != Errc::ok) return le;  // folds the overlay
        return store(tx, row);
      },
      false, /*synced=*/true);
  if (e != Errc::ok) return fail(e);
  return true;
}

Errc FileSystemImpl::apply_setattr(Tx& tx, const Cred& cred, Inode& n, const SetAttr& a,
                                   bool creating) {
  (void)tx;
  bool root = cred.uid == 0;
  bool owner = cred.uid == n.uid;
  bool changed = false;
  Time now = now_time();
  if (a.uid && *a.uid != n.uid) {
    // Only root gives a file away (POSIX chown, _POSIX_CHOWN_RESTRICTED).
    if (!root) return Errc::perm;
  }
  if (a.gid && *a.gid != n.gid) {
    // The owner may change the group to one it belongs to.
    if (!root && !(owner && in_group(cred, *a.gid))) return Errc::perm;
  }
  if (a.mode && !root && !owner) return Errc::perm;
  if (a.size) {
    if (n.type == FileType::dir) return Errc::isdir;
    if (n.type != FileType::reg) return Errc::inval;
    if (*a.size > kMaxFileSize) {
      spdlog::info("vfs {}: size {} of inode {} past the EFS limit", id_, *a.size, n.ino);
      return Errc::fbig;
    }
    // nfsd lets the owner truncate a file it opened for writing even without
    // a w bit (NFSD_MAY_OWNER_OVERRIDE); everyone else needs write permission.
    if (!creating && !owner && !may(cred, n, kMayWrite)) return Errc::access;
  }
  bool explicit_times = a.atime_how == TimeHow::client_time || a.mtime_how == TimeHow::client_time;
  bool server_times = a.atime_how == TimeHow::server_time || a.mtime_how == TimeHow::server_time;
  // utimensat(2): explicit times need ownership; "now" also write permission.
  if (explicit_times && !root && !owner) return Errc::perm;
  if (server_times && !root && !owner && !may(cred, n, kMayWrite)) return Errc::access;

  bool owner_changed = false;
  if (a.uid && *a.uid != n.uid) {
    n.uid = *a.uid;
    owner_changed = true;
  }
  if (a.gid && *a.gid != n.gid) {
    n.gid = *a.gid;
    owner_changed = true;
  }
  if (a.uid || a.gid) changed = true;
  if (a.mode) {
    uint32_t mode = *a.mode & 07777;
    // chmod(2): a non-root caller outside the file's group cannot set S_ISGID
    // on a regular file; the bit is cleared silently.
    if (!root && n.type == FileType::reg && !in_group(cred, n.gid)) mode &= ~02000u;
    // EFS "Unsupported NFSv4 features" lists SetUID on directories without
    // naming an error. It is dropped silently rather than refused, so that
    // chmod 4755 dir (cp -a, rsync, tar of a tree with the bit) succeeds, as
    // on Linux file systems where the bit means nothing on a directory.
    if (n.type == FileType::dir && (mode & 04000u)) {
      spdlog::debug("vfs {}: set-user-ID on directory {} dropped (EFS)", id_, n.ino);
      mode &= ~04000u;
    }
    n.mode = mode;
    changed = true;
  }
  // chown of a regular file clears set-ID bits even when root does it, and
  // even if the same SETATTR sets the mode (Linux nfsd_sanitize_attrs,
  // notify_change's ATTR_KILL_SUID/SGID).
  if (owner_changed && n.type == FileType::reg) n.mode &= ~set_id_bits_to_clear(n.mode);
  if (a.size) {
    if (*a.size != n.size) {
      n.mtime = now;
      // Truncation is a write (Linux do_truncate -> file_remove_privs):
      // anyone but root loses the set-ID bits. Not when creating: the
      // creator's own attributes are not a change of content.
      if (!root && !creating) n.mode &= ~set_id_bits_to_clear(n.mode);
    }
    n.size = *a.size;
    changed = true;
  }
  if (a.atime_how == TimeHow::client_time) n.atime = a.atime;
  if (a.atime_how == TimeHow::server_time) n.atime = now;
  if (a.mtime_how == TimeHow::client_time) n.mtime = a.mtime;
  if (a.mtime_how == TimeHow::server_time) n.mtime = now;
  if (a.atime_how != TimeHow::dont_change || a.mtime_how != TimeHow::dont_change) changed = true;
  if (changed && !creating) {
    n.ctime = now;
    ++n.change;
  }
  return Errc::ok;
}

VResult<Attr> FileSystemImpl::setattr(const Cred& cred, Ino ino, const SetAttr& attrs) {
  if (deleted_) return fail(Errc::stale);
  // A size change touches data; mode, owner and times are metadata, which
  // EFS keeps readable and writable under its own key.
  if (attrs.size)
    if (Errc e = check_data_access("SETATTR (size)", ino); e != Errc::ok) return fail(e);
  StripeLock lock(*this, {ino});
  Inode out;
  // Truncation frees space, so it may use the space reserve on a full disk
  // (docs/full-disk.md); any other change of attributes may not.
  const bool frees = attrs.size.has_value();
  Errc e = write_tx(
      [&](Tx& tx) {
        if (Errc le = load(tx.c, ino, out); le != Errc::ok) return le;
        if (attrs.empty()) return Errc::ok;
        uint64_t old_size = out.size;
        if (Errc ae = apply_setattr(tx, cred, out, attrs, false); ae != Errc::ok) return ae;
        if (attrs.size && *attrs.size != old_size) {
          // Drop stored bytes past the smaller of the two sizes, so growing
          // exposes zeros (bytes past the stored end read as zeros). Done before
          // the row commits: a crash in between leaves the old size over bytes
          // that read as zeros, never stale bytes under a new size.
          uint64_t cut = std::min(old_size, *attrs.size);
          if (auto r = chunks_.truncate(id_, ino, cut, old_size); !r) return chunk_errc(r.error());
          if (auto r = chunks_.sync(id_, ino); !r) return chunk_errc(r.error());
        }
        return store(tx, out);
      },
      frees, /*synced=*/frees);
  if (e != Errc::ok) return fail(e);
  // A size change is a write to the data: it resets the lifecycle timer
  // (and recalls a file outside Standard); other attributes do not.
  if (attrs.size && out.type == FileType::reg) note_access(ino, true);
  return to_attr(out);
}

}  // namespace efs::vfs
