// The seam between the EFS model (src/efs) and the emulated KMS (src/kms).
// efs::Service resolves CreateFileSystem's KmsKeyId through it and asks it
// whether a file system's key still works; src/kms implements it over its key
// store. efs never sees key material: it only learns a key's ARN and state.
// (A null KeyDirectory means "no KMS": efs then keeps its older behaviour, so
// unit tests of efs need no key store.)
#pragma once

#include <optional>
#include <string>

#include "common/result.h"

namespace efs::kms {

// KMS KeyState values (spec/kms-2014-11-01.json, shape KeyState).
enum class KeyState { enabled, disabled, pending_deletion, pending_import, unavailable, creating,
                      updating, pending_replica_deletion };

struct KeyInfo {
  std::string key_id;   // UUID
  std::string arn;      // arn:{partition}:kms:{region}:{account}:key/{key_id}
  KeyState state = KeyState::enabled;
  bool symmetric_encrypt_decrypt = true;  // KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT
};

class KeyDirectory {
 public:
  virtual ~KeyDirectory() = default;
  // Resolves a key ID, key ARN, alias name ("alias/x") or alias ARN in the
  // given account and region. nullopt: no such key or alias.
  virtual std::optional<KeyInfo> resolve(const std::string& region, const std::string& account,
                                         const std::string& key_ref) const = 0;
  // The AWS-managed key behind alias/aws/elasticfilesystem, created (with its
  // alias) the first time it is asked for, as AWS does.
  virtual Status<KeyInfo> default_efs_key(const std::string& region,
                                          const std::string& account) = 0;
};

}  // namespace efs::kms
