// File data of every file system, on local disk. The namespace (sizes, times,
// links) lives in SQLite (vfs/); this store only keeps bytes, addressed by
// (file system, inode number). Layout and version: docs/chunk-format.md.
//
// Each inode's bytes live in sparse host files of 1 TiB segments under
// <dir>/chunks/<storage class>/<fs>/<shard>/<ino>[.s<n>], written with
// pwrite and read with pread, so holes cost nothing and read back as zeros.
// Segments let a file reach EFS's 52 TB limit on hosts whose own file size
// limit is lower (ext4: 16 TiB). Version 2 adds a CRC32C per 4 KiB block in
// a sidecar file per segment (<...>.crc), checked on every read, and
// per-file-system XTS-AES-256 encryption. A file's storage class (Standard,
// IA, Archive) picks the directory its segments live in; callers never see
// paths. Moving a file between classes: chunk/class_move.cc and
// docs/chunk-format.md ("Storage classes").
//
// Every host call goes through a Disk (common/disk.h), so tests can inject
// ENOSPC, EIO, short writes and power loss. What is durable when:
// docs/crash-consistency.md.
//
// Thread-safe. Open descriptors are kept in a small LRU cache; an entry in use
// by one call stays open even if another call evicts it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/disk.h"
#include "common/result.h"

namespace efs::chunk {

enum class StorageClass { standard, ia, archive };
const char* storage_class_name(StorageClass c);

// Failures carry the errno of the host call that failed (ENOSPC, EIO, ...).
struct ChunkError {
  int err = 0;
  std::string message;
};
template <class T = void>
using CResult = Result<T, ChunkError>;

inline constexpr uint32_t kChunkFormatVersion = 2;
inline constexpr uint64_t kSegmentBytes = uint64_t{1} << 40;
// The unit of checksums and encryption.
inline constexpr uint64_t kBlockBytes = 4096;

struct DataKey;

class ChunkStore {
 public:
  // Opens (creating if needed) the store under dir; checks the format version.
  static Result<std::unique_ptr<ChunkStore>, Error> open(const std::string& dir,
                                                         std::size_t max_open_files = 256);
  // The same through `disk` (which must outlive the store).
  static Result<std::unique_ptr<ChunkStore>, Error> open(Disk& disk, const std::string& dir,
                                                         std::size_t max_open_files = 256);
  ~ChunkStore();

  // Fills `out` with the bytes at [offset, offset + out.size()); holes, bytes
  // past the stored end and files never written read as zeros. The caller
  // bounds the range by the inode's size. A block whose checksum does not
  // match fails the read with EIO (logged with file system, inode, offset).
  CResult<> read(const std::string& fs, uint64_t ino, uint64_t offset, std::span<uint8_t> out);
  // Writes all of data at offset (creating the file). Not durable until sync().
  CResult<> write(const std::string& fs, uint64_t ino, uint64_t offset,
                  std::span<const uint8_t> data);
  // Drops stored bytes at and past size. `old_size` is the largest size the
  // file had (bounds which segments to look at). Growing needs no call: bytes
  // past the stored end read as zeros.
  CResult<> truncate(const std::string& fs, uint64_t ino, uint64_t size, uint64_t old_size);
  // Makes earlier writes and truncates of (fs, ino) through this store
  // durable: fdatasync of each segment touched since the last sync, then a
  // sync of each directory that got a new entry for it (a new segment file,
  // a new shard directory), without which the file itself may vanish on a
  // power loss. After an fdatasync of (fs, ino) failed, every later sync of
  // it fails too (EIO), until the store is reopened: Linux may have dropped
  // the unwritten pages and marked them clean ("fsyncgate"), so a later
  // fdatasync that succeeds proves nothing about the earlier writes.
  CResult<> sync(const std::string& fs, uint64_t ino);
  // Drops the data of one inode whose size is at most `size`. Missing data
  // is not an error.
  CResult<> remove(const std::string& fs, uint64_t ino, uint64_t size);
  // Drops all data of a file system. Missing data is not an error.
  CResult<> remove_file_system(const std::string& fs);
  // Bytes the host actually allocated for (fs, ino): less than the length for
  // sparse files (EFS meters a sparse file by its real storage).
  uint64_t allocated_bytes(const std::string& fs, uint64_t ino, uint64_t size);
  // Pieces of class moves that found READs or WRITEs in flight and waited.
  uint64_t move_yields() const { return move_yields_.load(std::memory_order_relaxed); }

  // Per-file-system encryption at rest. `key` is the file system's data key
  // (64 bytes of key material, unwrapped from its KMS-wrapped form by the
  // caller); the store derives what its cipher needs from it. From the first
  // call on, the file system is recorded as encrypted in the store, and its
  // data is encrypted before it reaches the disk. Registering a different key
  // for a file system already encrypted under another is refused (EINVAL).
  // Reads and writes of an encrypted file system whose key is not
  // registered fail with EACCES, never returning ciphertext.
  static constexpr std::size_t kDataKeyBytes = 64;
  CResult<> set_data_key(const std::string& fs, std::span<const uint8_t, kDataKeyBytes> key);
  // Drops the registered key from memory (the file system stays encrypted).
  void forget_data_key(const std::string& fs);

  const std::string& dir() const { return dir_; }

  // ---- Storage classes (chunk/class_move.cc) ----
  // The class whose directory holds (fs, ino)'s data now (Standard unless
  // set_storage_class / switch_class said otherwise).
  StorageClass storage_class(const std::string& fs, uint64_t ino);
  // Records the class of (fs, ino) as committed in SQLite, when the vfs
  // opens (no data moves).
  void set_storage_class(const std::string& fs, uint64_t ino, StorageClass c);
  // Step 1 of a move: copies every segment of (fs, ino) (data and sidecar,
  // holes kept as holes) from its current class into `to`, then makes the
  // copy durable (fdatasync of each file, sync of each new directory). The
  // current copy is untouched and still serves reads. The caller keeps
  // writes and truncates of the inode out until switch_class (the vfs holds
  // the inode's stripe lock). Returns the bytes copied.
  // The copy runs at a lower priority than the data path: before each 1 MiB
  // piece it waits while a READ or WRITE ran in the last few milliseconds,
  // up to 50 ms per piece (so a busy store still moves >= ~20 MiB/s).
  CResult<uint64_t> copy_to_class(const std::string& fs, uint64_t ino, uint64_t size,
                                  StorageClass to);
  // Step 3 (after the class change committed in SQLite): reads and writes
  // of (fs, ino) use `to` from now on. Waits for reads in flight (they hold
  // the inode's class lock shared) and drops cached descriptors.
  void switch_class(const std::string& fs, uint64_t ino, StorageClass to);
  // Step 4, and recovery: removes the copy of (fs, ino) in class `c`, which
  // must not be its current class. Missing files are not an error.
  CResult<> drop_copy(const std::string& fs, uint64_t ino, uint64_t size, StorageClass c);

 private:
  struct Fd;
  // What the store knows of a file system's encryption.
  struct FsCrypt {
    bool encrypted = false;
    std::shared_ptr<const DataKey> key;  // null: not registered
  };
  // Null for a plaintext file system; EACCES if encrypted without a key.
  CResult<std::shared_ptr<const DataKey>> key_for(const std::string& fs);
  std::string fs_dir(const std::string& fs) const;  // Standard's (holds ENCRYPTION)
  std::string class_dir(StorageClass c, const std::string& fs) const;
  std::string path_in(StorageClass c, const std::string& fs, uint64_t ino, uint32_t seg) const;
  std::shared_mutex& class_lock(const std::string& fs, uint64_t ino) {
    return class_locks_[ino_hash(fs, ino) % class_locks_.size()];
  }
  // One segment's part of a read / write / truncate (chunk/block_io.cc).
  CResult<> read_piece(const std::string& fs, uint64_t ino, uint32_t seg, Fd* h, uint64_t in_seg,
                       std::span<uint8_t> out, const DataKey* key, bool locked);
  CResult<> write_piece(const std::string& fs, uint64_t ino, uint32_t seg, Fd& h, uint64_t in_seg,
                        std::span<const uint8_t> data, const DataKey* key);
  CResult<> truncate_piece(const std::string& fs, uint64_t ino, uint32_t seg, Fd& h,
                           uint64_t in_seg, const DataKey* key);
  // File blocks [first, end) of (fs, ino) were written since its last
  // successful sync; `out[i]` says whether block first + i was (n <= 256).
  void note_unsynced(const std::string& fs, uint64_t ino, uint64_t first, uint64_t end);
  void unsynced_blocks(const std::string& fs, uint64_t ino, uint64_t first, uint64_t n, bool* out);
  std::mutex& inode_lock(const std::string& fs, uint64_t ino) {
    return inode_locks_[ino_hash(fs, ino) % inode_locks_.size()];
  }
  ChunkStore(Disk& disk, std::string dir, std::size_t max_open);
  // The segment's path in the inode's current class.
  std::string path(const std::string& fs, uint64_t ino, uint32_t seg);
  // The cached descriptor of one segment; with create, makes the file (and
  // its directories) if missing. Null (no error) when absent and !create.
  CResult<std::shared_ptr<Fd>> fd(const std::string& fs, uint64_t ino, uint32_t seg, bool create);
  void forget(const std::string& fs, uint64_t ino, uint32_t seg);
  void forget_file_system(const std::string& fs);
  void mark_dirty(const std::string& fs, uint64_t ino, uint32_t seg);
  CResult<> sync_dirs(const std::string& fs, uint64_t ino);

  Disk& disk_;
  std::string dir_;
  // A data dir converted from version 1: a segment without a .crc sidecar
  // is a version-1 file, read and written without checksums.
  bool v1_files_ = false;
  std::shared_mutex crypt_mu_;
  std::unordered_map<std::string, FsCrypt> crypt_;
  // Writes and truncates of one inode run one at a time (read-modify-write
  // of partial blocks and their checksums); reads take it only to retry a
  // block that a concurrent write made look torn.
  std::array<std::mutex, 256> inode_locks_;
  // Reads hold their inode's stripe shared; switch_class holds it exclusive,
  // so no read opens a path of the old class after the switch, and none
  // still reads from it when the old copy goes.
  std::array<std::shared_mutex, 256> class_locks_;
  // The data path's latest READ or WRITE (CLOCK_MONOTONIC_COARSE, ms), and
  // the wait of background copies behind it (yield_to_data_path).
  std::atomic<int64_t> last_data_io_ms_{0};
  std::atomic<uint64_t> move_yields_{0};
  void note_data_io();
  void yield_to_data_path();
  // How many inodes of `classes` (all shards) are outside Standard.
  std::atomic<std::size_t> outside_standard_{0};
  std::size_t max_open_;  // descriptors kept open, per shard
  struct Key {
    std::string fs;
    uint64_t ino;
    uint32_t seg;
    bool operator==(const Key&) const = default;
  };
  // Lookups by (fs, ino[, seg]) go through the *Ref views: the maps' hash
  // and equality are transparent, so a READ finds its descriptor and class
  // without copying the file system's id into a key (it is longer than
  // std::string's inline buffer, so every copy was a heap allocation).
  struct KeyRef {
    std::string_view fs;
    uint64_t ino;
    uint32_t seg;
  };
  static std::size_t ino_hash(std::string_view fs, uint64_t ino) {
    return std::hash<std::string_view>()(fs) ^ (std::hash<uint64_t>()(ino) * 31);
  }
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(const Key& k) const { return ino_hash(k.fs, k.ino) + k.seg; }
    std::size_t operator()(const KeyRef& k) const { return ino_hash(k.fs, k.ino) + k.seg; }
  };
  struct KeyEq {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return a.ino == b.ino && a.seg == b.seg && std::string_view(a.fs) == std::string_view(b.fs);
    }
  };
  // Segments written or truncated since their last fdatasync, as a bit mask
  // per inode (a 52 TB file has 48 segments).
  struct InoKey {
    std::string fs;
    uint64_t ino;
    bool operator==(const InoKey&) const = default;
  };
  struct InoRef {
    std::string_view fs;
    uint64_t ino;
  };
  struct InoKeyHash {
    using is_transparent = void;
    std::size_t operator()(const InoKey& k) const { return ino_hash(k.fs, k.ino); }
    std::size_t operator()(const InoRef& k) const { return ino_hash(k.fs, k.ino); }
  };
  struct InoKeyEq {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return a.ino == b.ino && std::string_view(a.fs) == std::string_view(b.fs);
    }
  };
  template <class Map>
  using InoMap = std::unordered_map<InoKey, Map, InoKeyHash, InoKeyEq>;
  // The entry of (fs, ino) in m, made (value-initialised) if missing; the
  // key's string is built only then.
  template <class V>
  static V& slot(InoMap<V>& m, const std::string& fs, uint64_t ino) {
    auto it = m.find(InoRef{fs, ino});
    if (it == m.end()) it = m.emplace(InoKey{fs, ino}, V{}).first;
    return it->second;
  }
  struct Entry {
    std::shared_ptr<Fd> fd;
    std::list<Key>::iterator pos;
  };
  // The descriptor cache and sync bookkeeping, sharded by inode so READs and
  // WRITEs of different files never wait on one lock. Everything of one
  // inode (all its segments) lives in one shard.
  struct Shard {
    std::mutex mu;
    InoMap<uint64_t> dirty;
    // Directories that got an entry for the inode since its last sync.
    InoMap<std::vector<std::string>> new_entries;
    // File blocks written since the inode's last successful sync, as
    // intervals start -> end: a block written again before a sync keeps
    // its durable checksum (docs/chunk-format.md, the "durable" slot).
    InoMap<std::map<uint64_t, uint64_t>> unsynced;
    // Inodes whose fdatasync failed: their unsynced writes may be lost.
    InoMap<int> sync_failed;
    // Inodes not in Standard (the rest are).
    InoMap<StorageClass> classes;
    std::list<Key> lru;  // front = most recently used
    std::unordered_map<Key, Entry, KeyHash, KeyEq> open;
  };
  static constexpr std::size_t kShards = 16;
  std::array<Shard, kShards> shards_;
  Shard& shard_of(const std::string& fs, uint64_t ino) {
    return shards_[ino_hash(fs, ino) % kShards];
  }
};

}  // namespace efs::chunk
