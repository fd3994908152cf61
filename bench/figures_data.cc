#include "figures.h"

#include <random>

namespace nfsbench {

using namespace x;

Figures seq_write(Session& s, CpuMeter& m, const nfs_fh4& dir, uint64_t size, uint32_t qd) {
  OpenFile f = open_file(s, dir, kBigFile, true);
  const std::vector<uint8_t>& block = pattern();
  uint64_t n = size / kMiB;
  Figures fig;
  auto t0 = begin_timed(m);
  pipeline(
      s, n, qd,
      [&](uint64_t i) {
        COMPOUND4args c;
        c.argarray.push_back(putfh(f.fh));
        auto w = op(OP_WRITE);
        w.opwrite.stateid = f.stateid;
        w.opwrite.offset = i * kMiB;
        w.opwrite.stable = UNSTABLE4;
        w.opwrite.data = block;
        c.argarray.push_back(std::move(w));
        return c;
      },
      [&](uint64_t, const COMPOUND4res& r) {
        if (r.resarray.at(2).opwrite.resok4.count != kMiB) die("short write");
      });
  COMPOUND4args cm;
  cm.argarray.push_back(putfh(f.fh));
  cm.argarray.push_back(op(OP_COMMIT));
  s.run(std::move(cm));
  end_timed(m, t0, fig);
  close_file(s, f);
  fig.ops = n;
  fig.bytes = n * kMiB;
  return fig;
}

Figures reads(Session& s, CpuMeter& m, const nfs_fh4& dir, uint64_t size, uint32_t len, uint64_t count,
              bool random, uint32_t qd) {
  OpenFile f = open_file(s, dir, kBigFile, false);
  std::mt19937_64 rng(7);
  uint64_t blocks = size / len;
  if (blocks == 0) die("--size-mib is smaller than one read");
  std::vector<uint64_t> offsets(count);
  for (uint64_t i = 0; i < count; ++i) offsets[i] = (random ? rng() % blocks : i % blocks) * len;
  Figures fig;
  auto t0 = begin_timed(m);
  pipeline(
      s, count, qd,
      [&](uint64_t i) {
        COMPOUND4args c;
        c.argarray.push_back(putfh(f.fh));
        auto r = op(OP_READ);
        r.opread.stateid = f.stateid;
        r.opread.offset = offsets[i];
        r.opread.count = len;
        c.argarray.push_back(std::move(r));
        return c;
      },
      [&](uint64_t i, const COMPOUND4res& r) {
        const auto& data = r.resarray.at(2).opread.resok4.data;
        if (data.size() != len) die("short read (is the file written? run seqwrite first)");
        check_pattern(offsets[i], data);
      });
  end_timed(m, t0, fig);
  close_file(s, f);
  fig.ops = count;
  fig.bytes = count * len;
  return fig;
}

}  // namespace nfsbench
