// The file system interface the NFS server sits on: POSIX semantics over the
// namespace in SQLite (meta/) and file data in the chunk store (chunk/), with
// EFS's limits. Protocol-independent: nothing here knows XDR or NFS ops, but
// the error codes use NFSv4's numbers (nfsstat4) so the NFS layer passes them
// through, and the attributes are the ones NFSv4 needs.
//
// Thread-safe: any method may be called from any io thread. Methods are
// synchronous (local disk + SQLite); metadata-changing methods return once
// the change is durable.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/disk.h"
#include "common/result.h"
#include "efs/catalog.h"
#include "vfs/lifecycle_rules.h"

namespace efs::meta {
class Db;
}

namespace efs::vfs {

// Errors, numbered as nfsstat4 (RFC 7530 13 / RFC 8881 15).
enum class Errc : uint32_t {
  ok = 0,
  perm = 1,
  noent = 2,
  io = 5,
  nxio = 6,
  access = 13,
  exist = 17,
  xdev = 18,
  notdir = 20,
  isdir = 21,
  inval = 22,
  fbig = 27,
  nospc = 28,
  rofs = 30,
  mlink = 31,
  nametoolong = 63,
  notempty = 66,
  dquot = 69,
  stale = 70,
  badhandle = 10001,
  bad_cookie = 10003,
  notsupp = 10004,
  toosmall = 10005,
  serverfault = 10006,
  badtype = 10007,
  delay = 10008,
  symlink = 10029,  // NFS4ERR_SYMLINK
  badname = 10041,  // NFS4ERR_BADNAME
};

template <class T>
using VResult = Result<T, Errc>;

using Ino = uint64_t;

// Values are nfs_ftype4's.
enum class FileType : uint32_t { reg = 1, dir = 2, blk = 3, chr = 4, lnk = 5, sock = 6, fifo = 7 };

struct Time {
  int64_t sec = 0;
  uint32_t nsec = 0;
  friend bool operator==(const Time&, const Time&) = default;
};

struct Attr {
  Ino ino = 0;  // fileid
  FileType type = FileType::reg;
  uint32_t mode = 0;  // permission bits only (07777)
  uint32_t nlink = 1;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;        // bytes; for a symlink its target's length
  uint64_t space_used = 0;  // bytes allocated (metered)
  Time atime, mtime, ctime, btime;
  uint64_t change = 0;  // changes on every modification of the object
};

struct Cred {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> gids;  // supplementary groups
};

enum class TimeHow { dont_change, server_time, client_time };

struct SetAttr {
  std::optional<uint32_t> mode;  // permission bits
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<uint64_t> size;
  TimeHow atime_how = TimeHow::dont_change;
  Time atime;
  TimeHow mtime_how = TimeHow::dont_change;
  Time mtime;
  bool empty() const {
    return !mode && !uid && !gid && !size && atime_how == TimeHow::dont_change &&
           mtime_how == TimeHow::dont_change;
  }
};

// A directory's change attribute before and after an operation (change_info4).
struct ChangeInfo {
  bool atomic = true;
  uint64_t before = 0;
  uint64_t after = 0;
};

enum class CreateMode { unchecked, guarded, exclusive };

struct CreateResult {
  Attr attr;  // the new (or, for UNCHECKED/EXCLUSIVE replay, existing) object
  bool created = true;
  ChangeInfo dir;
};

struct RenameResult {
  ChangeInfo source_dir;
  ChangeInfo target_dir;
};

struct ReadResult {
  std::vector<uint8_t> data;
  bool eof = false;
};

// What read_into() stored: `count` bytes at the front of the caller's buffer.
struct ReadInto {
  uint32_t count = 0;
  bool eof = false;
};

enum class Stability : uint32_t { unstable = 0, data_sync = 1, file_sync = 2 };

struct WriteResult {
  uint32_t count = 0;
  Stability committed = Stability::file_sync;
};

struct DirEntry {
  std::string name;
  Attr attr;
  uint64_t cookie = 0;  // pass back to continue after this entry; never 0, 1 or 2
};

struct ReaddirResult {
  std::vector<DirEntry> entries;
  bool eof = false;
};

// ACCESS4 bits (RFC 8881 18.1).
inline constexpr uint32_t kAccessRead = 0x01, kAccessLookup = 0x02, kAccessModify = 0x04,
                          kAccessExtend = 0x08, kAccessDelete = 0x10, kAccessExecute = 0x20;

// EFS limits.
inline constexpr std::size_t kMaxNameBytes = 255;
inline constexpr std::size_t kMaxSymlinkBytes = 4080;
inline constexpr uint32_t kMaxHardLinks = 177;
inline constexpr uint32_t kMaxDepth = 1000;
inline constexpr uint64_t kMaxFileSize = 52673613135872ULL;

// Keeps an inode alive while it is open (FileSystem::hold); destroying the
// last one for an inode whose last name is gone frees the inode and its data.
class OpenHold {
 public:
  virtual ~OpenHold() = default;
};

// One file moved between storage classes by the lifecycle mover.
struct ClassMove {
  std::string fs_id;
  Ino ino = 0;
  std::string path;  // one of its names, from the root ("" if it has none)
  StorageClass from = StorageClass::standard;
  StorageClass to = StorageClass::standard;
  uint64_t bytes = 0;  // bytes copied
};

// One EFS file system's namespace and data.
class FileSystem {
 public:
  virtual ~FileSystem() = default;
  virtual const std::string& id() const = 0;  // fs-...
  // A number unique to this file system on this server (fsid major).
  virtual uint64_t fsid() const = 0;
  virtual Ino root() const = 0;

  virtual VResult<Attr> getattr(Ino ino) = 0;
  // Permission checks use cred (uid 0 passes all but execute without any x bit).
  virtual VResult<Attr> lookup(const Cred& cred, Ino dir, std::string_view name) = 0;
  // The parent directory (".."); the root's parent is itself.
  virtual VResult<Attr> lookup_parent(const Cred& cred, Ino dir) = 0;
  // Which of `want` (ACCESS4 bits) cred is granted on ino.
  virtual VResult<uint32_t> access(const Cred& cred, Ino ino, uint32_t want) = 0;

  // Regular file. `verifier` is for EXCLUSIVE: an existing file created with
  // the same verifier is returned with created = false; another gives exist.
  virtual VResult<CreateResult> create_file(const Cred& cred, Ino dir, std::string_view name,
                                            CreateMode how, const SetAttr& attrs,
                                            uint64_t verifier = 0) = 0;
  virtual VResult<CreateResult> mkdir(const Cred& cred, Ino dir, std::string_view name,
                                      const SetAttr& attrs) = 0;
  virtual VResult<CreateResult> symlink(const Cred& cred, Ino dir, std::string_view name,
                                        std::string_view target, const SetAttr& attrs) = 0;
  virtual VResult<std::string> readlink(Ino ino) = 0;
  // A socket or FIFO (NF4SOCK / NF4FIFO; EFS supports both, refusing only
  // block and character devices). Any other type gives badtype. Such a node
  // has no data here: the client's kernel gives it its meaning.
  virtual VResult<CreateResult> mknod(const Cred& cred, Ino dir, std::string_view name,
                                      FileType type, const SetAttr& attrs) = 0;
  virtual VResult<ChangeInfo> link(const Cred& cred, Ino target, Ino dir,
                                   std::string_view name) = 0;
  // Removes a non-directory or an empty directory.
  virtual VResult<ChangeInfo> remove(const Cred& cred, Ino dir, std::string_view name) = 0;
  // Atomic; replaces an existing target of a compatible type.
  virtual VResult<RenameResult> rename(const Cred& cred, Ino src_dir, std::string_view src_name,
                                       Ino dst_dir, std::string_view dst_name) = 0;
  virtual VResult<Attr> setattr(const Cred& cred, Ino ino, const SetAttr& attrs) = 0;

  // Data. No permission check here: the NFS layer checks on OPEN / stateid.
  virtual VResult<ReadResult> read(Ino ino, uint64_t offset, uint32_t count) = 0;
  // read() into the caller's buffer (at most dst.size() bytes, fewer at the
  // end of the file). NFS READ passes the reply record itself, so a 1 MiB
  // READ's data is copied once (page cache to reply) rather than twice.
  virtual VResult<ReadInto> read_into(Ino ino, uint64_t offset, std::span<uint8_t> dst) = 0;
  // writer_uid is the caller's uid: a write by anyone but root (0) clears the
  // file's set-user-ID bit, and its set-group-ID bit when group-execute is
  // set, as Linux does (should_remove_suid); root's writes keep them.
  virtual VResult<WriteResult> write(Ino ino, uint64_t offset, std::span<const uint8_t> data,
                                     Stability stable, uint32_t writer_uid = 0) = 0;
  // Makes all earlier UNSTABLE writes to ino durable.
  virtual VResult<bool> commit(Ino ino) = 0;

  // Entries after `cookie` (0 = from the start), at most max_entries of them.
  // Cookies stay valid while other entries are added or removed.
  virtual VResult<ReaddirResult> readdir(const Cred& cred, Ino dir, uint64_t cookie,
                                         uint32_t max_entries) = 0;

  // Resolves an absolute path from the root (for access point root
  // directories). With `create`, missing components are made with its owner
  // and permissions (EFS CreationInfo semantics); without, a missing one gives
  // noent.
  virtual VResult<Ino> resolve_path(std::string_view path,
                                    const std::optional<CreationInfo>& create) = 0;

  virtual MeteredSize metered_size() = 0;

  // Open files that outlive their name (POSIX unlink of an open file). While
  // a hold on a regular file exists, removing or renaming over its last name
  // only drops the name: the inode and its data stay (nlink 0, marked
  // orphaned in the database) and read/write/getattr/setattr by inode still
  // work; the last hold to go frees it. Orphans left by a crash are freed
  // when the Vfs opens. The NFS layer takes one hold per open stateid.
  // stale if ino does not exist (or no longer has a row).
  virtual VResult<std::shared_ptr<OpenHold>> hold(Ino ino) = 0;

  // ---- Storage classes (vfs/lifecycle_ops.cc; rules: lifecycle_rules.h) ----
  // READ and WRITE reset a file's lifecycle timer in memory; this writes
  // the timers noted since the last call to SQLite in one transaction.
  virtual Status<> flush_access_times() = 0;
  // Moves every file that `policy` says is due (with recalls_only, only
  // the files a READ or WRITE should bring back to Standard), one at a
  // time, each by the crash-safe protocol of chunk/class_move.cc. Reads
  // and writes of other files go on; those of a file being moved wait for
  // its switch (writes) or read the old copy until then (reads).
  virtual VResult<std::vector<ClassMove>> run_lifecycle(const LifecyclePolicy& policy,
                                                        bool recalls_only) = 0;
  // True if a READ or WRITE touched a file outside Standard since the last
  // run_lifecycle.
  virtual bool recalls_waiting() = 0;

  // ---- Change log (vfs/change_log.cc; table vfs_changes) ----
  // What a replication copies next (vfs/replica_sync.h). While the log is
  // on, every change of an inode's row also records (inode, seq) in the same
  // transaction, seq growing in commit order; a name added or removed
  // changes its directory's row, so it is logged too. Off (the default),
  // changes cost nothing more than a flag check. The setting is stored and
  // survives restarts. Turning it on runs in the serial order of writes:
  // every change that commits after set_change_log(true) returns is logged.
  virtual Status<> set_change_log(bool on) = 0;
  virtual bool change_log_on() const = 0;
  struct ChangeLogRead {
    // Every change with seq <= upto committed before this read; the
    // inodes changed with after < seq <= upto, each once, oldest first.
    uint64_t upto = 0;
    std::vector<Ino> inodes;
  };
  virtual VResult<ChangeLogRead> read_change_log(uint64_t after) = 0;
  // Forgets the entries with seq <= upto (a completed sync copied them).
  virtual Status<> trim_change_log(uint64_t upto) = 0;
  // READ without the lifecycle side effects (the timer reset and recall):
  // the replicator's reads are not a client's access.
  virtual VResult<ReadResult> read_for_copy(Ino ino, uint64_t offset, uint32_t count) = 0;
};

struct LifecycleOptions {
  // Extra wait before a READ of a file in IA / Archive is served (EFS's
  // first-byte latency of those classes); 0: none.
  std::chrono::milliseconds ia_first_byte_latency{0};
  std::chrono::milliseconds archive_first_byte_latency{0};
};

struct VfsOptions {
  // Entries (inodes, and names of directories) of the in-memory cache of
  // namespace rows that serves GETATTR, LOOKUP and READDIR of hot trees
  // without SQLite (metadata_cache.h); about 250 bytes each. 0 disables it.
  std::size_t metadata_cache_entries = 250000;
  LifecycleOptions lifecycle;
};

// All file systems' data: one per data dir.
class Vfs {
 public:
  virtual ~Vfs() = default;
  // Opens the namespace tables in db and the chunk store under data_dir.
  // Times come from Clock::global(), file data goes to host_disk().
  static Result<std::unique_ptr<Vfs>, Error> open(meta::Db& db, const std::string& data_dir,
                                                  const VfsOptions& options = {});
  // The same with the clock every timestamp is read from and the Disk the
  // chunk store writes through (both must outlive the Vfs). Tests pass their
  // own: a FaultDisk for crash and fault tests.
  static Result<std::unique_ptr<Vfs>, Error> open(meta::Db& db, const std::string& data_dir,
                                                  Clock& clock, Disk& disk,
                                                  const VfsOptions& options = {});

  // Creates the namespace (root dir 0755 owned by 0:0) if missing. Idempotent.
  virtual Status<> create_file_system(const std::string& fs_id) = 0;
  // Removes the namespace and all data of fs_id. Idempotent.
  virtual Status<> delete_file_system(const std::string& fs_id) = 0;
  // Null if fs_id has no namespace.
  virtual std::shared_ptr<FileSystem> file_system(const std::string& fs_id) = 0;

  // File handles (38 bytes; docs/file-handle.md): stable across restarts,
  // signed with the data dir's key. `binding` (at most 64 bytes: the NFS
  // layer's export prefix) is covered by the signature, so a handle only
  // resolves with the binding it was made with.
  virtual std::vector<uint8_t> make_handle(const FileSystem& fs, Ino ino,
                                           std::span<const uint8_t> binding = {}) = 0;
  // badhandle for malformed or forged bytes (or another binding); stale for a
  // deleted file or file system, or a version-1 handle from before signing.
  virtual VResult<std::pair<std::shared_ptr<FileSystem>, Ino>> resolve_handle(
      std::span<const uint8_t> handle, std::span<const uint8_t> binding = {}) = 0;

  // Changes on every server start (WRITE/COMMIT verifier).
  virtual uint64_t write_verifier() const = 0;

  // Entries the metadata cache holds now (VfsOptions; tests and metrics).
  virtual std::size_t metadata_cache_size() const = 0;

  // Encryption at rest (server/key_state.h keeps these in step with KMS).
  // The data key fs_id's chunk data is encrypted with (chunk::ChunkStore::
  // set_data_key): held in memory only.
  static constexpr std::size_t kDataKeyBytes = 64;
  virtual Status<> set_data_key(const std::string& fs_id,
                                std::span<const uint8_t, kDataKeyBytes> key) = 0;
  virtual void forget_data_key(const std::string& fs_id) = 0;
  // The data-access gate of fs_id: with a reason, its READ, WRITE, COMMIT
  // and truncating SETATTR fail with io (NFS4ERR_IO) and a log line giving
  // the reason, while names, attributes and listings stay readable, as on
  // EFS when a file system's KMS key becomes unusable. nullopt opens it.
  // Kept for a file system not opened yet, so it holds from its first use.
  virtual void set_data_access(const std::string& fs_id,
                               std::optional<std::string> refused_reason) = 0;
  // Called (on the READ / WRITE's thread; must not block) when an access
  // touched a file outside Standard, so the lifecycle mover can bring it
  // back soon. Set once, before serving.
  virtual void on_recall(std::function<void()> wake) = 0;
};

}  // namespace efs::vfs
