// The file system policy as NFS clients meet it (nfs4/policy_gate.h): mount,
// write and root access decided by elasticfilesystem:Client* statements.
#include "nfs4/policy_gate.h"

#include <doctest/doctest.h>

#include "fixture.h"
#include "nfs4/attrs.h"

namespace efs::nfs4::test {

namespace {

void set_policy(Fixture& f, const std::string& document) {
  auto p = iam::Policy::parse(document);
  REQUIRE(p.has_value());
  auto& fs = f.catalog.fss.at(0);
  fs.policy = std::make_shared<const efs::ExportPolicy>(efs::ExportPolicy{*p, fs.arn});
}

std::string allow(const std::string& actions) {
  return R"({"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":[)" + actions + "]}]}";
}

uint32_t owner_of(const COMPOUND4res& r, std::size_t at) {
  xdr::Reader a(r.resarray.at(at).opgetattr.resok4.obj_attributes.attr_vals);
  return static_cast<uint32_t>(std::stoul(a.string(20)));
}

nfs_argop4 open_for(uint32_t access, const std::string& name, uint64_t clientid, uint32_t seqid,
                    opentype4 type) {
  auto a = op(OP_OPEN);
  a.opopen.seqid = seqid;
  a.opopen.share_access = access;
  a.opopen.share_deny = OPEN4_SHARE_DENY_NONE;
  a.opopen.owner.clientid = clientid;
  a.opopen.owner.owner = {'o'};
  a.opopen.openhow.opentype = type;
  a.opopen.openhow.how.mode = UNCHECKED4;
  a.opopen.claim.claim = CLAIM_NULL;
  a.opopen.claim.file = name;
  return a;
}

uint64_t confirmed_client(Fixture& f) {
  auto sc = op(OP_SETCLIENTID);
  sc.opsetclientid.client.id = {'p', 'g'};
  auto r = f.run({sc});
  REQUIRE(r.status == NFS4_OK);
  auto cf = op(OP_SETCLIENTID_CONFIRM);
  cf.opsetclientid_confirm.clientid = r.resarray[0].opsetclientid.resok4.clientid;
  cf.opsetclientid_confirm.setclientid_confirm =
      r.resarray[0].opsetclientid.resok4.setclientid_confirm;
  REQUIRE(f.run({cf}).status == NFS4_OK);
  return cf.opsetclientid_confirm.clientid;
}

}  // namespace

TEST_CASE("without a policy root keeps root and may write (EFS's default)") {
  Fixture f;
  f.ctx.auth_sys = rpc::AuthSys{0, "c", 0, 0, {}};
  auto r = f.run({putfh(f.fh_of({})), mkdir("d"), getattr({A_owner})});
  REQUIRE(r.status == NFS4_OK);
  CHECK(owner_of(r, 2) == 0);
}

TEST_CASE("a policy without ClientRootAccess squashes root to 65534") {
  Fixture f;
  f.ctx.auth_sys = rpc::AuthSys{0, "c", 0, 0, {}};
  fattr4 everyone;
  bitmap_set(everyone.attrmask, A_mode);
  xdr::Writer(&everyone.attr_vals).u32(0777);
  REQUIRE(f.run({putfh(f.fh_of({})), mkdir("open"), setattr(everyone)}).status == NFS4_OK);
  set_policy(f, allow(R"("elasticfilesystem:ClientMount","elasticfilesystem:ClientWrite")"));
  auto r = f.run({putfh(f.fh_of({"open"})), mkdir("d"), getattr({A_owner, A_owner_group})});
  REQUIRE(r.status == NFS4_OK);
  xdr::Reader a(r.resarray[2].opgetattr.resok4.obj_attributes.attr_vals);
  CHECK(a.string(20) == "65534");
  CHECK(a.string(20) == "65534");
  // Squashed root is nobody: the root directory (root's, 0755) is closed to it.
  CHECK(last_status(f.run({putfh(f.fh_of({})), mkdir("e")})) == NFS4ERR_ACCESS);
  // Other users keep their identity.
  f.ctx.auth_sys = rpc::AuthSys{0, "c", 1000, 1000, {}};
  auto mine = f.run({putfh(f.fh_of({"open"})), mkdir("m"), getattr({A_owner})});
  REQUIRE(mine.status == NFS4_OK);
  CHECK(owner_of(mine, 2) == 1000);

  set_policy(f, allow(R"("elasticfilesystem:*")"));
  f.ctx.auth_sys = rpc::AuthSys{0, "c", 0, 0, {}};
  auto root = f.run({putfh(f.fh_of({})), mkdir("f"), getattr({A_owner})});
  REQUIRE(root.status == NFS4_OK);
  CHECK(owner_of(root, 2) == 0);
}

TEST_CASE("a policy without ClientWrite refuses changes and allows reads") {
  Fixture f;
  f.make_file("file", "hello");
  set_policy(f, allow(R"("elasticfilesystem:ClientMount","elasticfilesystem:ClientRootAccess")"));
  f.ctx.auth_sys = rpc::AuthSys{0, "c", 0, 0, {}};
  CHECK(last_status(f.run({putfh(f.fh_of({})), mkdir("d")})) == NFS4ERR_ACCESS);
  CHECK(last_status(f.run({putfh(f.fh_of({})), remove("file")})) == NFS4ERR_ACCESS);
  CHECK(last_status(f.run({putfh(f.fh_of({})), rename("file", "moved")})) == NFS4ERR_ACCESS);
  CHECK(last_status(f.run({putfh(f.fh_of({"file"})), write(0, "x")})) == NFS4ERR_ACCESS);
  CHECK(f.run({putfh(f.fh_of({})), lookup("file"), getattr({A_size}), read(0, 5)}).status == NFS4_OK);

  // OPEN: for reading works, for writing or creating is refused.
  uint64_t clientid = confirmed_client(f);
  auto rd = f.run({putfh(f.fh_of({})), open_for(OPEN4_SHARE_ACCESS_READ, "file", clientid, 1,
                                                 OPEN4_NOCREATE)});
  CHECK(rd.status == NFS4_OK);
  auto wr = f.run({putfh(f.fh_of({})), open_for(OPEN4_SHARE_ACCESS_BOTH, "file", clientid, 2,
                                                 OPEN4_NOCREATE)});
  CHECK(wr.status == NFS4ERR_ACCESS);
  auto cr = f.run({putfh(f.fh_of({})), open_for(OPEN4_SHARE_ACCESS_READ, "new", clientid, 3,
                                                 OPEN4_CREATE)});
  CHECK(cr.status == NFS4ERR_ACCESS);
  CHECK_FALSE(f.fs->lookup({}, f.fs->root(), "new").ok());
}

TEST_CASE("a policy without ClientMount refuses the mount itself") {
  Fixture f;
  set_policy(f, allow(R"("elasticfilesystem:ClientWrite")"));
  // What the Linux client's mount sends: PUTROOTFH, LOOKUP fs-..., GETFH.
  auto r = f.run({putrootfh(), lookup(f.fs_id), getfh(), getattr({A_type})});
  CHECK(r.status == NFS4ERR_ACCESS);
  REQUIRE(r.resarray.size() == 3);
  CHECK(status_of(r.resarray[1]) == NFS4_OK);
  CHECK(status_of(r.resarray[2]) == NFS4ERR_ACCESS);
  // The pseudo-root itself stays browsable.
  CHECK(f.run({putrootfh(), getattr({A_type}), getfh()}).status == NFS4_OK);
}

TEST_CASE("a policy change applies to a handle the client already holds") {
  Fixture f;
  nfs_fh4 root = f.fh_of({});
  CHECK(f.run({putfh(root), mkdir("before")}).status == NFS4_OK);
  set_policy(f, R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"elasticfilesystem:ClientMount"}]})");
  CHECK(f.run({putfh(root), getattr({A_type})}).status == NFS4_OK);
  CHECK(last_status(f.run({putfh(root), mkdir("after")})) == NFS4ERR_ACCESS);
  f.catalog.fss[0].policy.reset();  // DeleteFileSystemPolicy
  CHECK(f.run({putfh(root), mkdir("after")}).status == NFS4_OK);
}

TEST_CASE("AccessPointArn: a policy allowing one access point refuses the file system root") {
  Fixture f;
  efs::ExportedAccessPoint ap;
  ap.id = "fsap-0123456789abcdef1";
  ap.fs_id = f.fs_id;
  ap.root_path = "/app";
  ap.creation_info = efs::CreationInfo{0, 0, 0755};
  f.catalog.aps.push_back(ap);
  f.ctx.auth_sys = rpc::AuthSys{0, "c", 0, 0, {}};
  set_policy(f, R"({"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},
    "Action":["elasticfilesystem:ClientMount","elasticfilesystem:ClientWrite","elasticfilesystem:ClientRootAccess"],
    "Condition":{"StringEquals":{"elasticfilesystem:AccessPointArn":
      "arn:aws:elasticfilesystem:us-east-1:000000000000:access-point/fsap-0123456789abcdef1"}}}]})");
  CHECK(f.run({putrootfh(), lookup(f.fs_id), getfh()}).status == NFS4ERR_ACCESS);
  auto via = f.run({putrootfh(), lookup(ap.id), getfh(), mkdir("made")});
  CHECK(via.status == NFS4_OK);
}

TEST_CASE("aws:SecureTransport: a Deny of plaintext refuses plain connections, not TLS ones") {
  Fixture f;
  nfs_fh4 root = f.fh_of({});
  set_policy(f, R"({"Statement":[
    {"Effect":"Allow","Principal":"*","Action":"elasticfilesystem:*"},
    {"Effect":"Deny","Principal":"*","Action":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]})");
  CHECK(last_status(f.run({putfh(root), getattr({A_type})})) == NFS4ERR_ACCESS);
  auto tls = std::make_shared<rpc::ClientIdentity>();
  tls->secure_transport = true;
  f.ctx.identity = tls;
  CHECK(f.run({putfh(root), getattr({A_type}), mkdir("over-tls")}).status == NFS4_OK);
}

TEST_CASE("the principal is the IAM identity of the client certificate") {
  Fixture f;
  nfs_fh4 root = f.fh_of({});
  f.ctx.auth_sys = rpc::AuthSys{0, "c", 0, 0, {}};
  set_policy(f, R"({"Statement":[{"Effect":"Allow",
    "Principal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":"elasticfilesystem:*"}]})");
  CHECK(last_status(f.run({putfh(root), getattr({A_type})})) == NFS4ERR_ACCESS);  // anonymous
  auto role = std::make_shared<rpc::ClientIdentity>();
  role->secure_transport = true;
  role->principal_arn = "arn:aws:sts::111122223333:assumed-role/app/task-7";
  f.ctx.identity = role;
  auto r = f.run({putfh(root), mkdir("by-role"), getattr({A_owner})});
  REQUIRE(r.status == NFS4_OK);
  CHECK(owner_of(r, 2) == 0);  // ClientRootAccess granted by elasticfilesystem:*
  auto other = std::make_shared<rpc::ClientIdentity>(*role);
  other->principal_arn = "arn:aws:iam::444455556666:role/app";
  f.ctx.identity = other;
  CHECK(last_status(f.run({putfh(root), getattr({A_type})})) == NFS4ERR_ACCESS);
}

TEST_CASE("a client certificate naming an access point confines the connection to it") {
  Fixture f;
  efs::ExportedAccessPoint ap;
  ap.id = "fsap-0123456789abcdef1";
  ap.fs_id = f.fs_id;
  ap.root_path = "/app";
  ap.creation_info = efs::CreationInfo{0, 0, 0755};
  f.catalog.aps.push_back(ap);
  nfs_fh4 fs_root = f.fh_of({});
  auto via = f.run({putrootfh(), lookup(ap.id), getfh()});
  REQUIRE(via.status == NFS4_OK);
  nfs_fh4 ap_root = via.resarray[2].opgetfh.resok4.object;
  auto cert = std::make_shared<rpc::ClientIdentity>();
  cert->secure_transport = true;
  cert->access_point_id = ap.id;
  f.ctx.identity = cert;
  // No policy at all: the confinement is the certificate's, not a policy's.
  CHECK(last_status(f.run({putfh(fs_root), getattr({A_type})})) == NFS4ERR_ACCESS);
  CHECK(f.run({putfh(ap_root), getattr({A_type})}).status == NFS4_OK);
}

}  // namespace efs::nfs4::test
