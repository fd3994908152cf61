// The Compound-aware stateid check that the file-system ops (READ, WRITE,
// SETATTR of size) call: the COMPOUND's view (4.1 current stateid, the
// caller's credentials) around StateManager::check_io_stateid.
#include "nfs4/compound.h"
#include "nfs4/export.h"
#include "nfs4/ops/fs_ops.h"
#include "nfs4/ops/state_convert.h"
#include "nfs4/server.h"
#include "nfs4/state/state_manager.h"

namespace efs::nfs4 {

nfsstat4 check_stateid(Compound& c, const stateid4& sid, const vfs::FileSystem& fs, uint64_t ino,
                       bool for_write) {
  stateid4 s;
  if (nfsstat4 st = state_convert::resolve(c, sid, &s); st != NFS4_OK) return st;
  if (is_anonymous(s) || is_read_bypass(s)) {
    // RFC 7530 9.1.4.3: I/O without an open still needs permission, which
    // OPEN would otherwise have checked. vfs read/write do not check.
    if (c.current.fs.get() == &fs) {
      uint32_t need = for_write ? vfs::kAccessModify : vfs::kAccessRead;
      auto g = c.current.fs->access(c.cred, ino, need);
      if (!g) return to_nfsstat(g.error());
      if (!(*g & need)) return NFS4ERR_ACCESS;
    }
    return NFS4_OK;
  }
  return c.server.state().check_io_stateid(s, FileKey{fs.fsid(), ino}, for_write, c.minorversion,
                                           c.client.get());
}

}  // namespace efs::nfs4
