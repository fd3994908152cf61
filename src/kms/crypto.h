// The cryptography of the emulated KMS (Crypto++): the master key file, key
// material wrapped by it, and the ciphertext blobs Encrypt returns. All of it
// is AES-256-GCM with 96-bit random nonces and 128-bit tags.
//
// Formats (docs: this header is the written-down format):
//   master key file  <data dir>/kms-master.key: 32 raw bytes, mode 0600,
//                    created on first start.
//   wrapped material 0x01 | nonce(12) | AES-GCM(master, material(32)) | tag(16)
//                    AAD "efs-local kms key material v1:" + key id, so a
//                    wrapped key moved to another key's row does not unwrap.
//   ciphertext blob  0x01 | key id (16-byte binary UUID) | nonce(12) |
//                    AES-GCM(key material, plaintext) | tag(16)
//                    AAD: the first 29 bytes (version, key id, nonce), then
//                    the encryption context in canonical order (pairs sorted
//                    by key; each as u32be length + bytes of key, then of
//                    value). The blob names its key (Decrypt needs no KeyId)
//                    and any change of blob or context fails the tag check.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace efs::kms {

using Bytes = std::vector<uint8_t>;
using EncryptionContext = std::map<std::string, std::string>;

inline constexpr std::size_t kKeyBytes = 32;
inline constexpr std::size_t kNonceBytes = 12;
inline constexpr std::size_t kTagBytes = 16;
inline constexpr uint8_t kBlobVersion = 1;
// version + key id + nonce + tag: the size of a blob of an empty plaintext.
inline constexpr std::size_t kBlobOverhead = 1 + 16 + kNonceBytes + kTagBytes;

// n bytes from the operating system's generator.
Bytes random_bytes(std::size_t n);

// Loads the master key file, creating it (0600, 32 random bytes) if absent.
// A file of another size is an error; a mode other than 0600 is logged and
// set back to 0600.
Status<Bytes> load_or_create_master_key(const std::string& path);

Bytes wrap_material(const Bytes& master, const std::string& key_id, const Bytes& material);
// nullopt if the wrapped bytes were altered or belong to another key id.
std::optional<Bytes> unwrap_material(const Bytes& master, const std::string& key_id,
                                     const Bytes& wrapped);

// The canonical encoding of an encryption context (see above).
Bytes canonical_context(const EncryptionContext& context);

// Key id (UUID text) <-> 16 bytes; nullopt for text that is not a UUID.
std::optional<Bytes> uuid_bytes(const std::string& uuid);
std::string uuid_text(const uint8_t* sixteen);

Bytes seal_blob(const std::string& key_id, const Bytes& material, const Bytes& plaintext,
                const EncryptionContext& context);
// The key id a blob names, or nullopt if it is not a blob of this format.
std::optional<std::string> blob_key_id(const Bytes& blob);
// The plaintext, or nullopt if the blob, the key or the context is wrong.
std::optional<Bytes> open_blob(const Bytes& blob, const Bytes& material,
                               const EncryptionContext& context);

// Standard base64 (with padding), as the JSON protocols carry blobs.
std::string base64_encode(const Bytes& data);
std::optional<Bytes> base64_decode(const std::string& text);

}  // namespace efs::kms
