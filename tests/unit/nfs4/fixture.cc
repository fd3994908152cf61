#include "fixture.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>

#include "nfs4/attrs.h"

namespace efs::nfs4::test {

std::shared_ptr<const efs::CatalogSnapshot> FakeCatalog::snapshot() const {
  return std::make_shared<efs::CatalogSnapshot>(0, fss, aps, mts);
}

nfs_argop4 op(nfs_opnum4 n) {
  nfs_argop4 a;
  a.argop = n;
  return a;
}
nfs_argop4 putrootfh() {
  return op(OP_PUTROOTFH);
}
nfs_argop4 getfh() {
  return op(OP_GETFH);
}
nfs_argop4 savefh() {
  return op(OP_SAVEFH);
}
nfs_argop4 restorefh() {
  return op(OP_RESTOREFH);
}
nfs_argop4 lookupp() {
  return op(OP_LOOKUPP);
}
nfs_argop4 readlink() {
  return op(OP_READLINK);
}
nfs_argop4 putfh(const nfs_fh4& fh) {
  auto a = op(OP_PUTFH);
  a.opputfh.object = fh;
  return a;
}
nfs_argop4 lookup(const std::string& name) {
  auto a = op(OP_LOOKUP);
  a.oplookup.objname = name;
  return a;
}
bitmap4 bits(std::initializer_list<uint32_t> attrs) {
  bitmap4 b;
  for (uint32_t n : attrs) bitmap_set(b, n);
  return b;
}
nfs_argop4 getattr(std::initializer_list<uint32_t> attrs) {
  auto a = op(OP_GETATTR);
  a.opgetattr.attr_request = bits(attrs);
  return a;
}
nfs_argop4 mkdir(const std::string& name) {
  auto a = op(OP_CREATE);
  a.opcreate.objtype.type = NF4DIR;
  a.opcreate.objname = name;
  return a;
}
nfs_argop4 symlink(const std::string& name, const std::string& target) {
  auto a = op(OP_CREATE);
  a.opcreate.objtype.type = NF4LNK;
  a.opcreate.objtype.linkdata = target;
  a.opcreate.objname = name;
  return a;
}
nfs_argop4 remove(const std::string& name) {
  auto a = op(OP_REMOVE);
  a.opremove.target = name;
  return a;
}
nfs_argop4 rename(const std::string& from, const std::string& to) {
  auto a = op(OP_RENAME);
  a.oprename.oldname = from;
  a.oprename.newname = to;
  return a;
}
nfs_argop4 link(const std::string& name) {
  auto a = op(OP_LINK);
  a.oplink.newname = name;
  return a;
}
nfs_argop4 read(uint64_t offset, uint32_t count) {
  auto a = op(OP_READ);
  a.opread.offset = offset;
  a.opread.count = count;
  return a;
}
nfs_argop4 write(uint64_t offset, const std::string& data, stable_how4 how) {
  auto a = op(OP_WRITE);
  a.opwrite.offset = offset;
  a.opwrite.stable = how;
  a.opwrite.data.assign(data.begin(), data.end());
  return a;
}
nfs_argop4 commit() {
  return op(OP_COMMIT);
}
nfs_argop4 readdir(uint64_t cookie, verifier4 verf, uint32_t maxcount,
                   std::initializer_list<uint32_t> attrs) {
  auto a = op(OP_READDIR);
  a.opreaddir.cookie = cookie;
  a.opreaddir.cookieverf = verf;
  a.opreaddir.dircount = maxcount;
  a.opreaddir.maxcount = maxcount;
  a.opreaddir.attr_request = bits(attrs);
  return a;
}
nfs_argop4 setattr(fattr4 attrs) {
  auto a = op(OP_SETATTR);
  a.opsetattr.obj_attributes = std::move(attrs);
  return a;
}
nfs_argop4 access(uint32_t b) {
  auto a = op(OP_ACCESS);
  a.opaccess.access = b;
  return a;
}

Fixture::Fixture() {
  static std::atomic<int> seq{0};
  dir = std::filesystem::temp_directory_path() /
        ("efs-nfs4-test-" + std::to_string(::getpid()) + "-" + std::to_string(seq++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "data");
  auto d = meta::Db::open((dir / "meta.db").string());
  REQUIRE(d.ok());
  db = std::move(*d);
  auto v = vfs::Vfs::open(*db, (dir / "data").string(), clock, disk);
  REQUIRE(v.ok());
  vfs = std::move(*v);
  REQUIRE(vfs->create_file_system(fs_id).ok());
  fs = vfs->file_system(fs_id);
  REQUIRE(fs);
  efs::ExportedFileSystem exported;
  exported.id = fs_id;
  exported.arn = "arn:aws:elasticfilesystem:us-east-1:000000000000:file-system/" + fs_id;
  catalog.fss.push_back(exported);
  server = std::make_unique<Server>(*vfs, catalog, clock, ServerOptions{}, nullptr);
  ctx.prog = 100003;
  ctx.vers = 4;
  ctx.proc = 1;
  ctx.auth_sys = rpc::AuthSys{0, "test", 0, 0, {}};
  ctx.local_address = "127.0.0.1";
  ctx.connection_id = 1;
}

Fixture::~Fixture() {
  server.reset();
  fs.reset();
  vfs.reset();
  db.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

rpc::Reply Fixture::raw(std::span<const uint8_t> args, uint32_t proc) {
  rpc::CallContext c = ctx;
  c.proc = proc;
  // Each call gets its own xid unless the test set one: equal xids with
  // equal arguments are retransmissions to the 4.0 reply cache.
  if (c.xid == 0) c.xid = next_xid++;
  return server->handle(c, args);
}

COMPOUND4res Fixture::run(std::vector<nfs_argop4> ops, uint32_t minor, const std::string& tag) {
  COMPOUND4args args;
  args.tag = tag;
  args.minorversion = minor;
  args.argarray = std::move(ops);
  std::vector<uint8_t> bytes;
  xdr::Writer w(&bytes);
  encode(w, args);
  auto reply = raw(bytes);
  REQUIRE(reply.stat == rpc::AcceptStat::success);
  COMPOUND4res res;
  xdr::Reader r(reply.body);
  REQUIRE(decode(r, res));
  CHECK(r.remaining() == 0);
  return res;
}

nfs_fh4 Fixture::fh_of(const std::vector<std::string>& path) {
  std::vector<nfs_argop4> ops{putrootfh(), lookup(fs_id)};
  for (const auto& p : path) ops.push_back(lookup(p));
  ops.push_back(getfh());
  auto res = run(std::move(ops));
  REQUIRE(res.status == NFS4_OK);
  return res.resarray.back().opgetfh.resok4.object;
}

vfs::Ino Fixture::make_file(const std::string& name, const std::string& content) {
  vfs::Cred root;
  vfs::SetAttr attrs;
  attrs.mode = 0644;
  auto made = fs->create_file(root, fs->root(), name, vfs::CreateMode::guarded, attrs);
  REQUIRE(made.ok());
  if (!content.empty()) {
    auto w = fs->write(made->attr.ino, 0,
                       {reinterpret_cast<const uint8_t*>(content.data()), content.size()},
                       vfs::Stability::file_sync);
    REQUIRE(w.ok());
  }
  return made->attr.ino;
}

nfsstat4 status_of(const nfs_resop4& r) {
  // Every result starts with its status on the wire: re-encode and read it.
  std::vector<uint8_t> b;
  xdr::Writer w(&b);
  encode(w, r);
  xdr::Reader rd(b);
  rd.u32();  // resop
  return static_cast<nfsstat4>(rd.u32());
}

nfsstat4 last_status(const COMPOUND4res& r) {
  REQUIRE(!r.resarray.empty());
  return status_of(r.resarray.back());
}

}  // namespace efs::nfs4::test
