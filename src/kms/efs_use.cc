// EFS's own use of KMS keys: the data key of each encrypted file system is
// generated and unwrapped here, by the data plane in-process, as EFS's
// service principal acting for the key's account (on AWS, EFS calls
// GenerateDataKey and Decrypt under the grant it creates). Same rules as the
// API: the key must be enabled, the blob must carry the same context.
#include <spdlog/spdlog.h>

#include "kms/internal.h"
#include "kms/service.h"
#include "meta/db.h"

namespace efs::kms {

using namespace detail;

namespace {

// The Region and account an ARN names, as the caller's context: EFS calls
// KMS in the file system's own account and Region.
RequestContext context_of_arn(const std::string& key_arn) {
  RequestContext ctx;
  // arn:{partition}:kms:{region}:{account}:key/{id}
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    std::size_t colon = key_arn.find(':', start);
    if (colon == std::string::npos) break;
    parts.push_back(key_arn.substr(start, colon - start));
    start = colon + 1;
  }
  if (parts.size() == 5) {
    ctx.region = parts[3];
    ctx.account_id = parts[4];
  }
  return ctx;
}

Error as_error(const ServiceError& e) { return Error{e.code + ": " + e.message}; }

}  // namespace

Status<std::pair<Bytes, Bytes>> Service::generate_data_key_for_efs(
    const std::string& key_arn, std::size_t bytes, const EncryptionContext& context) {
  const RequestContext ctx = context_of_arn(key_arn);
  Bytes plaintext = random_bytes(bytes);
  Bytes blob;
  auto r = in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto k = find_key(c, ctx, key_arn, false);
    if (!k) return fail(k.error());
    if (auto ok = check_usable(*k); !ok) return fail(ok.error());
    auto m = material(*k);
    if (!m) return fail(m.error());
    blob = seal_blob(k->key_id, *m, plaintext, context);
    return json::object();
  });
  if (!r) return fail(as_error(r.error()));
  return std::make_pair(std::move(plaintext), std::move(blob));
}

Status<Bytes> Service::decrypt_for_efs(const std::string& key_arn, const Bytes& blob,
                                       const EncryptionContext& context) {
  const RequestContext ctx = context_of_arn(key_arn);
  Bytes plaintext;
  auto r = in_write([&](meta::Conn& c) -> ApiResult<json> {
    auto k = find_key(c, ctx, key_arn, false);
    if (!k) return fail(k.error());
    auto named = blob_key_id(blob);
    if (!named || *named != k->key_id)
      return kms_error("InvalidCiphertextException",
                       "the data key blob was not made under " + key_arn);
    if (auto ok = check_usable(*k); !ok) return fail(ok.error());
    auto m = material(*k);
    if (!m) return fail(m.error());
    auto plain = open_blob(blob, *m, context);
    if (!plain)
      return kms_error("InvalidCiphertextException",
                       "the data key blob does not open under " + key_arn +
                           " with its encryption context");
    plaintext = std::move(*plain);
    return json::object();
  });
  if (!r) return fail(as_error(r.error()));
  return plaintext;
}

}  // namespace efs::kms
