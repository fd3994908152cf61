#include "chunk/chunk_store.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace efs::chunk {

namespace {

ChunkError sys_error(const std::string& what) {
  int e = errno;
  return ChunkError{e, what + ": " + std::strerror(e)};
}

// The first line of <dir>/chunks/FORMAT names the layout version, so a later
// efs-local can recognise (and convert) an older data dir.
constexpr const char* kFormatLine = "efs-local chunk store v";

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
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

ChunkStore::ChunkStore(std::string dir, std::size_t max_open)
    : dir_(std::move(dir)), max_open_(max_open ? max_open : 1) {}

ChunkStore::~ChunkStore() = default;

Result<std::unique_ptr<ChunkStore>, Error> ChunkStore::open(const std::string& dir,
                                                            std::size_t max_open_files) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path root = fs::path(dir) / "chunks";
  fs::create_directories(root / storage_class_name(StorageClass::standard), ec);
  if (ec) return fail(Error{"chunk store: create " + root.string() + ": " + ec.message()});
  fs::path fmt = root / "FORMAT";
  std::string want = std::string(kFormatLine) + std::to_string(kChunkFormatVersion);
  if (fs::exists(fmt, ec)) {
    std::ifstream in(fmt);
    std::string line;
    std::getline(in, line);
    if (line != want) {
      return fail(Error{"chunk store: " + fmt.string() + " says '" + line +
                        "', this build reads '" + want + "'"});
    }
  } else {
    std::ofstream out(fmt);
    out << want << "\n";
    if (!out) return fail(Error{"chunk store: cannot write " + fmt.string()});
  }
  return std::unique_ptr<ChunkStore>(new ChunkStore(dir, max_open_files));
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
  {
    std::lock_guard lk(mu_);
    auto it = open_.find(key);
    if (it != open_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.pos);
      return it->second.fd;
    }
  }
  std::string p = path(fs, ino, seg);
  int f = ::open(p.c_str(), O_RDWR | O_CLOEXEC);
  if (f < 0 && errno == ENOENT && create) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(p).parent_path(), ec);
    if (ec) return fail(ChunkError{ec.value(), "create dir for " + p + ": " + ec.message()});
    f = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  }
  if (f < 0) {
    if (errno == ENOENT) return std::shared_ptr<Fd>();
    return fail(sys_error("open " + p));
  }
  auto h = std::make_shared<Fd>(f);
  std::lock_guard lk(mu_);
  auto it = open_.find(key);
  if (it != open_.end()) {
    // Another thread opened it meanwhile: keep one descriptor.
    lru_.splice(lru_.begin(), lru_, it->second.pos);
    return it->second.fd;
  }
  lru_.push_front(key);
  open_.emplace(key, Entry{h, lru_.begin()});
  while (open_.size() > max_open_) {
    open_.erase(lru_.back());
    lru_.pop_back();
  }
  return h;
}

void ChunkStore::forget(const std::string& fs, uint64_t ino, uint32_t seg) {
  std::lock_guard lk(mu_);
  auto it = open_.find(Key{fs, ino, seg});
  if (it == open_.end()) return;
  lru_.erase(it->second.pos);
  open_.erase(it);
}

void ChunkStore::forget_file_system(const std::string& fs) {
  std::lock_guard lk(mu_);
  for (auto it = lru_.begin(); it != lru_.end();) {
    if (it->fs == fs) {
      open_.erase(*it);
      it = lru_.erase(it);
    } else {
      ++it;
    }
  }
  std::erase_if(dirty_, [&](const auto& kv) { return kv.first.fs == fs; });
}

void ChunkStore::mark_dirty(const std::string& fs, uint64_t ino, uint32_t seg) {
  std::lock_guard lk(mu_);
  dirty_[InoKey{fs, ino}] |= uint64_t{1} << (seg & 63);
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
        ssize_t n = ::pread((*h)->fd, out.data() + pos + done, piece - done,
                            static_cast<off_t>(in_seg + done));
        if (n < 0) {
          if (errno == EINTR) continue;
          return fail(sys_error("pread " + path(fs, ino, seg)));
        }
        if (n == 0) break;  // past the stored end: the rest is a hole
        done += static_cast<std::size_t>(n);
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
    std::size_t done = 0;
    while (done < piece) {
      ssize_t n = ::pwrite((*h)->fd, data.data() + pos + done, piece - done,
                           static_cast<off_t>(in_seg + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail(sys_error("pwrite " + path(fs, ino, seg)));
      }
      done += static_cast<std::size_t>(n);
    }
    mark_dirty(fs, ino, seg);
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
      std::string p = path(fs, ino, seg);
      if (::unlink(p.c_str()) != 0 && errno != ENOENT) return fail(sys_error("unlink " + p));
      continue;
    }
    if (start + kSegmentBytes <= size) continue;  // wholly inside the new size
    auto h = fd(fs, ino, seg, false);
    if (!h) return fail(h.error());
    if (!*h) continue;
    if (::ftruncate((*h)->fd, static_cast<off_t>(size - start)) != 0) {
      return fail(sys_error("ftruncate " + path(fs, ino, seg)));
    }
    mark_dirty(fs, ino, seg);
  }
  return {};
}

CResult<> ChunkStore::sync(const std::string& fs, uint64_t ino) {
  uint64_t mask = 0;
  {
    std::lock_guard lk(mu_);
    auto it = dirty_.find(InoKey{fs, ino});
    if (it == dirty_.end()) return {};
    mask = it->second;
    dirty_.erase(it);
  }
  for (uint32_t seg = 0; seg < 64; ++seg) {
    if (!(mask & (uint64_t{1} << seg))) continue;
    auto h = fd(fs, ino, seg, false);
    if (!h || !*h) continue;
    if (::fdatasync((*h)->fd) != 0) {
      mark_dirty(fs, ino, seg);  // still not durable: a later sync retries
      return fail(sys_error("fdatasync " + path(fs, ino, seg)));
    }
  }
  return {};
}

CResult<> ChunkStore::remove(const std::string& fs, uint64_t ino, uint64_t size) {
  {
    std::lock_guard lk(mu_);
    dirty_.erase(InoKey{fs, ino});
  }
  for (uint32_t seg = 0; seg < segments_for(size); ++seg) {
    forget(fs, ino, seg);
    std::string p = path(fs, ino, seg);
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) return fail(sys_error("unlink " + p));
  }
  return {};
}

CResult<> ChunkStore::remove_file_system(const std::string& fs) {
  forget_file_system(fs);
  std::error_code ec;
  std::filesystem::remove_all(dir_ + "/chunks/standard/" + fs, ec);
  if (ec) return fail(ChunkError{ec.value(), "remove " + fs + ": " + ec.message()});
  return {};
}

uint64_t ChunkStore::allocated_bytes(const std::string& fs, uint64_t ino, uint64_t size) {
  uint64_t total = 0;
  for (uint32_t seg = 0; seg < segments_for(size); ++seg) {
    struct stat st;
    if (::stat(path(fs, ino, seg).c_str(), &st) == 0) {
      total += static_cast<uint64_t>(st.st_blocks) * 512;
    }
  }
  return total;
}

}  // namespace efs::chunk
