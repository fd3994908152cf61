// READ, WRITE, COMMIT (RFC 7530 16.23, 16.36, 16.3; RFC 8881 18.22, 18.32, 18.3).
// READ hands the vfs buffer to the result without copying it; the only copy
// is into the reply record.
#include "nfs4/attrs.h"
#include "nfs4/export.h"
#include "nfs4/ops/fs_ops.h"
#include "nfs4/server.h"
#include "nfs4/state/state_manager.h"

namespace efs::nfs4 {

namespace {

// READ, WRITE and COMMIT need a regular file (RFC 8881 18.22.3: ISDIR for a
// directory; other types INVAL in 4.0, WRONG_TYPE in 4.1).
nfsstat4 need_regular(Compound& c) {
  if (!c.current.set()) return NFS4ERR_NOFILEHANDLE;
  if (c.current.is_pseudo()) return NFS4ERR_ISDIR;
  auto a = c.current.fs->getattr(c.current.ino);
  if (!a) return to_nfsstat(a.error());
  if (a->type == vfs::FileType::reg) return NFS4_OK;
  if (a->type == vfs::FileType::dir) return NFS4ERR_ISDIR;
  if (a->type == vfs::FileType::lnk && c.minorversion == 0) return NFS4ERR_INVAL;
  return c.minorversion >= 1 ? NFS4ERR_WRONG_TYPE : NFS4ERR_INVAL;
}

verifier4 write_verifier(Compound& c) {
  verifier4 v{};
  uint64_t x = c.server.vfs().write_verifier();
  for (int i = 7; i >= 0; --i, x >>= 8) v[i] = static_cast<uint8_t>(x);
  return v;
}

}  // namespace

nfsstat4 op_read(Compound& c, const READ4args& args, READ4res& res) {
  if (nfsstat4 st = need_regular(c); st != NFS4_OK) return res.status = st;
  auto& fs = *c.current.fs;
  nfsstat4 st = c.server.state().check_stateid(c, args.stateid, fs, c.current.ino, false);
  if (st != NFS4_OK) return res.status = st;
  uint32_t count = std::min<uint32_t>(args.count, kMaxReadWrite);
  auto r = fs.read(c.current.ino, args.offset, count);
  if (!r) return res.status = to_nfsstat(r.error());
  res.resok4.eof = r->eof;
  res.resok4.data = std::move(r->data);
  return res.status = NFS4_OK;
}

nfsstat4 op_write(Compound& c, const WRITE4args& args, WRITE4res& res) {
  return write_data(c, args.stateid, args.offset, args.stable, args.data, res);
}

nfsstat4 write_data(Compound& c, const stateid4& stateid, uint64_t offset, stable_how4 stable,
                    std::span<const uint8_t> data, WRITE4res& res) {
  if (nfsstat4 st = need_regular(c); st != NFS4_OK) return res.status = st;
  auto& fs = *c.current.fs;
  nfsstat4 st = c.server.state().check_stateid(c, stateid, fs, c.current.ino, true);
  if (st != NFS4_OK) return res.status = st;
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
  res.resok4.committed = static_cast<stable_how4>(r->committed);
  res.resok4.writeverf = write_verifier(c);
  return res.status = NFS4_OK;
}

nfsstat4 op_commit(Compound& c, const COMMIT4args& args, COMMIT4res& res) {
  if (nfsstat4 st = need_regular(c); st != NFS4_OK) return res.status = st;
  // RFC 8881 18.3.3: offset + count past 2^64 is invalid.
  if (args.count != 0 && args.offset > UINT64_MAX - args.count) return res.status = NFS4ERR_INVAL;
  auto r = c.current.fs->commit(c.current.ino);
  if (!r) return res.status = to_nfsstat(r.error());
  res.resok4.writeverf = write_verifier(c);
  return res.status = NFS4_OK;
}

}  // namespace efs::nfs4
