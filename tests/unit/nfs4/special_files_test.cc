// Through real COMPOUNDs: files open while their last name goes (REMOVE /
// RENAME over them), CREATE of sockets and FIFOs, and WRITE clearing set-ID
// bits by the caller's credential.
#include <doctest/doctest.h>

#include "fixture.h"
#include "nfs4/attrs.h"
#include "nfs4/state/state_manager.h"

namespace efs::nfs4::test {

namespace {

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

uint32_t attr_u32(const nfs_resop4& r) {
  xdr::Reader rd(r.opgetattr.resok4.obj_attributes.attr_vals);
  return rd.u32();
}

nfs_argop4 open_op(uint64_t clientid, const std::string& owner, uint32_t seqid,
                   const std::string& name, bool create) {
  auto a = op(OP_OPEN);
  a.opopen.seqid = seqid;
  a.opopen.share_access = OPEN4_SHARE_ACCESS_BOTH;
  a.opopen.share_deny = OPEN4_SHARE_DENY_NONE;
  a.opopen.owner.clientid = clientid;
  a.opopen.owner.owner = bytes(owner);
  a.opopen.openhow.opentype = create ? OPEN4_CREATE : OPEN4_NOCREATE;
  a.opopen.openhow.how.mode = UNCHECKED4;
  a.opopen.claim.claim = CLAIM_NULL;
  a.opopen.claim.file = name;
  return a;
}

nfs_argop4 io(nfs_argop4 a, const stateid4& s) {
  if (a.argop == OP_WRITE) a.opwrite.stateid = s;
  if (a.argop == OP_READ) a.opread.stateid = s;
  return a;
}

// A confirmed 4.0 client with one open file.
struct OpenFile : Fixture {
  uint64_t clientid = 0;
  nfs_fh4 fh;
  stateid4 sid;
  uint32_t seqid = 1;

  explicit OpenFile(const std::string& name) {
    auto sc = op(OP_SETCLIENTID);
    sc.opsetclientid.client.id = bytes("client-" + name);
    auto r = run({sc});
    REQUIRE(r.status == NFS4_OK);
    clientid = r.resarray[0].opsetclientid.resok4.clientid;
    auto cf = op(OP_SETCLIENTID_CONFIRM);
    cf.opsetclientid_confirm.clientid = clientid;
    cf.opsetclientid_confirm.setclientid_confirm =
        r.resarray[0].opsetclientid.resok4.setclientid_confirm;
    REQUIRE(run({cf}).status == NFS4_OK);
    auto o = run({putfh(fh_of({})), open_op(clientid, "oo", seqid++, name, true), getfh()});
    REQUIRE(o.status == NFS4_OK);
    fh = o.resarray[2].opgetfh.resok4.object;
    auto conf = op(OP_OPEN_CONFIRM);
    conf.opopen_confirm.open_stateid = o.resarray[1].opopen.resok4.stateid;
    conf.opopen_confirm.seqid = seqid++;
    auto rc = run({putfh(fh), conf});
    REQUIRE(rc.status == NFS4_OK);
    sid = rc.resarray[1].opopen_confirm.resok4.open_stateid;
  }
  nfsstat4 close() {
    auto cl = op(OP_CLOSE);
    cl.opclose.seqid = seqid++;
    cl.opclose.open_stateid = sid;
    return run({putfh(fh), cl}).status;
  }
  std::string read_all() {
    auto rd = run({putfh(fh), io(read(0, 4096), sid)});
    REQUIRE(rd.status == NFS4_OK);
    auto& d = rd.resarray[1].opread.resok4.data;
    return std::string(d.begin(), d.end());
  }
};

}  // namespace

TEST_CASE("REMOVE of an open file: READ, WRITE, GETATTR and CLOSE still work; CLOSE frees it") {
  OpenFile f("gone.txt");
  REQUIRE(f.run({putfh(f.fh), io(write(0, "hello"), f.sid)}).status == NFS4_OK);
  uint64_t metered = f.fs->metered_size().total;
  REQUIRE(f.run({putfh(f.fh_of({})), remove("gone.txt")}).status == NFS4_OK);
  CHECK(f.run({putfh(f.fh_of({})), lookup("gone.txt")}).status == NFS4ERR_NOENT);

  CHECK(f.run({putfh(f.fh), io(write(5, " world", UNSTABLE4), f.sid)}).status == NFS4_OK);
  CHECK(f.run({putfh(f.fh), commit()}).status == NFS4_OK);
  CHECK(f.read_all() == "hello world");
  auto ga = f.run({putfh(f.fh), getattr({A_numlinks})});
  REQUIRE(ga.status == NFS4_OK);
  CHECK(attr_u32(ga.resarray[1]) == 0);
  CHECK(f.fs->metered_size().total == metered);  // SizeInBytes still counts it

  CHECK(f.close() == NFS4_OK);
  CHECK(f.run({putfh(f.fh), getattr({A_numlinks})}).status == NFS4ERR_STALE);
  CHECK(f.fs->metered_size().total == 6144);
}

TEST_CASE("RENAME over an open file keeps it for its open; two opens: freed at the last CLOSE") {
  OpenFile f("target");
  REQUIRE(f.run({putfh(f.fh), io(write(0, "old"), f.sid)}).status == NFS4_OK);
  // A second open-owner opens the same file by name.
  auto o2 = f.run({putfh(f.fh_of({})), open_op(f.clientid, "oo2", 1, "target", false)});
  REQUIRE(o2.status == NFS4_OK);
  stateid4 sid2 = o2.resarray[1].opopen.resok4.stateid;
  f.make_file("new", "new");
  REQUIRE(f.run({putfh(f.fh_of({})), savefh(), rename("new", "target")}).status == NFS4_OK);
  CHECK(f.read_all() == "old");
  CHECK(f.close() == NFS4_OK);
  CHECK(f.run({putfh(f.fh), getattr({A_numlinks})}).status == NFS4_OK);  // sid2 holds it
  auto conf = op(OP_OPEN_CONFIRM);
  conf.opopen_confirm.open_stateid = sid2;
  conf.opopen_confirm.seqid = 2;
  auto rc = f.run({putfh(f.fh), conf});
  REQUIRE(rc.status == NFS4_OK);
  auto cl = op(OP_CLOSE);
  cl.opclose.seqid = 3;
  cl.opclose.open_stateid = rc.resarray[1].opopen_confirm.resok4.open_stateid;
  CHECK(f.run({putfh(f.fh), cl}).status == NFS4_OK);
  CHECK(f.run({putfh(f.fh), getattr({A_numlinks})}).status == NFS4ERR_STALE);
}

TEST_CASE("an unlinked open file is freed when its client's lease expires") {
  OpenFile f("lease.txt");
  REQUIRE(f.run({putfh(f.fh), io(write(0, "data"), f.sid)}).status == NFS4_OK);
  REQUIRE(f.run({putfh(f.fh_of({})), remove("lease.txt")}).status == NFS4_OK);
  f.server->state().tick();
  CHECK(f.run({putfh(f.fh), getattr({A_numlinks})}).status == NFS4_OK);
  f.clock.advance(f.server->state().options().lease_time + std::chrono::seconds(5));
  f.server->state().tick();
  CHECK(f.server->state().open_count() == 0);
  CHECK(f.run({putfh(f.fh), getattr({A_numlinks})}).status == NFS4ERR_STALE);
  CHECK(f.fs->metered_size().total == 6144);
}

TEST_CASE("CREATE of a socket and a FIFO; devices are BADTYPE; OPEN of one is SYMLINK") {
  Fixture f;
  auto mk = [&](nfs_ftype4 t, const std::string& name) {
    auto a = op(OP_CREATE);
    a.opcreate.objtype.type = t;
    a.opcreate.objname = name;
    return f.run({putfh(f.fh_of({})), a, getattr({A_type, A_rawdev})});
  };
  for (auto [t, name] : {std::pair{NF4FIFO, "fifo"}, std::pair{NF4SOCK, "sock"}}) {
    auto r = mk(t, name);
    REQUIRE(r.status == NFS4_OK);
    xdr::Reader rd(r.resarray[2].opgetattr.resok4.obj_attributes.attr_vals);
    CHECK(rd.u32() == static_cast<uint32_t>(t));
    CHECK(rd.u32() == 0);  // specdata1
    CHECK(rd.u32() == 0);  // specdata2
    auto l = f.run({putfh(f.fh_of({})), lookup(name), getattr({A_type})});
    REQUIRE(l.status == NFS4_OK);
    CHECK(attr_u32(l.resarray[2]) == static_cast<uint32_t>(t));
  }
  CHECK(mk(NF4BLK, "blk").status == NFS4ERR_BADTYPE);
  CHECK(mk(NF4CHR, "chr").status == NFS4ERR_BADTYPE);
  CHECK(mk(NF4FIFO, "fifo").status == NFS4ERR_EXIST);

  auto sc = op(OP_SETCLIENTID);
  sc.opsetclientid.client.id = bytes("c");
  auto r = f.run({sc});
  REQUIRE(r.status == NFS4_OK);
  uint64_t clientid = r.resarray[0].opsetclientid.resok4.clientid;
  auto cf = op(OP_SETCLIENTID_CONFIRM);
  cf.opsetclientid_confirm.clientid = clientid;
  cf.opsetclientid_confirm.setclientid_confirm =
      r.resarray[0].opsetclientid.resok4.setclientid_confirm;
  REQUIRE(f.run({cf}).status == NFS4_OK);
  // RFC 7530 16.16.6 (4.0): SYMLINK for special files too (4.1 says WRONG_TYPE).
  CHECK(f.run({putfh(f.fh_of({})), open_op(clientid, "o", 1, "fifo", false)}).status ==
        NFS4ERR_SYMLINK);
  CHECK(f.run({putfh(f.fh_of({})), open_op(clientid, "o", 2, "sock", true)}).status ==
        NFS4ERR_SYMLINK);
  // REMOVE and RENAME work on them.
  CHECK(f.run({putfh(f.fh_of({})), savefh(), rename("sock", "sock2")}).status == NFS4_OK);
  CHECK(f.run({putfh(f.fh_of({})), remove("sock2")}).status == NFS4_OK);
  CHECK(f.run({putfh(f.fh_of({})), remove("fifo")}).status == NFS4_OK);
}

TEST_CASE("WRITE by a non-root caller clears set-ID bits; by root it keeps them") {
  Fixture f;
  vfs::Ino ino = f.make_file("suid", "x");
  vfs::SetAttr sa;
  sa.mode = 06777;
  REQUIRE(f.fs->setattr(vfs::Cred{}, ino, sa).ok());
  nfs_fh4 fh = f.fh_of({"suid"});
  stateid4 anon{};
  REQUIRE(f.run({putfh(fh), io(write(0, "root"), anon)}).status == NFS4_OK);
  CHECK(f.fs->getattr(ino)->mode == 06777);
  f.ctx.auth_sys = rpc::AuthSys{0, "u", 1000, 1000, {}};
  REQUIRE(f.run({putfh(fh), io(write(0, "user", UNSTABLE4), anon)}).status == NFS4_OK);
  CHECK(f.fs->getattr(ino)->mode == 0777);
}

}  // namespace efs::nfs4::test
