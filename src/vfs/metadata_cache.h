// An in-memory cache of the namespace rows (inode_table.h) of all file
// systems of one Vfs, so GETATTR, LOOKUP, READDIR and file-handle checks of
// hot trees read no SQLite. Holds committed state only:
//
//  - Reads fill it from a reader snapshot. A fill carries a ticket (the
//    cache's version, taken before the snapshot began) and is dropped if any
//    committed change was applied since (checked under the shard's lock):
//    such a snapshot may predate the change. A ticket taken after a change
//    was applied belongs to a snapshot that includes it (changes are applied
//    only after their commit returned); a change whose application starts
//    after a fill was kept overwrites what the fill stored.
//  - Writes never touch it inside their transaction. InodeTable records each
//    row change of a write transaction in a Journal (JournalScope); once the
//    transaction committed, the journal is applied in commit order (every
//    write takes a sequence number inside its transaction, where the Db
//    serializes them; finish_write() applies journals strictly by that
//    number and returns once the caller's own is applied). A failed
//    operation or group commit hands no journal: nothing it did is shown.
//
// Structure: 64 shards by (file system, inode), each a mutex, its maps and
// an LRU list; the entry budget is global (a shard evicts its least recently
// used entries while the total is over it). Every GETATTR touches
// the LRU, so a reader-writer lock would not let readers share anyway; with
// shards, io threads collide only when they hit the same shard at the same
// instant, and eviction stays O(1) per entry without any global lock.
//
// Entries: one per inode (its row, or "no such inode"); one per directory
// whose names are known, weighing 1 + its names. A directory is either
// complete (all its entries known, in cookie order: READDIR is served from
// it, and a name not in it does not exist) or partial (names looked up, and
// names known to be absent: negative entries).
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "vfs/inode_table.h"

namespace efs::vfs {

// The row changes of one write transaction, in order.
struct Journal {
  struct PutInode {
    Inode n;
  };
  struct EraseInode {
    Ino ino;
  };
  struct AddName {
    Ino dir;
    std::string name;
    Ino child;
    uint64_t cookie;
  };
  struct RemoveName {
    Ino dir;
    std::string name;
  };
  using Change = std::variant<PutInode, EraseInode, AddName, RemoveName>;
  int64_t fs = 0;
  std::vector<Change> changes;
};

// While alive, InodeTable's writes of file system `fs` on this thread are
// recorded in j (set around one operation's transaction body).
class JournalScope {
 public:
  JournalScope(Journal& j, int64_t fs);
  ~JournalScope();
  JournalScope(const JournalScope&) = delete;
  JournalScope& operator=(const JournalScope&) = delete;
  // The journal recording fs's writes on this thread, or null.
  static Journal* active(int64_t fs);

 private:
  Journal* prev_;
};

class MetadataCache {
 public:
  // 0 entries: disabled (every call misses, fills and applies do nothing).
  // Default: VfsOptions's (about 250 bytes an entry, ~60 MiB when full).
  explicit MetadataCache(std::size_t max_entries = VfsOptions{}.metadata_cache_entries);

  bool enabled() const { return max_entries_ > 0; }
  std::size_t max_entries() const { return max_entries_; }

  // --- reads ---
  // Taken before the SQLite read whose result is handed to a fill.
  uint64_t ticket() const { return version_.load(); }
  // nullopt: unknown; an empty inner optional: known not to exist.
  std::optional<std::optional<Inode>> inode(int64_t fs, Ino ino);
  void fill_inode(int64_t fs, Ino ino, const std::optional<Inode>& n, uint64_t ticket);

  enum class Name { unknown, absent, present };
  Name name(int64_t fs, Ino dir, std::string_view name, DirentRow& out);
  void fill_name(int64_t fs, Ino dir, std::string_view name, const std::optional<DirentRow>& row,
                 uint64_t ticket);

  // READDIR of a complete directory: up to `limit` entries with cookie >
  // after, in cookie order; eof if none follow. False if not complete here.
  bool list(int64_t fs, Ino dir, uint64_t after, uint32_t limit, std::vector<DirentRow>& out,
            bool& eof);
  // All entries of dir (any order); stored as its complete listing if it
  // fits the budget.
  void fill_listing(int64_t fs, Ino dir, const std::vector<DirentRow>& rows, uint64_t ticket);
  // The largest listing fill_listing keeps.
  std::size_t max_listing() const { return max_entries_ / 4; }

  // --- writes ---
  // Called inside the write transaction (where the Db serializes writers).
  uint64_t begin_write() { return next_seq_.fetch_add(1) + 1; }
  // After the transaction: j is its journal if it committed, empty if it
  // failed or rolled back. Applies journals in sequence order; returns once
  // seq's is applied.
  void finish_write(uint64_t seq, std::optional<Journal> j);

  // Drops every entry of a file system (deleted).
  void drop_file_system(int64_t fs);

  // Entries held now (tests).
  std::size_t size() const;

 private:
  static constexpr std::size_t kShards = 64;
  struct Key {
    int64_t fs;
    Ino ino;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const {
      return std::hash<uint64_t>()(static_cast<uint64_t>(k.fs) * 0x9E3779B97F4A7C15ULL ^ k.ino);
    }
  };
  struct NameRef {
    Ino child = 0;  // 0: known absent (partial directories only)
    uint64_t cookie = 0;
  };
  struct Dir {
    bool complete = false;
    std::unordered_map<std::string, NameRef> names;
    std::map<uint64_t, std::string> by_cookie;  // complete directories only
  };
  enum class Kind : uint8_t { inode, dir };
  struct LruKey {
    Kind kind;
    Key key;
  };
  using Lru = std::list<LruKey>;
  struct InodeEntry {
    std::optional<Inode> n;
    Lru::iterator lru;
  };
  struct DirEntryList {
    Dir d;
    Lru::iterator lru;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<Key, InodeEntry, KeyHash> inodes;
    std::unordered_map<Key, DirEntryList, KeyHash> dirs;
    Lru lru;  // front: most recently used
    std::size_t weight = 0;
  };

  Shard& shard(const Key& k) { return shards_[KeyHash()(k) % kShards]; }
  const Shard& shard(const Key& k) const { return shards_[KeyHash()(k) % kShards]; }
  // With sh.mu held.
  void set_inode(Shard& sh, const Key& k, const std::optional<Inode>& n);
  DirEntryList& dir_for_write(Shard& sh, const Key& k);
  void add_weight(Shard& sh, std::ptrdiff_t w);
  void evict(Shard& sh);
  // Without any shard lock held: evicts from other shards, in turn, while
  // the total is still over budget (evict() keeps a shard's newest entry).
  void trim();
  void apply(const Journal& j);

  const std::size_t max_entries_;
  // Entries in all shards: a shard evicts while the total is over budget,
  // so one large directory may hold more than a shard's share.
  std::atomic<std::ptrdiff_t> total_{0};
  // Bumped by every applied journal before it touches a shard; a fill is
  // kept only if it is unchanged since the fill's ticket (see the header).
  std::atomic<uint64_t> version_{0};
  std::atomic<std::size_t> trim_cursor_{0};
  std::array<Shard, kShards> shards_;

  std::atomic<uint64_t> next_seq_{0};
  std::mutex seq_mu_;
  std::condition_variable seq_cv_;
  uint64_t applied_ = 0;  // every journal up to this one is applied
  std::map<uint64_t, std::optional<Journal>> ready_;
};

}  // namespace efs::vfs
