// Exports: access points (identity and root directory), mount target routing,
// file handle layout, and how it reads the published catalog snapshot.
#include "nfs4/export.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "common/published.h"
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

namespace {

// A catalog published as efs::Service publishes it, counting how often
// Exports asks for the snapshot.
class PublishedCatalog : public efs::Catalog {
 public:
  std::shared_ptr<const efs::CatalogSnapshot> snapshot() const override {
    calls.fetch_add(1, std::memory_order_relaxed);
    return current_.get();
  }
  void set(std::vector<efs::ExportedFileSystem> fss, std::vector<efs::ExportedAccessPoint> aps,
           std::vector<efs::MountTargetAddress> mts = {}) {
    current_.publish(std::make_shared<const efs::CatalogSnapshot>(++generation_, std::move(fss),
                                                                  std::move(aps), std::move(mts)));
  }
  mutable std::atomic<int> calls{0};

 private:
  uint64_t generation_ = 0;
  efs::Published<efs::CatalogSnapshot> current_{std::make_shared<const efs::CatalogSnapshot>()};
};

efs::ExportedAccessPoint test_ap(const std::string& fs_id, const std::string& id,
                                 const std::string& root) {
  efs::ExportedAccessPoint ap;
  ap.id = id;
  ap.fs_id = fs_id;
  ap.posix_user = efs::PosixUser{1000, 1001, {2000}};
  ap.root_path = root;
  if (root != "/") ap.creation_info = efs::CreationInfo{1000, 1001, 0755};
  return ap;
}

}  // namespace

TEST_CASE("PUTFH, PUTROOTFH and LOOKUP of an export each read one catalog snapshot") {
  Fixture f;
  PublishedCatalog catalog;
  auto ap = test_ap(f.fs_id, "fsap-0123456789abcdef1", "/ap");
  catalog.set({{f.fs_id, false, "", "", nullptr}}, {ap}, {{"fsmt-0123456789abcdef0", f.fs_id, "127.0.0.9"}});
  Exports ex(*f.vfs, catalog);

  catalog.calls = 0;
  auto via_lookup = ex.lookup_junction(ap.id);
  REQUIRE(via_lookup);
  CHECK(catalog.calls == 1);

  // One view for the whole decode: the file system, the access point and its
  // root come from the same snapshot.
  catalog.calls = 0;
  auto via_putfh = ex.from_wire(via_lookup->wire);
  REQUIRE(via_putfh);
  CHECK(catalog.calls == 1);
  CHECK(via_putfh->access_point_id == ap.id);
  REQUIRE(via_putfh->posix_user);
  CHECK(via_putfh->posix_user->secondary_gids == std::vector<uint32_t>{2000});

  catalog.calls = 0;
  rpc::CallContext ctx;
  ctx.local_address = "127.0.0.9";
  auto routed = ex.root(ctx);
  REQUIRE(routed);
  CHECK(routed->kind == FhKind::file_system);
  CHECK(catalog.calls == 1);

  catalog.calls = 0;
  CHECK(ex.lookup_junction(f.fs_id));
  CHECK(catalog.calls == 1);
}

TEST_CASE("a snapshot published between operations takes effect at the next PUTFH") {
  Fixture f;
  PublishedCatalog catalog;
  auto ap = test_ap(f.fs_id, "fsap-0123456789abcdef1", "/ap");
  catalog.set({{f.fs_id, false, "", "", nullptr}}, {ap});
  Exports ex(*f.vfs, catalog);
  auto root = ex.lookup_junction(ap.id);
  REQUIRE(root);
  const auto wire = root->wire;

  catalog.set({{f.fs_id, false, "", "", nullptr}}, {});  // the access point was deleted
  CHECK(ex.from_wire(wire).error() == NFS4ERR_STALE);
  CHECK(ex.lookup_junction(ap.id).error() == NFS4ERR_NOENT);
  catalog.set({{f.fs_id, false, "", "", nullptr}}, {ap});
  CHECK(ex.from_wire(wire));
  catalog.set({}, {});  // the file system is being deleted
  CHECK(ex.from_wire(wire).error() == NFS4ERR_STALE);
  CHECK(ex.lookup_junction(f.fs_id).error() == NFS4ERR_NOENT);
  CHECK(ex.junctions().empty());
}

TEST_CASE("PUTFH and LOOKUP race safely with snapshots being published") {
  Fixture f;
  PublishedCatalog catalog;
  auto ap1 = test_ap(f.fs_id, "fsap-0123456789abcdef1", "/one");
  // Resolved for the first time by the racing readers (the roots map is
  // copied and republished while others read it).
  auto ap2 = test_ap(f.fs_id, "fsap-0123456789abcdef2", "/");
  catalog.set({{f.fs_id, false, "", "", nullptr}}, {ap1, ap2});
  Exports ex(*f.vfs, catalog);
  auto root1 = ex.lookup_junction(ap1.id);
  REQUIRE(root1);
  const auto wire1 = root1->wire;
  const auto fs_wire = f.fh_of({});

  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  std::atomic<int> unexpected{0}, found{0};
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        auto a = ex.from_wire(wire1);
        if (a) {
          found.fetch_add(1, std::memory_order_relaxed);
          if (a->export_root != root1->ino) unexpected.fetch_add(1);
        } else if (a.error() != NFS4ERR_STALE) {
          unexpected.fetch_add(1);
        }
        auto b = ex.lookup_junction(ap2.id);
        if (!b && b.error() != NFS4ERR_NOENT && b.error() != NFS4ERR_STALE) unexpected.fetch_add(1);
        auto c = ex.from_wire(std::span<const uint8_t>(fs_wire.data(), fs_wire.size()));
        if (!c && c.error() != NFS4ERR_STALE) unexpected.fetch_add(1);
        for (const auto& j : ex.junctions())
          if (j.name != f.fs_id && j.name != ap1.id && j.name != ap2.id) unexpected.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 300; ++i) {
    switch (i % 3) {
      case 0:
        catalog.set({{f.fs_id, false, "", "", nullptr}}, {ap1, ap2});
        break;
      case 1:
        catalog.set({{f.fs_id, false, "", "", nullptr}}, {ap2});
        break;
      default:
        catalog.set({}, {});
        break;
    }
    std::this_thread::yield();
  }
  catalog.set({{f.fs_id, false, "", "", nullptr}}, {ap1, ap2});
  stop = true;
  for (auto& t : readers) t.join();
  CHECK(unexpected == 0);
  CHECK(ex.from_wire(wire1));
  CHECK(ex.lookup_junction(ap2.id));
}

}  // namespace efs::nfs4::test
