#include "tls/nfs_tls.h"

#include <doctest/doctest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tls/sigv4.h"

using namespace efs::tls;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/unit-tls-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

constexpr const char* kFs = "fs-0123456789abcdef0";
constexpr const char* kOtherFs = "fs-0123456789abcdef1";
constexpr const char* kAp = "fsap-0123456789abcdef0";
constexpr const char* kOtherAp = "fsap-0123456789abcdef1";

struct FixedCatalog : efs::Catalog {
  std::shared_ptr<const efs::CatalogSnapshot> snap;
  FixedCatalog() {
    std::vector<efs::ExportedFileSystem> fss{{kFs, false, ""}, {kOtherFs, false, ""}};
    std::vector<efs::ExportedAccessPoint> aps(2);
    aps[0].id = kAp;
    aps[0].fs_id = kFs;
    aps[1].id = kOtherAp;
    aps[1].fs_id = kOtherFs;
    std::vector<efs::MountTargetAddress> mts{{"fsmt-1", kFs, "127.0.3.1"},
                                             {"fsmt-2", kOtherFs, "127.0.3.2"}};
    snap = std::make_shared<efs::CatalogSnapshot>(1, fss, aps, mts);
  }
  std::shared_ptr<const efs::CatalogSnapshot> snapshot() const override { return snap; }
};

bool names(X509* cert, const std::string& host) {
  return X509_check_host(cert, host.data(), host.size(), 0, nullptr) == 1;
}
bool has_ip(X509* cert, const char* ip) {
  return X509_check_ip_asc(cert, ip, 0) == 1;
}

}  // namespace

TEST_CASE("tls: the CA is made once, kept, and its keys are private") {
  TempDir d;
  auto a = Authority::open((d.path / "tls").string());
  REQUIRE(a);
  const std::string ca = slurp(d.path / "tls" / "ca.pem");
  const std::string server = slurp(d.path / "tls" / "server.pem");
  for (const char* key : {"ca-key.pem", "server-key.pem"}) {
    struct stat st {};
    REQUIRE(stat((d.path / "tls" / key).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
  auto again = Authority::open((d.path / "tls").string());
  REQUIRE(again);
  CHECK(slurp(d.path / "tls" / "ca.pem") == ca);
  CHECK(slurp(d.path / "tls" / "server.pem") == server);
  CHECK(X509_cmp((*a)->ca_cert(), (*again)->ca_cert()) == 0);
  // A certificate issued after the restart chains to the same CA.
  auto cert = (*again)->issue({"x.example"}, {"127.0.0.9"});
  REQUIRE(cert);
  CHECK(X509_verify(cert->get(), X509_get0_pubkey((*a)->ca_cert())) == 1);
  CHECK(names(cert->get(), "x.example"));
  CHECK(has_ip(cert->get(), "127.0.0.9"));
  CHECK_FALSE(has_ip(cert->get(), "127.0.0.8"));
}

TEST_CASE("tls: a kept server certificate near its end is issued again") {
  TempDir d;
  const fs::path dir = d.path / "tls";
  REQUIRE(Authority::open(dir.string()));
  // Replace server.pem by one that ended yesterday, signed by the same CA.
  auto load_key = [](const fs::path& p) {
    FILE* f = fopen(p.c_str(), "r");
    EVP_PKEY* k = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
    fclose(f);
    return PkeyPtr(k);
  };
  PkeyPtr ca_key = load_key(dir / "ca-key.pem");
  PkeyPtr server_key = load_key(dir / "server-key.pem");
  REQUIRE(ca_key);
  REQUIRE(server_key);
  X509Ptr old(X509_new());
  X509_set_version(old.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(old.get()), 7);
  X509_gmtime_adj(X509_getm_notBefore(old.get()), -3 * 86400);
  X509_gmtime_adj(X509_getm_notAfter(old.get()), -86400);
  X509_set_pubkey(old.get(), server_key.get());
  X509_sign(old.get(), ca_key.get(), EVP_sha256());
  std::ofstream((dir / "server.pem").string()) << to_pem(old.get());

  auto a = Authority::open(dir.string());
  REQUIRE(a);
  CHECK(X509_cmp_current_time(X509_get0_notAfter((*a)->base_server_cert())) > 0);
  CHECK(slurp(dir / "server.pem") != to_pem(old.get()));
  // The key is kept: only the certificate was renewed.
  CHECK(EVP_PKEY_eq((*a)->server_key(), server_key.get()) == 1);
}

TEST_CASE("tls: a corrupt CA file is a clear error, not a new CA") {
  TempDir d;
  REQUIRE(Authority::open((d.path / "tls").string()));
  std::ofstream((d.path / "tls" / "ca.pem").string()) << "not a certificate";
  auto a = Authority::open((d.path / "tls").string());
  REQUIRE_FALSE(a);
  CHECK(a.error().message.find("cannot read the CA") != std::string::npos);
}

TEST_CASE("tls: the server certificate is picked per mount target, SNI or listener") {
  TempDir d;
  FixedCatalog catalog;
  NfsTlsOptions o;
  o.dir = (d.path / "tls").string();
  auto t = NfsTls::open(o, catalog);
  REQUIRE(t);
  const std::string name = std::string(kFs) + ".efs.us-east-1.amazonaws.com";
  const std::string other = std::string(kOtherFs) + ".efs.us-east-1.amazonaws.com";

  X509* at_mt = (*t)->certificate_for("127.0.3.1", "");
  REQUIRE(at_mt);
  CHECK(names(at_mt, name));
  CHECK(names(at_mt, "us-east-1a." + name));  // efs-utils' {az}.{fs_id} form
  CHECK(has_ip(at_mt, "127.0.3.1"));
  CHECK_FALSE(names(at_mt, other));
  CHECK_FALSE(has_ip(at_mt, "127.0.3.2"));
  // IPv4-mapped local addresses route the same way; the cache returns the same one.
  CHECK((*t)->certificate_for("::ffff:127.0.3.1", "") == at_mt);

  X509* by_sni = (*t)->certificate_for("127.0.0.1", "us-east-1b." + other);
  REQUIRE(by_sni);
  CHECK(names(by_sni, other));
  CHECK_FALSE(names(by_sni, name));
  CHECK((*t)->certificate_for("127.0.0.1", "fs-ffffffffffffffff.efs.x") == nullptr);

  X509* main = (*t)->certificate_for("127.0.0.1", "");
  REQUIRE(main);
  CHECK(names(main, name));
  CHECK(names(main, other));
  CHECK(names(main, "localhost"));
  CHECK(has_ip(main, "127.0.0.1"));
}

TEST_CASE("tls: the certificate's claims are checked against the catalog") {
  FixedCatalog catalog;
  NfsTlsOptions o;
  EfsClaims claims;
  std::optional<IamCredentials> none;
  auto check = [&](const std::string& routed) {
    return check_claims({claims, "00", routed, 0}, *catalog.snap, none, o);
  };

  // No EFS extensions: TLS, anonymous, the mount target's file system.
  auto plain = check(kFs);
  REQUIRE(plain);
  CHECK(plain->secure_transport);
  CHECK(plain->principal_arn.empty());
  CHECK(plain->file_system_id == kFs);

  claims.access_point_id = kAp;
  auto no_fs = check(kFs);
  REQUIRE_FALSE(no_fs);
  CHECK(no_fs.error().find("no file system ID") != std::string::npos);

  claims.file_system_id = kFs;
  auto ok = check(kFs);
  REQUIRE(ok);
  CHECK(ok->access_point_id == kAp);
  CHECK(check("")->file_system_id == kFs);  // the main listener: the certificate says which

  auto wrong_mt = check(kOtherFs);
  REQUIRE_FALSE(wrong_mt);
  CHECK(wrong_mt.error().find("this mount target belongs to") != std::string::npos);

  claims.access_point_id = kOtherAp;
  auto wrong_ap = check(kFs);
  REQUIRE_FALSE(wrong_ap);
  CHECK(wrong_ap.error().find("belongs to " + std::string(kOtherFs)) != std::string::npos);

  claims.access_point_id.reset();
  claims.file_system_id = "fs-0000000000000000f";
  CHECK_FALSE(check(""));
}

TEST_CASE("tls: efs_client_auth is verified against the IAM credentials") {
  FixedCatalog catalog;
  NfsTlsOptions o;
  o.account_id = "111122223333";
  auto creds = parse_iam_credentials(R"([{"AccessKeyId": "AKIDEXAMPLE",
      "SecretAccessKey": "secret", "Arn": "arn:aws:iam::111122223333:role/app"}])");
  REQUIRE(creds);
  CHECK(creds->at("AKIDEXAMPLE").account == "111122223333");

  const std::time_t now = 1796173323;
  ConnectRequest req;
  req.access_key_id = "AKIDEXAMPLE";
  req.region = o.region;
  req.file_system_id = kFs;
  req.public_key_hash = "ab12";
  req.signed_at = now - 60;
  EfsClaims claims;
  claims.file_system_id = kFs;
  claims.client_auth = ClientAuth{"AKIDEXAMPLE", connect_signature(req, "secret"), now - 60, ""};
  std::optional<IamCredentials> with(*creds);
  auto run = [&](const std::optional<IamCredentials>& c, const std::string& pk_hash,
                 std::time_t at) {
    return check_claims({claims, pk_hash, kFs, at}, *catalog.snap, c, o);
  };

  auto good = run(with, "ab12", now);
  REQUIRE(good);
  CHECK(good->principal_arn == "arn:aws:iam::111122223333:role/app");
  CHECK(good->principal_verified);
  // Another key pair (the signature names the public key's hash).
  CHECK_FALSE(run(with, "ab13", now));
  // Older than X-Amz-Expires.
  auto old = run(with, "ab12", now + 2 * 86400);
  REQUIRE_FALSE(old);
  CHECK(old.error().find("older than") != std::string::npos);
  // Without a credentials file: accepted unverified, the account's root.
  auto unverified = run(std::nullopt, "zz", now);
  REQUIRE(unverified);
  CHECK(unverified->principal_arn == "arn:aws:iam::111122223333:root");
  CHECK_FALSE(unverified->principal_verified);
  // A session token the file requires.
  (*with)["AKIDEXAMPLE"].session_token = "tok";
  auto token = run(with, "ab12", now);
  REQUIRE_FALSE(token);
  CHECK(token.error().find("session token") != std::string::npos);
}

TEST_CASE("tls: bad IAM credentials files are named errors") {
  CHECK_FALSE(parse_iam_credentials("{"));
  CHECK_FALSE(parse_iam_credentials(R"([{"access_key_id": "A"}])"));
  CHECK_FALSE(parse_iam_credentials(
      R"([{"access_key_id": "A", "secret_access_key": "s", "arn": "x"},
          {"access_key_id": "A", "secret_access_key": "t", "arn": "y"}])"));
  auto one = parse_iam_credentials(
      R"({"credentials": [{"access_key_id": "A", "secret_access_key": "s", "arn": "x"}]})");
  REQUIRE(one);
  CHECK(one->size() == 1);
}
