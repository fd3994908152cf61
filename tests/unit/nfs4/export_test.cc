// Exports: access points (identity and root directory), mount target routing,
// file handle layout.
#include "nfs4/export.h"

#include <doctest/doctest.h>

#include "fixture.h"
#include "nfs4/attrs.h"

namespace efs::nfs4::test {

TEST_CASE("access point ids pack into 9 bytes and back") {
  uint8_t packed[9];
  REQUIRE(pack_access_point_id("fsap-0123456789abcdef1", packed));
  CHECK(unpack_access_point_id(std::span<const uint8_t, 9>(packed, 9)) == "fsap-0123456789abcdef1");
  CHECK_FALSE(pack_access_point_id("fsap-0123", packed));
  CHECK_FALSE(pack_access_point_id("fs-0123456789abcdef12", packed));
  CHECK_FALSE(pack_access_point_id("fsap-0123456789abcdefZ", packed));
}

TEST_CASE("an access point enforces its POSIX user and root directory") {
  Fixture f;
  efs::ExportedAccessPoint ap;
  ap.id = "fsap-0123456789abcdef1";
  ap.fs_id = f.fs_id;
  ap.posix_user = efs::PosixUser{1000, 1001, {}};
  ap.root_path = "/home/app";
  ap.creation_info = efs::CreationInfo{1000, 1001, 0750};
  f.catalog.aps.push_back(ap);
  f.ctx.auth_sys = rpc::AuthSys{0, "c", 0, 0, {}};

  auto res = f.run({putrootfh(), lookup(ap.id), mkdir("made"), getattr({A_owner, A_owner_group}),
                    lookupp(), lookupp(), lookupp(), getfh()});
  REQUIRE(res.status == NFS4_OK);
  xdr::Reader r(res.resarray[3].opgetattr.resok4.obj_attributes.attr_vals);
  CHECK(r.string(20) == "1000");
  CHECK(r.string(20) == "1001");
  // LOOKUPP at the access point root stays at its root.
  auto ap_root = res.resarray[7].opgetfh.resok4.object;
  auto res2 = f.run({putrootfh(), lookup(ap.id), getfh()});
  CHECK(res2.resarray[2].opgetfh.resok4.object == ap_root);
  // The directory was created under /home/app in the file system.
  auto home = f.fs->lookup({}, f.fs->root(), "home");
  REQUIRE(home.ok());
  auto app = f.fs->lookup({}, home->ino, "app");
  REQUIRE(app.ok());
  CHECK(app->uid == 1000);
  CHECK(app->mode == 0750);
  CHECK(f.fs->lookup({}, app->ino, "made").ok());
  // The handle carries the access point: once it is deleted, the handle is stale.
  f.catalog.aps.clear();
  CHECK(f.run({putfh(ap_root), getattr({A_type})}).status == NFS4ERR_STALE);
}

TEST_CASE("a mount target's address serves its file system as the root") {
  Fixture f;
  f.catalog.mts.push_back({"fsmt-0123456789abcdef0", f.fs_id, "127.0.0.9"});
  f.ctx.local_address = "127.0.0.9";
  auto res = f.run({putrootfh(), getattr({A_fileid}), getattr({A_mounted_on_fileid}), lookupp()});
  CHECK(res.status == NFS4ERR_NOENT);
  REQUIRE(res.resarray.size() == 4);
  xdr::Reader a(res.resarray[1].opgetattr.resok4.obj_attributes.attr_vals);
  xdr::Reader b(res.resarray[2].opgetattr.resok4.obj_attributes.attr_vals);
  uint64_t fileid = a.u64();
  CHECK(fileid == f.fs->root());
  CHECK(b.u64() == fileid);
  // The same address seen through a dual-stack socket.
  f.ctx.local_address = "::ffff:127.0.0.9";
  CHECK(f.run({putrootfh(), lookupp()}).status == NFS4ERR_NOENT);
  f.ctx.local_address = "127.0.0.1";
  CHECK(f.run({putrootfh(), lookup(f.fs_id)}).status == NFS4_OK);
}

TEST_CASE("handles are at most 128 bytes and survive a new Server") {
  Fixture f;
  f.make_file("keep", "x");
  auto fh = f.fh_of({"keep"});
  CHECK(fh.size() <= 128);
  CHECK(fh[0] == static_cast<uint8_t>(FhKind::file_system));
  f.server = std::make_unique<Server>(*f.vfs, f.catalog, f.clock, ServerOptions{}, nullptr);
  CHECK(f.run({putfh(fh), getattr({A_size})}).status == NFS4_OK);
}

TEST_CASE("every vfs error maps to its NFSv4 status, an unknown one to SERVERFAULT") {
  using vfs::Errc;
  const std::pair<Errc, nfsstat4> table[] = {
      {Errc::ok, NFS4_OK},
      {Errc::perm, NFS4ERR_PERM},
      {Errc::noent, NFS4ERR_NOENT},
      {Errc::io, NFS4ERR_IO},
      {Errc::nxio, NFS4ERR_NXIO},
      {Errc::access, NFS4ERR_ACCESS},
      {Errc::exist, NFS4ERR_EXIST},
      {Errc::xdev, NFS4ERR_XDEV},
      {Errc::notdir, NFS4ERR_NOTDIR},
      {Errc::isdir, NFS4ERR_ISDIR},
      {Errc::inval, NFS4ERR_INVAL},
      {Errc::fbig, NFS4ERR_FBIG},
      {Errc::nospc, NFS4ERR_NOSPC},
      {Errc::rofs, NFS4ERR_ROFS},
      {Errc::mlink, NFS4ERR_MLINK},
      {Errc::nametoolong, NFS4ERR_NAMETOOLONG},
      {Errc::notempty, NFS4ERR_NOTEMPTY},
      {Errc::dquot, NFS4ERR_DQUOT},
      {Errc::stale, NFS4ERR_STALE},
      {Errc::badhandle, NFS4ERR_BADHANDLE},
      {Errc::bad_cookie, NFS4ERR_BAD_COOKIE},
      {Errc::notsupp, NFS4ERR_NOTSUPP},
      {Errc::toosmall, NFS4ERR_TOOSMALL},
      {Errc::serverfault, NFS4ERR_SERVERFAULT},
      {Errc::badtype, NFS4ERR_BADTYPE},
      {Errc::delay, NFS4ERR_DELAY},
      {Errc::symlink, NFS4ERR_SYMLINK},
      {Errc::badname, NFS4ERR_BADNAME},
  };
  for (auto [e, st] : table) {
    CAPTURE(static_cast<uint32_t>(e));
    CHECK(to_nfsstat(e) == st);
  }
  // A value no Errc names (a corrupt or future one) is not passed through as
  // a made-up status number.
  CHECK(to_nfsstat(static_cast<Errc>(12345)) == NFS4ERR_SERVERFAULT);
  CHECK(to_nfsstat(static_cast<Errc>(3)) == NFS4ERR_SERVERFAULT);
}

}  // namespace efs::nfs4::test
