// CreateFileSystem's KmsKeyId resolved through a kms::KeyDirectory: EFS
// stores and returns the key ARN whatever form was given, uses the AWS
// managed key for EFS when none is, and refuses a key it cannot use.
#include <map>

#include "harness.h"

using namespace efs;
using namespace efs::testing;

namespace {

constexpr const char* kKeyId = "1234abcd-12ab-34cd-56ef-1234567890ab";
constexpr const char* kKeyArn =
    "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab";
constexpr const char* kDefaultArn =
    "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-4000-8000-0000000000ef";

// A key store of a few keys in us-east-1 / 000000000000, by every name a
// caller may use (key ID, key ARN, alias name, alias ARN).
class FakeKeyDirectory : public kms::KeyDirectory {
 public:
  FakeKeyDirectory() {
    add({kKeyId, kKeyArn, kms::KeyState::enabled, true},
        {kKeyId, kKeyArn, "alias/project", "arn:aws:kms:us-east-1:000000000000:alias/project"});
    add({"dddddddd-0000-4000-8000-000000000001",
         "arn:aws:kms:us-east-1:000000000000:key/dddddddd-0000-4000-8000-000000000001",
         kms::KeyState::disabled, true},
        {"alias/disabled"});
    add({"eeeeeeee-0000-4000-8000-000000000002",
         "arn:aws:kms:us-east-1:000000000000:key/eeeeeeee-0000-4000-8000-000000000002",
         kms::KeyState::pending_deletion, true},
        {"alias/doomed"});
    add({"aaaaaaaa-0000-4000-8000-000000000003",
         "arn:aws:kms:us-east-1:000000000000:key/aaaaaaaa-0000-4000-8000-000000000003",
         kms::KeyState::enabled, false},
        {"alias/rsa"});
  }
  std::optional<kms::KeyInfo> resolve(const std::string& region, const std::string& account,
                                      const std::string& key_ref) const override {
    if (region != "us-east-1" || account != "000000000000") return std::nullopt;
    auto it = refs_.find(key_ref);
    if (it == refs_.end()) return std::nullopt;
    return it->second;
  }
  Status<kms::KeyInfo> default_efs_key(const std::string& region,
                                       const std::string& account) override {
    ++default_calls;
    CHECK(region == "us-east-1");
    CHECK(account == "000000000000");
    return kms::KeyInfo{"00000000-0000-4000-8000-0000000000ef", kDefaultArn,
                        kms::KeyState::enabled, true};
  }
  int default_calls = 0;

 private:
  void add(const kms::KeyInfo& k, std::initializer_list<std::string> names) {
    refs_[k.key_id] = k;
    refs_[k.arn] = k;
    for (const auto& n : names) refs_[n] = k;
  }
  std::map<std::string, kms::KeyInfo> refs_;
};

}  // namespace

TEST_CASE("KmsKeyId in any form is stored and returned as the key ARN") {
  FakeKeyDirectory keys;
  Harness h({}, &keys);
  for (const std::string& ref : {std::string(kKeyId), std::string(kKeyArn),
                                std::string("alias/project"),
                                std::string("arn:aws:kms:us-east-1:000000000000:alias/project")}) {
    CAPTURE(ref);
    auto fs = h.ok("CreateFileSystem",
                   {{"CreationToken", "t-" + ref}, {"Encrypted", true}, {"KmsKeyId", ref}});
    CHECK(fs["KmsKeyId"] == kKeyArn);
    CHECK(h.describe_fs(fs["FileSystemId"])["KmsKeyId"] == kKeyArn);
  }
  CHECK(keys.default_calls == 0);
}

TEST_CASE("Encrypted without KmsKeyId uses the AWS managed key for EFS") {
  FakeKeyDirectory keys;
  Harness h({}, &keys);
  auto fs = h.ok("CreateFileSystem", {{"CreationToken", "enc"}, {"Encrypted", true}});
  CHECK(fs["KmsKeyId"] == kDefaultArn);
  CHECK(keys.default_calls == 1);
  // Unencrypted: no key at all.
  auto plain = h.ok("CreateFileSystem", {{"CreationToken", "plain"}});
  CHECK_FALSE(plain.contains("KmsKeyId"));
  CHECK(keys.default_calls == 1);
}

TEST_CASE("A key EFS cannot use is refused with BadRequest and creates nothing") {
  FakeKeyDirectory keys;
  Harness h({}, &keys);
  for (const char* ref : {"11111111-2222-4333-8444-555555555555", "alias/nothere",
                          "arn:aws:kms:us-east-1:999999999999:key/" /* other account */
                          "1234abcd-12ab-34cd-56ef-1234567890ab",
                          "alias/disabled", "alias/doomed", "alias/rsa"}) {
    CAPTURE(ref);
    auto r = h.call("CreateFileSystem",
                    {{"CreationToken", std::string("bad-") + ref}, {"Encrypted", true},
                     {"KmsKeyId", ref}});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "BadRequest");
    CHECK(r.error().http_status == 400);
    CHECK(r.error().message.find("KMS key") != std::string::npos);
  }
  CHECK(h.ok("DescribeFileSystems")["FileSystems"].empty());
}

TEST_CASE("Without a KeyDirectory KmsKeyId is taken on trust, as an ARN") {
  Harness h;
  auto fs = h.ok("CreateFileSystem",
                 {{"CreationToken", "trust"}, {"Encrypted", true}, {"KmsKeyId", kKeyId}});
  CHECK(fs["KmsKeyId"] == kKeyArn);
}
