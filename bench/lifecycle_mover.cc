// Does the lifecycle mover slow the data path? Sequential WRITE then READ of
// one file through the vfs (the layer every NFS READ/WRITE ends in), first
// with the mover idle, then while a second thread keeps moving other files
// between Standard and IA (the mover's real code path: copy, fsync, commit,
// switch, drop). Prints both throughputs, their ratio (target >= 0.9) and
// the mover's own MiB/s.
//
//   bench/lifecycle_mover [data dir (default: a temp dir)] [MiB per pass (256)]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/background.h"
#include "common/clock.h"
#include "common/disk.h"
#include "common/ids.h"
#include "meta/db.h"
#include "vfs/vfs.h"

using namespace efs;
using namespace efs::vfs;

namespace {

using Secs = std::chrono::duration<double>;

Ino make_file(FileSystem& fs, const std::string& name) {
  SetAttr sa;
  sa.mode = 0644;
  auto c = fs.create_file(Cred{}, fs.root(), name, CreateMode::guarded, sa);
  if (!c) std::abort();
  return c->attr.ino;
}

// MiB/s of writing then reading `mib` MiB in 1 MiB pieces (UNSTABLE + COMMIT
// as the Linux client does).
std::pair<double, double> seq(FileSystem& fs, Ino ino, int mib) {
  std::vector<uint8_t> buf(1 << 20, 0x5a);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < mib; ++i)
    if (!fs.write(ino, uint64_t(i) << 20, buf, Stability::unstable)) std::abort();
  if (!fs.commit(ino)) std::abort();
  auto t1 = std::chrono::steady_clock::now();
  for (int i = 0; i < mib; ++i)
    if (!fs.read(ino, uint64_t(i) << 20, 1 << 20)) std::abort();
  auto t2 = std::chrono::steady_clock::now();
  return {mib / Secs(t1 - t0).count(), mib / Secs(t2 - t1).count()};
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir =
      argc > 1 ? argv[1]
               : (std::filesystem::temp_directory_path() / ("efs-mover-bench-" + random_hex(8)))
                     .string();
  const int mib = argc > 2 ? std::stoi(argv[2]) : 256;
  std::filesystem::create_directories(dir);
  auto db = meta::Db::open(dir + "/meta.db");
  if (!db) return 1;
  Clock clock;
  auto vfs = Vfs::open(**db, dir, clock, host_disk());
  if (!vfs) return 1;
  const std::string id = "fs-0123456789abcdef0";
  if (!(*vfs)->create_file_system(id)) return 1;
  auto fs = (*vfs)->file_system(id);

  // The mover's work: 16 files of 8 MiB, moved to IA and back again.
  std::vector<Ino> cold;
  std::vector<uint8_t> chunk(1 << 20, 0xc3);
  for (int i = 0; i < 16; ++i) {
    Ino ino = make_file(*fs, "cold" + std::to_string(i));
    for (int m = 0; m < 8; ++m)
      (void)fs->write(ino, uint64_t(m) << 20, chunk, Stability::file_sync);
    cold.push_back(ino);
  }
  Ino hot = make_file(*fs, "hot");
  (void)seq(*fs, hot, mib);  // warm the page cache and the allocator
  auto idle = seq(*fs, hot, mib);

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> moved_bytes{0};
  double mover_secs = 0;
  std::thread mover([&] {
    become_background_thread("bench mover");  // as the server's mover thread runs
    LifecyclePolicy p;
    p.ia_days = 1;
    auto t0 = std::chrono::steady_clock::now();
    while (!stop) {
      clock.advance(std::chrono::hours(48));
      auto out = fs->run_lifecycle(p, false);  // cold files to IA
      if (out)
        for (auto& m : *out) moved_bytes += m.bytes;
      // A write of one byte of each brings it back (a recall).
      for (Ino ino : cold)
        (void)fs->write(ino, 0, std::span<const uint8_t>(chunk.data(), 1), Stability::file_sync);
      auto back = fs->run_lifecycle(p, true);
      if (back)
        for (auto& m : *back) moved_bytes += m.bytes;
    }
    mover_secs = Secs(std::chrono::steady_clock::now() - t0).count();
  });
  auto busy = seq(*fs, hot, mib);
  stop = true;
  mover.join();
  std::printf("sequential write: idle mover %.0f MiB/s, mover running %.0f MiB/s, ratio %.2f\n",
              idle.first, busy.first, busy.first / idle.first);
  std::printf("sequential read:  idle mover %.0f MiB/s, mover running %.0f MiB/s, ratio %.2f\n",
              idle.second, busy.second, busy.second / idle.second);
  std::printf("mover: %.0f MiB moved in %.2f s (%.0f MiB/s)\n", moved_bytes / 1048576.0, mover_secs,
              moved_bytes / 1048576.0 / mover_secs);
  fs.reset();
  vfs->reset();
  db->reset();
  if (argc <= 1) std::filesystem::remove_all(dir);
  return 0;
}
