// Storage classes of the chunk store: which class directory holds a file's
// segments, and the chunk side of moving a file between classes. The whole
// protocol (the vfs adds the SQLite steps; docs/chunk-format.md, "Storage
// classes"):
//   0. the vfs records the intended move (vfs_lifecycle_moves) in SQLite;
//   1. copy_to_class: copy every segment into the new class, fdatasync the
//      copies, sync the directories they were made in;
//   2. the vfs commits the class change in SQLite (fsynced);
//   3. switch_class: reads and writes use the new class from now on;
//   4. drop_copy of the old class, then the vfs deletes the intent.
// A crash before 2 leaves SQLite naming the old class: recovery drops the new
// copy (rollback). A crash after 2 leaves it naming the new class, whose copy
// is complete and durable: recovery drops the old copy (finish). Either way
// each byte ends up in exactly one class.
#include <spdlog/spdlog.h>

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include "chunk/chunk_store.h"
#include "chunk/store_internal.h"

namespace efs::chunk {

namespace {

std::string parent_dir(const std::string& path) {
  return path.substr(0, path.find_last_of('/'));
}

uint32_t segments_of(uint64_t size) {
  return size == 0 ? 1 : static_cast<uint32_t>((size - 1) / kSegmentBytes + 1);
}

// Copies file `from` to `to` (created or emptied), keeping holes: a 4 KiB
// piece that is all zeros is not written (the copy's length is set first,
// so it reads as zeros, as the original did: a zero block in a data file is
// either a hole or zeros whose checksum the copied sidecar holds). Makes the
// copy durable. Returns the bytes read.
Status<uint64_t> copy_file(Disk& disk, const std::string& from, const std::string& to,
                           const std::function<void()>& pace) {
  auto in = disk.open(from, false);
  if (!in) return fail(in.error());
  auto out = disk.open(to, true);
  if (!out) {
    disk.close(*in);
    return fail(out.error());
  }
  Status<uint64_t> result = uint64_t{0};
  std::vector<uint8_t> buf(1 << 20);
  uint64_t at = 0;
  Status<> s = disk.ftruncate(*out, 0);
  while (s) {
    pace();
    auto n = disk.pread(*in, buf, at);
    if (!n) {
      s = fail(n.error());
      break;
    }
    if (*n == 0) break;
    // The length first: a trailing zero piece that is skipped still counts.
    s = disk.ftruncate(*out, at + *n);
    for (std::size_t off = 0; s && off < *n; off += kBlockBytes) {
      std::size_t len = std::min<std::size_t>(kBlockBytes, *n - off);
      std::span<const uint8_t> piece(buf.data() + off, len);
      if (std::all_of(piece.begin(), piece.end(), [](uint8_t b) { return b == 0; })) continue;
      s = write_fully(disk, *out, piece, at + off);
    }
    at += *n;
  }
  if (s) s = disk.fdatasync(*out);
  disk.close(*in);
  disk.close(*out);
  if (!s) return fail(s.error());
  return at;
}

int64_t coarse_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

void ChunkStore::note_data_io() {
  // A store only when the millisecond changed: the line stays shared
  // between the I/O threads instead of bouncing on every READ.
  const int64_t now = coarse_ms();
  if (last_data_io_ms_.load(std::memory_order_relaxed) != now)
    last_data_io_ms_.store(now, std::memory_order_relaxed);
}

void ChunkStore::yield_to_data_path() {
  // Quiet: no READ or WRITE for this long (the coarse clock ticks every 1-4
  // ms). The cap keeps a move going on a store that is never idle.
  constexpr int64_t kQuietMs = 5;
  constexpr int kMaxWaitMs = 50;
  for (int waited = 0; waited < kMaxWaitMs; waited += 2) {
    if (coarse_ms() - last_data_io_ms_.load(std::memory_order_relaxed) >= kQuietMs) return;
    if (waited == 0) move_yields_.fetch_add(1, std::memory_order_relaxed);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

StorageClass ChunkStore::storage_class(const std::string& fs, uint64_t ino) {
  // Most stores hold nothing outside Standard: no lock then. A class change
  // happens under the inode's class lock held exclusive (switch_class) or
  // before any reader can see the inode (load at start), and readers hold it
  // shared, so this count is current for them.
  if (outside_standard_.load(std::memory_order_acquire) == 0) return StorageClass::standard;
  Shard& sh = shard_of(fs, ino);
  std::lock_guard lk(sh.mu);
  auto it = sh.classes.find(InoRef{fs, ino});
  return it == sh.classes.end() ? StorageClass::standard : it->second;
}

void ChunkStore::set_storage_class(const std::string& fs, uint64_t ino, StorageClass c) {
  Shard& sh = shard_of(fs, ino);
  std::lock_guard lk(sh.mu);
  auto it = sh.classes.find(InoRef{fs, ino});
  if (c == StorageClass::standard) {
    if (it == sh.classes.end()) return;
    sh.classes.erase(it);
    outside_standard_.fetch_sub(1, std::memory_order_release);
  } else if (it != sh.classes.end()) {
    it->second = c;
  } else {
    sh.classes.emplace(InoKey{fs, ino}, c);
    outside_standard_.fetch_add(1, std::memory_order_release);
  }
}

CResult<uint64_t> ChunkStore::copy_to_class(const std::string& fs, uint64_t ino, uint64_t size,
                                            StorageClass to) {
  // Writes of the inode through this store wait (the vfs keeps them out
  // anyway); reads go on against the current copy.
  std::lock_guard inode(inode_lock(fs, ino));
  const StorageClass from = storage_class(fs, ino);
  if (from == to) return uint64_t{0};
  uint64_t copied = 0;
  const std::function<void()> pace = [this] { yield_to_data_path(); };
  std::vector<std::string> dirs_to_sync;
  for (uint32_t seg = 0; seg < segments_of(size); ++seg) {
    const std::string src = path_in(from, fs, ino, seg);
    if (!disk_.exists(src)) continue;  // a hole of a whole segment, or never written
    const std::string dst = path_in(to, fs, ino, seg);
    std::vector<std::string> made;
    if (auto s = make_dirs(disk_, parent_dir(dst), &made); !s) return fail(disk_error(s.error()));
    for (auto it = made.rbegin(); it != made.rend(); ++it) dirs_to_sync.push_back(parent_dir(*it));
    dirs_to_sync.push_back(parent_dir(dst));
    // The sidecar first, as fd() creates them: a data file without one is
    // only ever a version-1 file.
    if (disk_.exists(src + ".crc")) {
      auto c = copy_file(disk_, src + ".crc", dst + ".crc", pace);
      if (!c) return fail(disk_error(c.error()));
    }
    auto d = copy_file(disk_, src, dst, pace);
    if (!d) return fail(disk_error(d.error()));
    copied += *d;
  }
  // Deepest first; each directory's own entry is in the next one.
  for (std::size_t i = 0; i < dirs_to_sync.size(); ++i) {
    if (std::find(dirs_to_sync.begin(), dirs_to_sync.begin() + static_cast<std::ptrdiff_t>(i),
                  dirs_to_sync[i]) != dirs_to_sync.begin() + static_cast<std::ptrdiff_t>(i))
      continue;
    if (auto s = disk_.sync_dir(dirs_to_sync[i]); !s) return fail(disk_error(s.error()));
  }
  return copied;
}

void ChunkStore::switch_class(const std::string& fs, uint64_t ino, StorageClass to) {
  std::lock_guard inode(inode_lock(fs, ino));
  std::unique_lock moving(class_lock(fs, ino));
  set_storage_class(fs, ino, to);
  for (uint32_t seg = 0; seg < 64; ++seg) forget(fs, ino, seg);
  // The copy is durable as a whole: nothing of the inode is unsynced now.
  Shard& sh = shard_of(fs, ino);
  std::lock_guard lk(sh.mu);
  sh.dirty.erase(InoKey{fs, ino});
  sh.unsynced.erase(InoKey{fs, ino});
  sh.new_entries.erase(InoKey{fs, ino});
}

CResult<> ChunkStore::drop_copy(const std::string& fs, uint64_t ino, uint64_t size,
                                StorageClass c) {
  if (c == storage_class(fs, ino)) {
    spdlog::error("chunk store: refusing to drop the live copy of inode {} of {} in {}", ino, fs,
                  storage_class_name(c));
    return fail(ChunkError{EINVAL, "drop_copy of the current class"});
  }
  std::string dir;
  for (uint32_t seg = 0; seg < segments_of(size); ++seg) {
    const std::string p = path_in(c, fs, ino, seg);
    dir = parent_dir(p);
    // Data before sidecar: a data file is never left without its checksums.
    for (const std::string& victim : {p, p + ".crc"}) {
      if (auto s = disk_.unlink(victim); !s && s.error().code != ENOENT)
        return fail(disk_error(s.error()));
    }
  }
  if (!dir.empty() && disk_.exists(dir)) {
    if (auto s = disk_.sync_dir(dir); !s) return fail(disk_error(s.error()));
  }
  return {};
}

}  // namespace efs::chunk
