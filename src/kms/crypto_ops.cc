// Cryptographic operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey,
// GenerateDataKeyWithoutPlaintext, GenerateRandom. Blobs are crypto.h's
// authenticated format: the blob names its key, and the encryption context
// is bound as additional data, so Decrypt needs no KeyId and refuses any
// altered blob or different context with InvalidCiphertextException.
#include <spdlog/spdlog.h>

#include "kms/internal.h"
#include "kms/service.h"
#include "meta/db.h"

namespace efs::kms {

using namespace detail;

namespace {

constexpr const char* kSymmetric = "SYMMETRIC_DEFAULT";

Result<void, ServiceError> check_algorithm(const json& in, const char* member) {
  std::string alg = in.value(member, kSymmetric);
  if (alg != kSymmetric)
    return kms_error("InvalidKeyUsageException",
                     "The encryption algorithm " + alg +
                         " is not compatible with the symmetric key (use SYMMETRIC_DEFAULT).");
  return {};
}

Result<void, ServiceError> check_no_recipient(const json& in) {
  if (in.contains("Recipient"))
    return kms_error("UnsupportedOperationException",
                     "efs-local has no Nitro Enclaves: Recipient is not supported.");
  return {};
}

Unexpected<ServiceError> invalid_ciphertext() {
  return kms_error("InvalidCiphertextException",
                   "The ciphertext is not valid: it was altered, was made by another key or "
                   "server, or its encryption context differs.");
}

Unexpected<ServiceError> dry_run() {
  return kms_error("DryRunOperationException",
                   "The request would have succeeded, but the DryRun option is set.");
}

}  // namespace

ApiResult<nlohmann::json> Service::encrypt_under(meta::Conn& c, const RequestContext& ctx,
                                                 const std::string& ref, const Bytes& plaintext,
                                                 const json& context, const char* op) {
  auto k = find_key(c, ctx, ref);
  if (!k) return fail(k.error());
  if (auto ok = check_usable(*k); !ok) return fail(ok.error());
  auto m = material(*k);
  if (!m) return fail(m.error());
  EncryptionContext ec;
  if (context.is_object())
    for (const auto& [key, v] : context.items()) ec[key] = v.get<std::string>();
  Bytes blob = seal_blob(k->key_id, *m, plaintext, ec);
  spdlog::debug("kms: {} with key {} ({} bytes)", op, k->key_id, plaintext.size());
  return json{{"CiphertextBlob", base64_encode(blob)},
              {"KeyId", key_arn(*k)},
              {"EncryptionAlgorithm", kSymmetric}};
}

ApiResult<std::pair<KeyRecord, Bytes>> Service::decrypt_blob(meta::Conn& c,
                                                             const RequestContext& ctx,
                                                             const json& in,
                                                             const char* blob_member,
                                                             const char* context_member,
                                                             const char* key_member) {
  if (!in.contains(blob_member))
    return validation(std::string("1 validation error detected: Value null at '") +
                      static_cast<char>(std::tolower(blob_member[0])) + (blob_member + 1) +
                      "' failed to satisfy constraint: Member must not be null");
  Bytes blob = blob_of(in, blob_member);
  auto id = blob_key_id(blob);
  if (!id) return invalid_ciphertext();
  // The blob names its key; a key that is not there (never was, or a byte
  // of the id was changed) cannot have made it.
  auto named = lookup(c, KeyRef{false, *id, ctx.region, ctx.account_id});
  if (!named) return invalid_ciphertext();
  if (in.contains(key_member)) {
    auto want = find_key(c, ctx, in[key_member].get<std::string>());
    if (!want) return fail(want.error());
    if (want->key_id != named->key_id)
      return kms_error("IncorrectKeyException",
                       "The key ID in the request does not identify a KMS key that can perform "
                       "this operation.");
  }
  if (auto ok = check_usable(*named); !ok) return fail(ok.error());
  auto m = material(*named);
  if (!m) return fail(m.error());
  auto plain = open_blob(blob, *m, context_of(in, context_member));
  if (!plain) return invalid_ciphertext();
  return std::make_pair(std::move(*named), std::move(*plain));
}

ApiResult<nlohmann::json> Service::Encrypt(const RequestContext& ctx, const json& in) {
  if (auto ok = check_algorithm(in, "EncryptionAlgorithm"); !ok) return fail(ok.error());
  Bytes plaintext = blob_of(in, "Plaintext");
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto out = encrypt_under(c, ctx, in.at("KeyId").get<std::string>(), plaintext,
                             in.value("EncryptionContext", json::object()), "Encrypt");
    if (out && in.value("DryRun", false)) return dry_run();
    return out;
  });
}

ApiResult<nlohmann::json> Service::Decrypt(const RequestContext& ctx, const json& in) {
  if (auto ok = check_algorithm(in, "EncryptionAlgorithm"); !ok) return fail(ok.error());
  if (auto ok = check_no_recipient(in); !ok) return fail(ok.error());
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto r = decrypt_blob(c, ctx, in, "CiphertextBlob", "EncryptionContext", "KeyId");
    if (!r) return fail(r.error());
    if (in.value("DryRun", false)) return dry_run();
    return json{{"KeyId", key_arn(r->first)},
                {"Plaintext", base64_encode(r->second)},
                {"EncryptionAlgorithm", kSymmetric}};
  });
}

ApiResult<nlohmann::json> Service::ReEncrypt(const RequestContext& ctx, const json& in) {
  if (auto ok = check_algorithm(in, "SourceEncryptionAlgorithm"); !ok) return fail(ok.error());
  if (auto ok = check_algorithm(in, "DestinationEncryptionAlgorithm"); !ok) return fail(ok.error());
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto r = decrypt_blob(c, ctx, in, "CiphertextBlob", "SourceEncryptionContext", "SourceKeyId");
    if (!r) return fail(r.error());
    auto out = encrypt_under(c, ctx, in.at("DestinationKeyId").get<std::string>(), r->second,
                             in.value("DestinationEncryptionContext", json::object()),
                             "ReEncrypt");
    if (!out) return out;
    if (in.value("DryRun", false)) return dry_run();
    return json{{"CiphertextBlob", (*out)["CiphertextBlob"]},
                {"SourceKeyId", key_arn(r->first)},
                {"KeyId", (*out)["KeyId"]},
                {"SourceEncryptionAlgorithm", kSymmetric},
                {"DestinationEncryptionAlgorithm", kSymmetric}};
  });
}

ApiResult<nlohmann::json> Service::generate_data_key(const RequestContext& ctx, const json& in,
                                                     bool with_plaintext) {
  if (auto ok = check_no_recipient(in); !ok) return fail(ok.error());
  bool by_size = in.contains("NumberOfBytes"), by_spec = in.contains("KeySpec");
  if (by_size == by_spec)
    return validation(by_size ? "Please specify either number of bytes or key spec, not both."
                              : "Please specify either number of bytes or key spec.");
  std::size_t n = by_size ? in["NumberOfBytes"].get<std::size_t>()
                          : (in["KeySpec"].get<std::string>() == "AES_128" ? 16 : 32);
  Bytes key = random_bytes(n);
  return in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto out = encrypt_under(c, ctx, in.at("KeyId").get<std::string>(), key,
                             in.value("EncryptionContext", json::object()),
                             with_plaintext ? "GenerateDataKey" : "GenerateDataKeyWithoutPlaintext");
    if (!out) return out;
    if (in.value("DryRun", false)) return dry_run();
    json r = {{"CiphertextBlob", (*out)["CiphertextBlob"]}, {"KeyId", (*out)["KeyId"]}};
    if (with_plaintext) r["Plaintext"] = base64_encode(key);
    return r;
  });
}

ApiResult<nlohmann::json> Service::GenerateDataKey(const RequestContext& ctx, const json& in) {
  return generate_data_key(ctx, in, true);
}

ApiResult<nlohmann::json> Service::GenerateDataKeyWithoutPlaintext(const RequestContext& ctx,
                                                                   const json& in) {
  return generate_data_key(ctx, in, false);
}

ApiResult<nlohmann::json> Service::GenerateRandom(const RequestContext&, const json& in) {
  if (auto ok = check_no_recipient(in); !ok) return fail(ok.error());
  if (in.contains("CustomKeyStoreId"))
    return kms_error("CustomKeyStoreNotFoundException",
                     "efs-local has no custom key stores: " +
                         in["CustomKeyStoreId"].get<std::string>());
  if (!in.contains("NumberOfBytes"))
    return validation(
        "1 validation error detected: Value null at 'numberOfBytes' failed to satisfy "
        "constraint: Member must not be null");
  return json{{"Plaintext", base64_encode(random_bytes(in["NumberOfBytes"].get<std::size_t>()))}};
}

}  // namespace efs::kms
