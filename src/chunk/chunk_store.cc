#include "chunk/chunk_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace efs::chunk {

namespace {

ChunkError disk_error(const Error& e) {
  return ChunkError{e.code, e.message};
}

std::string parent_of(const std::string& path) {
  return path.substr(0, path.find_last_of('/'));
}

// The first line of <dir>/chunks/FORMAT names the layout version, so a later
// efs-local can recognise (and convert) an older data dir.
constexpr const char* kFormatLine = "efs-local chunk store v";

// Writes all of data at offset, looping over short writes.
Status<> write_fully(Disk& disk, int fd, std::span<const uint8_t> data, uint64_t offset) {
  std::size_t done = 0;
  while (done < data.size()) {
    auto n = disk.pwrite(fd, data.subspan(done), offset + done);
    if (!n) return fail(n.error());
    // A write that stores nothing and names no error would loop forever.
    if (*n == 0) return fail(Error{"pwrite stored no bytes", EIO});
    done += *n;
  }
  return {};
}

// Makes dir and its parents, then syncs the parent of each one made, so the
// new directories survive a power loss.
Status<> make_durable_dirs(Disk& disk, const std::string& dir) {
  std::vector<std::string> made;
  if (auto s = make_dirs(disk, dir, &made); !s) return s;
  for (auto it = made.rbegin(); it != made.rend(); ++it) {
    if (auto s = disk.sync_dir(parent_of(*it)); !s) return s;
  }
  return {};
}

}  // namespace
const char* storage_class_name(StorageClass c) {
  switch (c) {
    case StorageClass::standard:
      return "standard";
    case StorageClass::ia:
      return "ia";
    case StorageClass::archive:
      return "archive";
  }
  return "standard";
}

struct ChunkStore::Fd {
  Disk& disk;
  int fd = -1;
  Fd(Disk& d, int f) : disk(d), fd(f) {}
  ~Fd() {
    if (fd >= 0) disk.close(fd);
  }
};

ChunkStore::ChunkStore(Disk& disk, std::string dir, std::size_t max_open)
    : disk_(disk),
      dir_(std::move(dir)),
      max_open_(std::max<std::size_t>(1, (max_open + kShards - 1) / kShards)) {}

ChunkStore::~ChunkStore() = default;

Result<std::unique_ptr<ChunkStore>, Error> ChunkStore::open(const std::string& dir,
                                                            std::size_t max_open_files) {
  return open(host_disk(), dir, max_open_files);
}

Result<std::unique_ptr<ChunkStore>, Error> ChunkStore::open(Disk& disk, const std::string& dir,
                                                            std::size_t max_open_files) {
  const std::string root = dir + "/chunks";
  if (auto s = make_durable_dirs(disk, root + "/" + storage_class_name(StorageClass::standard));
      !s) {
    return fail(Error{"chunk store: create " + root + ": " + s.error().message, s.error().code});
  }
  const std::string fmt = root + "/FORMAT";
  const std::string want = std::string(kFormatLine) + std::to_string(kChunkFormatVersion);
  if (disk.exists(fmt)) {
    auto f = disk.open(fmt, false);
    if (!f) return fail(Error{"chunk store: " + f.error().message, f.error().code});
    std::string line(256, '\0');
    auto n = disk.pread(*f, {reinterpret_cast<uint8_t*>(line.data()), line.size()}, 0);
    disk.close(*f);
    if (!n) return fail(Error{"chunk store: read " + fmt + ": " + n.error().message});
    line.resize(*n);
    line = line.substr(0, line.find('\n'));
    if (line != want) {
      return fail(
          Error{"chunk store: " + fmt + " says '" + line + "', this build reads '" + want + "'"});
    }
  } else {
    // Written whole under another name, synced, then renamed: a crash never
    // leaves a FORMAT file that names no version.
    std::string text = want + "\n";
    const std::string tmp = fmt + ".tmp";
    auto f = disk.open(tmp, true);
    if (!f) return fail(Error{"chunk store: " + f.error().message, f.error().code});
    Status<> s = disk.ftruncate(*f, 0);
    if (s)
      s = write_fully(disk, *f, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, 0);
    if (s) s = disk.fdatasync(*f);
    disk.close(*f);
    if (s) s = disk.rename(tmp, fmt);
    if (s) s = disk.sync_dir(root);
    if (!s)
      return fail(Error{"chunk store: write " + fmt + ": " + s.error().message, s.error().code});
  }
  return std::unique_ptr<ChunkStore>(new ChunkStore(disk, dir, max_open_files));
}

std::string ChunkStore::path(const std::string& fs, uint64_t ino, uint32_t seg) const {
  // 256 shards per file system keep host directories small; the shard is the
  // low byte of the inode number, which spreads consecutive inodes.
  char shard[3];
  std::snprintf(shard, sizeof shard, "%02x", static_cast<unsigned>(ino & 0xff));
  std::string p = dir_ + "/chunks/standard/" + fs + "/" + shard + "/" + std::to_string(ino);
  if (seg) p += ".s" + std::to_string(seg);
  return p;
}

namespace {

// Number of segments that can hold bytes of a file of `size` bytes (at least
// one, so a zero-length file's segment 0 is still looked at).
uint32_t segments_for(uint64_t size) {
  return size == 0 ? 1 : static_cast<uint32_t>((size - 1) / kSegmentBytes + 1);
}

}  // namespace

CResult<std::shared_ptr<ChunkStore::Fd>> ChunkStore::fd(const std::string& fs, uint64_t ino,
                                                        uint32_t seg, bool create) {
  Key key{fs, ino, seg};
  Shard& sh = shard_of(fs, ino);
  {
    std::lock_guard lk(sh.mu);
    auto it = sh.open.find(key);
    if (it != sh.open.end()) {
      sh.lru.splice(sh.lru.begin(), sh.lru, it->second.pos);
      return it->second.fd;
    }
  }
  std::string p = path(fs, ino, seg);
  auto f = disk_.open(p, false);
  if (!f && f.error().code == ENOENT && create) {
    // The new file and any new directory above it are entries that only a
    // sync of their parent makes durable; sync() does that.
    std::vector<std::string> made;
    if (auto s = make_dirs(disk_, parent_of(p), &made); !s) return fail(disk_error(s.error()));
    f = disk_.open(p, true);
    if (f) {
      std::lock_guard lk(sh.mu);
      auto& dirs = sh.new_entries[InoKey{fs, ino}];
      dirs.push_back(parent_of(p));
      for (auto it = made.rbegin(); it != made.rend(); ++it) dirs.push_back(parent_of(*it));
      sh.dirty[InoKey{fs, ino}] |= uint64_t{1} << (seg & 63);
    }
  }
  if (!f) {
    if (f.error().code == ENOENT) return std::shared_ptr<Fd>();
    return fail(disk_error(f.error()));
  }
  auto h = std::make_shared<Fd>(disk_, *f);
  std::lock_guard lk(sh.mu);
  auto it = sh.open.find(key);
  if (it != sh.open.end()) {
    // Another thread opened it meanwhile: keep one descriptor.
    sh.lru.splice(sh.lru.begin(), sh.lru, it->second.pos);
    return it->second.fd;
  }
  sh.lru.push_front(key);
  sh.open.emplace(key, Entry{h, sh.lru.begin()});
  while (sh.open.size() > max_open_) {
    sh.open.erase(sh.lru.back());
    sh.lru.pop_back();
  }
  return h;
}

void ChunkStore::forget(const std::string& fs, uint64_t ino, uint32_t seg) {
  Shard& sh = shard_of(fs, ino);
  std::lock_guard lk(sh.mu);
  auto it = sh.open.find(Key{fs, ino, seg});
  if (it == sh.open.end()) return;
  sh.lru.erase(it->second.pos);
  sh.open.erase(it);
}

void ChunkStore::forget_file_system(const std::string& fs) {
  for (Shard& sh : shards_) {
    std::lock_guard lk(sh.mu);
    for (auto it = sh.lru.begin(); it != sh.lru.end();) {
      if (it->fs == fs) {
        sh.open.erase(*it);
        it = sh.lru.erase(it);
      } else {
        ++it;
      }
    }
    std::erase_if(sh.dirty, [&](const auto& kv) { return kv.first.fs == fs; });
    std::erase_if(sh.new_entries, [&](const auto& kv) { return kv.first.fs == fs; });
    std::erase_if(sh.sync_failed, [&](const auto& kv) { return kv.first.fs == fs; });
  }
}

void ChunkStore::mark_dirty(const std::string& fs, uint64_t ino, uint32_t seg) {
  Shard& sh = shard_of(fs, ino);
  std::lock_guard lk(sh.mu);
  sh.dirty[InoKey{fs, ino}] |= uint64_t{1} << (seg & 63);
}

CResult<> ChunkStore::read(const std::string& fs, uint64_t ino, uint64_t offset,
                           std::span<uint8_t> out) {
  std::size_t pos = 0;
  while (pos < out.size()) {
    uint64_t at = offset + pos;
    auto seg = static_cast<uint32_t>(at / kSegmentBytes);
    uint64_t in_seg = at % kSegmentBytes;
    std::size_t piece =
        static_cast<std::size_t>(std::min<uint64_t>(out.size() - pos, kSegmentBytes - in_seg));
    auto h = fd(fs, ino, seg, false);
    if (!h) return fail(h.error());
    std::size_t done = 0;
    if (*h) {
      while (done < piece) {
        auto n = disk_.pread((*h)->fd, out.subspan(pos + done, piece - done), in_seg + done);
        if (!n) return fail(disk_error(n.error()));
        if (*n == 0) break;  // past the stored end: the rest is a hole
        done += *n;
      }
    }
    std::memset(out.data() + pos + done, 0, piece - done);
    pos += piece;
  }
  return {};
}

CResult<> ChunkStore::write(const std::string& fs, uint64_t ino, uint64_t offset,
                            std::span<const uint8_t> data) {
  std::size_t pos = 0;
  while (pos < data.size()) {
    uint64_t at = offset + pos;
    auto seg = static_cast<uint32_t>(at / kSegmentBytes);
    uint64_t in_seg = at % kSegmentBytes;
    std::size_t piece =
        static_cast<std::size_t>(std::min<uint64_t>(data.size() - pos, kSegmentBytes - in_seg));
    auto h = fd(fs, ino, seg, true);
    if (!h) return fail(h.error());
    // Marked before writing: a write that failed part-way may still have
    // stored some bytes, which a later sync must cover.
    mark_dirty(fs, ino, seg);
    if (auto s = write_fully(disk_, (*h)->fd, data.subspan(pos, piece), in_seg); !s) {
      return fail(disk_error(s.error()));
    }
    pos += piece;
  }
  return {};
}

CResult<> ChunkStore::truncate(const std::string& fs, uint64_t ino, uint64_t size,
                               uint64_t old_size) {
  uint32_t segs = segments_for(std::max(size, old_size));
  for (uint32_t seg = 0; seg < segs; ++seg) {
    uint64_t start = uint64_t{seg} * kSegmentBytes;
    if (start >= size && seg > 0) {
      forget(fs, ino, seg);
      if (auto s = disk_.unlink(path(fs, ino, seg)); !s && s.error().code != ENOENT) {
        return fail(disk_error(s.error()));
      }
      continue;
    }
    if (start + kSegmentBytes <= size) continue;  // wholly inside the new size
    auto h = fd(fs, ino, seg, false);
    if (!h) return fail(h.error());
    if (!*h) continue;
    mark_dirty(fs, ino, seg);
    if (auto s = disk_.ftruncate((*h)->fd, size - start); !s) return fail(disk_error(s.error()));
  }
  return {};
}

CResult<> ChunkStore::sync(const std::string& fs, uint64_t ino) {
  const InoKey key{fs, ino};
  Shard& sh = shard_of(fs, ino);
  uint64_t mask = 0;
  {
    std::lock_guard lk(sh.mu);
    if (auto f = sh.sync_failed.find(key); f != sh.sync_failed.end()) {
      return fail(ChunkError{EIO, "an earlier fdatasync of inode " + std::to_string(ino) +
                                      " failed (" + std::strerror(f->second) +
                                      "): its unsynced writes may be lost"});
    }
    auto it = sh.dirty.find(key);
    if (it != sh.dirty.end()) {
      mask = it->second;
      sh.dirty.erase(it);
    }
  }
  for (uint32_t seg = 0; seg < 64; ++seg) {
    if (!(mask & (uint64_t{1} << seg))) continue;
    auto h = fd(fs, ino, seg, false);
    if (!h) {
      // This segment and the ones after it are still to be synced.
      std::lock_guard lk(sh.mu);
      sh.dirty[key] |= mask & (~uint64_t{0} << seg);
      return fail(h.error());
    }
    if (!*h) continue;
    if (auto s = disk_.fdatasync((*h)->fd); !s) {
      // Not retried: after a failed fdatasync Linux may have dropped the
      // dirty pages and marked them clean, so a retry could succeed with the
      // data gone. The inode stays failed until the store is reopened.
      spdlog::error("chunk store: {} of inode {} of {}: every later sync of it fails until restart",
                    s.error().message, ino, fs);
      std::lock_guard lk(sh.mu);
      sh.sync_failed[key] = s.error().code ? s.error().code : EIO;
      return fail(disk_error(s.error()));
    }
  }
  return sync_dirs(fs, ino);
}

CResult<> ChunkStore::sync_dirs(const std::string& fs, uint64_t ino) {
  std::vector<std::string> dirs;
  Shard& sh = shard_of(fs, ino);
  {
    std::lock_guard lk(sh.mu);
    auto it = sh.new_entries.find(InoKey{fs, ino});
    if (it == sh.new_entries.end()) return {};
    dirs = std::move(it->second);
    sh.new_entries.erase(it);
  }
  // Deepest first: each directory's own entry is in its parent, synced next.
  for (std::size_t i = 0; i < dirs.size(); ++i) {
    if (std::find(dirs.begin(), dirs.begin() + static_cast<std::ptrdiff_t>(i), dirs[i]) !=
        dirs.begin() + static_cast<std::ptrdiff_t>(i))
      continue;
    if (auto s = disk_.sync_dir(dirs[i]); !s) {
      std::lock_guard lk(sh.mu);
      auto& back = sh.new_entries[InoKey{fs, ino}];
      back.insert(back.end(), dirs.begin() + static_cast<std::ptrdiff_t>(i), dirs.end());
      return fail(disk_error(s.error()));
    }
  }
  return {};
}

CResult<> ChunkStore::remove(const std::string& fs, uint64_t ino, uint64_t size) {
  {
    Shard& sh = shard_of(fs, ino);
    std::lock_guard lk(sh.mu);
    sh.dirty.erase(InoKey{fs, ino});
    sh.new_entries.erase(InoKey{fs, ino});
    sh.sync_failed.erase(InoKey{fs, ino});
  }
  for (uint32_t seg = 0; seg < segments_for(size); ++seg) {
    forget(fs, ino, seg);
    if (auto s = disk_.unlink(path(fs, ino, seg)); !s && s.error().code != ENOENT) {
      return fail(disk_error(s.error()));
    }
  }
  return {};
}

CResult<> ChunkStore::remove_file_system(const std::string& fs) {
  forget_file_system(fs);
  if (auto s = disk_.remove_all(dir_ + "/chunks/standard/" + fs); !s) {
    return fail(disk_error(s.error()));
  }
  return {};
}

CResult<> ChunkStore::set_data_key(const std::string& fs,
                                   std::span<const uint8_t, kDataKeyBytes> key) {
  std::lock_guard lock(keys_mu_);
  auto& slot = data_keys_[fs];
  std::copy(key.begin(), key.end(), slot.begin());
  return {};
}

void ChunkStore::forget_data_key(const std::string& fs) {
  std::lock_guard lock(keys_mu_);
  data_keys_.erase(fs);
}

uint64_t ChunkStore::allocated_bytes(const std::string& fs, uint64_t ino, uint64_t size) {
  uint64_t total = 0;
  for (uint32_t seg = 0; seg < segments_for(size); ++seg) {
    if (auto n = disk_.allocated_bytes(path(fs, ino, seg)); n) total += *n;
  }
  return total;
}

}  // namespace efs::chunk
