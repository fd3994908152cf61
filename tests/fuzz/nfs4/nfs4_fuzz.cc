// libFuzzer target: bytes as the arguments of an NFSv4 call go through
// nfs4::Server::handle, the entry the RPC dispatcher calls (rpc/program.h),
// so the real COMPOUND loop (run_compound), the zero-copy WRITE decoder, the
// ops and the state layer see them, over a real vfs (SQLite and chunk store
// under $FUZZ_NFS4_DIR) with a catalog exporting one file system.
// Input: byte 0 picks the procedure (NULL, COMPOUND, or an unknown one) and
// whether the caller has AUTH_SYS credentials; the rest are the arguments.
// The 12 bytes "\0\0\0\x08@FILEFH@" (an opaque of 8 bytes) are replaced by
// the real handle of /f, so seeds can PUTFH a handle signed by this data dir.
// Build and run with tests/fuzz/nfs4/fuzz.sh.
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/log.h"
#include "efs/catalog.h"
#include "meta/db.h"
#include "nfs4/server.h"
#include "vfs/vfs.h"
#include "xdr/xdr.h"

namespace {

using Bytes = std::vector<uint8_t>;
constexpr const char* kFsId = "fs-0123456789abcdef0";

class OneCatalog : public efs::Catalog {
 public:
  efs::ExportedFileSystem fs{kFsId};
  std::shared_ptr<const efs::CatalogSnapshot> snap = std::make_shared<efs::CatalogSnapshot>(
      1, std::vector<efs::ExportedFileSystem>{fs}, std::vector<efs::ExportedAccessPoint>{},
      std::vector<efs::MountTargetAddress>{});
  std::shared_ptr<const efs::CatalogSnapshot> snapshot() const override { return snap; }
};

struct World {
  std::unique_ptr<efs::meta::Db> db;
  std::unique_ptr<efs::vfs::Vfs> vfs;
  OneCatalog catalog;
  efs::Clock clock;
  Bytes file_fh;  // the nfs_fh4 of /f
  uint32_t xid = 1;
};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "nfs4_fuzz: %s\n", what);
  std::abort();
}

World& world() {
  static World* w = [] {
    auto* w = new World;
    spdlog::set_level(spdlog::level::off);
    const char* env = std::getenv("FUZZ_NFS4_DIR");
    std::string dir = env ? env : "/tmp/fuzz-nfs4-data-" + std::to_string(getpid());
    std::filesystem::create_directories(dir);
    auto db = efs::meta::Db::open(dir + "/meta.db");
    if (!db) die("cannot open the db");
    w->db = std::move(*db);
    auto vfs = efs::vfs::Vfs::open(*w->db, dir);
    if (!vfs) die("cannot open the vfs");
    w->vfs = std::move(*vfs);
    if (!w->vfs->create_file_system(kFsId)) die("cannot create the file system");
    auto fs = w->vfs->file_system(kFsId);
    efs::vfs::Cred root;
    efs::vfs::SetAttr mode;
    mode.mode = 0666;
    auto f = fs->create_file(root, fs->root(), "f", efs::vfs::CreateMode::unchecked, mode);
    if (!f) die("cannot create /f");
    (void)fs->mkdir(root, fs->root(), "d", {});
    efs::nfs4::Exports exports(*w->vfs, w->catalog);
    auto junction = exports.lookup_junction(kFsId);
    if (!junction) die("cannot reach the export");
    w->file_fh = exports.child(*junction, f->attr.ino).wire;
    return w;
  }();
  return *w;
}

// The input with each "@FILEFH@" opaque replaced by the handle of /f.
Bytes substitute_handles(const World& w, std::span<const uint8_t> in) {
  static const uint8_t marker[12] = {0, 0, 0, 8, '@', 'F', 'I', 'L', 'E', 'F', 'H', '@'};
  Bytes out;
  out.reserve(in.size() + 64);
  std::size_t i = 0;
  while (i < in.size()) {
    auto hit = std::search(in.begin() + i, in.end(), std::begin(marker), std::end(marker));
    std::size_t at = hit - in.begin();
    out.insert(out.end(), in.begin() + i, hit);
    if (hit == in.end()) break;
    efs::xdr::Writer wr(&out);
    wr.opaque(w.file_fh);
    i = at + sizeof marker;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  World& w = world();
  if (size == 0) return 0;
  // A fresh server per input (clients, sessions and the reply cache start
  // empty) keeps a crash reproducible from its one input; the vfs persists.
  efs::nfs4::Server server(*w.vfs, w.catalog, w.clock, efs::nfs4::ServerOptions{}, nullptr);
  efs::rpc::CallContext ctx;
  ctx.xid = w.xid++;
  ctx.prog = 100003;
  ctx.vers = 4;
  ctx.proc = (data[0] & 3) == 3 ? 7 : (data[0] & 3) == 0 ? 0 : 1;
  if (!(data[0] & 4)) ctx.auth_sys = efs::rpc::AuthSys{0, "fuzz", data[0] & 8 ? 1000u : 0u, 0, {}};
  ctx.local_address = "127.0.0.1";
  ctx.local_port = 2049;
  ctx.remote_address = "127.0.0.1";
  ctx.remote_port = 700;
  ctx.connection_id = 1;
  Bytes args = substitute_handles(w, std::span<const uint8_t>(data + 1, size - 1));
  auto reply = server.handle(ctx, args);
  // FUZZ_NFS4_TRACE=1 prints each COMPOUND's status and op count (to check
  // that the seeds get where they are meant to).
  static const bool trace = std::getenv("FUZZ_NFS4_TRACE") != nullptr;
  if (trace && reply.body.size() >= 4) {
    efs::xdr::Reader r(reply.body);
    uint32_t status = r.u32();
    r.opaque(0xffffffffu);
    std::fprintf(stderr, "nfs4_fuzz: accept_stat %u status %u ops %u\n",
                 static_cast<uint32_t>(reply.stat), status, r.u32());
  }
  // A COMPOUND that decodes answers at least its status, tag and op count.
  if (reply.stat == efs::rpc::AcceptStat::success && ctx.proc == 1 && reply.body.size() < 12)
    die("COMPOUND reply shorter than its header");
  // A second call on the same server: a retransmission (same xid) of a 4.0
  // call goes through the reply cache.
  auto again = server.handle(ctx, args);
  if (again.stat != reply.stat) die("retransmission answered a different accept_stat");
  server.connection_closed(1);
  return 0;
}
