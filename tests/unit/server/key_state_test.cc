// KeyStateMonitor over a real kms::Service, Vfs and SQLite database in a
// temporary data dir, with a private clock: data keys stored wrapped, and
// the data-access gate following the KMS key's state.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/clock.h"
#include "common/ids.h"
#include "kms/crypto.h"
#include "kms/service.h"
#include "meta/db.h"
#include "server/key_state.h"
#include "vfs/vfs.h"

namespace {

using nlohmann::json;
using efs::server::KeyStateMonitor;

struct World {
  std::filesystem::path dir;
  efs::Clock clock;
  std::unique_ptr<efs::meta::Db> db;
  std::unique_ptr<efs::vfs::Vfs> vfs;
  std::unique_ptr<efs::kms::Service> kms;
  std::map<std::string, efs::JsonOperation> ops;
  efs::RequestContext ctx;
  std::string fs_id = "fs-0123456789abcdef0";
  std::string key_id, arn;
  int state_changes = 0;

  World() {
    dir = std::filesystem::temp_directory_path() / ("keys-test-" + efs::random_hex(12));
    std::filesystem::create_directories(dir);
    ctx.region = "us-east-1";
    ctx.account_id = "000000000000";
    open();
    auto k = call("CreateKey", json::object());
    REQUIRE(k.ok());
    key_id = (*k)["KeyMetadata"]["KeyId"];
    arn = (*k)["KeyMetadata"]["Arn"];
    REQUIRE(vfs->create_file_system(fs_id).ok());
  }
  ~World() {
    close();
    std::filesystem::remove_all(dir);
  }
  void open() {
    auto d = efs::meta::Db::open((dir / "meta.db").string());
    REQUIRE(d.ok());
    db = std::move(*d);
    auto v = efs::vfs::Vfs::open(*db, dir.string(), clock, efs::host_disk());
    REQUIRE(v.ok());
    vfs = std::move(*v);
    auto s = efs::kms::Service::open(*db, clock, (dir / "kms-master.key").string());
    REQUIRE(s.ok());
    kms = std::move(*s);
    kms->on_key_state_change([this] { ++state_changes; });
    for (auto& [name, op] : kms->operations()) ops[name] = op;
  }
  void close() {
    ops.clear();
    kms.reset();
    vfs.reset();
    db.reset();
  }
  efs::ApiResult<json> call(const std::string& op, const json& in) { return ops[op](ctx, in); }
  void ok(const std::string& op, const json& in) {
    auto r = call(op, in);
    if (!r) FAIL_CHECK(op << ": " << r.error().code << ": " << r.error().message);
  }
  void advance(double seconds) {
    clock.advance(std::chrono::duration_cast<efs::Clock::duration>(
        std::chrono::duration<double>(seconds)));
  }
  efs::vfs::Errc read_errc() {
    auto fs = vfs->file_system(fs_id);
    REQUIRE(fs);
    auto r = fs->read(fs->root() + 0, 0, 1);  // the root is a directory: isdir when allowed
    return r.ok() ? efs::vfs::Errc::ok : r.error();
  }
};

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("an encrypted file system's data key is stored wrapped, 0600, and follows the key state") {
  World w;
  KeyStateMonitor m(*w.vfs, *w.kms, w.clock, w.dir.string(), 0);
  m.file_system_available(w.fs_id, true, w.arn);
  const std::string kf = m.key_file(w.fs_id);
  struct stat st{};
  REQUIRE(::stat(kf.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // The stored form is a KMS blob naming the key, not 64 raw bytes.
  std::string blob = slurp(kf);
  CHECK(blob.size() > 64);
  auto named = efs::kms::blob_key_id(efs::kms::Bytes(blob.begin(), blob.end()));
  REQUIRE(named);
  CHECK(*named == w.key_id);
  CHECK_FALSE(m.refused(w.fs_id));
  CHECK(w.read_errc() == efs::vfs::Errc::isdir);  // the gate is open: the op ran

  w.ok("DisableKey", {{"KeyId", w.key_id}});
  CHECK(w.state_changes == 1);
  m.evaluate();
  CHECK(m.refused(w.fs_id));
  CHECK(w.read_errc() == efs::vfs::Errc::io);

  w.ok("EnableKey", {{"KeyId", w.key_id}});
  m.evaluate();
  CHECK_FALSE(m.refused(w.fs_id));
  CHECK(w.read_errc() == efs::vfs::Errc::isdir);

  // Deleting the file system deletes its wrapped key.
  m.file_system_deleted(w.fs_id);
  CHECK_FALSE(std::filesystem::exists(kf));
}

TEST_CASE("an unencrypted file system gets no data key") {
  World w;
  KeyStateMonitor m(*w.vfs, *w.kms, w.clock, w.dir.string(), 0);
  m.file_system_available(w.fs_id, false, "");
  CHECK_FALSE(std::filesystem::exists(m.key_file(w.fs_id)));
  CHECK_FALSE(m.refused(w.fs_id));
}

TEST_CASE("the revocation delay runs on the emulator clock") {
  World w;
  KeyStateMonitor m(*w.vfs, *w.kms, w.clock, w.dir.string(), 3600);
  m.file_system_available(w.fs_id, true, w.arn);
  w.ok("DisableKey", {{"KeyId", w.key_id}});
  m.evaluate();
  CHECK_FALSE(m.refused(w.fs_id));
  w.advance(3599);
  m.evaluate();
  CHECK_FALSE(m.refused(w.fs_id));
  w.advance(2);
  m.evaluate();
  CHECK(m.refused(w.fs_id));
  // Usable again: the data key is unwrapped again and the gate opens.
  w.ok("EnableKey", {{"KeyId", w.key_id}});
  m.evaluate();
  CHECK_FALSE(m.refused(w.fs_id));
  // Pending deletion counts as unusable too; cancelling (then enabling) restores.
  w.ok("ScheduleKeyDeletion", {{"KeyId", w.key_id}, {"PendingWindowInDays", 7}});
  m.evaluate();
  CHECK_FALSE(m.refused(w.fs_id));
  w.advance(3601);
  m.evaluate();
  CHECK(m.refused(w.fs_id));
  w.ok("CancelKeyDeletion", {{"KeyId", w.key_id}});
  w.ok("EnableKey", {{"KeyId", w.key_id}});
  m.evaluate();
  CHECK_FALSE(m.refused(w.fs_id));
}

TEST_CASE("a key deleted by the clock leaves the data unreadable for good, across a restart") {
  World w;
  {
    KeyStateMonitor m(*w.vfs, *w.kms, w.clock, w.dir.string(), 0);
    m.file_system_available(w.fs_id, true, w.arn);
    w.ok("ScheduleKeyDeletion", {{"KeyId", w.key_id}, {"PendingWindowInDays", 7}});
    w.advance(8 * 86400.0);
    m.evaluate();
    CHECK(m.refused(w.fs_id));
    auto r = w.call("EnableKey", {{"KeyId", w.key_id}});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "NotFoundException");
  }
  w.close();
  w.open();
  KeyStateMonitor m(*w.vfs, *w.kms, w.clock, w.dir.string(), 0);
  m.adopt(w.fs_id, w.arn);
  CHECK(m.refused(w.fs_id));
  CHECK(w.read_errc() == efs::vfs::Errc::io);
}

TEST_CASE("a restart unwraps the stored data key; an encrypted file system without one stays open") {
  World w;
  {
    KeyStateMonitor m(*w.vfs, *w.kms, w.clock, w.dir.string(), 0);
    m.file_system_available(w.fs_id, true, w.arn);
  }
  w.close();
  w.open();
  KeyStateMonitor m(*w.vfs, *w.kms, w.clock, w.dir.string(), 0);
  m.adopt(w.fs_id, w.arn);
  CHECK_FALSE(m.refused(w.fs_id));
  // A disabled key at start: the data key cannot be unwrapped, the gate closes at once.
  w.ok("DisableKey", {{"KeyId", w.key_id}});
  w.close();
  w.open();
  KeyStateMonitor m2(*w.vfs, *w.kms, w.clock, w.dir.string(), 3600);
  m2.adopt(w.fs_id, w.arn);
  CHECK(m2.refused(w.fs_id));
  // Made by an older efs-local: no stored key, nothing watched.
  REQUIRE(w.vfs->create_file_system("fs-0000000000000000b").ok());
  m2.adopt("fs-0000000000000000b", w.arn);
  CHECK_FALSE(m2.refused("fs-0000000000000000b"));
}

TEST_CASE("EFS's own KMS calls: the context binds the blob, a disabled key refuses") {
  World w;
  efs::kms::EncryptionContext mine = {{"aws:elasticfilesystem:filesystem:id", w.fs_id}};
  efs::kms::EncryptionContext other = {{"aws:elasticfilesystem:filesystem:id", "fs-other"}};
  auto made = w.kms->generate_data_key_for_efs(w.arn, 64, mine);
  REQUIRE(made.ok());
  CHECK(made->first.size() == 64);
  auto back = w.kms->decrypt_for_efs(w.arn, made->second, mine);
  REQUIRE(back.ok());
  CHECK(*back == made->first);
  auto wrong = w.kms->decrypt_for_efs(w.arn, made->second, other);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().message.rfind("InvalidCiphertextException", 0) == 0);
  w.ok("DisableKey", {{"KeyId", w.key_id}});
  auto refused = w.kms->decrypt_for_efs(w.arn, made->second, mine);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.rfind("DisabledException", 0) == 0);
  CHECK_FALSE(w.kms->generate_data_key_for_efs(w.arn, 64, mine).ok());
  // A failed call changes no state: no listener call for it.
  CHECK(w.state_changes == 1);
}
