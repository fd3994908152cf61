// READ, WRITE, COMMIT (RFC 7530 16.23, 16.36, 16.3; RFC 8881 18.22, 18.32, 18.3).
// READ hands the vfs buffer to the result without copying it; the only copy
// is into the reply record.
#include <algorithm>

#include "common/log.h"
#include "nfs4/attrs.h"
#include "nfs4/export.h"
#include "nfs4/ops/fs_ops.h"
#include "nfs4/ops/state_convert.h"
#include "nfs4/server.h"
#include "nfs4/state/state_manager.h"

namespace efs::nfs4 {

namespace {

// READ, WRITE and COMMIT need a regular file. RFC 7530 16.23.5 / 16.36.5:
// ISDIR for a directory, INVAL otherwise. RFC 8881 18.22.3 / 18.32.3: ISDIR,
// SYMLINK for a symbolic link, WRONG_TYPE otherwise. The file's attributes
// come back in *attr for the permission check (no second inode read).
nfsstat4 need_regular(Compound& c, vfs::Attr* attr) {
  if (!c.current.set()) return NFS4ERR_NOFILEHANDLE;
  if (c.current.is_pseudo()) return NFS4ERR_ISDIR;
  auto a = c.current.fs->getattr(c.current.ino);
  if (!a) return to_nfsstat(a.error());
  if (a->type == vfs::FileType::reg) {
    if (attr) *attr = std::move(*a);
    return NFS4_OK;
  }
  if (a->type == vfs::FileType::dir) return NFS4ERR_ISDIR;
  if (c.minorversion == 0) return NFS4ERR_INVAL;
  return a->type == vfs::FileType::lnk ? NFS4ERR_SYMLINK : NFS4ERR_WRONG_TYPE;
}

// The permission bits (rwx, 4/2/1) that apply to cred on a file.
uint32_t mode_class(const vfs::Cred& cred, const vfs::Attr& a) {
  if (cred.uid == a.uid) return (a.mode >> 6) & 7;
  bool in_group =
      cred.gid == a.gid || std::find(cred.gids.begin(), cred.gids.end(), a.gid) != cred.gids.end();
  return in_group ? (a.mode >> 3) & 7 : a.mode & 7;
}

// The caller's credentials against the file for I/O under an open or lock
// stateid. A stateid proves an OPEN, not that this caller may use it: a user
// holding someone else's stateid to a 0600 file gets ACCESS (one of READ's
// and WRITE's errors, RFC 7530 16.23 / 16.36; pynfs RD12). As Linux nfsd
// does (nfs4_check_file with NFSD_MAY_OWNER_OVERRIDE), the file's owner
// passes whatever the mode says, since OPEN already checked it and a client
// may fchmod an open file to 0; READ is also allowed with only execute
// permission, so a client can page in a mode-0111 binary. Root passes (EFS
// does not squash root unless a file system policy says so).
nfsstat4 check_io_cred(const Compound& c, const vfs::Attr& a, bool for_write) {
  const vfs::Cred& cred = c.cred;
  if (cred.uid == 0 || cred.uid == a.uid) return NFS4_OK;
  uint32_t bits = mode_class(cred, a);
  bool ok = for_write ? (bits & 2) != 0 : (bits & 5) != 0;
  if (ok) return NFS4_OK;
  spdlog::debug("nfs4: {} of inode {} by uid {} refused: mode {:o} owner {}:{}",
                for_write ? "WRITE" : "READ", a.ino, cred.uid, a.mode, a.uid, a.gid);
  return NFS4ERR_ACCESS;
}

// The anonymous and READ-bypass stateids are checked against the mode by
// StateManager::check_stateid itself (no open to lean on), without the owner
// override; every other stateid gets check_io_cred.
bool special_stateid(const Compound& c, const stateid4& sid) {
  stateid4 s;
  if (state_convert::resolve(c, sid, &s) != NFS4_OK) return false;
  return is_anonymous(s) || is_read_bypass(s);
}

verifier4 write_verifier(Compound& c) {
  verifier4 v{};
  uint64_t x = c.server.vfs().write_verifier();
  for (int i = 7; i >= 0; --i, x >>= 8) v[i] = static_cast<uint8_t>(x);
  return v;
}

}  // namespace

nfsstat4 read_data(Compound& c, const READ4args& args, xdr::Writer& w) {
  auto refuse = [&](nfsstat4 st) {
    w.u32(st);  // READ4res's void arm
    return st;
  };
  vfs::Attr file;
  if (nfsstat4 st = need_regular(c, &file); st != NFS4_OK) return refuse(st);
  auto& fs = *c.current.fs;
  nfsstat4 st = check_stateid(c, args.stateid, fs, c.current.ino, false);
  if (st != NFS4_OK) return refuse(st);
  if (!special_stateid(c, args.stateid)) {
    if (nfsstat4 cst = check_io_cred(c, file, false); cst != NFS4_OK) return refuse(cst);
  }
  // Room for what the file holds past offset, by the size just read; a file
  // that grows meanwhile gives a short READ (RFC 8881 18.22.3 allows one),
  // except that a READ at the old end gets the full count's room, since
  // zero bytes without eof would tell the client nothing.
  uint32_t count = std::min<uint32_t>(args.count, kMaxReadWrite);
  uint64_t room = args.offset < file.size ? std::min<uint64_t>(count, file.size - args.offset) : 0;

  // READ4resok by hand: status, eof, then the data's length and bytes, read
  // straight into the reply record (no copy from a separate buffer).
  std::vector<uint8_t>& out = w.buffer();
  const std::size_t start = out.size();
  w.u32(NFS4_OK);
  const std::size_t eof_at = w.reserve_u32();
  const std::size_t len_at = w.reserve_u32();
  const std::size_t data_at = out.size();
  vfs::VResult<vfs::ReadInto> r = vfs::ReadInto{};
  for (;;) {
    // Spare room for the padding and for any ops after READ in the
    // compound, so that they do not move the data again.
    out.reserve(data_at + room + 512);
    out.resize(data_at + room);
    r = fs.read_into(c.current.ino, args.offset,
                     std::span<uint8_t>(out.data() + data_at, static_cast<std::size_t>(room)));
    if (!r || r->count > 0 || r->eof || room == count) break;
    room = count;
  }
  if (!r) {
    out.resize(start);
    return refuse(to_nfsstat(r.error()));
  }
  out.resize(data_at + ((r->count + 3u) & ~std::size_t(3)));  // XDR pads to 4 with zeros
  std::fill(out.begin() + static_cast<std::ptrdiff_t>(data_at + r->count), out.end(), uint8_t(0));
  w.patch_u32(eof_at, r->eof ? 1u : 0u);
  w.patch_u32(len_at, r->count);
  c.io.add_read(r->count);  // throughput metering (compound.h)
  return NFS4_OK;
}

nfsstat4 op_write(Compound& c, const WRITE4args& args, WRITE4res& res) {
  return write_data(c, args.stateid, args.offset, args.stable, args.data, res);
}

nfsstat4 write_data(Compound& c, const stateid4& stateid, uint64_t offset, stable_how4 stable,
                    std::span<const uint8_t> data, WRITE4res& res) {
  vfs::Attr file;
  if (nfsstat4 st = need_regular(c, &file); st != NFS4_OK) return res.status = st;
  auto& fs = *c.current.fs;
  nfsstat4 st = check_stateid(c, stateid, fs, c.current.ino, true);
  if (st != NFS4_OK) return res.status = st;
  if (!special_stateid(c, stateid)) {
    if (nfsstat4 cst = check_io_cred(c, file, true); cst != NFS4_OK) return res.status = cst;
  }
  // EFS's maximum file size (RFC 8881 18.32.3: FBIG past the server's limit).
  if (offset > vfs::kMaxFileSize || data.size() > vfs::kMaxFileSize - offset)
    return res.status = NFS4ERR_FBIG;
  vfs::Stability how;
  switch (stable) {
    case UNSTABLE4:
      how = vfs::Stability::unstable;
      break;
    case DATA_SYNC4:
      how = vfs::Stability::data_sync;
      break;
    case FILE_SYNC4:
      how = vfs::Stability::file_sync;
      break;
    default:
      return res.status = NFS4ERR_INVAL;
  }
  auto r = fs.write(c.current.ino, offset, data, how, c.cred.uid);
  if (!r) return res.status = to_nfsstat(r.error());
  res.resok4.count = r->count;
  c.io.add_write(r->count);  // throughput metering (compound.h)
  res.resok4.committed = static_cast<stable_how4>(r->committed);
  res.resok4.writeverf = write_verifier(c);
  return res.status = NFS4_OK;
}

nfsstat4 op_commit(Compound& c, const COMMIT4args& args, COMMIT4res& res) {
  if (nfsstat4 st = need_regular(c, nullptr); st != NFS4_OK) return res.status = st;
  // RFC 8881 18.3.3: offset + count past 2^64 is invalid.
  if (args.count != 0 && args.offset > UINT64_MAX - args.count) return res.status = NFS4ERR_INVAL;
  auto r = c.current.fs->commit(c.current.ino);
  if (!r) return res.status = to_nfsstat(r.error());
  res.resok4.writeverf = write_verifier(c);
  return res.status = NFS4_OK;
}

}  // namespace efs::nfs4
