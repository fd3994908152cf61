#!/usr/bin/env bash
# Benchmarks efs-local against nfs-ganesha on this machine, same client
# (bench/nfsbench, NFSv4.1), same disk, in one run: the two servers take turns
# for each figure, 3 repetitions after a warm-up, medians and the ratio
# efs-local / ganesha. Also each server's CPU seconds (utime+stime from
# /proc/PID/stat) per figure, and the raw disk's sequential write speed.
#
#   bash bench/run.sh                 full run (1 GiB files, 10,000 files)
#   SIZE_MIB=256 COUNT=2000 REPS=1 bash bench/run.sh   a quick look
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
SIZE_MIB=${SIZE_MIB:-1024}
COUNT=${COUNT:-10000}
REPS=${REPS:-3}
RANDREADS=${RANDREADS:-20000}
DD_MIB=${DD_MIB:-1024}
work=${BENCH_DIR:-$root/build/bench-work}
rm -rf "$work"; mkdir -p "$work"

bash tools/install-deps.sh --test >/dev/null
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build efs-local bench/nfsbench >/dev/null
bench=$root/build/bench/nfsbench

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- efs-local ---
E_API=$(free_port); E_NFS=$(free_port)
build/efs-local serve --data-dir "$work/efs-data" --api-port "$E_API" --nfs-port "$E_NFS" \
  --state-delay 0 --log-level warn > "$work/efs.log" 2>&1 &
E_PID=$!
# --- nfs-ganesha: NFSv4.1, VFS FSAL, exporting a directory on the same disk ---
G_NFS=$(free_port)
mkdir -p "$work/ganesha/export" "$work/ganesha/recovery"
cat > "$work/ganesha/ganesha.conf" <<CONF
NFS_CORE_PARAM { NFS_Port = $G_NFS; Bind_addr = 127.0.0.1; Protocols = 4;
                 Enable_NLM = false; Enable_RQUOTA = false; Enable_UDP = false; }
NFSv4 { Graceless = true; RecoveryBackend = fs; RecoveryRoot = "$work/ganesha/recovery";
        Only_Numeric_Owners = true; Minor_Versions = 1; }
NFS_KRB5 { Active_krb5 = false; }
EXPORT { Export_Id = 1; Path = "$work/ganesha/export"; Pseudo = /export; Access_Type = RW;
         Squash = No_Root_Squash; SecType = sys; Protocols = 4; Transports = TCP;
         FSAL { Name = VFS; } }
CONF
ganesha.nfsd -F -f "$work/ganesha/ganesha.conf" -L "$work/ganesha/ganesha.log" \
  -p "$work/ganesha/ganesha.pid" &
G_PID=$!
cleanup() { kill "$E_PID" "$G_PID" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT

for i in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$E_API/_efs-local/health" >/dev/null && \
    ss -ltn | grep -q ":$G_NFS " && break
  sleep 0.1
done
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
FS=$(/usr/bin/aws --endpoint-url "http://127.0.0.1:$E_API" efs create-file-system \
  --creation-token bench --query FileSystemId --output text)
sleep 0.5

cpu() { awk '{print ($14 + $15)}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# run NAME PID SERVER EXPORT ARGS...: prints "value cpu_seconds"
run() {
  local pid=$1 server=$2 export=$3; shift 3
  local c0 c1 out
  c0=$(cpu "$pid")
  out=$("$bench" --server "$server" --export "$export" "$@")
  c1=$(cpu "$pid")
  echo "$out" | python3 -c "
import json,sys; d=json.loads(sys.stdin.read())
v = d['mib_per_s'] if d['bytes'] and d['test'] in ('seqwrite','seqread') else d['ops_per_s']
print(v, ($c1 - $c0) / $hz, d['bytes'])"
}

declare -A SRV=( [efs]="$E_PID 127.0.0.1:$E_NFS /$FS" [ganesha]="$G_PID 127.0.0.1:$G_NFS /export" )
for s in efs ganesha; do
  read -r pid addr exp <<<"${SRV[$s]}"
  "$bench" --server "$addr" --export "$exp" --test setup --dir b
done

results="$work/results.txt"; : > "$results"
figure() {  # figure LABEL ARGS...
  local label=$1; shift
  for s in efs ganesha; do   # warm-up
    read -r pid addr exp <<<"${SRV[$s]}"
    run "$pid" "$addr" "$exp" "$@" >/dev/null
  done
  for rep in $(seq 1 "$REPS"); do
    for s in efs ganesha; do
      read -r pid addr exp <<<"${SRV[$s]}"
      echo "$label $s $(run "$pid" "$addr" "$exp" "$@")" >> "$results"
    done
  done
}

dd_speed=$(dd if=/dev/zero of="$work/dd.tmp" bs=1M count="$DD_MIB" conv=fsync 2>&1 | tail -1)
rm -f "$work/dd.tmp"

figure "seq-write-1GiB-qd1(MiB/s)" --dir b --test seqwrite --qd 1 --size-mib "$SIZE_MIB"
figure "seq-write-1GiB-qd8(MiB/s)" --dir b --test seqwrite --qd 8 --size-mib "$SIZE_MIB"
figure "seq-read-1GiB-qd1(MiB/s)" --dir b --test seqread --qd 1 --size-mib "$SIZE_MIB"
figure "seq-read-1GiB-qd8(MiB/s)" --dir b --test seqread --qd 8 --size-mib "$SIZE_MIB"
figure "rand-read-4KiB-qd1(ops/s)" --dir b --test randread --qd 1 --size-mib "$SIZE_MIB" --count "$RANDREADS"
figure "rand-read-4KiB-qd16(ops/s)" --dir b --test randread --qd 16 --size-mib "$SIZE_MIB" --count "$RANDREADS"
# Creates make a new directory each time; stats and readdir use the last one.
for s in efs ganesha; do
  read -r pid addr exp <<<"${SRV[$s]}"
  "$bench" --server "$addr" --export "$exp" --test setup --dir c >/dev/null
done
creates() {
  local label="creates-${COUNT}(ops/s)"
  for rep in $(seq 1 "$REPS"); do
    for s in efs ganesha; do
      read -r pid addr exp <<<"${SRV[$s]}"
      "$bench" --server "$addr" --export "$exp" --test setup --dir "c$rep" >/dev/null
      echo "$label $s $(run "$pid" "$addr" "$exp" --dir "c$rep" --test create --qd 1 --count "$COUNT")" >> "$results"
    done
  done
}
creates
figure "stats-${COUNT}(ops/s)" --dir c1 --test stat --qd 1 --count "$COUNT"
figure "readdir-${COUNT}-entries(entries/s)" --dir c1 --test readdir --count "$COUNT"

python3 - "$results" "$dd_speed" <<'PY'
import statistics, sys, collections
rows = collections.defaultdict(lambda: collections.defaultdict(list))
order = []
for line in open(sys.argv[1]):
    label, srv, val, cpu, nbytes = line.split()
    if label not in order: order.append(label)
    rows[label][srv].append((float(val), float(cpu), int(nbytes)))
print(f"raw disk (dd conv=fsync): {sys.argv[2]}")
print()
print("| figure | efs-local | ganesha | ratio | efs-local CPU s | ganesha CPU s |")
print("|---|---:|---:|---:|---:|---:|")
for label in order:
    e = rows[label]["efs"]; g = rows[label]["ganesha"]
    em = statistics.median(v for v, _, _ in e); gm = statistics.median(v for v, _, _ in g)
    ec = statistics.median(c for _, c, _ in e); gc = statistics.median(c for _, c, _ in g)
    print(f"| {label} | {em:,.1f} | {gm:,.1f} | {em / gm if gm else float('nan'):.2f} | {ec:.2f} | {gc:.2f} |")
PY
