#include <cmath>
#include <random>

#include "figures.h"
#include "xdr/xdr.h"

namespace nfsbench {

using efs::xdr::Reader;
using efs::xdr::Writer;
using namespace x;

namespace {

std::string file_name(uint64_t i) { return cat("f", i); }

// Creates f0..f(n-1) in dir, 16 at a time: the untimed preparation of the
// rename and remove figures.
void populate(Session& s, const nfs_fh4& dir, uint64_t n) {
  pipeline(
      s, n, 16, [&](uint64_t i) { return open_ops(s, dir, file_name(i), true, true); },
      [](uint64_t, const COMPOUND4res&) {});
}

// Dies unless LOOKUP of name in dir answers `want`.
void expect_lookup(Session& s, const nfs_fh4& dir, const std::string& name, nfsstat4 want) {
  COMPOUND4args c;
  c.argarray.push_back(putfh(dir));
  c.argarray.push_back(lookup(name));
  auto r = s.try_run(std::move(c));
  if (r.status != want)
    die(cat("LOOKUP ", name, " answered ", to_string(r.status), ", expected ", to_string(want)));
}

}  // namespace

Figures creates(Session& s, CpuMeter& m, const nfs_fh4& dir, uint64_t n, uint32_t qd) {
  Figures fig;
  auto t0 = begin_timed(m);
  pipeline(
      s, n, qd, [&](uint64_t i) { return open_ops(s, dir, file_name(i), true, true); },
      [](uint64_t, const COMPOUND4res&) {});
  end_timed(m, t0, fig);
  expect_lookup(s, dir, file_name(n - 1), NFS4_OK);
  fig.ops = n;
  return fig;
}

Figures stats(Session& s, CpuMeter& m, const nfs_fh4& dir, uint64_t n, uint32_t qd) {
  Figures fig;
  auto t0 = begin_timed(m);
  pipeline(
      s, n, qd,
      [&](uint64_t i) {
        COMPOUND4args c;
        c.argarray.push_back(putfh(dir));
        c.argarray.push_back(lookup(file_name(i)));
        c.argarray.push_back(getattr(kStatAttrs));
        return c;
      },
      [](uint64_t, const COMPOUND4res& r) {
        if (r.resarray.at(3).opgetattr.resok4.obj_attributes.attr_vals.empty()) die("GETATTR returned no attributes");
      });
  end_timed(m, t0, fig);
  fig.ops = n;
  return fig;
}

Figures readdir_walk(Session& s, CpuMeter& m, const nfs_fh4& dir, uint64_t expect) {
  uint64_t cookie = 0, entries = 0, calls = 0;
  verifier4 verf{};
  Figures fig;
  auto t0 = begin_timed(m);
  for (;;) {
    COMPOUND4args c;
    c.argarray.push_back(putfh(dir));
    auto o = op(OP_READDIR);
    o.opreaddir.cookie = cookie;
    o.opreaddir.cookieverf = verf;
    o.opreaddir.dircount = 65536;
    o.opreaddir.maxcount = 262144;
    o.opreaddir.attr_request = kStatAttrs;
    c.argarray.push_back(std::move(o));
    auto r = s.run(std::move(c));
    ++calls;
    auto& ok = r.resarray.at(2).opreaddir.resok4;
    verf = ok.cookieverf;
    for (const entry4* e = ok.reply.entries.get(); e; e = e->nextentry.get()) {
      cookie = e->cookie;
      ++entries;
    }
    if (ok.reply.eof) break;
  }
  end_timed(m, t0, fig);
  if (entries != expect)
    die(cat("readdir saw ", entries, " entries, expected ", expect));
  fig.ops = entries;
  fig.bytes = calls;  // READDIR calls, for the record
  return fig;
}

Figures renames(Session& s, CpuMeter& m, const nfs_fh4& parent, uint64_t n, uint32_t qd) {
  nfs_fh4 dir = mkdir(s, parent, unique_name("rename"));
  populate(s, dir, n);
  Figures fig;
  auto t0 = begin_timed(m);
  pipeline(
      s, n, qd,
      [&](uint64_t i) {
        // RFC 8881 18.26: the saved filehandle is the source directory.
        COMPOUND4args c;
        c.argarray.push_back(putfh(dir));
        c.argarray.push_back(op(OP_SAVEFH));
        c.argarray.push_back(putfh(dir));
        auto o = op(OP_RENAME);
        o.oprename.oldname = file_name(i);
        o.oprename.newname = cat("g", i);
        c.argarray.push_back(std::move(o));
        return c;
      },
      [](uint64_t, const COMPOUND4res&) {});
  end_timed(m, t0, fig);
  expect_lookup(s, dir, file_name(n - 1), NFS4ERR_NOENT);
  expect_lookup(s, dir, cat("g", n - 1), NFS4_OK);
  fig.ops = n;
  return fig;
}

Figures removes(Session& s, CpuMeter& m, const nfs_fh4& parent, uint64_t n, uint32_t qd) {
  nfs_fh4 dir = mkdir(s, parent, unique_name("remove"));
  populate(s, dir, n);
  Figures fig;
  auto t0 = begin_timed(m);
  pipeline(
      s, n, qd,
      [&](uint64_t i) {
        COMPOUND4args c;
        c.argarray.push_back(putfh(dir));
        auto o = op(OP_REMOVE);
        o.opremove.target = file_name(i);
        c.argarray.push_back(std::move(o));
        return c;
      },
      [](uint64_t, const COMPOUND4res&) {});
  end_timed(m, t0, fig);
  expect_lookup(s, dir, file_name(0), NFS4ERR_NOENT);
  expect_lookup(s, dir, file_name(n - 1), NFS4ERR_NOENT);
  fig.ops = n;
  return fig;
}

// What unpacking an archive sends from a Linux client, per file: OPEN
// (create) + GETFH; one WRITE of the whole file, FILE_SYNC4 as the client's
// flush-on-close does for a single WRITE; SETATTR of mode and both times, as
// tar restores them; CLOSE. A directory (CREATE) every 16 files. Sizes are
// log-uniform in 1-64 KiB from a fixed seed, the same on every run.
Figures untar(Session& s, CpuMeter& m, const nfs_fh4& parent, uint64_t files) {
  constexpr uint64_t kFilesPerDir = 16;
  nfs_fh4 root = mkdir(s, parent, unique_name("untar"));
  std::mt19937_64 rng(1234);
  std::uniform_real_distribution<double> octaves(0.0, 6.0);
  std::vector<uint32_t> sizes(files);
  for (auto& sz : sizes) sz = static_cast<uint32_t>(std::lround(1024.0 * std::exp2(octaves(rng))));
  const auto& data = pattern();
  const bitmap4 set_bits = attr_bits({33, 48, 54});  // mode, time_access_set, time_modify_set
  nfs_fh4 dir;
  OpenFile f;
  Figures fig;
  auto t0 = begin_timed(m);
  for (uint64_t i = 0; i < files; ++i) {
    if (i % kFilesPerDir == 0) dir = mkdir(s, root, cat("d", i / kFilesPerDir));
    f = open_file(s, dir, file_name(i), true);

    COMPOUND4args w;
    w.argarray.push_back(putfh(f.fh));
    auto wo = op(OP_WRITE);
    wo.opwrite.stateid = f.stateid;
    wo.opwrite.offset = 0;
    wo.opwrite.stable = FILE_SYNC4;
    wo.opwrite.data.assign(data.begin(), data.begin() + sizes[i]);
    w.argarray.push_back(std::move(wo));
    auto wr = s.run(std::move(w));
    if (wr.resarray.at(2).opwrite.resok4.count != sizes[i]) die("short write");

    COMPOUND4args sa;
    sa.argarray.push_back(putfh(f.fh));
    auto so = op(OP_SETATTR);
    so.opsetattr.stateid = f.stateid;
    so.opsetattr.obj_attributes.attrmask = set_bits;
    Writer v(&so.opsetattr.obj_attributes.attr_vals);
    v.u32(0640);
    for (int t = 0; t < 2; ++t) {
      v.u32(SET_TO_CLIENT_TIME4);
      v.i64(1700000000 + static_cast<int64_t>(i));
      v.u32(0);
    }
    sa.argarray.push_back(std::move(so));
    s.run(std::move(sa));

    close_file(s, f);
    fig.bytes += sizes[i];
  }
  end_timed(m, t0, fig);
  fig.ops = files;

  // The last file holds what was written, with the mode set.
  if (files > 0) {
    COMPOUND4args g;
    g.argarray.push_back(putfh(f.fh));
    g.argarray.push_back(getattr(attr_bits({4, 33})));
    auto gr = s.run(std::move(g));
    Reader r(gr.resarray.at(2).opgetattr.resok4.obj_attributes.attr_vals);
    uint64_t size = r.u64();
    uint32_t mode = r.u32();
    if (size != sizes[files - 1] || (mode & 07777) != 0640)
      die(cat("untar: last file has size ", size, " mode ", mode));
    OpenFile rf = open_file(s, dir, file_name(files - 1), false);
    COMPOUND4args rd;
    rd.argarray.push_back(putfh(rf.fh));
    auto ro = op(OP_READ);
    ro.opread.stateid = rf.stateid;
    ro.opread.count = sizes[files - 1];
    rd.argarray.push_back(std::move(ro));
    auto rr = s.run(std::move(rd));
    const auto& got = rr.resarray.at(2).opread.resok4.data;
    if (got.size() != sizes[files - 1]) die("untar: short read of the last file");
    check_pattern(0, got);
    close_file(s, rf);
  }
  return fig;
}

}  // namespace nfsbench
