#include "nfs4/export.h"

#include <algorithm>

#include "common/log.h"

namespace efs::nfs4 {

namespace {

int hex_value(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  return -1;
}

constexpr std::string_view kApPrefix = "fsap-";
constexpr std::size_t kApHexDigits = 17;

// FNV-1a: a stable number derived from a name (fsid minors, junction fileids).
uint64_t stable_hash(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace

nfsstat4 to_nfsstat(vfs::Errc e) {
  // No default: -Wswitch (-Wall -Werror) names any Errc left out here.
  switch (e) {
    case vfs::Errc::ok:
      return NFS4_OK;
    case vfs::Errc::perm:
      return NFS4ERR_PERM;
    case vfs::Errc::noent:
      return NFS4ERR_NOENT;
    case vfs::Errc::io:
      return NFS4ERR_IO;
    case vfs::Errc::nxio:
      return NFS4ERR_NXIO;
    case vfs::Errc::access:
      return NFS4ERR_ACCESS;
    case vfs::Errc::exist:
      return NFS4ERR_EXIST;
    case vfs::Errc::xdev:
      return NFS4ERR_XDEV;
    case vfs::Errc::notdir:
      return NFS4ERR_NOTDIR;
    case vfs::Errc::isdir:
      return NFS4ERR_ISDIR;
    case vfs::Errc::inval:
      return NFS4ERR_INVAL;
    case vfs::Errc::fbig:
      return NFS4ERR_FBIG;
    case vfs::Errc::nospc:
      return NFS4ERR_NOSPC;
    case vfs::Errc::rofs:
      return NFS4ERR_ROFS;
    case vfs::Errc::mlink:
      return NFS4ERR_MLINK;
    case vfs::Errc::nametoolong:
      return NFS4ERR_NAMETOOLONG;
    case vfs::Errc::notempty:
      return NFS4ERR_NOTEMPTY;
    case vfs::Errc::dquot:
      return NFS4ERR_DQUOT;
    case vfs::Errc::stale:
      return NFS4ERR_STALE;
    case vfs::Errc::badhandle:
      return NFS4ERR_BADHANDLE;
    case vfs::Errc::bad_cookie:
      return NFS4ERR_BAD_COOKIE;
    case vfs::Errc::notsupp:
      return NFS4ERR_NOTSUPP;
    case vfs::Errc::toosmall:
      return NFS4ERR_TOOSMALL;
    case vfs::Errc::serverfault:
      return NFS4ERR_SERVERFAULT;
    case vfs::Errc::badtype:
      return NFS4ERR_BADTYPE;
    case vfs::Errc::delay:
      return NFS4ERR_DELAY;
    case vfs::Errc::symlink:
      return NFS4ERR_SYMLINK;
    case vfs::Errc::badname:
      return NFS4ERR_BADNAME;
  }
  spdlog::error("nfs4: vfs error {} has no NFSv4 status; answering NFS4ERR_SERVERFAULT",
                static_cast<uint32_t>(e));
  return NFS4ERR_SERVERFAULT;
}

bool pack_access_point_id(std::string_view id, uint8_t out[9]) {
  if (id.size() != kApPrefix.size() + kApHexDigits || id.substr(0, kApPrefix.size()) != kApPrefix)
    return false;
  std::fill(out, out + 9, 0);
  for (std::size_t i = 0; i < kApHexDigits; ++i) {
    int v = hex_value(id[kApPrefix.size() + i]);
    if (v < 0) return false;
    out[i / 2] |= static_cast<uint8_t>(i % 2 == 0 ? v << 4 : v);
  }
  return true;
}

std::string unpack_access_point_id(std::span<const uint8_t, 9> in) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string id(kApPrefix);
  for (std::size_t i = 0; i < kApHexDigits; ++i) {
    uint8_t b = in[i / 2];
    id.push_back(digits[i % 2 == 0 ? b >> 4 : b & 0xf]);
  }
  return id;
}

CurrentFh Exports::pseudo_root() const {
  CurrentFh fh;
  fh.kind = FhKind::pseudo_root;
  fh.ino = kPseudoRootFileid;
  fh.export_root = kPseudoRootFileid;
  fh.wire = {static_cast<uint8_t>(FhKind::pseudo_root)};
  return fh;
}

std::string_view Exports::routed_fs(const rpc::CallContext& ctx,
                                    const efs::CatalogSnapshot& snap) const {
  std::string_view local = ctx.local_address;
  if (local.empty()) return {};
  // A dual-stack socket reports IPv4 peers as IPv4-mapped IPv6 addresses.
  if (local.starts_with("::ffff:") && local.find('.') != std::string_view::npos)
    local.remove_prefix(7);
  const auto* mt = snap.mount_target_at(local);
  return mt ? std::string_view(mt->fs_id) : std::string_view();
}

std::string Exports::routed_fs(const rpc::CallContext& ctx) const {
  auto snap = catalog_.snapshot();
  return std::string(routed_fs(ctx, *snap));
}

NResult<CurrentFh> Exports::root(const rpc::CallContext& ctx) {
  auto snap = catalog_.snapshot();
  // A TLS client certificate naming an access point (efs-utils' `-o
  // tls,accesspoint=fsap-...`, OID 1.3.6.1.4.1.4843.7.1) makes "/" that
  // access point's root, as a mount through /fsap-... would; tls/ checked
  // at the handshake that it belongs to the connection's file system.
  if (ctx.identity && !ctx.identity->access_point_id.empty()) {
    const auto* ap = snap->access_point(ctx.identity->access_point_id);
    if (!ap) return fail(NFS4ERR_STALE);  // deleted since the handshake
    return access_point_root(*snap, *ap);
  }
  // A mount target's address serves its file system at "/" (as EFS does).
  std::string_view fs_id = routed_fs(ctx, *snap);
  if (!fs_id.empty()) return fs_root(*snap, fs_id);
  return pseudo_root();
}

void Exports::fill_wire(CurrentFh& fh) {
  fh.wire.clear();
  fh.wire.push_back(static_cast<uint8_t>(fh.kind));
  if (fh.kind == FhKind::access_point) {
    uint8_t packed[9];
    pack_access_point_id(fh.access_point_id, packed);
    fh.wire.insert(fh.wire.end(), packed, packed + 9);
  }
  if (fh.fs) {
    // The export prefix is the vfs handle's binding: the signature covers the
    // whole nfs_fh4, so a handle cannot be moved to another export (from an
    // access point to the file system export, or to another access point).
    const std::vector<uint8_t> prefix = fh.wire;
    auto h = vfs_.make_handle(*fh.fs, fh.ino, prefix);
    fh.wire.insert(fh.wire.end(), h.begin(), h.end());
  }
}

NResult<CurrentFh> Exports::fs_root(const efs::CatalogSnapshot& snap, std::string_view fs_id) {
  const auto* exported = snap.file_system(fs_id);
  if (!exported) return fail(NFS4ERR_STALE);
  auto fs = vfs_.file_system(std::string(fs_id));
  if (!fs) return fail(NFS4ERR_STALE);
  CurrentFh fh;
  fh.kind = FhKind::file_system;
  fh.policy = exported->policy;
  fh.read_only = exported->read_only;
  fh.ino = fs->root();
  fh.export_root = fh.ino;
  fh.fs = std::move(fs);
  fill_wire(fh);
  return fh;
}

NResult<CurrentFh> Exports::access_point_root(const efs::CatalogSnapshot& snap,
                                              const efs::ExportedAccessPoint& ap) {
  const auto* exported = snap.file_system(ap.fs_id);
  if (!exported) return fail(NFS4ERR_STALE);
  auto fs = vfs_.file_system(ap.fs_id);
  if (!fs) return fail(NFS4ERR_STALE);
  vfs::Ino root = 0;
  {
    auto roots = ap_roots_.get();
    auto it = roots->find(ap.id);
    if (it != roots->end()) root = it->second;
  }
  if (root == 0) {
    // EFS creates a missing root directory on first mount when the access
    // point has CreationInfo; without it, the mount fails (ENOENT).
    auto r = fs->resolve_path(ap.root_path, ap.creation_info);
    if (!r) {
      spdlog::warn("nfs4: access point {} root {} unusable: {}", ap.id, ap.root_path,
                   static_cast<uint32_t>(r.error()));
      return fail(to_nfsstat(r.error()));
    }
    root = *r;
    // Copy-on-write: inserts happen once per access point, reads on every
    // PUTFH through one. A concurrent first mount resolves the same path.
    std::lock_guard lock(ap_roots_mu_);
    auto next = std::make_shared<ApRoots>(*ap_roots_.get());
    next->insert_or_assign(ap.id, root);
    ap_roots_.publish(std::move(next));
  }
  CurrentFh fh;
  fh.kind = FhKind::access_point;
  fh.ino = root;
  fh.export_root = root;
  fh.access_point_id = ap.id;
  fh.posix_user = ap.posix_user;
  fh.policy = exported->policy;
  fh.read_only = exported->read_only;
  fh.fs = std::move(fs);
  fill_wire(fh);
  return fh;
}

// Why a handle through an access point cannot name an inode outside its root:
//  - Every handle we issue through an access point is contained when issued:
//    LOOKUP refuses "." and ".." (check_component), READDIR lists no "." or
//    "..", OPEN/CREATE make children of the current directory, LOOKUPP at the
//    root stays there and elsewhere checks the parent is still under the root
//    (within_export), and LINK/RENAME cannot take an object from another
//    export (NFS4ERR_XDEV).
//  - Handles are signed (vfs file_handle.h): the MAC covers the kind byte, the
//    access point id and the inode, so a client cannot edit a number to reach
//    another inode or move a handle to another export. Checking ancestry here
//    instead would cost a query per path level on every PUTFH, the hottest op.
//  - What remains at decode time is cheap: the access point still exists, its
//    file system matches, and the inode is not the file system's root unless
//    that is the access point's root (the documented attack, refused even if
//    the key leaked).
// An object someone renames out of the root while a client holds its handle
// stays reachable by that handle (as with Linux nfsd's no_subtree_check), but
// LOOKUPP will not climb from it to the rest of the file system.
NResult<CurrentFh> Exports::from_wire(std::span<const uint8_t> bytes) {
  if (bytes.empty() || bytes.size() > NFS4_FHSIZE) return fail(NFS4ERR_BADHANDLE);
  auto kind = static_cast<FhKind>(bytes[0]);
  switch (kind) {
    case FhKind::pseudo_root:
      if (bytes.size() != 1) return fail(NFS4ERR_BADHANDLE);
      return pseudo_root();
    case FhKind::file_system:
    case FhKind::access_point:
      break;
    default:
      return fail(NFS4ERR_BADHANDLE);
  }
  CurrentFh fh;
  fh.kind = kind;
  const std::size_t prefix_size = kind == FhKind::access_point ? 10 : 1;
  if (bytes.size() <= prefix_size) return fail(NFS4ERR_BADHANDLE);
  std::span<const uint8_t> prefix = bytes.first(prefix_size);
  std::span<const uint8_t> rest = bytes.subspan(prefix_size);
  // The signature is checked first, before anything is looked up.
  auto r = vfs_.resolve_handle(rest, prefix);
  if (!r) {
    if (r.error() == vfs::Errc::badhandle)
      spdlog::info("nfs4: refusing a file handle that fails its signature or layout check");
    return fail(to_nfsstat(r.error()));
  }
  fh.fs = std::move(r->first);
  fh.ino = r->second;
  // One snapshot for the whole decode: the file system and access point
  // checks see the same catalog.
  auto snap = catalog_.snapshot();
  // A file system that is being deleted is gone for its clients already.
  const auto* exported = snap->file_system(fh.fs->id());
  if (!exported) return fail(NFS4ERR_STALE);
  // The policy of this snapshot: a changed policy applies from the next PUTFH.
  fh.policy = exported->policy;
  fh.read_only = exported->read_only;
  if (kind == FhKind::access_point) {
    fh.access_point_id = unpack_access_point_id(prefix.subspan<1, 9>());
    const auto* ap = snap->access_point(fh.access_point_id);
    if (!ap) return fail(NFS4ERR_STALE);
    if (ap->fs_id != fh.fs->id()) return fail(NFS4ERR_BADHANDLE);
    fh.posix_user = ap->posix_user;
    auto root = access_point_root(*snap, *ap);
    if (!root) return fail(root.error());
    fh.export_root = root->ino;
    if (fh.ino == fh.fs->root() && fh.export_root != fh.fs->root()) {
      spdlog::warn("nfs4: handle through {} names the file system root outside it",
                   fh.access_point_id);
      return fail(NFS4ERR_STALE);
    }
  } else {
    fh.export_root = fh.fs->root();
  }
  fh.wire.assign(bytes.begin(), bytes.end());
  return fh;
}

nfsstat4 Exports::within_export(const CurrentFh& exp, vfs::Ino dir) {
  if (exp.kind != FhKind::access_point || !exp.fs) return NFS4_OK;
  const vfs::Ino fs_root = exp.fs->root();
  if (exp.export_root == fs_root) return NFS4_OK;
  const vfs::Cred root_cred;  // the walk is the server's, not the caller's
  vfs::Ino cur = dir;
  // Directories have one parent each; a chain longer than this is a cycle.
  for (int depth = 0; depth < 4096; ++depth) {
    if (cur == exp.export_root) return NFS4_OK;
    if (cur == fs_root) break;
    auto p = exp.fs->lookup_parent(root_cred, cur);
    if (!p) return to_nfsstat(p.error());
    cur = p->ino;
  }
  spdlog::info("nfs4: directory {} is no longer under the root of {}", dir, exp.access_point_id);
  return NFS4ERR_STALE;
}

CurrentFh Exports::child(const CurrentFh& parent, vfs::Ino ino) {
  CurrentFh fh;
  fh.kind = parent.kind;
  fh.fs = parent.fs;
  fh.ino = ino;
  fh.export_root = parent.export_root;
  fh.access_point_id = parent.access_point_id;
  fh.posix_user = parent.posix_user;
  fh.policy = parent.policy;
  fh.read_only = parent.read_only;
  fill_wire(fh);
  return fh;
}

std::vector<Exports::Junction> Exports::junctions() {
  auto snap = catalog_.snapshot();
  std::vector<Junction> out;
  out.reserve(snap->file_systems().size() + snap->access_points().size());
  for (const auto& f : snap->file_systems()) {
    auto fh = fs_root(*snap, f.id);
    if (fh) out.push_back({f.id, std::move(*fh)});
  }
  for (const auto& ap : snap->access_points()) {
    auto fh = access_point_root(*snap, ap);
    if (fh) out.push_back({ap.id, std::move(*fh)});
  }
  // By name, as READDIR of the pseudo-root lists them (each list is sorted
  // already and "fs-" < "fsap-"; the sort keeps that true if ids change form).
  std::sort(out.begin(), out.end(),
            [](const Junction& a, const Junction& b) { return a.name < b.name; });
  return out;
}

NResult<CurrentFh> Exports::lookup_junction(std::string_view name) {
  auto snap = catalog_.snapshot();
  if (name.starts_with("fsap-")) {
    const auto* ap = snap->access_point(name);
    if (!ap) return fail(NFS4ERR_NOENT);
    return access_point_root(*snap, *ap);
  }
  if (name.starts_with("fs-")) {
    if (!snap->file_system(name)) return fail(NFS4ERR_NOENT);
    auto fh = fs_root(*snap, name);
    if (!fh) return fail(fh.error() == NFS4ERR_STALE ? NFS4ERR_NOENT : fh.error());
    return fh;
  }
  return fail(NFS4ERR_NOENT);
}

uint64_t Exports::pseudo_change() {
  auto snap = catalog_.snapshot();
  uint64_t h = 1;
  for (const auto& f : snap->file_systems()) h = h * 31 + stable_hash(f.id);
  for (const auto& ap : snap->access_points()) h = h * 31 + stable_hash(ap.id);
  return h;
}

std::pair<uint64_t, uint64_t> Exports::fsid(const CurrentFh& fh) {
  if (!fh.fs) return {0, 0};
  // An access point is its own export: a distinct fsid, so a client crossing
  // from the pseudo-root into it sees a mount point (RFC 7530 7.4).
  uint64_t minor = fh.kind == FhKind::access_point ? stable_hash(fh.access_point_id) | 1 : 0;
  // +1: the pseudo-root owns {0, 0}, and a vfs may number file systems from 0.
  return {fh.fs->fsid() + 1, minor};
}

uint64_t Exports::junction_fileid(std::string_view name) {
  // Distinct from the pseudo-root's own fileid (1).
  return (stable_hash(name) >> 1) | 2;
}

}  // namespace efs::nfs4
