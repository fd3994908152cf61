#include <atomic>
#include <latch>
#include <memory>
#include <random>
#include <thread>

#include "figures.h"

namespace nfsbench {

using namespace x;

namespace {

// Runs `clients` threads, each with its own connection and one-slot session:
// state = prepare(k, session, dir), then `per_client` operations
// work(k, session, dir, state, i), then finish(session, state). The timed
// phase starts once every session is prepared and ends when the last
// operation is done.
template <class Prepare, class Work, class Finish>
Figures run_clients(const Target& t, CpuMeter& m, uint64_t count, uint32_t clients, Prepare prepare,
                    Work work, Finish finish) {
  if (clients == 0) die("--clients must be at least 1");
  uint64_t per_client = count / clients;
  if (per_client == 0) die("--count is smaller than --clients");
  std::vector<std::vector<double>> lat(clients);
  std::latch ready(clients + 1), go(1), finished(clients);
  std::vector<std::thread> threads;
  for (uint32_t k = 0; k < clients; ++k) {
    threads.emplace_back([&, k] {
      RpcConn conn(t.host, t.port);
      Session s(conn, 1);
      nfs_fh4 dir = resolve(s, t.dir_path);
      auto state = prepare(k, s, dir);
      lat[k].reserve(per_client);
      ready.count_down();
      go.wait();
      for (uint64_t i = 0; i < per_client; ++i) {
        auto a = Clock::now();
        work(k, s, dir, state, i);
        lat[k].push_back(std::chrono::duration<double>(Clock::now() - a).count());
      }
      finished.count_down();
      // Files are closed and sessions torn down after the clock stops.
      finished.wait();
      finish(s, state);
    });
  }
  ready.arrive_and_wait();
  Figures fig;
  auto t0 = begin_timed(m);
  go.count_down();
  finished.wait();
  end_timed(m, t0, fig);
  for (auto& th : threads) th.join();
  for (auto& l : lat) fig.latency_s.insert(fig.latency_s.end(), l.begin(), l.end());
  fig.ops = per_client * clients;
  return fig;
}

}  // namespace

Figures clients_randread(const Target& t, CpuMeter& m, uint64_t size, uint64_t count, uint32_t clients) {
  constexpr uint32_t kLen = 4096;
  uint64_t blocks = size / kLen;
  if (blocks == 0) die("--size-mib is smaller than one read");
  struct State {
    OpenFile f;
    std::mt19937_64 rng;
    std::vector<uint64_t> offsets;
  };
  auto fig = run_clients(
      t, m, count, clients,
      [&](uint32_t k, Session& s, const nfs_fh4& dir) {
        auto st = std::make_shared<State>();
        st->f = open_file(s, dir, kBigFile, false);
        st->rng.seed(7 + k);
        return st;
      },
      [&](uint32_t, Session& s, const nfs_fh4&, std::shared_ptr<State>& st, uint64_t) {
        uint64_t off = (st->rng() % blocks) * kLen;
        COMPOUND4args c;
        c.argarray.push_back(putfh(st->f.fh));
        auto r = op(OP_READ);
        r.opread.stateid = st->f.stateid;
        r.opread.offset = off;
        r.opread.count = kLen;
        c.argarray.push_back(std::move(r));
        auto res = s.run(std::move(c));
        const auto& data = res.resarray.at(2).opread.resok4.data;
        if (data.size() != kLen) die("short read (is the file written? run seqwrite first)");
        check_pattern(off, data);
      },
      [](Session& s, std::shared_ptr<State>& st) { close_file(s, st->f); });
  fig.bytes = fig.ops * kLen;
  return fig;
}

Figures clients_create(const Target& t, Session& s, CpuMeter& m, uint64_t count, uint32_t clients) {
  // One fresh directory all clients create in, as many users of one share do.
  std::string name = unique_name("clients-create");
  nfs_fh4 parent = resolve(s, t.dir_path);
  mkdir(s, parent, name);
  Target in = t;
  in.dir_path = cat(in.dir_path, "/", name);
  auto fig = run_clients(
      in, m, count, clients, [](uint32_t, Session&, const nfs_fh4&) { return 0; },
      [&](uint32_t k, Session& cs, const nfs_fh4& dir, int&, uint64_t i) {
        cs.run(open_ops(cs, dir, cat("c", k, "-", i), true, true));
      },
      [](Session&, int&) {});
  // Every client's last file is there.
  nfs_fh4 dir = resolve(s, in.dir_path);
  uint64_t per_client = count / clients;
  for (uint32_t k = 0; k < clients; ++k) {
    COMPOUND4args c;
    c.argarray.push_back(putfh(dir));
    c.argarray.push_back(lookup(cat("c", k, "-", per_client - 1)));
    s.run(std::move(c));
  }
  return fig;
}

}  // namespace nfsbench
