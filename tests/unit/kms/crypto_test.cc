// kms/crypto.h: the master key file, wrapped key material and ciphertext
// blobs (authenticated, naming their key, bound to the encryption context).
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/ids.h"
#include "kms/crypto.h"

using namespace efs::kms;

namespace {

struct TempDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("kms-crypto-" + efs::random_hex(12));
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
};

const std::string kKeyId = "1234abcd-12ab-34cd-56ef-1234567890ab";

}  // namespace

TEST_CASE("a blob opens with its key and context, and names its key") {
  Bytes material = random_bytes(kKeyBytes);
  Bytes plain = {'h', 'e', 'l', 'l', 'o'};
  EncryptionContext ctx = {{"purpose", "test"}, {"a", "b"}};
  Bytes blob = seal_blob(kKeyId, material, plain, ctx);
  CHECK(blob.size() == kBlobOverhead + plain.size());
  CHECK(blob_key_id(blob) == kKeyId);
  auto opened = open_blob(blob, material, ctx);
  REQUIRE(opened);
  CHECK(*opened == plain);
  // Two encryptions of one plaintext differ (random nonce).
  CHECK(seal_blob(kKeyId, material, plain, ctx) != blob);
}

TEST_CASE("every altered byte of a blob is refused") {
  Bytes material = random_bytes(kKeyBytes);
  Bytes plain(40, 7);
  EncryptionContext ctx = {{"k", "v"}};
  Bytes blob = seal_blob(kKeyId, material, plain, ctx);
  for (std::size_t i = 0; i < blob.size(); ++i) {
    Bytes bad = blob;
    bad[i] ^= 0x01;
    CHECK_MESSAGE(!open_blob(bad, material, ctx), "byte " << i);
  }
  Bytes shorter(blob.begin(), blob.end() - 1);
  CHECK(!open_blob(shorter, material, ctx));
  CHECK(!open_blob(Bytes(10, 1), material, ctx));
  CHECK(!blob_key_id(Bytes(10, 1)));
}

TEST_CASE("the encryption context is bound: another or a missing context fails") {
  Bytes material = random_bytes(kKeyBytes);
  Bytes plain = {1, 2, 3};
  Bytes blob = seal_blob(kKeyId, material, plain, {{"a", "1"}, {"b", "2"}});
  CHECK(open_blob(blob, material, {{"b", "2"}, {"a", "1"}}));  // order does not matter
  CHECK(!open_blob(blob, material, {}));
  CHECK(!open_blob(blob, material, {{"a", "1"}}));
  CHECK(!open_blob(blob, material, {{"a", "1"}, {"b", "3"}}));
  // Length prefixes: moving a character between key and value is another context.
  CHECK(canonical_context({{"ab", "c"}}) != canonical_context({{"a", "bc"}}));
  Bytes other_key = random_bytes(kKeyBytes);
  CHECK(!open_blob(blob, other_key, {{"a", "1"}, {"b", "2"}}));
}

TEST_CASE("wrapped key material unwraps only with its master key and key id") {
  Bytes master = random_bytes(kKeyBytes);
  Bytes material = random_bytes(kKeyBytes);
  Bytes wrapped = wrap_material(master, kKeyId, material);
  CHECK(wrapped.size() == 1 + kNonceBytes + kKeyBytes + kTagBytes);
  CHECK(std::search(wrapped.begin(), wrapped.end(), material.begin(), material.end()) ==
        wrapped.end());
  CHECK(unwrap_material(master, kKeyId, wrapped) == material);
  CHECK(!unwrap_material(random_bytes(kKeyBytes), kKeyId, wrapped));
  CHECK(!unwrap_material(master, "ffffffff-12ab-34cd-56ef-1234567890ab", wrapped));
  Bytes bad = wrapped;
  bad[20] ^= 0x80;
  CHECK(!unwrap_material(master, kKeyId, bad));
}

TEST_CASE("the master key file is created 0600 once and read back") {
  TempDir d;
  std::string path = (d.path / "kms-master.key").string();
  auto first = load_or_create_master_key(path);
  REQUIRE(first.ok());
  CHECK(first->size() == kKeyBytes);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(st.st_size == 32);
  auto again = load_or_create_master_key(path);
  REQUIRE(again.ok());
  CHECK(*again == *first);
  // A loosened mode is set back to 0600.
  ::chmod(path.c_str(), 0644);
  REQUIRE(load_or_create_master_key(path).ok());
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // A file of another size is not a master key.
  std::ofstream(path, std::ios::trunc) << "short";
  auto bad = load_or_create_master_key(path);
  CHECK(!bad.ok());
}

TEST_CASE("UUIDs and base64 round-trip") {
  auto b = uuid_bytes(kKeyId);
  REQUIRE(b);
  CHECK(uuid_text(b->data()) == kKeyId);
  CHECK(!uuid_bytes("not-a-uuid"));
  CHECK(!uuid_bytes("1234abcd-12ab-34cd-56ef-1234567890aZ"));
  for (std::size_t n = 0; n < 8; ++n) {
    Bytes data = random_bytes(n);
    auto text = base64_encode(data);
    CHECK(text.size() % 4 == 0);
    CHECK(base64_decode(text) == data);
  }
  CHECK(base64_encode({'h', 'i'}) == "aGk=");
  CHECK(!base64_decode("aGk"));
  CHECK(!base64_decode("a=Gk"));
  CHECK(!base64_decode("aG*="));
}
