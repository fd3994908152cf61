#include "chunk/chunk_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "chunk/block_cipher.h"
#include "chunk/store_internal.h"

namespace efs::chunk {

namespace {

std::string parent_of(const std::string& path) {
  return path.substr(0, path.find_last_of('/'));
}

// The first line of <dir>/chunks/FORMAT names the layout version, so a later
// efs-local can recognise (and convert) an older data dir. A second line
// marks a data dir converted from version 1 (docs/chunk-format.md).
constexpr const char* kFormatLine = "efs-local chunk store v";
constexpr const char* kV1FilesLine = "v1-files: segments without a .crc sidecar are unchecked";
// A file system's encryption marker, and its first line.
constexpr const char* kMarkerName = "ENCRYPTION";
constexpr const char* kMarkerLine = "efs-local chunk encryption v1 xts-aes-256 block 4096";

// Reads a small file whole (at most 4 KiB).
Status<std::string> read_small(Disk& disk, const std::string& path) {
  auto f = disk.open(path, false);
  if (!f) return fail(f.error());
  std::string text(4096, '\0');
  auto n = disk.pread(*f, {reinterpret_cast<uint8_t*>(text.data()), text.size()}, 0);
  disk.close(*f);
  if (!n) return fail(n.error());
  text.resize(*n);
  return text;
}

// Writes a small file whole under another name, syncs it, renames it into
// place and syncs the directory: a crash leaves the old file or the new one.
Status<> replace_small(Disk& disk, const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  auto f = disk.open(tmp, true);
  if (!f) return fail(f.error());
  Status<> s = disk.ftruncate(*f, 0);
  if (s) s = write_fully(disk, *f, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, 0);
  if (s) s = disk.fdatasync(*f);
  disk.close(*f);
  if (s) s = disk.rename(tmp, path);
  if (s) s = disk.sync_dir(path.substr(0, path.find_last_of('/')));
  return s;
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
  const std::string v1 = std::string(kFormatLine) + "1";
  bool v1_files = false;
  if (disk.exists(fmt)) {
    auto text = read_small(disk, fmt);
    if (!text) {
      return fail(
          Error{"chunk store: read " + fmt + ": " + text.error().message, text.error().code});
    }
    std::string line = text->substr(0, text->find('\n'));
    if (line == v1) {
      // Version 1 files stay as they are (no conversion pass over possibly
      // terabytes at start): a segment without a sidecar is read and
      // written unchecked, new files get checksums. FORMAT is replaced
      // atomically, so a crash leaves v1 (converted again) or v2 + marker.
      spdlog::info("chunk store: {} is version 1; opening it as version 2 with unchecked v1 files",
                   root);
      if (auto s = replace_small(disk, fmt, want + "\n" + kV1FilesLine + "\n"); !s) {
        return fail(
            Error{"chunk store: convert " + fmt + ": " + s.error().message, s.error().code});
      }
      v1_files = true;
    } else if (line != want) {
      return fail(
          Error{"chunk store: " + fmt + " says '" + line + "', this build reads '" + want + "'"});
    } else {
      v1_files = text->find(kV1FilesLine) != std::string::npos;
    }
  } else if (auto s = replace_small(disk, fmt, want + "\n"); !s) {
    // Written whole under another name, synced, then renamed: a crash never
    // leaves a FORMAT file that names no version.
    return fail(Error{"chunk store: write " + fmt + ": " + s.error().message, s.error().code});
  }
  auto store = std::unique_ptr<ChunkStore>(new ChunkStore(disk, dir, max_open_files));
  store->v1_files_ = v1_files;
  return store;
}

std::string ChunkStore::path(const std::string& fs, uint64_t ino, uint32_t seg) {
  return path_in(storage_class(fs, ino), fs, ino, seg);
}

std::string ChunkStore::path_in(StorageClass c, const std::string& fs, uint64_t ino,
                                uint32_t seg) const {
  // 256 shards per file system keep host directories small; the shard is the
  // low byte of the inode number, which spreads consecutive inodes.
  char shard[3];
  std::snprintf(shard, sizeof shard, "%02x", static_cast<unsigned>(ino & 0xff));
  std::string p = class_dir(c, fs) + "/" + shard + "/" + std::to_string(ino);
  if (seg) p += ".s" + std::to_string(seg);
  return p;
}

std::string ChunkStore::fs_dir(const std::string& fs) const {
  return class_dir(StorageClass::standard, fs);
}

std::string ChunkStore::class_dir(StorageClass c, const std::string& fs) const {
  return dir_ + "/chunks/" + storage_class_name(c) + "/" + fs;
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
  const KeyRef ref{fs, ino, seg};
  Shard& sh = shard_of(fs, ino);
  {
    std::lock_guard lk(sh.mu);
    auto it = sh.open.find(ref);
    if (it != sh.open.end()) {
      sh.lru.splice(sh.lru.begin(), sh.lru, it->second.pos);
      return it->second.fd;
    }
  }
  std::string p = path(fs, ino, seg);
  const std::string crc_path = p + ".crc";
  auto f = disk_.open(p, false);
  Status<int> c = fail(Error{"no checksum file", ENOENT});
  if (f) {
    c = disk_.open(crc_path, false);
    if (!c && c.error().code == ENOENT && !v1_files_) {
      disk_.close(*f);
      spdlog::error("chunk store: {} has no checksum file {}", p, crc_path);
      return fail(ChunkError{EIO, "chunk store: " + p + " has no checksum file"});
    }
    if (!c && c.error().code != ENOENT) {
      disk_.close(*f);
      return fail(disk_error(c.error()));
    }
  } else if (f.error().code == ENOENT && create) {
    // The new files and any new directory above them are entries that only
    // a sync of their parent makes durable; sync() does that. The sidecar
    // comes first, so a data file without one is always a version-1 file.
    std::vector<std::string> made;
    if (auto s = make_dirs(disk_, parent_of(p), &made); !s) return fail(disk_error(s.error()));
    c = disk_.open(crc_path, true);
    if (!c) return fail(disk_error(c.error()));
    f = disk_.open(p, true);
    if (!f) disk_.close(*c);
    if (f) {
      std::lock_guard lk(sh.mu);
      auto& dirs = slot(sh.new_entries, fs, ino);
      dirs.push_back(parent_of(p));
      for (auto it = made.rbegin(); it != made.rend(); ++it) dirs.push_back(parent_of(*it));
      slot(sh.dirty, fs, ino) |= uint64_t{1} << (seg & 63);
    }
  }
  if (!f) {
    if (f.error().code == ENOENT) return std::shared_ptr<Fd>();
    return fail(disk_error(f.error()));
  }
  auto h = std::make_shared<Fd>(disk_, *f, c ? *c : -1);
  std::lock_guard lk(sh.mu);
  auto it = sh.open.find(ref);
  if (it != sh.open.end()) {
    // Another thread opened it meanwhile: keep one descriptor.
    sh.lru.splice(sh.lru.begin(), sh.lru, it->second.pos);
    return it->second.fd;
  }
  Key key{fs, ino, seg};
  sh.lru.push_front(key);
  sh.open.emplace(std::move(key), Entry{h, sh.lru.begin()});
  while (sh.open.size() > max_open_) {
    sh.open.erase(sh.lru.back());
    sh.lru.pop_back();
  }
  return h;
}

void ChunkStore::forget(const std::string& fs, uint64_t ino, uint32_t seg) {
  Shard& sh = shard_of(fs, ino);
  std::lock_guard lk(sh.mu);
  auto it = sh.open.find(KeyRef{fs, ino, seg});
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
    std::erase_if(sh.unsynced, [&](const auto& kv) { return kv.first.fs == fs; });
    outside_standard_.fetch_sub(
        std::erase_if(sh.classes, [&](const auto& kv) { return kv.first.fs == fs; }),
        std::memory_order_release);
  }
}

void ChunkStore::mark_dirty(const std::string& fs, uint64_t ino, uint32_t seg) {
  Shard& sh = shard_of(fs, ino);
  std::lock_guard lk(sh.mu);
  slot(sh.dirty, fs, ino) |= uint64_t{1} << (seg & 63);
}

CResult<> ChunkStore::read(const std::string& fs, uint64_t ino, uint64_t offset,
                           std::span<uint8_t> out) {
  note_data_io();
  auto key = key_for(fs);
  if (!key) return fail(key.error());
  // A move's switch waits for this read (class_locks_).
  std::shared_lock moving(class_lock(fs, ino));
  std::size_t pos = 0;
  while (pos < out.size()) {
    uint64_t at = offset + pos;
    auto seg = static_cast<uint32_t>(at / kSegmentBytes);
    uint64_t in_seg = at % kSegmentBytes;
    std::size_t piece =
        static_cast<std::size_t>(std::min<uint64_t>(out.size() - pos, kSegmentBytes - in_seg));
    auto h = fd(fs, ino, seg, false);
    if (!h) return fail(h.error());
    if (auto r =
            read_piece(fs, ino, seg, h->get(), in_seg, out.subspan(pos, piece), key->get(), false);
        !r) {
      return r;
    }
    pos += piece;
  }
  return {};
}

CResult<> ChunkStore::write(const std::string& fs, uint64_t ino, uint64_t offset,
                            std::span<const uint8_t> data) {
  note_data_io();
  auto key = key_for(fs);
  if (!key) return fail(key.error());
  std::lock_guard lock(inode_lock(fs, ino));
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
    if (auto r = write_piece(fs, ino, seg, **h, in_seg, data.subspan(pos, piece), key->get()); !r)
      return r;
    pos += piece;
  }
  return {};
}

CResult<> ChunkStore::truncate(const std::string& fs, uint64_t ino, uint64_t size,
                               uint64_t old_size) {
  auto key = key_for(fs);
  if (!key) return fail(key.error());
  std::lock_guard lock(inode_lock(fs, ino));
  uint32_t segs = segments_for(std::max(size, old_size));
  for (uint32_t seg = 0; seg < segs; ++seg) {
    uint64_t start = uint64_t{seg} * kSegmentBytes;
    if (start >= size && seg > 0) {
      // The sidecar is emptied first (every block a hole), then the data
      // goes, then the sidecar: a crash in between leaves blocks that read
      // as zeros, never a data file whose checksums are gone.
      auto h = fd(fs, ino, seg, false);
      if (!h) return fail(h.error());
      if (*h && (*h)->crc_fd >= 0) {
        if (auto s = disk_.ftruncate((*h)->crc_fd, 0); !s) return fail(disk_error(s.error()));
      }
      forget(fs, ino, seg);
      const std::string p = path(fs, ino, seg);
      for (const std::string& victim : {p, p + ".crc"}) {
        if (auto s = disk_.unlink(victim); !s && s.error().code != ENOENT) {
          return fail(disk_error(s.error()));
        }
      }
      continue;
    }
    if (start + kSegmentBytes <= size) continue;  // wholly inside the new size
    auto h = fd(fs, ino, seg, false);
    if (!h) return fail(h.error());
    if (!*h) continue;
    mark_dirty(fs, ino, seg);
    if (auto r = truncate_piece(fs, ino, seg, **h, size - start, key->get()); !r) return r;
  }
  return {};
}

void ChunkStore::note_unsynced(const std::string& fs, uint64_t ino, uint64_t first, uint64_t end) {
  Shard& sh = shard_of(fs, ino);
  std::lock_guard lk(sh.mu);
  auto& m = slot(sh.unsynced, fs, ino);
  // Merge with every interval that overlaps or touches [first, end).
  auto it = m.upper_bound(first);
  if (it != m.begin() && std::prev(it)->second >= first) --it;
  while (it != m.end() && it->first <= end) {
    first = std::min(first, it->first);
    end = std::max(end, it->second);
    it = m.erase(it);
  }
  m.emplace(first, end);
}

void ChunkStore::unsynced_blocks(const std::string& fs, uint64_t ino, uint64_t first, uint64_t n,
                                 bool* out) {
  std::fill(out, out + n, false);
  Shard& sh = shard_of(fs, ino);
  std::lock_guard lk(sh.mu);
  auto f = sh.unsynced.find(InoRef{fs, ino});
  if (f == sh.unsynced.end()) return;
  const auto& m = f->second;
  auto it = m.upper_bound(first);
  if (it != m.begin()) --it;
  for (; it != m.end() && it->first < first + n; ++it) {
    for (uint64_t b = std::max(first, it->first); b < std::min(first + n, it->second); ++b)
      out[b - first] = true;
  }
}

CResult<> ChunkStore::sync(const std::string& fs, uint64_t ino) {
  const InoKey key{fs, ino};
  // Writes of the inode wait: the blocks this sync makes durable are then
  // exactly those noted unsynced (the vfs serializes them per inode anyway).
  std::lock_guard inode(inode_lock(fs, ino));
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
    // Checksums first: after a power loss between the two, every block
    // still matches one of its two checksums (docs/chunk-format.md).
    Status<> s = (*h)->crc_fd >= 0 ? disk_.fdatasync((*h)->crc_fd) : Status<>{};
    if (s) s = disk_.fdatasync((*h)->fd);
    if (!s) {
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
  if (auto r = sync_dirs(fs, ino); !r) return r;
  std::lock_guard lk(sh.mu);
  sh.unsynced.erase(key);
  return {};
}

CResult<> ChunkStore::sync_dirs(const std::string& fs, uint64_t ino) {
  std::vector<std::string> dirs;
  Shard& sh = shard_of(fs, ino);
  {
    std::lock_guard lk(sh.mu);
    auto it = sh.new_entries.find(InoRef{fs, ino});
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
  const StorageClass cls = storage_class(fs, ino);
  {
    Shard& sh = shard_of(fs, ino);
    std::lock_guard lk(sh.mu);
    sh.dirty.erase(InoKey{fs, ino});
    sh.new_entries.erase(InoKey{fs, ino});
    sh.sync_failed.erase(InoKey{fs, ino});
    sh.unsynced.erase(InoKey{fs, ino});
    if (sh.classes.erase(InoKey{fs, ino})) outside_standard_.fetch_sub(1, std::memory_order_release);
  }
  for (uint32_t seg = 0; seg < segments_for(size); ++seg) {
    forget(fs, ino, seg);
    const std::string p = path_in(cls, fs, ino, seg);
    for (const std::string& victim : {p, p + ".crc"}) {
      if (auto s = disk_.unlink(victim); !s && s.error().code != ENOENT) {
        return fail(disk_error(s.error()));
      }
    }
  }
  return {};
}

CResult<> ChunkStore::remove_file_system(const std::string& fs) {
  forget_file_system(fs);
  {
    std::unique_lock lock(crypt_mu_);
    crypt_.erase(fs);
  }
  for (StorageClass c : {StorageClass::ia, StorageClass::archive, StorageClass::standard}) {
    if (auto s = disk_.remove_all(class_dir(c, fs)); !s) return fail(disk_error(s.error()));
  }
  return {};
}

CResult<std::shared_ptr<const DataKey>> ChunkStore::key_for(const std::string& fs) {
  {
    std::shared_lock lock(crypt_mu_);
    auto it = crypt_.find(fs);
    if (it != crypt_.end()) {
      if (!it->second.encrypted || it->second.key) return it->second.key;
      return fail(
          ChunkError{EACCES, "file system " + fs + " is encrypted and its key is not loaded"});
    }
  }
  // First use since open: the marker says whether the file system is
  // encrypted (it outlives a restart; the key does not).
  const bool encrypted = disk_.exists(fs_dir(fs) + "/" + kMarkerName);
  std::unique_lock lock(crypt_mu_);
  FsCrypt& c = crypt_[fs];
  if (!c.key) c.encrypted = c.encrypted || encrypted;
  if (!c.encrypted || c.key) return c.key;
  return fail(ChunkError{EACCES, "file system " + fs + " is encrypted and its key is not loaded"});
}

CResult<> ChunkStore::set_data_key(const std::string& fs,
                                   std::span<const uint8_t, kDataKeyBytes> key) {
  std::unique_lock lock(crypt_mu_);
  const std::string dir = fs_dir(fs);
  const std::string marker = dir + "/" + kMarkerName;
  const std::string kcv = key_check_value(key);
  if (disk_.exists(marker)) {
    auto text = read_small(disk_, marker);
    if (!text) return fail(disk_error(text.error()));
    if (text->find("kcv " + kcv + "\n") == std::string::npos) {
      spdlog::error(
          "chunk store: file system {}: the data key offered is not the one its data is "
          "encrypted with",
          fs);
      return fail(ChunkError{EINVAL, "file system " + fs + " is encrypted under another key"});
    }
  } else {
    // Data written before the first key is plaintext: encrypting from now
    // on would mix both, so that is refused. A shard directory is made by
    // the first write of a file system.
    for (unsigned b = 0; b < 256; ++b) {
      char shard[3];
      std::snprintf(shard, sizeof shard, "%02x", b);
      if (disk_.exists(dir + "/" + shard)) {
        spdlog::error("chunk store: file system {} already holds unencrypted data", fs);
        return fail(ChunkError{EINVAL, "file system " + fs + " already holds unencrypted data"});
      }
    }
    if (auto s = make_durable_dirs(disk_, dir); !s) return fail(disk_error(s.error()));
    if (auto s = replace_small(disk_, marker, std::string(kMarkerLine) + "\nkcv " + kcv + "\n");
        !s) {
      return fail(disk_error(s.error()));
    }
  }
  auto k = std::make_shared<DataKey>();
  std::copy(key.begin(), key.end(), k->bytes.begin());
  k->generation = next_key_generation();
  FsCrypt& c = crypt_[fs];
  c.encrypted = true;
  c.key = std::move(k);
  return {};
}

void ChunkStore::forget_data_key(const std::string& fs) {
  std::unique_lock lock(crypt_mu_);
  auto it = crypt_.find(fs);
  if (it != crypt_.end()) it->second.key.reset();
}

uint64_t ChunkStore::allocated_bytes(const std::string& fs, uint64_t ino, uint64_t size) {
  uint64_t total = 0;
  for (uint32_t seg = 0; seg < segments_for(size); ++seg) {
    if (auto n = disk_.allocated_bytes(path(fs, ino, seg)); n) total += *n;
  }
  return total;
}

}  // namespace efs::chunk
