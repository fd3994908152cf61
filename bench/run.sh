#!/usr/bin/env bash
# Benchmarks efs-local against nfs-ganesha on this machine, same client
# (bench/nfsbench, NFSv4.1), same disk, in one run (bench/drive.py): for each
# figure the servers take turns in ABBA order, REPS repetitions after a
# warm-up, each measurement after a quiet-machine gate and repeated when
# something else ran during it. Prints, per figure, each server's median and
# min–max, the ratio efs-local / ganesha, "noise" where the spreads overlap,
# and each server's CPU per GiB or per 1000 operations. Method and knobs:
# docs/benchmark.md.
#
#   bash bench/run.sh                 full run (1 GiB files, 10,000 files, 5 repetitions)
#   SIZE_MIB=256 COUNT=2000 REPS=1 bash bench/run.sh   a quick look (no quiet gate)
#   BENCH_JSON=runs.jsonl PERF=1 bash bench/run.sh     raw runs as JSON lines; perf profile of efs-local
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export BENCH_DIR=${BENCH_DIR:-$root/build/bench-work}
rm -rf "$BENCH_DIR"; mkdir -p "$BENCH_DIR"

bash tools/install-deps.sh --test >/dev/null
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build efs-local bench/nfsbench >/dev/null
exec python3 bench/drive.py
