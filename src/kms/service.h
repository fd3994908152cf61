// efs::kms::Service: the emulated AWS KMS behind the JSON 1.1 API
// (spec/kms-2014-11-01.json, X-Amz-Target TrentService.<Operation>) and the
// KeyDirectory efs::Service resolves KmsKeyId through.
//
// Symmetric keys only (SYMMETRIC_DEFAULT / ENCRYPT_DECRYPT, origin AWS_KMS),
// single-Region. Keys, aliases and grants live in SQLite (store.h); key
// material only wrapped by the master key file (crypto.h), so a restart keeps
// every key. Each operation is one write transaction that first carries out
// the deletions the emulator clock has made due (ScheduleKeyDeletion), so a
// key is gone the moment its DeletionDate passes, whoever looks.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "efs/error.h"
#include "kms/crypto.h"
#include "kms/key_directory.h"
#include "kms/store.h"

namespace efs::meta {
class Db;
class Conn;
}  // namespace efs::meta

namespace efs::kms {

class Service : public KeyDirectory {
 public:
  using json = nlohmann::json;

  // Creates the kms tables if needed and loads (or creates) the master key
  // file at master_key_path.
  static Result<std::unique_ptr<Service>, Error> open(meta::Db& db, Clock& clock,
                                                      const std::string& master_key_path);

  // One handler per implemented operation of the model, by exact name.
  std::vector<std::pair<std::string, JsonOperation>> operations();

  // KeyDirectory.
  std::optional<KeyInfo> resolve(const std::string& region, const std::string& account,
                                 const std::string& key_ref) const override;
  Status<KeyInfo> default_efs_key(const std::string& region, const std::string& account) override;

  // Keys.
  ApiResult<json> CreateKey(const RequestContext& ctx, const json& in);
  ApiResult<json> DescribeKey(const RequestContext& ctx, const json& in);
  ApiResult<json> ListKeys(const RequestContext& ctx, const json& in);
  ApiResult<json> UpdateKeyDescription(const RequestContext& ctx, const json& in);
  ApiResult<json> EnableKey(const RequestContext& ctx, const json& in);
  ApiResult<json> DisableKey(const RequestContext& ctx, const json& in);
  ApiResult<json> ScheduleKeyDeletion(const RequestContext& ctx, const json& in);
  ApiResult<json> CancelKeyDeletion(const RequestContext& ctx, const json& in);
  ApiResult<json> EnableKeyRotation(const RequestContext& ctx, const json& in);
  ApiResult<json> DisableKeyRotation(const RequestContext& ctx, const json& in);
  ApiResult<json> GetKeyRotationStatus(const RequestContext& ctx, const json& in);
  ApiResult<json> GetKeyPolicy(const RequestContext& ctx, const json& in);
  ApiResult<json> PutKeyPolicy(const RequestContext& ctx, const json& in);
  ApiResult<json> ListKeyPolicies(const RequestContext& ctx, const json& in);
  ApiResult<json> TagResource(const RequestContext& ctx, const json& in);
  ApiResult<json> UntagResource(const RequestContext& ctx, const json& in);
  ApiResult<json> ListResourceTags(const RequestContext& ctx, const json& in);
  // Aliases.
  ApiResult<json> CreateAlias(const RequestContext& ctx, const json& in);
  ApiResult<json> UpdateAlias(const RequestContext& ctx, const json& in);
  ApiResult<json> DeleteAlias(const RequestContext& ctx, const json& in);
  ApiResult<json> ListAliases(const RequestContext& ctx, const json& in);
  // Grants.
  ApiResult<json> CreateGrant(const RequestContext& ctx, const json& in);
  ApiResult<json> ListGrants(const RequestContext& ctx, const json& in);
  ApiResult<json> RetireGrant(const RequestContext& ctx, const json& in);
  ApiResult<json> RevokeGrant(const RequestContext& ctx, const json& in);
  ApiResult<json> ListRetirableGrants(const RequestContext& ctx, const json& in);
  // Cryptography.
  ApiResult<json> Encrypt(const RequestContext& ctx, const json& in);
  ApiResult<json> Decrypt(const RequestContext& ctx, const json& in);
  ApiResult<json> ReEncrypt(const RequestContext& ctx, const json& in);
  ApiResult<json> GenerateDataKey(const RequestContext& ctx, const json& in);
  ApiResult<json> GenerateDataKeyWithoutPlaintext(const RequestContext& ctx, const json& in);
  ApiResult<json> GenerateRandom(const RequestContext& ctx, const json& in);

  // EFS's own use of a key (efs_use.cc): the data plane's calls, as EFS's
  // service principal on the owner's behalf, never over HTTP. The key is
  // named by its ARN; errors carry the KMS error name ("DisabledException:
  // ...").
  // A fresh data key of `bytes` bytes under key_arn, bound to `context`:
  // the plaintext and its ciphertext blob (the form that is stored).
  Status<std::pair<Bytes, Bytes>> generate_data_key_for_efs(const std::string& key_arn,
                                                            std::size_t bytes,
                                                            const EncryptionContext& context);
  // The plaintext of a blob generate_data_key_for_efs made under key_arn.
  Status<Bytes> decrypt_for_efs(const std::string& key_arn, const Bytes& blob,
                                const EncryptionContext& context);
  // fn runs after every committed write that changed a key's state (enabled,
  // disabled, deletion scheduled or cancelled, deleted by the clock), on the
  // writing thread and outside the transaction: it must not block on KMS.
  // Set once, before requests are served.
  void on_key_state_change(std::function<void()> fn) { state_listener_ = std::move(fn); }

 private:
  Service(meta::Db& db, Clock& clock, Bytes master) : db_(db), clock_(clock), master_(master) {}

  // The transaction every operation runs in: due deletions first, then fn.
  ApiResult<json> in_write(const std::function<ApiResult<json>(meta::Conn&)>& fn);

  // Resolves a key ID, key ARN, alias name or alias ARN in the caller's
  // account and Region. NotFoundException if there is none.
  ApiResult<KeyRecord> find_key(meta::Conn& c, const RequestContext& ctx,
                                const std::string& ref, bool aliases_allowed = true);
  // The AWS managed key of alias/aws/elasticfilesystem, created if absent.
  KeyRecord efs_managed_key(meta::Conn& c, const std::string& region, const std::string& account);
  KeyRecord new_key(const std::string& region, const std::string& account, std::string manager,
                    std::string description, std::string policy);
  json metadata(const KeyRecord& k) const;
  // Key material, unwrapped; KMSInternalException if the master key does not fit.
  ApiResult<Bytes> material(const KeyRecord& k) const;
  // The data-key operations share this: encrypt `plaintext` under `ref`.
  ApiResult<json> encrypt_under(meta::Conn& c, const RequestContext& ctx, const std::string& ref,
                                const Bytes& plaintext, const json& context, const char* op);
  ApiResult<std::pair<KeyRecord, Bytes>> decrypt_blob(meta::Conn& c, const RequestContext& ctx,
                                                      const json& in, const char* blob_member,
                                                      const char* context_member,
                                                      const char* key_member);
  ApiResult<json> generate_data_key(const RequestContext& ctx, const json& in, bool plaintext);
  ApiResult<json> set_state(const RequestContext& ctx, const json& in, bool enable);

  meta::Db& db_;
  Clock& clock_;
  Bytes master_;
  std::function<void()> state_listener_;
  // Set by a transaction that changed a key's state; in_write calls
  // state_listener_ once it has committed.
  std::atomic<bool> state_changed_{false};
};

}  // namespace efs::kms
