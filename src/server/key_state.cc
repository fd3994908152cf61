// KeyStateMonitor: data keys of encrypted file systems and the data-access
// gate their KMS key's state drives (key_state.h).
#include "server/key_state.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace efs::server {

namespace {

// Binds each blob to its file system: a blob copied to another file
// system's key file does not open (InvalidCiphertextException).
kms::EncryptionContext context_of(const std::string& fs_id) {
  return {{"aws:elasticfilesystem:filesystem:id", fs_id}};
}

std::string errno_text(int e) {
  return std::strerror(e);
}

// Writes bytes to path durably: a temporary file (0600) fsynced, renamed
// over path, and the directory fsynced, so a crash leaves the old file or
// the whole new one.
Status<> write_durably(const std::string& dir, const std::string& path, const kms::Bytes& bytes) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail(Error{"cannot create " + tmp + ": " + errno_text(errno)});
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return fail(Error{"cannot write " + tmp + ": " + errno_text(e)});
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return fail(Error{"cannot fsync " + tmp + ": " + errno_text(e)});
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return fail(Error{"cannot rename " + tmp + ": " + errno_text(e)});
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

std::optional<kms::Bytes> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return kms::Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

KeyStateMonitor::KeyStateMonitor(vfs::Vfs& vfs, kms::Service& kms, Clock& clock,
                                 std::string data_dir, double revocation_delay)
    : vfs_(vfs), kms_(kms), clock_(clock), dir_(data_dir + "/data-keys"), delay_(revocation_delay) {
  ::mkdir(dir_.c_str(), 0700);
}

std::string KeyStateMonitor::key_file(const std::string& fs_id) const {
  return dir_ + "/" + fs_id + ".key";
}

bool KeyStateMonitor::refused(const std::string& fs_id) {
  std::lock_guard lk(mu_);
  auto it = watched_.find(fs_id);
  return it != watched_.end() && it->second.refused.has_value();
}

void KeyStateMonitor::file_system_available(const std::string& fs_id, bool encrypted,
                                            const std::string& key_arn) {
  if (!encrypted) return;
  struct stat st {};
  if (::stat(key_file(fs_id).c_str(), &st) == 0) {
    adopt(fs_id, key_arn);
    return;
  }
  std::lock_guard lk(mu_);
  auto fail_closed = [&](const std::string& why) {
    // Never let plaintext reach the disk of a file system meant to be encrypted.
    spdlog::error("kms: no data key for encrypted file system {}: {}", fs_id, why);
    vfs_.set_data_access(fs_id, "no data key could be made under " + key_arn + ": " + why);
  };
  auto made = kms_.generate_data_key_for_efs(key_arn, vfs::Vfs::kDataKeyBytes, context_of(fs_id));
  if (!made) return fail_closed(made.error().message);
  auto& [plain, blob] = *made;
  if (auto s = write_durably(dir_, key_file(fs_id), blob); !s)
    return fail_closed(s.error().message);
  if (auto s = vfs_.set_data_key(fs_id, std::span<const uint8_t, vfs::Vfs::kDataKeyBytes>(
                                            plain.data(), vfs::Vfs::kDataKeyBytes));
      !s)
    return fail_closed(s.error().message);
  std::fill(plain.begin(), plain.end(), 0);
  Watched w;
  w.key_arn = key_arn;
  w.registered = true;
  watched_[fs_id] = std::move(w);
  spdlog::info("kms: data key of {} generated under {} (stored wrapped in {})", fs_id, key_arn,
               key_file(fs_id));
}

void KeyStateMonitor::adopt(const std::string& fs_id, const std::string& key_arn) {
  struct stat st {};
  if (::stat(key_file(fs_id).c_str(), &st) != 0) {
    // Created encrypted by an efs-local from before data keys: its chunks
    // are plaintext and stay so (README, "Encryption").
    spdlog::warn(
        "kms: encrypted file system {} has no data key (created by an older "
        "efs-local): its data stays unencrypted at rest",
        fs_id);
    return;
  }
  std::lock_guard lk(mu_);
  auto& w = watched_[fs_id];
  w.key_arn = key_arn;
  evaluate_locked(fs_id, w);
}

void KeyStateMonitor::file_system_deleted(const std::string& fs_id) {
  std::lock_guard lk(mu_);
  if (watched_.erase(fs_id)) vfs_.forget_data_key(fs_id);
  vfs_.set_data_access(fs_id, std::nullopt);
  if (::unlink(key_file(fs_id).c_str()) == 0)
    spdlog::info("kms: data key of deleted file system {} removed", fs_id);
}

std::optional<std::string> KeyStateMonitor::key_unusable(const std::string& fs_id) {
  std::lock_guard lk(mu_);
  auto it = watched_.find(fs_id);
  if (it == watched_.end()) return std::nullopt;
  return it->second.unusable;
}

void KeyStateMonitor::evaluate() {
  std::lock_guard lk(mu_);
  for (auto& [fs_id, w] : watched_) evaluate_locked(fs_id, w);
}

std::optional<std::string> KeyStateMonitor::register_key(const std::string& fs_id, Watched& w) {
  auto blob = read_file(key_file(fs_id));
  if (!blob) return "cannot read its wrapped data key " + key_file(fs_id);
  auto plain = kms_.decrypt_for_efs(w.key_arn, *blob, context_of(fs_id));
  if (!plain)
    return "its data key does not unwrap under " + w.key_arn + ": " + plain.error().message;
  if (plain->size() != vfs::Vfs::kDataKeyBytes)
    return "its wrapped data key " + key_file(fs_id) + " has the wrong length";
  auto s = vfs_.set_data_key(
      fs_id, std::span<const uint8_t, vfs::Vfs::kDataKeyBytes>(plain->data(), plain->size()));
  std::fill(plain->begin(), plain->end(), 0);
  if (!s) return s.error().message;
  w.registered = true;
  spdlog::info("kms: data key of {} unwrapped under {}", fs_id, w.key_arn);
  return std::nullopt;
}

void KeyStateMonitor::evaluate_locked(const std::string& fs_id, Watched& w) {
  // The key's state now. resolve() treats a key whose deletion date has
  // passed as gone even before KMS has removed its row.
  auto info = kms_.resolve("", "", w.key_arn);
  std::optional<std::string> unusable;
  bool gone = false;
  if (!info) {
    unusable = "its KMS key " + w.key_arn +
               " was deleted: the data key can never be unwrapped again, the data is unreadable "
               "for good";
    gone = true;
  } else if (info->state == kms::KeyState::disabled) {
    unusable = "its KMS key " + w.key_arn + " is disabled (EnableKey restores access)";
  } else if (info->state != kms::KeyState::enabled) {
    unusable = "its KMS key " + w.key_arn +
               " is pending deletion (CancelKeyDeletion and EnableKey restore access)";
  }

  w.unusable = unusable;
  std::optional<std::string> refuse;
  if (!unusable) {
    w.unusable_since.reset();
    if (!w.registered) refuse = register_key(fs_id, w);
  } else {
    const double now = clock_.now_epoch_seconds();
    if (!w.unusable_since) {
      w.unusable_since = now;
      if (delay_ > 0 && w.registered && !gone)
        spdlog::warn(
            "kms: file system {}: {}; its data stays readable for {} s "
            "(--kms-revocation-delay)",
            fs_id, *unusable, delay_);
    }
    // Without a registered data key there is nothing to read with; with
    // one, it keeps working until the revocation delay has passed.
    if (gone || !w.registered || now >= *w.unusable_since + delay_) {
      refuse = unusable;
      if (w.registered) {
        vfs_.forget_data_key(fs_id);
        w.registered = false;
      }
    } else {
      refuse = w.refused;  // unchanged until the delay passes
    }
  }
  if (refuse != w.refused) {
    vfs_.set_data_access(fs_id, refuse);
    w.refused = std::move(refuse);
  }
}

}  // namespace efs::server
