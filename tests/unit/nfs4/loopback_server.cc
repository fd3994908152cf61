// A manual test tool, not a unit test: serves one file system (fs-0123456789abcdef0)
// over NFSv4 on 127.0.0.1:<port> from a fresh data dir, so real clients
// (nfs-ls, nfs-cp, the kernel) can be pointed at the nfs4 module alone.
//   loopback_server <data-dir> <port>
#include <asio.hpp>
#include <cstdio>
#include <cstdlib>

#include "common/log.h"
#include "meta/db.h"
#include "net/rpc_server.h"
#include "nfs4/server.h"
#include "rpc/dispatcher.h"
#include "vfs/vfs.h"

namespace {

class OneFs : public efs::Catalog {
 public:
  std::shared_ptr<const efs::CatalogSnapshot> snapshot() const override { return snap_; }
  static constexpr const char* kId = "fs-0123456789abcdef0";

 private:
  std::shared_ptr<const efs::CatalogSnapshot> snap_ = std::make_shared<efs::CatalogSnapshot>(
      1, std::vector<efs::ExportedFileSystem>{{kId, false, "", "", nullptr}},
      std::vector<efs::ExportedAccessPoint>{}, std::vector<efs::MountTargetAddress>{});
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <data-dir> <port>\n", argv[0]);
    return 2;
  }
  if (std::getenv("NFS4_DEBUG")) spdlog::set_level(spdlog::level::trace);
  std::string dir = argv[1];
  auto db = efs::meta::Db::open(dir + "/meta.db");
  if (!db) return 1;
  auto vfs = efs::vfs::Vfs::open(**db, dir);
  if (!vfs) return 1;
  if (!(*vfs)->create_file_system(OneFs::kId).ok()) return 1;
  OneFs catalog;
  efs::nfs4::Server nfs(**vfs, catalog, efs::Clock::global(), {}, db->get());
  efs::rpc::Dispatcher dispatcher;
  if (!dispatcher.add(nfs).ok()) return 1;
  asio::io_context io;
  efs::net::RpcServer server(io, dispatcher);
  auto port = server.listen("127.0.0.1", static_cast<uint16_t>(std::atoi(argv[2])));
  if (!port) return 1;
  spdlog::info("nfs4 loopback server on 127.0.0.1:{}", *port);
  asio::steady_timer tick(io);
  std::function<void()> arm = [&] {
    tick.expires_after(std::chrono::seconds(1));
    tick.async_wait([&](const asio::error_code& e) {
      if (e) return;
      nfs.tick();
      arm();
    });
  };
  arm();
  io.run();
}
