// READDIR (RFC 7530 16.24, RFC 8881 18.23) over a file system directory or
// the pseudo-root. Entries are fetched from the vfs in batches and encoded
// until maxcount (the whole READDIR4resok) or dircount (cookie + name bytes)
// is reached.
#include "common/log.h"
#include "nfs4/attrs.h"
#include "nfs4/export.h"
#include "nfs4/ops/fs_ops.h"
#include "nfs4/server.h"

namespace efs::nfs4 {

namespace {

std::size_t padded(std::size_t n) {
  return (n + 3) & ~std::size_t(3);
}

// Bytes of one encoded entry4 (value-follows flag, cookie, name, fattr4).
std::size_t entry_size(const std::string& name, const fattr4& attrs) {
  return 4 + 8 + 4 + padded(name.size()) + 4 + 4 * attrs.attrmask.size() + 4 +
         padded(attrs.attr_vals.size());
}

// The verifier of a directory's cookies: vfs cookies stay valid while the
// directory changes, so it only has to tell this directory incarnation from
// another; its creation time does (and survives restarts).
verifier4 dir_verifier(const vfs::Attr& dir) {
  verifier4 v{};
  uint64_t x = (static_cast<uint64_t>(dir.btime.sec) << 30) ^ dir.btime.nsec ^ (dir.ino << 1);
  if (x == 0) x = 1;
  for (int i = 7; i >= 0; --i, x >>= 8) v[i] = static_cast<uint8_t>(x);
  return v;
}

// READDIR4resok of an empty directory: cookieverf, a false "value follows"
// and eof.
constexpr std::size_t kEmptyReplyBytes = 8 + 4 + 4;

// Collects entries into the wire list while tracking the budgets.
class Listing {
 public:
  Listing(const READDIR4args& args) : args_(args) { used_ = kEmptyReplyBytes; }
  // False when the entry does not fit (the listing stops there).
  bool add(uint64_t cookie, const std::string& name, fattr4 attrs) {
    std::size_t size = entry_size(name, attrs);
    std::size_t dir_bytes = 8 + 4 + padded(name.size());
    if (used_ + size > args_.maxcount) return false;
    if (count_ > 0 && args_.dircount > 0 && dir_used_ + dir_bytes > args_.dircount) return false;
    auto e = std::make_unique<entry4>();
    e->cookie = cookie;
    e->name = name;
    e->attrs = std::move(attrs);
    entry4* raw = e.get();
    if (tail_)
      tail_->nextentry = std::move(e);
    else
      head_ = std::move(e);
    tail_ = raw;
    used_ += size;
    dir_used_ += dir_bytes;
    ++count_;
    return true;
  }
  std::size_t count() const { return count_; }
  std::unique_ptr<entry4> take() { return std::move(head_); }

 private:
  const READDIR4args& args_;
  std::unique_ptr<entry4> head_;
  entry4* tail_ = nullptr;
  std::size_t used_ = 0, dir_used_ = 0, count_ = 0;
};

// The checks that do not depend on the directory's contents.
nfsstat4 check_args(const READDIR4args& args) {
  if (args.cookie == 1 || args.cookie == 2) return NFS4ERR_BAD_COOKIE;
  // RFC 7530 16.24.4 / RFC 8881 18.23.3: write-only attributes cannot be read.
  if (asks_write_only(args.attr_request)) return NFS4ERR_INVAL;
  // RFC 7530 16.24.4 / RFC 8881 18.23.4: a maxcount that cannot hold even the
  // reply of an empty directory (verifier, "no entry" and eof: 16 bytes) is
  // TOOSMALL. A larger one that cannot hold the first entry is caught when
  // that entry does not fit.
  if (args.maxcount < kEmptyReplyBytes) return NFS4ERR_TOOSMALL;
  return NFS4_OK;
}

nfsstat4 readdir_pseudo(Compound& c, const READDIR4args& args, READDIR4res& res) {
  auto junctions = c.server.exports().junctions();
  Listing list(args);
  // Cookies 0-2 are reserved (RFC 7530 16.24.4); entry i gets cookie i + 3.
  std::size_t start = args.cookie == 0 ? 0 : args.cookie - 2;
  bool eof = true;
  for (std::size_t i = start; i < junctions.size(); ++i) {
    auto a = attr_of(c, junctions[i].fh);
    if (!a) continue;  // a file system going away: leave it out
    if (!list.add(i + 3, junctions[i].name,
                  encode_fattr(c, junctions[i].fh, *a, args.attr_request))) {
      eof = false;
      break;
    }
  }
  if (list.count() == 0 && !eof) return res.status = NFS4ERR_TOOSMALL;
  res.resok4.cookieverf = verifier4{};
  res.resok4.reply.entries = list.take();
  res.resok4.reply.eof = eof;
  return res.status = NFS4_OK;
}

}  // namespace

nfsstat4 op_readdir(Compound& c, const READDIR4args& args, READDIR4res& res) {
  if (!c.current.set()) return res.status = NFS4ERR_NOFILEHANDLE;
  if (c.current.is_pseudo()) {
    if (nfsstat4 st = check_args(args); st != NFS4_OK) return res.status = st;
    return readdir_pseudo(c, args, res);
  }

  auto& fs = *c.current.fs;
  auto dir = fs.getattr(c.current.ino);
  if (!dir) return res.status = to_nfsstat(dir.error());
  if (dir->type != vfs::FileType::dir) return res.status = NFS4ERR_NOTDIR;
  if (nfsstat4 st = check_args(args); st != NFS4_OK) return res.status = st;
  const verifier4 verf = dir_verifier(*dir);
  // RFC 7530 16.24.4: a non-zero cookie must come with this directory's verifier.
  if (args.cookie != 0 && args.cookieverf != verf) return res.status = NFS4ERR_NOT_SAME;

  const bool want_fh = bitmap_test(args.attr_request, A_filehandle);
  Listing list(args);
  uint64_t cookie = args.cookie;
  bool eof = false, full = false;
  // A small first batch keeps tiny maxcounts cheap; later ones are larger.
  uint32_t batch = std::clamp<uint32_t>(args.maxcount / 128, 8, 1024);
  while (!eof && !full) {
    auto r = fs.readdir(c.cred, c.current.ino, cookie, batch);
    if (!r) return res.status = to_nfsstat(r.error());
    for (auto& e : r->entries) {
      CurrentFh fh;
      if (want_fh) {
        fh = c.server.exports().child(c.current, e.attr.ino);
      } else {
        fh.kind = c.current.kind;
        fh.fs = c.current.fs;
        fh.ino = e.attr.ino;
        fh.export_root = c.current.export_root;
      }
      if (!list.add(e.cookie, e.name, encode_fattr(c, fh, e.attr, args.attr_request))) {
        full = true;
        break;
      }
      cookie = e.cookie;
    }
    if (!full) eof = r->eof;
    if (r->entries.empty() && !r->eof) break;  // defensive: no progress possible
  }
  if (list.count() == 0 && !eof) return res.status = NFS4ERR_TOOSMALL;
  res.resok4.cookieverf = verf;
  res.resok4.reply.entries = list.take();
  res.resok4.reply.eof = eof;
  return res.status = NFS4_OK;
}

}  // namespace efs::nfs4
