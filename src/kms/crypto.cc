#include "kms/crypto.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cryptopp/aes.h>
#include <cryptopp/gcm.h>
#include <cryptopp/osrng.h>
#include <cstring>
#include <filesystem>

namespace efs::kms {
namespace {

constexpr const char* kMaterialAad = "efs-local kms key material v1:";

// AES-256-GCM: returns ciphertext || tag.
Bytes gcm_seal(const Bytes& key, const uint8_t* nonce, const Bytes& aad, const uint8_t* data,
               std::size_t size) {
  CryptoPP::GCM<CryptoPP::AES>::Encryption enc;
  enc.SetKeyWithIV(key.data(), key.size(), nonce, kNonceBytes);
  Bytes out(size + kTagBytes);
  enc.EncryptAndAuthenticate(out.data(), out.data() + size, kTagBytes, nonce, kNonceBytes,
                             aad.data(), aad.size(), data, size);
  return out;
}

std::optional<Bytes> gcm_open(const Bytes& key, const uint8_t* nonce, const Bytes& aad,
                              const uint8_t* sealed, std::size_t size) {
  if (size < kTagBytes) return std::nullopt;
  std::size_t n = size - kTagBytes;
  CryptoPP::GCM<CryptoPP::AES>::Decryption dec;
  dec.SetKeyWithIV(key.data(), key.size(), nonce, kNonceBytes);
  Bytes out(n);
  bool ok = dec.DecryptAndVerify(out.data(), sealed + n, kTagBytes, nonce, kNonceBytes,
                                 aad.data(), aad.size(), sealed, n);
  if (!ok) return std::nullopt;
  return out;
}

Bytes material_aad(const std::string& key_id) {
  std::string s = std::string(kMaterialAad) + key_id;
  return Bytes(s.begin(), s.end());
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Bytes random_bytes(std::size_t n) {
  Bytes out(n);
  if (n > 0) CryptoPP::OS_GenerateRandomBlock(false, out.data(), n);
  return out;
}

Status<Bytes> load_or_create_master_key(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    // O_EXCL: two servers starting on one data dir never write two keys.
    Bytes key = random_bytes(kKeyBytes);
    int w = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (w < 0) return fail(Error{"cannot create " + path + ": " + std::strerror(errno), errno});
    bool ok = ::write(w, key.data(), key.size()) == static_cast<ssize_t>(key.size()) &&
              ::fsync(w) == 0;
    int err = errno;
    ::close(w);
    if (!ok) {
      ::unlink(path.c_str());
      return fail(Error{"cannot write " + path + ": " + std::strerror(err), err});
    }
    // The directory entry must be durable too, or a crash loses every key.
    std::string dir = std::filesystem::path(path).parent_path().string();
    if (int d = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        d >= 0) {
      (void)::fsync(d);
      ::close(d);
    }
    spdlog::info("kms: created master key file {}", path);
    return key;
  }
  if (fd < 0) return fail(Error{"cannot open " + path + ": " + std::strerror(errno), errno});
  struct stat st {};
  Bytes key(kKeyBytes);
  ssize_t got = -1;
  if (::fstat(fd, &st) == 0 && st.st_size == static_cast<off_t>(kKeyBytes))
    got = ::read(fd, key.data(), key.size());
  ::close(fd);
  if (got != static_cast<ssize_t>(kKeyBytes))
    return fail(Error{path + " is not a KMS master key file (it must hold exactly 32 bytes)"});
  if ((st.st_mode & 0777) != 0600) {
    spdlog::warn("kms: {} had mode {:o}; set to 0600", path, st.st_mode & 0777);
    (void)::chmod(path.c_str(), 0600);
  }
  return key;
}

Bytes wrap_material(const Bytes& master, const std::string& key_id, const Bytes& material) {
  // Sized once and filled by position: GCC 12 at -O3 reports a false
  // -Warray-bounds for insert() after a one-byte initializer list.
  Bytes nonce = random_bytes(kNonceBytes);
  Bytes sealed = gcm_seal(master, nonce.data(), material_aad(key_id), material.data(),
                          material.size());
  Bytes out(1 + kNonceBytes + sealed.size());
  out[0] = kBlobVersion;
  std::copy(nonce.begin(), nonce.end(), out.begin() + 1);
  std::copy(sealed.begin(), sealed.end(), out.begin() + 1 + kNonceBytes);
  return out;
}

std::optional<Bytes> unwrap_material(const Bytes& master, const std::string& key_id,
                                     const Bytes& wrapped) {
  if (wrapped.size() != 1 + kNonceBytes + kKeyBytes + kTagBytes || wrapped[0] != kBlobVersion)
    return std::nullopt;
  return gcm_open(master, wrapped.data() + 1, material_aad(key_id),
                  wrapped.data() + 1 + kNonceBytes, wrapped.size() - 1 - kNonceBytes);
}

Bytes canonical_context(const EncryptionContext& context) {
  // std::map iterates in key order: the canonical order.
  std::size_t size = 0;
  for (const auto& [k, v] : context) size += 8 + k.size() + v.size();
  Bytes out(size);
  std::size_t at = 0;
  auto put = [&](const std::string& s) {
    for (int shift = 24; shift >= 0; shift -= 8) out[at++] = static_cast<uint8_t>(s.size() >> shift);
    std::copy(s.begin(), s.end(), out.begin() + static_cast<std::ptrdiff_t>(at));
    at += s.size();
  };
  for (const auto& [k, v] : context) {
    put(k);
    put(v);
  }
  return out;
}

std::optional<Bytes> uuid_bytes(const std::string& uuid) {
  if (uuid.size() != 36) return std::nullopt;
  Bytes out;
  for (std::size_t i = 0; i < uuid.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (uuid[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    int hi = hex_value(uuid[i]), lo = hex_value(uuid[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
    i += 2;
  }
  return out;
}

std::string uuid_text(const uint8_t* sixteen) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[sixteen[i] >> 4];
    out += kHex[sixteen[i] & 15];
  }
  return out;
}

Bytes seal_blob(const std::string& key_id, const Bytes& material, const Bytes& plaintext,
                const EncryptionContext& context) {
  constexpr std::size_t kHeader = 1 + 16 + kNonceBytes;
  Bytes header(kHeader, 0);
  header[0] = kBlobVersion;
  if (auto id = uuid_bytes(key_id)) std::copy(id->begin(), id->end(), header.begin() + 1);
  Bytes nonce = random_bytes(kNonceBytes);
  std::copy(nonce.begin(), nonce.end(), header.begin() + 1 + 16);
  Bytes ctx = canonical_context(context);
  Bytes aad(kHeader + ctx.size());
  std::copy(header.begin(), header.end(), aad.begin());
  std::copy(ctx.begin(), ctx.end(), aad.begin() + kHeader);
  Bytes sealed = gcm_seal(material, nonce.data(), aad, plaintext.data(), plaintext.size());
  Bytes out(kHeader + sealed.size());
  std::copy(header.begin(), header.end(), out.begin());
  std::copy(sealed.begin(), sealed.end(), out.begin() + kHeader);
  return out;
}

std::optional<std::string> blob_key_id(const Bytes& blob) {
  if (blob.size() < kBlobOverhead || blob[0] != kBlobVersion) return std::nullopt;
  return uuid_text(blob.data() + 1);
}

std::optional<Bytes> open_blob(const Bytes& blob, const Bytes& material,
                               const EncryptionContext& context) {
  if (blob.size() < kBlobOverhead || blob[0] != kBlobVersion || material.size() != kKeyBytes)
    return std::nullopt;
  constexpr std::size_t kHeader = 1 + 16 + kNonceBytes;
  Bytes ctx = canonical_context(context);
  Bytes aad(kHeader + ctx.size());
  std::copy(blob.begin(), blob.begin() + kHeader, aad.begin());
  std::copy(ctx.begin(), ctx.end(), aad.begin() + kHeader);
  return gcm_open(material, blob.data() + 1 + 16, aad, blob.data() + kHeader,
                  blob.size() - kHeader);
}

std::string base64_encode(const Bytes& data) {
  static const char* kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < data.size(); i += 3) {
    uint32_t n = static_cast<uint32_t>(data[i]) << 16;
    if (i + 1 < data.size()) n |= static_cast<uint32_t>(data[i + 1]) << 8;
    if (i + 2 < data.size()) n |= data[i + 2];
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < data.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < data.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

std::optional<Bytes> base64_decode(const std::string& text) {
  if (text.size() % 4 != 0) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  Bytes out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      char c = text[i + j];
      if (c == '=' && i + 4 == text.size() && j >= 2) {
        v[j] = 0;
        ++pad;
      } else if (pad > 0 || (v[j] = value(c)) < 0) {
        return std::nullopt;
      }
    }
    uint32_t n = static_cast<uint32_t>(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
    out.push_back(static_cast<uint8_t>(n >> 16));
    if (pad < 2) out.push_back(static_cast<uint8_t>(n >> 8));
    if (pad < 1) out.push_back(static_cast<uint8_t>(n));
  }
  return out;
}

}  // namespace efs::kms
