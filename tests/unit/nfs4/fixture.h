// A real Server over a real Vfs on a temporary data dir, with a fake Catalog,
// and helpers that build COMPOUNDs from the generated types.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/fault_disk.h"
#include "efs/catalog.h"
#include "meta/db.h"
#include "nfs4/server.h"
#include "rpc/program.h"
#include "vfs/vfs.h"
#include "xdr/nfs4_compound.h"
#include "xdr/nfs4_xdr.h"

namespace efs::nfs4::test {

using namespace efs::xdr::nfs4;

class FakeCatalog : public efs::Catalog {
 public:
  std::vector<efs::ExportedFileSystem> fss;
  std::vector<efs::ExportedAccessPoint> aps;
  std::vector<efs::MountTargetAddress> mts;

  // A new snapshot of the lists above on every call (tests edit them between
  // COMPOUNDs, single-threaded).
  std::shared_ptr<const efs::CatalogSnapshot> snapshot() const override;
};

// Builders for one op of a COMPOUND.
nfs_argop4 putrootfh();
nfs_argop4 putfh(const nfs_fh4& fh);
nfs_argop4 getfh();
nfs_argop4 savefh();
nfs_argop4 restorefh();
nfs_argop4 lookup(const std::string& name);
nfs_argop4 lookupp();
nfs_argop4 getattr(std::initializer_list<uint32_t> attrs);
nfs_argop4 mkdir(const std::string& name);
nfs_argop4 symlink(const std::string& name, const std::string& target);
nfs_argop4 readlink();
nfs_argop4 remove(const std::string& name);
nfs_argop4 rename(const std::string& from, const std::string& to);
nfs_argop4 link(const std::string& name);
nfs_argop4 read(uint64_t offset, uint32_t count);
nfs_argop4 write(uint64_t offset, const std::string& data, stable_how4 how = FILE_SYNC4);
nfs_argop4 commit();
nfs_argop4 readdir(uint64_t cookie = 0, verifier4 verf = {}, uint32_t maxcount = 65536,
                   std::initializer_list<uint32_t> attrs = {});
nfs_argop4 setattr(fattr4 attrs);
nfs_argop4 access(uint32_t bits);
nfs_argop4 op(nfs_opnum4 n);  // an op without arguments (or with default ones)

bitmap4 bits(std::initializer_list<uint32_t> attrs);

struct Fixture {
  Fixture();
  ~Fixture();

  // Runs one COMPOUND; fails the test if the reply does not decode.
  COMPOUND4res run(std::vector<nfs_argop4> ops, uint32_t minor = 0, const std::string& tag = "t");
  rpc::Reply raw(std::span<const uint8_t> args, uint32_t proc = 1);
  // The file handle of a path under the file system ("" = its root).
  nfs_fh4 fh_of(const std::vector<std::string>& path);
  // Creates a regular file with content directly through the vfs.
  vfs::Ino make_file(const std::string& name, const std::string& content);

  std::filesystem::path dir;
  FaultDisk disk;  // the chunk store's Disk: tests inject host faults here
  std::unique_ptr<meta::Db> db;
  std::unique_ptr<vfs::Vfs> vfs;
  FakeCatalog catalog;
  Clock clock;
  std::unique_ptr<Server> server;
  rpc::CallContext ctx;  // ctx.xid 0: raw() and run() number their calls from next_xid
  uint32_t next_xid = 1;
  std::string fs_id = "fs-0123456789abcdef0";
  std::shared_ptr<vfs::FileSystem> fs;
};

// The status of the last result.
nfsstat4 last_status(const COMPOUND4res& r);
nfsstat4 status_of(const nfs_resop4& r);

}  // namespace efs::nfs4::test
