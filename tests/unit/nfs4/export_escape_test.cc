// Access points cannot be escaped: signed handles, containment of what is
// issued through them, and no RENAME/LINK across exports (docs/file-handle.md).
#include <doctest/doctest.h>

#include "fixture.h"
#include "nfs4/attrs.h"
#include "nfs4/export.h"

namespace efs::nfs4::test {

namespace {

const char* kAp = "fsap-0123456789abcdef1";

// An access point rooted at /home/app (created), squashing to 1000:1000.
void add_access_point(Fixture& f) {
  efs::ExportedAccessPoint ap;
  ap.id = kAp;
  ap.fs_id = f.fs_id;
  ap.posix_user = efs::PosixUser{1000, 1000, {}};
  ap.root_path = "/home/app";
  ap.creation_info = efs::CreationInfo{1000, 1000, 0755};
  f.catalog.aps.push_back(ap);
}

nfs_fh4 ap_fh(Fixture& f, const std::vector<std::string>& path = {}) {
  std::vector<nfs_argop4> ops{putrootfh(), lookup(kAp)};
  for (const auto& p : path) ops.push_back(lookup(p));
  ops.push_back(getfh());
  auto res = f.run(ops);
  REQUIRE(res.status == NFS4_OK);
  return res.resarray.back().opgetfh.resok4.object;
}

}  // namespace

TEST_CASE("a forged access point handle never resolves") {
  Fixture f;
  add_access_point(f);
  f.ctx.auth_sys = rpc::AuthSys{0, "c", 0, 0, {}};
  auto root = ap_fh(f);
  REQUIRE(root.size() == 48);
  REQUIRE(root[0] == static_cast<uint8_t>(FhKind::access_point));
  REQUIRE(f.run({putfh(root), getattr({A_type})}).status == NFS4_OK);
  // The version-1 attack: the inode number (bytes 20-27: after the kind, the
  // access point id, the vfs version and the file system id) replaced by the
  // file system root's.
  auto forged = root;
  for (std::size_t i = 20; i < 28; ++i) forged[i] = i == 27 ? 1 : 0;
  REQUIRE(forged != root);
  CHECK(f.run({putfh(forged), readdir()}).status == NFS4ERR_BADHANDLE);
  // Any single byte edited.
  for (std::size_t i = 0; i < root.size(); ++i) {
    auto bad = root;
    bad[i] ^= 0x01;
    INFO("byte " << i);
    auto st = f.run({putfh(bad), getattr({A_type})}).status;
    CHECK((st == NFS4ERR_BADHANDLE || st == NFS4ERR_STALE));
  }
  // The vfs part of the access point handle presented through the file
  // system export (kind byte and access point id removed).
  std::vector<uint8_t> moved{static_cast<uint8_t>(FhKind::file_system)};
  moved.insert(moved.end(), root.begin() + 10, root.end());
  CHECK(f.run({putfh(moved), getattr({A_type})}).status == NFS4ERR_BADHANDLE);
  // ...and a file system export handle presented through the access point.
  auto fs_root = f.fh_of({});
  std::vector<uint8_t> into(root.begin(), root.begin() + 10);
  into.insert(into.end(), fs_root.begin() + 1, fs_root.end());
  CHECK(f.run({putfh(into), readdir()}).status == NFS4ERR_BADHANDLE);
}

TEST_CASE("a signed access point handle naming the file system root is stale") {
  // Made with the server's own key (as if it had leaked): the cheap check in
  // from_wire still refuses the file system root through an access point.
  Fixture f;
  add_access_point(f);
  f.ctx.auth_sys = rpc::AuthSys{0, "c", 0, 0, {}};
  auto root = ap_fh(f);
  std::vector<uint8_t> prefix(root.begin(), root.begin() + 10);
  auto inner = f.vfs->make_handle(*f.fs, f.fs->root(), prefix);
  nfs_fh4 forged = prefix;
  forged.insert(forged.end(), inner.begin(), inner.end());
  CHECK(f.run({putfh(forged), readdir()}).status == NFS4ERR_STALE);
  // The same construction for the access point's own root is what it issues.
  auto home = f.fs->lookup({}, f.fs->root(), "home");
  REQUIRE(home.ok());
  auto app = f.fs->lookup({}, home->ino, "app");
  REQUIRE(app.ok());
  auto own = f.vfs->make_handle(*f.fs, app->ino, prefix);
  CHECK(std::equal(own.begin(), own.end(), root.begin() + 10, root.end()));
}

TEST_CASE("LOOKUPP at an access point root stays; a directory moved out is stale") {
  Fixture f;
  add_access_point(f);
  f.ctx.auth_sys = rpc::AuthSys{0, "c", 0, 0, {}};
  auto root = ap_fh(f);
  auto res = f.run({putfh(root), mkdir("sub"), lookupp(), lookupp(), getfh()});
  REQUIRE(res.status == NFS4_OK);
  CHECK(res.resarray.back().opgetfh.resok4.object == root);
  auto sub = ap_fh(f, {"sub"});
  // Someone with the whole file system moves "sub" out of the access point.
  auto home = f.fs->lookup({}, f.fs->root(), "home");
  REQUIRE(home.ok());
  auto app = f.fs->lookup({}, home->ino, "app");
  REQUIRE(app.ok());
  REQUIRE(f.fs->rename({}, app->ino, "sub", f.fs->root(), "out").ok());
  // Climbing from it would reach the file system root.
  CHECK(f.run({putfh(sub), lookupp()}).status == NFS4ERR_STALE);
}

TEST_CASE("READDIR through an access point gives handles inside it") {
  Fixture f;
  add_access_point(f);
  f.ctx.auth_sys = rpc::AuthSys{0, "c", 0, 0, {}};
  auto root = ap_fh(f);
  REQUIRE(f.run({putfh(root), mkdir("d")}).status == NFS4_OK);
  auto res = f.run({putfh(root), readdir(0, {}, 65536, {A_filehandle})});
  REQUIRE(res.status == NFS4_OK);
  auto* e = res.resarray[1].opreaddir.resok4.reply.entries.get();
  int n = 0;
  for (; e; e = e->nextentry.get(), ++n) {
    CHECK(e->name != "..");
    CHECK(e->name != ".");
    xdr::Reader r(e->attrs.attr_vals);
    auto fhv = r.opaque(128);
    nfs_fh4 fh(fhv.begin(), fhv.end());
    REQUIRE(fh.size() == 48);
    CHECK(std::equal(root.begin(), root.begin() + 10, fh.begin()));  // same access point
    auto back = f.run({putfh(fh), lookupp(), getfh()});
    REQUIRE(back.status == NFS4_OK);
    CHECK(back.resarray[2].opgetfh.resok4.object == root);
  }
  CHECK(n == 1);
}

TEST_CASE("RENAME and LINK across the file system and an access point are XDEV") {
  Fixture f;
  add_access_point(f);
  f.ctx.auth_sys = rpc::AuthSys{0, "c", 0, 0, {}};
  f.make_file("secret", "root only");
  auto ap_root = ap_fh(f);
  auto fs_root = f.fh_of({});
  // LINK: the object through the file system export, the directory through the access point.
  auto link_res = f.run({putfh(fs_root), lookup("secret"), savefh(), putfh(ap_root), link("s")});
  CHECK(link_res.status == NFS4ERR_XDEV);
  // RENAME: the source directory through the access point, the target through the export.
  REQUIRE(f.run({putfh(ap_root), mkdir("mine")}).status == NFS4_OK);
  auto ren = f.run({putfh(ap_root), savefh(), putfh(fs_root), rename("mine", "stolen")});
  CHECK(ren.status == NFS4ERR_XDEV);
  auto ren2 = f.run({putfh(fs_root), savefh(), putfh(ap_root), rename("secret", "s")});
  CHECK(ren2.status == NFS4ERR_XDEV);
  CHECK(f.fs->lookup({}, f.fs->root(), "stolen").error() == vfs::Errc::noent);
  // Within one export both still work.
  CHECK(f.run({putfh(ap_root), savefh(), rename("mine", "ours")}).status == NFS4_OK);
  // The fsids differ, so a client sees two file systems.
  auto a = f.run({putfh(ap_root), getattr({A_fsid})});
  auto b = f.run({putfh(fs_root), getattr({A_fsid})});
  REQUIRE(a.status == NFS4_OK);
  REQUIRE(b.status == NFS4_OK);
  CHECK(a.resarray[1].opgetattr.resok4.obj_attributes.attr_vals !=
        b.resarray[1].opgetattr.resok4.obj_attributes.attr_vals);
}

}  // namespace efs::nfs4::test
