#include "vfs/file_handle.h"

#include <cryptopp/siphash.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "common/ids.h"

namespace efs::vfs {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// SipHash-2-4 with a 128-bit tag: a keyed PRF made for short inputs, ~70 ns
// for a handle here against ~180 ns for HMAC-SHA256 (keyed once) or ~570 ns
// (keyed per call), measured with Crypto++ on this machine. PUTFH's SQLite
// lookup costs microseconds, so either would do; 128 bits leave no room for
// guessing a tag online.
using Mac = CryptoPP::SipHash<2, 4, true>;
static_assert(Mac::DIGESTSIZE == kHandleMacSize);

void handle_mac(const HandleKey& key, std::span<const uint8_t> binding,
                std::span<const uint8_t> body, uint8_t out[kHandleMacSize]) {
  Mac mac(key.data(), key.size());
  // The length first, so (binding, body) splits cannot be shifted.
  const uint8_t len = static_cast<uint8_t>(binding.size());
  mac.Update(&len, 1);
  if (!binding.empty()) mac.Update(binding.data(), binding.size());
  mac.Update(body.data(), body.size());
  mac.Final(out);
}

// Compares without an early exit: the time taken says nothing about how many
// leading tag bytes a forger got right.
bool same_tag(const uint8_t* a, const uint8_t* b) {
  uint8_t diff = 0;
  for (std::size_t i = 0; i < kHandleMacSize; ++i) diff |= static_cast<uint8_t>(a[i] ^ b[i]);
  return diff == 0;
}

std::atomic<bool> warned_v1{false};

}  // namespace

std::vector<uint8_t> encode_handle(const HandleFields& f, const HandleKey& key,
                                   std::span<const uint8_t> binding) {
  if (!is_id(f.fs_id, "fs") || binding.size() > kMaxHandleBinding) return {};
  std::string_view hex = std::string_view(f.fs_id).substr(3);  // 17 digits
  std::vector<uint8_t> h;
  h.reserve(kHandleSize);
  h.push_back(kHandleVersion);
  h.push_back(static_cast<uint8_t>(hex_value(hex[0])));
  for (std::size_t i = 1; i < 17; i += 2) {
    h.push_back(static_cast<uint8_t>(hex_value(hex[i]) << 4 | hex_value(hex[i + 1])));
  }
  for (int s = 56; s >= 0; s -= 8) h.push_back(static_cast<uint8_t>(f.ino >> s));
  for (int s = 24; s >= 0; s -= 8) h.push_back(static_cast<uint8_t>(f.generation >> s));
  h.resize(kHandleSize);
  handle_mac(key, binding, std::span<const uint8_t>(h.data(), kHandleBodySize),
             h.data() + kHandleBodySize);
  return h;
}

VResult<HandleFields> decode_handle(std::span<const uint8_t> h, const HandleKey& key,
                                    std::span<const uint8_t> binding) {
  if (h.empty() || binding.size() > kMaxHandleBinding) return fail(Errc::badhandle);
  if (h[0] == kHandleVersion1 && h.size() == kHandleVersion1Size) {
    // Unsigned handles cannot tell an issued one from a forged one (the
    // layout is public), so none is honoured: docs/file-handle.md.
    if (!warned_v1.exchange(true))
      spdlog::warn(
          "vfs: refusing a version-1 (unsigned) file handle as stale; clients "
          "mounted before the upgrade must remount");
    return fail(Errc::stale);
  }
  if (h.size() != kHandleSize || h[0] != kHandleVersion || h[1] > 15) return fail(Errc::badhandle);
  // The MAC first: a forged handle learns nothing (not even whether its inode exists).
  uint8_t tag[kHandleMacSize];
  handle_mac(key, binding, h.first(kHandleBodySize), tag);
  if (!same_tag(tag, h.data() + kHandleBodySize)) return fail(Errc::badhandle);
  static const char* digits = "0123456789abcdef";
  HandleFields f;
  f.fs_id = "fs-";
  f.fs_id += digits[h[1]];
  for (std::size_t i = 2; i < 10; ++i) {
    f.fs_id += digits[h[i] >> 4];
    f.fs_id += digits[h[i] & 15];
  }
  for (std::size_t i = 10; i < 18; ++i) f.ino = f.ino << 8 | h[i];
  for (std::size_t i = 18; i < 22; ++i) f.generation = f.generation << 8 | h[i];
  if (f.ino == 0) return fail(Errc::badhandle);
  return f;
}

namespace {

Result<HandleKey, Error> read_key(const std::string& path, int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return fail(Error{"vfs: stat " + path + ": " + std::strerror(errno)});
  if ((st.st_mode & 077) != 0) {
    // The key is what keeps handles unforgeable: nobody else may read it.
    spdlog::warn("vfs: {} was readable by others (mode {:o}); setting 0600", path,
                 st.st_mode & 0777);
    if (fchmod(fd, 0600) != 0)
      return fail(Error{"vfs: chmod " + path + ": " + std::strerror(errno)});
  }
  HandleKey key{};
  std::size_t got = 0;
  while (got < key.size()) {
    ssize_t n = ::read(fd, key.data() + got, key.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  uint8_t extra;
  if (got != key.size() || ::read(fd, &extra, 1) != 0)
    return fail(Error{"vfs: " + path + " is not a " + std::to_string(key.size()) +
                      "-byte handle key; restore it from a backup of the data dir (a new key "
                      "makes every file handle clients hold invalid)"});
  return key;
}

Status<> write_new_key(const std::string& path) {
  HandleKey key{};
  std::size_t got = 0;
  while (got < key.size()) {
    ssize_t n = getrandom(key.data() + got, key.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(Error{std::string("vfs: getrandom: ") + std::strerror(errno)});
    got += static_cast<std::size_t>(n);
  }
  std::string tmp = path + ".tmp-" + random_hex(8);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fail(Error{"vfs: create " + tmp + ": " + std::strerror(errno)});
  bool ok =
      ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && ::fsync(fd) == 0;
  ::close(fd);
  // link(2) fails if another process got there first: its key wins, ours is dropped.
  int linked = ok ? ::link(tmp.c_str(), path.c_str()) : -1;
  int link_errno = errno;
  ::unlink(tmp.c_str());
  if (!ok) return fail(Error{"vfs: write " + tmp + ": " + std::strerror(errno)});
  if (linked != 0 && link_errno != EEXIST)
    return fail(Error{"vfs: link " + path + ": " + std::strerror(link_errno)});
  std::string dir = path.substr(0, path.rfind('/') + 1);
  if (int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  if (linked == 0) spdlog::info("vfs: made a new file handle key {}", path);
  return {};
}

}  // namespace

Result<HandleKey, Error> load_or_create_handle_key(const std::string& data_dir) {
  const std::string path = data_dir + "/handle.key";
  for (int attempt = 0; attempt < 2; ++attempt) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
      auto key = read_key(path, fd);
      ::close(fd);
      return key;
    }
    if (errno != ENOENT) return fail(Error{"vfs: open " + path + ": " + std::strerror(errno)});
    if (auto s = write_new_key(path); !s) return fail(s.error());
  }
  return fail(Error{"vfs: " + path + " vanished while starting"});
}

}  // namespace efs::vfs
