// kms::Service over a temporary SQLite database and a private Clock, called
// through operations() as the JSON 1.1 layer calls it.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>

#include "common/clock.h"
#include "common/ids.h"
#include "kms/crypto.h"
#include "kms/service.h"
#include "meta/db.h"

namespace {

using nlohmann::json;
using efs::ApiResult;

struct Kms {
  std::filesystem::path dir;
  std::unique_ptr<efs::meta::Db> db;
  efs::Clock clock;
  std::unique_ptr<efs::kms::Service> service;
  std::map<std::string, efs::JsonOperation> ops;
  efs::RequestContext ctx;

  Kms() {
    std::filesystem::path base = std::filesystem::exists("/dev/shm")
                                     ? std::filesystem::path("/dev/shm")
                                     : std::filesystem::temp_directory_path();
    dir = base / ("kms-test-" + efs::random_hex(12));
    std::filesystem::create_directories(dir);
    open();
  }
  ~Kms() {
    close();
    std::filesystem::remove_all(dir);
  }
  void open() {
    auto d = efs::meta::Db::open((dir / "meta.db").string());
    REQUIRE(d.ok());
    db = std::move(*d);
    auto s = efs::kms::Service::open(*db, clock, (dir / "kms-master.key").string());
    REQUIRE(s.ok());
    service = std::move(*s);
    ops.clear();
    for (auto& [name, op] : service->operations()) ops[name] = op;
  }
  void close() {
    ops.clear();
    service.reset();
    db.reset();
  }
  ApiResult<json> call(const std::string& op, const json& in) {
    REQUIRE(ops.count(op));
    return ops[op](ctx, in);
  }
  json ok(const std::string& op, const json& in) {
    auto r = call(op, in);
    if (!r) FAIL_CHECK(op << " failed: " << r.error().code << ": " << r.error().message);
    REQUIRE(r.ok());
    return *r;
  }
  std::string error(const std::string& op, const json& in) {
    auto r = call(op, in);
    REQUIRE_FALSE(r.ok());
    return r.error().code;
  }
  std::string new_key(const json& in = json::object()) {
    return ok("CreateKey", in)["KeyMetadata"]["KeyId"].get<std::string>();
  }
  void advance_days(double days) {
    clock.advance(std::chrono::duration_cast<efs::Clock::duration>(
        std::chrono::duration<double>(days * 86400)));
  }
};

std::string b64(const std::string& s) {
  return efs::kms::base64_encode(efs::kms::Bytes(s.begin(), s.end()));
}

}  // namespace

TEST_CASE("CreateKey makes a symmetric key DescribeKey finds by id, ARN, alias and alias ARN") {
  Kms k;
  json md = k.ok("CreateKey", {{"Description", "d"}, {"Tags", {{{"TagKey", "a"}, {"TagValue", "b"}}}}})["KeyMetadata"];
  std::string id = md["KeyId"];
  CHECK(efs::kms::uuid_bytes(id));
  CHECK(md["Arn"] == "arn:aws:kms:us-east-1:000000000000:key/" + id);
  CHECK(md["KeyState"] == "Enabled");
  CHECK(md["KeySpec"] == "SYMMETRIC_DEFAULT");
  CHECK(md["KeyManager"] == "CUSTOMER");
  CHECK(md["MultiRegion"] == false);
  k.ok("CreateAlias", {{"AliasName", "alias/app"}, {"TargetKeyId", id}});
  for (std::string ref : {id, md["Arn"].get<std::string>(), std::string("alias/app"),
                          std::string("arn:aws:kms:us-east-1:000000000000:alias/app")})
    CHECK(k.ok("DescribeKey", {{"KeyId", ref}})["KeyMetadata"]["KeyId"] == id);
  CHECK(k.error("DescribeKey", {{"KeyId", "alias/none"}}) == "NotFoundException");
  CHECK(k.error("DescribeKey", {{"KeyId", "not-a-key"}}) == "NotFoundException");
  CHECK(k.error("DescribeKey", {{"KeyId", "1234abcd-12ab-34cd-56ef-1234567890ab"}}) ==
        "NotFoundException");
  // Another Region does not see the key.
  k.ctx.region = "eu-west-1";
  CHECK(k.error("DescribeKey", {{"KeyId", id}}) == "NotFoundException");
  CHECK(k.error("CreateKey", {{"KeySpec", "RSA_2048"}}) == "UnsupportedOperationException");
  CHECK(k.error("CreateKey", {{"MultiRegion", true}}) == "UnsupportedOperationException");
  CHECK(k.error("CreateKey", {{"Policy", "not json"}}) == "MalformedPolicyDocumentException");
}

TEST_CASE("alias rules: the alias/ prefix, the reserved alias/aws/, one name per Region") {
  Kms k;
  std::string a = k.new_key(), b = k.new_key();
  CHECK(k.error("CreateAlias", {{"AliasName", "app"}, {"TargetKeyId", a}}) == "ValidationException");
  CHECK(k.error("CreateAlias", {{"AliasName", "alias/aws/mine"}, {"TargetKeyId", a}}) ==
        "InvalidAliasNameException");
  CHECK(k.error("CreateAlias", {{"AliasName", "alias/a:b"}, {"TargetKeyId", a}}) ==
        "ValidationException");
  k.ok("CreateAlias", {{"AliasName", "alias/app"}, {"TargetKeyId", a}});
  CHECK(k.error("CreateAlias", {{"AliasName", "alias/app"}, {"TargetKeyId", b}}) ==
        "AlreadyExistsException");
  // The target is a key, not another alias.
  CHECK(k.error("CreateAlias", {{"AliasName", "alias/two"}, {"TargetKeyId", "alias/app"}}) ==
        "NotFoundException");
  k.ok("UpdateAlias", {{"AliasName", "alias/app"}, {"TargetKeyId", b}});
  CHECK(k.ok("DescribeKey", {{"KeyId", "alias/app"}})["KeyMetadata"]["KeyId"] == b);
  CHECK(k.error("UpdateAlias", {{"AliasName", "alias/none"}, {"TargetKeyId", b}}) ==
        "NotFoundException");
  CHECK(k.ok("ListAliases", {{"KeyId", b}})["Aliases"].size() == 1);
  CHECK(k.ok("ListAliases", {{"KeyId", a}})["Aliases"].empty());
  k.ok("DeleteAlias", {{"AliasName", "alias/app"}});
  CHECK(k.error("DeleteAlias", {{"AliasName", "alias/app"}}) == "NotFoundException");
  CHECK(k.error("DeleteAlias", {{"AliasName", "alias/aws/elasticfilesystem"}}) ==
        "InvalidAliasNameException");
}

TEST_CASE("Encrypt/Decrypt round trip with context; the blob names its key") {
  Kms k;
  std::string id = k.new_key(), other = k.new_key();
  json ctx = {{"fs", "fs-1"}};
  json enc = k.ok("Encrypt", {{"KeyId", id}, {"Plaintext", b64("secret")}, {"EncryptionContext", ctx}});
  CHECK(enc["KeyId"] == "arn:aws:kms:us-east-1:000000000000:key/" + id);
  json dec = k.ok("Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]}, {"EncryptionContext", ctx}});
  CHECK(dec["Plaintext"] == b64("secret"));
  CHECK(dec["KeyId"] == enc["KeyId"]);
  CHECK(k.error("Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]}}) == "InvalidCiphertextException");
  CHECK(k.error("Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]},
                            {"EncryptionContext", {{"fs", "fs-2"}}}}) == "InvalidCiphertextException");
  CHECK(k.error("Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]}, {"EncryptionContext", ctx},
                            {"KeyId", other}}) == "IncorrectKeyException");
  auto blob = *efs::kms::base64_decode(enc["CiphertextBlob"]);
  blob[blob.size() - 3] ^= 1;
  CHECK(k.error("Decrypt", {{"CiphertextBlob", efs::kms::base64_encode(blob)},
                            {"EncryptionContext", ctx}}) == "InvalidCiphertextException");

  json re = k.ok("ReEncrypt", {{"CiphertextBlob", enc["CiphertextBlob"]},
                               {"SourceEncryptionContext", ctx}, {"DestinationKeyId", other}});
  CHECK(re["SourceKeyId"] == enc["KeyId"]);
  CHECK(k.ok("Decrypt", {{"CiphertextBlob", re["CiphertextBlob"]}})["Plaintext"] == b64("secret"));

  // Disabled: DisabledException; pending deletion: KMSInvalidStateException.
  k.ok("DisableKey", {{"KeyId", id}});
  CHECK(k.error("Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]}, {"EncryptionContext", ctx}}) ==
        "DisabledException");
  CHECK(k.error("Encrypt", {{"KeyId", id}, {"Plaintext", b64("x")}}) == "DisabledException");
  k.ok("EnableKey", {{"KeyId", id}});
  CHECK(k.ok("Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]}, {"EncryptionContext", ctx}})["Plaintext"] ==
        b64("secret"));
  k.ok("ScheduleKeyDeletion", {{"KeyId", id}, {"PendingWindowInDays", 7}});
  CHECK(k.error("Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]}, {"EncryptionContext", ctx}}) ==
        "KMSInvalidStateException");
}

TEST_CASE("GenerateDataKey returns a key its blob decrypts to; GenerateRandom sizes") {
  Kms k;
  std::string id = k.new_key();
  json dk = k.ok("GenerateDataKey", {{"KeyId", id}, {"KeySpec", "AES_256"}});
  CHECK(efs::kms::base64_decode(dk["Plaintext"])->size() == 32);
  CHECK(k.ok("Decrypt", {{"CiphertextBlob", dk["CiphertextBlob"]}})["Plaintext"] == dk["Plaintext"]);
  json wp = k.ok("GenerateDataKeyWithoutPlaintext", {{"KeyId", id}, {"NumberOfBytes", 16}});
  CHECK_FALSE(wp.contains("Plaintext"));
  CHECK(efs::kms::base64_decode(k.ok("Decrypt", {{"CiphertextBlob", wp["CiphertextBlob"]}})["Plaintext"])->size() == 16);
  CHECK(k.error("GenerateDataKey", {{"KeyId", id}}) == "ValidationException");
  CHECK(k.error("GenerateDataKey", {{"KeyId", id}, {"KeySpec", "AES_128"}, {"NumberOfBytes", 3}}) ==
        "ValidationException");
  CHECK(efs::kms::base64_decode(k.ok("GenerateRandom", {{"NumberOfBytes", 100}})["Plaintext"])->size() == 100);
}

TEST_CASE("ScheduleKeyDeletion is carried out by the emulator clock") {
  Kms k;
  std::string id = k.new_key();
  k.ok("CreateAlias", {{"AliasName", "alias/doomed"}, {"TargetKeyId", id}});
  CHECK(k.error("ScheduleKeyDeletion", {{"KeyId", id}, {"PendingWindowInDays", 6}}) == "ValidationException");
  CHECK(k.error("ScheduleKeyDeletion", {{"KeyId", id}, {"PendingWindowInDays", 31}}) == "ValidationException");
  json s = k.ok("ScheduleKeyDeletion", {{"KeyId", id}, {"PendingWindowInDays", 7}});
  CHECK(s["KeyState"] == "PendingDeletion");
  CHECK(s["PendingWindowInDays"] == 7);
  double due = s["DeletionDate"];
  CHECK(due == doctest::Approx(k.clock.now_epoch_seconds() + 7 * 86400).epsilon(1e-6));
  json md = k.ok("DescribeKey", {{"KeyId", id}})["KeyMetadata"];
  CHECK(md["KeyState"] == "PendingDeletion");
  CHECK(md["Enabled"] == false);
  CHECK(md["DeletionDate"] == due);
  CHECK(k.error("ScheduleKeyDeletion", {{"KeyId", id}}) == "KMSInvalidStateException");
  CHECK(k.error("EnableKey", {{"KeyId", id}}) == "KMSInvalidStateException");

  k.advance_days(6.9);
  CHECK(k.service->resolve("us-east-1", "000000000000", id));
  k.advance_days(0.2);
  // The directory sees it gone before any write has removed the row...
  CHECK_FALSE(k.service->resolve("us-east-1", "000000000000", id));
  // ...and every operation finds it gone, with its alias.
  CHECK(k.error("DescribeKey", {{"KeyId", id}}) == "NotFoundException");
  CHECK(k.ok("ListKeys", json::object())["Keys"].empty());
  CHECK(k.ok("ListAliases", json::object())["Aliases"].empty());
}

TEST_CASE("CancelKeyDeletion leaves the key disabled") {
  Kms k;
  std::string id = k.new_key();
  CHECK(k.error("CancelKeyDeletion", {{"KeyId", id}}) == "KMSInvalidStateException");
  k.ok("ScheduleKeyDeletion", {{"KeyId", id}});
  k.ok("CancelKeyDeletion", {{"KeyId", id}});
  json md = k.ok("DescribeKey", {{"KeyId", id}})["KeyMetadata"];
  CHECK(md["KeyState"] == "Disabled");
  CHECK_FALSE(md.contains("DeletionDate"));
  k.advance_days(40);
  CHECK(k.ok("DescribeKey", {{"KeyId", id}})["KeyMetadata"]["KeyState"] == "Disabled");
}

TEST_CASE("ListKeys pages with Limit and Marker; a foreign marker is refused") {
  Kms k;
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(k.new_key());
  std::vector<std::string> seen;
  json in = {{"Limit", 2}};
  int pages = 0;
  while (true) {
    json page = k.ok("ListKeys", in);
    ++pages;
    for (const auto& key : page["Keys"]) seen.push_back(key["KeyId"]);
    if (!page["Truncated"].get<bool>()) {
      CHECK_FALSE(page.contains("NextMarker"));
      break;
    }
    in["Marker"] = page["NextMarker"];
  }
  CHECK(pages == 3);
  CHECK(seen == ids);
  json first = k.ok("ListKeys", {{"Limit", 1}});
  CHECK(k.error("ListAliases", {{"Marker", first["NextMarker"]}}) == "InvalidMarkerException");
  CHECK(k.error("ListKeys", {{"Marker", "garbage"}}) == "InvalidMarkerException");
}

TEST_CASE("grants: create (idempotent by name), list, retire by token, revoke, retirable") {
  Kms k;
  std::string id = k.new_key();
  json g1 = k.ok("CreateGrant", {{"KeyId", id}, {"GranteePrincipal", "arn:aws:iam::000000000000:role/a"},
                                 {"RetiringPrincipal", "arn:aws:iam::000000000000:role/r"},
                                 {"Operations", {"Decrypt", "Encrypt"}}, {"Name", "g"}});
  json again = k.ok("CreateGrant", {{"KeyId", id}, {"GranteePrincipal", "arn:aws:iam::000000000000:role/a"},
                                    {"RetiringPrincipal", "arn:aws:iam::000000000000:role/r"},
                                    {"Operations", {"Decrypt", "Encrypt"}}, {"Name", "g"}});
  CHECK(again["GrantId"] == g1["GrantId"]);
  json g2 = k.ok("CreateGrant", {{"KeyId", id}, {"GranteePrincipal", "arn:aws:iam::000000000000:role/b"},
                                 {"Operations", {"GenerateDataKey"}},
                                 {"Constraints", {{"EncryptionContextSubset", {{"a", "b"}}}}}});
  json list = k.ok("ListGrants", {{"KeyId", id}});
  REQUIRE(list["Grants"].size() == 2);
  CHECK(list["Grants"][0]["GrantId"] == g1["GrantId"]);
  CHECK(list["Grants"][0]["KeyId"] == "arn:aws:kms:us-east-1:000000000000:key/" + id);
  CHECK(list["Grants"][0]["IssuingAccount"] == "arn:aws:iam::000000000000:root");
  CHECK(list["Grants"][1]["Constraints"]["EncryptionContextSubset"]["a"] == "b");
  json paged = k.ok("ListGrants", {{"KeyId", id}, {"Limit", 1}});
  CHECK(paged["Truncated"] == true);
  CHECK(k.ok("ListRetirableGrants", {{"RetiringPrincipal", "arn:aws:iam::000000000000:role/r"}})["Grants"].size() == 1);
  k.ok("RetireGrant", {{"GrantToken", g1["GrantToken"]}});
  CHECK(k.error("RetireGrant", {{"GrantToken", g1["GrantToken"]}}) == "InvalidGrantTokenException");
  k.ok("RevokeGrant", {{"KeyId", id}, {"GrantId", g2["GrantId"]}});
  CHECK(k.error("RevokeGrant", {{"KeyId", id}, {"GrantId", g2["GrantId"]}}) == "NotFoundException");
  CHECK(k.ok("ListGrants", {{"KeyId", id}})["Grants"].empty());
  CHECK(k.error("CreateGrant", {{"KeyId", id}, {"GranteePrincipal", "p"}, {"Operations", {"Decrypt"}},
                                {"DryRun", true}}) == "DryRunOperationException");
}

TEST_CASE("a restart keeps every key; another master key cannot use them") {
  Kms k;
  std::string id = k.new_key({{"Description", "kept"}});
  json enc = k.ok("Encrypt", {{"KeyId", id}, {"Plaintext", b64("durable")}});
  k.close();
  k.open();
  CHECK(k.ok("DescribeKey", {{"KeyId", id}})["KeyMetadata"]["Description"] == "kept");
  CHECK(k.ok("Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]}})["Plaintext"] == b64("durable"));
  k.close();
  std::filesystem::remove(k.dir / "kms-master.key");
  k.open();
  auto r = k.call("Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]}});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "KMSInternalException");
  CHECK(r.error().http_status == 500);
}

TEST_CASE("the AWS managed EFS key appears with its alias on first use and cannot be changed") {
  Kms k;
  CHECK(k.ok("ListAliases", json::object())["Aliases"].empty());
  CHECK_FALSE(k.service->resolve("us-east-1", "000000000000", "alias/aws/elasticfilesystem"));
  auto first = k.service->default_efs_key("us-east-1", "000000000000");
  REQUIRE(first.ok());
  auto second = k.service->default_efs_key("us-east-1", "000000000000");
  REQUIRE(second.ok());
  CHECK(first->key_id == second->key_id);
  CHECK(first->arn == "arn:aws:kms:us-east-1:000000000000:key/" + first->key_id);
  auto resolved = k.service->resolve("us-east-1", "000000000000", "alias/aws/elasticfilesystem");
  REQUIRE(resolved);
  CHECK(resolved->key_id == first->key_id);
  CHECK(resolved->state == efs::kms::KeyState::enabled);
  json aliases = k.ok("ListAliases", json::object())["Aliases"];
  REQUIRE(aliases.size() == 1);
  CHECK(aliases[0]["AliasName"] == "alias/aws/elasticfilesystem");
  json md = k.ok("DescribeKey", {{"KeyId", first->key_id}})["KeyMetadata"];
  CHECK(md["KeyManager"] == "AWS");
  CHECK(k.ok("GetKeyRotationStatus", {{"KeyId", first->key_id}})["KeyRotationEnabled"] == true);
  CHECK(k.error("ScheduleKeyDeletion", {{"KeyId", first->key_id}}) == "UnsupportedOperationException");
  CHECK(k.error("DisableKey", {{"KeyId", first->key_id}}) == "UnsupportedOperationException");
  // Another account gets its own.
  auto other = k.service->default_efs_key("us-east-1", "111122223333");
  REQUIRE(other.ok());
  CHECK(other->key_id != first->key_id);
  // DescribeKey of the alias in a fresh Region creates it there, as on AWS.
  k.ctx.region = "eu-west-1";
  CHECK(k.ok("DescribeKey", {{"KeyId", "alias/aws/elasticfilesystem"}})["KeyMetadata"]["KeyManager"] == "AWS");
}

TEST_CASE("rotation, policy and tags, as Terraform reads and writes them") {
  Kms k;
  std::string id = k.new_key();
  CHECK(k.ok("GetKeyRotationStatus", {{"KeyId", id}})["KeyRotationEnabled"] == false);
  k.ok("EnableKeyRotation", {{"KeyId", id}, {"RotationPeriodInDays", 180}});
  json rs = k.ok("GetKeyRotationStatus", {{"KeyId", id}});
  CHECK(rs["KeyRotationEnabled"] == true);
  CHECK(rs["RotationPeriodInDays"] == 180);
  k.ok("DisableKeyRotation", {{"KeyId", id}});
  CHECK(k.ok("GetKeyRotationStatus", {{"KeyId", id}})["KeyRotationEnabled"] == false);
  k.ok("DisableKey", {{"KeyId", id}});
  CHECK(k.error("EnableKeyRotation", {{"KeyId", id}}) == "DisabledException");
  k.ok("EnableKey", {{"KeyId", id}});

  json pol = json::parse(k.ok("GetKeyPolicy", {{"KeyId", id}})["Policy"].get<std::string>());
  CHECK(pol["Statement"][0]["Principal"]["AWS"] == "arn:aws:iam::000000000000:root");
  CHECK(k.ok("ListKeyPolicies", {{"KeyId", id}})["PolicyNames"] == json::array({"default"}));
  CHECK(k.error("GetKeyPolicy", {{"KeyId", id}, {"PolicyName", "other"}}) == "NotFoundException");
  CHECK(k.error("PutKeyPolicy", {{"KeyId", id}, {"Policy", "{}"}}) == "MalformedPolicyDocumentException");
  std::string p = R"({"Version":"2012-10-17","Statement":[]})";
  k.ok("PutKeyPolicy", {{"KeyId", id}, {"Policy", p}});
  CHECK(k.ok("GetKeyPolicy", {{"KeyId", id}, {"PolicyName", "default"}})["Policy"] == p);

  k.ok("TagResource", {{"KeyId", id}, {"Tags", {{{"TagKey", "a"}, {"TagValue", "1"}}, {{"TagKey", "b"}, {"TagValue", "2"}}}}});
  k.ok("TagResource", {{"KeyId", id}, {"Tags", {{{"TagKey", "a"}, {"TagValue", "3"}}}}});
  k.ok("UntagResource", {{"KeyId", id}, {"TagKeys", {"b"}}});
  CHECK(k.ok("ListResourceTags", {{"KeyId", id}})["Tags"] ==
        json::array({{{"TagKey", "a"}, {"TagValue", "3"}}}));
  CHECK(k.error("TagResource", {{"KeyId", id}, {"Tags", {{{"TagKey", "aws:x"}, {"TagValue", "1"}}}}}) ==
        "TagException");
  k.ok("UpdateKeyDescription", {{"KeyId", id}, {"Description", "new"}});
  CHECK(k.ok("DescribeKey", {{"KeyId", id}})["KeyMetadata"]["Description"] == "new");
}
