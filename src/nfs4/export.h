// What a client can reach: the pseudo-root "/" listing every available file
// system (fs-...) and access point (fsap-...), each a new fsid; mount target
// addresses routed straight to their file system's root; and the wire form
// of our file handles.
//
// File handle layout (at most NFS4_FHSIZE = 128 bytes, RFC 7530 4.2.1;
// docs/file-handle.md, version 2):
//   byte 0        kind (FhKind)
//   pseudo_root:  nothing else
//   file_system:  vfs handle (Vfs::make_handle), bound to byte 0
//   access_point: 9 bytes: the 17 hex digits of fsap-<id> packed as nibbles,
//                 then the vfs handle, bound to bytes 0-9
// The vfs handle's MAC covers the bytes before it, so no byte of a handle can
// be edited: a client can only present handles this data dir issued.
// Handles are persistent (FH4_PERSISTENT): none of the bytes depend on the process.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/published.h"
#include "common/result.h"
#include "efs/catalog.h"
#include "nfs4/compound.h"
#include "rpc/program.h"
#include "vfs/vfs.h"

namespace efs::nfs4 {

template <class T>
using NResult = Result<T, nfsstat4>;

// The NFSv4 status of a vfs error (RFC 7530 13 / RFC 8881 15.1): one checked
// table (export.cc) with a case per Errc, so a new Errc does not compile
// until it is mapped; a value outside the enum is NFS4ERR_SERVERFAULT, logged.
nfsstat4 to_nfsstat(vfs::Errc e);

// The pseudo-root's fileid and the fileids its entries are mounted on.
inline constexpr uint64_t kPseudoRootFileid = 1;

// Every operation takes one CatalogSnapshot (lock-free, no copies) and reads
// exports from it; the access point roots it resolved are published the same
// way, so PUTFH, PUTROOTFH and LOOKUP of a junction take no lock once an
// access point has been mounted.
class Exports {
 public:
  Exports(vfs::Vfs& vfs, const efs::Catalog& catalog)
      : vfs_(vfs), catalog_(catalog), ap_roots_(std::make_shared<const ApRoots>()) {}

  // PUTROOTFH: the pseudo-root, or for a connection accepted on a mount
  // target's address, that file system's root.
  NResult<CurrentFh> root(const rpc::CallContext& ctx);
  // The file system a mount target address routes to ("" if none).
  std::string routed_fs(const rpc::CallContext& ctx) const;
  std::string_view routed_fs(const rpc::CallContext& ctx, const efs::CatalogSnapshot& snap) const;
  CurrentFh pseudo_root() const;

  // PUTFH: badhandle for malformed bytes, stale for a deleted object, file
  // system or access point.
  NResult<CurrentFh> from_wire(std::span<const uint8_t> fh);

  // The handle of another object in the same export as `parent`. Callers
  // only pass objects reached from `parent` without leaving its export (see
  // from_wire in export.cc for why that keeps access points closed).
  CurrentFh child(const CurrentFh& parent, vfs::Ino ino);
  // NFS4_OK if directory `dir` lies under the root of the export `exp` came
  // through (always for a file system export); NFS4ERR_STALE if it was moved
  // out. Walks the parents: for LOOKUPP, not for every op.
  nfsstat4 within_export(const CurrentFh& exp, vfs::Ino dir);

  // An entry of the pseudo-root.
  struct Junction {
    std::string name;  // fs-... or fsap-...
    CurrentFh fh;      // the export's root
  };
  std::vector<Junction> junctions();
  NResult<CurrentFh> lookup_junction(std::string_view name);
  // Changes whenever the set of junctions changes (the pseudo-root's change attribute).
  uint64_t pseudo_change();

  // The fsid (major, minor) of the export a handle lives in.
  static std::pair<uint64_t, uint64_t> fsid(const CurrentFh& fh);
  // The fileid a junction's root shows as mounted_on_fileid.
  static uint64_t junction_fileid(std::string_view name);

 private:
  NResult<CurrentFh> fs_root(const efs::CatalogSnapshot& snap, std::string_view fs_id);
  NResult<CurrentFh> access_point_root(const efs::CatalogSnapshot& snap,
                                       const efs::ExportedAccessPoint& ap);
  void fill_wire(CurrentFh& fh);

  // fsap-... -> its resolved root directory. Resolved once per process (on
  // first mount, as EFS creates a missing root then); copied on insert.
  using ApRoots = std::map<std::string, vfs::Ino, std::less<>>;

  vfs::Vfs& vfs_;
  const efs::Catalog& catalog_;
  std::mutex ap_roots_mu_;  // serializes inserts only; readers use ap_roots_.get()
  Published<ApRoots> ap_roots_;
};

// "fsap-<17 hex>" <-> 9 packed bytes. False / empty for a malformed id.
bool pack_access_point_id(std::string_view id, uint8_t out[9]);
std::string unpack_access_point_id(std::span<const uint8_t, 9> in);

}  // namespace efs::nfs4
