#!/usr/bin/env python3
"""Runs every figure against efs-local and nfs-ganesha, interleaved, on a quiet
machine, and prints a markdown table (bench/run.sh starts it; the method is in
docs/benchmark.md).

For each figure: one unrecorded warm-up per server (for figures that reread
the same data), then REPS repetitions in ABBA order (efs, ganesha; ganesha,
efs; ...). Before each measurement the quiet gate waits until the machine was
at least QUIET_IDLE idle over one second (/proc/stat); after it, a measurement
during which other processes used more than DISTURBED of the machine's CPU is
repeated (at most RETRIES times; the least disturbed attempt is kept).
"""
import json
import os
import signal
import socket
import re
import statistics
import subprocess
import sys
import time

import servers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = os.environ
SIZE_MIB = int(ENV.get("SIZE_MIB", "1024"))
COUNT = int(ENV.get("COUNT", "10000"))
REPS = int(ENV.get("REPS", "5"))
RANDREADS = int(ENV.get("RANDREADS", "20000"))
DD_MIB = int(ENV.get("DD_MIB", "1024"))
CLIENTS = int(ENV.get("CLIENTS", "16"))
UNTAR = int(ENV.get("UNTAR", str(min(COUNT, 2000))))
QUICK = REPS <= 1 or ENV.get("CI") == "true"
QUIET_IDLE = float(ENV.get("QUIET_IDLE", "0.90"))
QUIET_TIMEOUT = float(ENV.get("QUIET_TIMEOUT", "0" if QUICK else "30"))
QUIET_BUDGET = float(ENV.get("QUIET_BUDGET", "900"))
DISTURBED = float(ENV.get("DISTURBED", "0.10"))
RETRIES = int(ENV.get("RETRIES", "0" if QUICK else "2"))
WORK = ENV.get("BENCH_DIR") or os.path.join(ROOT, "build", "bench-work")
JSONL = ENV.get("BENCH_JSON") or os.path.join(WORK, "results.jsonl")
PERF = ENV.get("PERF") == "1"
# ONLY: a regular expression; only figures whose label it matches are run.
ONLY = re.compile(ENV.get("ONLY", ""))
BENCH = os.path.join(ROOT, "build", "bench", "nfsbench")
GIB = 1 << 30


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---- the machine's CPU ---------------------------------------------------------

def proc_stat():
    """(idle ticks, total ticks) of /proc/stat's cpu line; iowait counts as busy:
    someone else's disk traffic disturbs a run as much as their CPU does."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return v[3], sum(v)


def task_cpu(pid):
    """utime+stime of a process and all its threads, in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError):
        return 0.0


class QuietGate:
    def __init__(self):
        self.budget = QUIET_BUDGET

    def wait(self):
        """Waits for one quiet second; returns (seconds waited, quiet?)."""
        if QUIET_TIMEOUT <= 0:
            return 0.0, None  # gate off (short run)
        start = time.monotonic()
        limit = min(QUIET_TIMEOUT, max(self.budget, 1.0))
        idle = 0.0
        while True:
            i0, t0 = proc_stat()
            time.sleep(1.0)
            i1, t1 = proc_stat()
            idle = (i1 - i0) / max(t1 - t0, 1)
            waited = time.monotonic() - start
            if idle >= QUIET_IDLE:
                self.budget -= max(waited - 1.0, 0)
                return waited, True
            if waited >= limit:
                self.budget -= waited
                log(f"  quiet gate: proceeding on a busy machine (idle {idle:.0%} after {waited:.0f} s)")
                return waited, False


# ---- figures ---------------------------------------------------------------------

class Figure:
    """label; nfsbench arguments; warm: one unrecorded run first; per: 'GiB' or
    '1k ops' for CPU; p99: also a latency row."""

    def __init__(self, label, args, warm, per, p99=False, data=False, tls=False):
        self.label, self.args, self.warm, self.per, self.p99 = label, args, warm, per, p99
        # data: also run on the encrypted efs-local file system ("efs-enc").
        self.data = data
        # tls: also run through stunnel to the same port ("efs-tls"), and with
        # nfsbench speaking TLS itself ("efs-tlsd").
        self.tls = tls

    def value(self, d):
        return d["mib_per_s"] if self.per == "GiB" else d["ops_per_s"]

    def cpu_per_unit(self, d):
        units = d["bytes"] / GIB if self.per == "GiB" else d["ops"] / 1000
        return d["cpu"]["server_s"] / units if units else 0.0


def figures():
    size = "1GiB" if SIZE_MIB == 1024 else f"{SIZE_MIB}MiB"
    sz = ["--size-mib", str(SIZE_MIB)]
    f = []
    for qd in (1, 8):
        f.append(Figure(f"seq-write-{size}-qd{qd}(MiB/s)", ["--test", "seqwrite", "--qd", str(qd)] + sz, True, "GiB",
                        data=True, tls=True))
    for qd in (1, 8):
        f.append(Figure(f"seq-read-{size}-qd{qd}(MiB/s)", ["--test", "seqread", "--qd", str(qd)] + sz, True, "GiB",
                        data=True, tls=True))
    for qd in (1, 16):
        f.append(Figure(f"rand-read-4KiB-qd{qd}(ops/s)",
                        ["--test", "randread", "--qd", str(qd), "--count", str(RANDREADS)] + sz, True, "1k ops",
                        data=True))
    f.append(Figure(f"clients{CLIENTS}-rand-read-4KiB(ops/s)",
                    ["--test", "clients-randread", "--clients", str(CLIENTS), "--count", str(RANDREADS)] + sz,
                    True, "1k ops", p99=True))
    f.append(Figure(f"creates-{COUNT}(ops/s)", ["--test", "create", "--count", str(COUNT)], False, "1k ops"))
    f.append(Figure(f"clients{CLIENTS}-creates-{COUNT}(ops/s)",
                    ["--test", "clients-create", "--clients", str(CLIENTS), "--count", str(COUNT)],
                    False, "1k ops", p99=True))
    f.append(Figure(f"stats-{COUNT}(ops/s)", ["--test", "stat", "--name", "many", "--count", str(COUNT)], True, "1k ops"))
    f.append(Figure(f"readdir-{COUNT}-entries(entries/s)",
                    ["--test", "readdir", "--name", "many", "--count", str(COUNT)], True, "1k ops"))
    f.append(Figure(f"renames-{COUNT}(ops/s)", ["--test", "rename", "--count", str(COUNT)], False, "1k ops"))
    f.append(Figure(f"removes-{COUNT}(ops/s)", ["--test", "remove", "--count", str(COUNT)], False, "1k ops"))
    f.append(Figure(f"untar-{UNTAR}-files(files/s)", ["--test", "untar", "--count", str(UNTAR)], False, "1k ops"))
    return f


class Bench:
    def __init__(self, srv, out):
        self.srv = srv  # name -> servers.Server
        self.gate = QuietGate()
        self.out = out
        self.runs = {}  # label -> name -> [record]

    def nfsbench(self, s, args):
        cmd = ([BENCH, "--server", s.address, "--export", s.export, "--dir", "b", "--server-pid", str(s.pid)]
               + s.client_args + args)
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            raise SystemExit(f"bench: {s.name}: {' '.join(args)} failed: {p.stderr.strip()}")
        lines = p.stdout.strip().splitlines()
        return json.loads(lines[-1]) if lines else None

    def measure(self, fig, name):
        s = self.srv[name]
        # efs and efs-enc are one process: its CPU is not "other".
        others = {o.pid: o for o in self.srv.values() if o.pid != s.pid}.values()
        attempts = []
        for attempt in range(RETRIES + 1):
            waited, quiet = self.gate.wait()
            o0 = sum(task_cpu(o.pid) for o in others) + sum(task_cpu(h) for h in s.helpers)
            d = self.nfsbench(s, fig.args)
            o1 = sum(task_cpu(o.pid) for o in others) + sum(task_cpu(h) for h in s.helpers)
            c = d["cpu"]
            # What ran besides us: machine busy time less this server's, the
            # client's, kernel threads' (writeback of our data) and the other
            # server's idle chatter, as a share of all cores.
            foreign = c["busy_s"] - c["server_s"] - c["client_s"] - c["kthread_s"] - (o1 - o0)
            share = max(foreign, 0.0) / max(c["wall_s"] * c["cpus"], 1e-9)
            rec = {"type": "run", "figure": fig.label, "server": name, "attempt": attempt,
                   "value": fig.value(d), "p99_ms": d["p99_ms"], "cpu_per_unit": fig.cpu_per_unit(d),
                   "cpu_unit": fig.per, "gate_waited_s": round(waited, 1), "quiet": quiet,
                   "foreign_cpu_share": round(share, 4), "disturbed": share > DISTURBED and foreign > 0.05, "raw": d}
            self.out.write(json.dumps(rec) + "\n")
            self.out.flush()
            attempts.append(rec)
            if not rec["disturbed"]:
                break
            log(f"  {name}: disturbed ({share:.0%} of the CPU went elsewhere), "
                + ("repeating" if attempt < RETRIES else "keeping the least disturbed run"))
        return min(attempts, key=lambda r: r["foreign_cpu_share"])

    def names(self, fig):
        return [n for n in self.srv
                if (fig.data or n != "efs-enc") and (fig.tls or n not in ("efs-tls", "efs-tlsd"))]

    def figure(self, fig):
        log(f"{fig.label}")
        names = self.names(fig)
        if fig.warm:
            for name in names:
                self.nfsbench(self.srv[name], fig.args)
        per = {n: [] for n in names}
        for rep in range(REPS):
            order = names if rep % 2 == 0 else names[::-1]  # ABBA
            for name in order:
                r = self.measure(fig, name)
                per[name].append(r)
                log(f"  rep {rep + 1} {name}: {r['value']:,.1f}" + (f" p99 {r['p99_ms']:.2f} ms" if fig.p99 else ""))
        self.runs[fig.label] = per


# ---- the table ---------------------------------------------------------------------

def num(v):
    return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.1f}"


def spread(vals):
    return f"{num(min(vals))}–{num(max(vals))}"


def row(label, e, g, lower_is_better, ecpu, gcpu, per, notes):
    em, gm = statistics.median(e), statistics.median(g)
    ratio = (gm / em if em else 0.0) if lower_is_better else (em / gm if gm else 0.0)
    if len(e) < 2:
        verdict = "1 run"
    else:
        verdict = "noise" if max(min(e), min(g)) <= min(max(e), max(g)) else "apart"
    if ecpu is None:
        cpu = "| | | "
    else:
        ec, gc = statistics.median(ecpu), statistics.median(gcpu)
        cpu = f"| {ec:.3f} | {gc:.3f} | {ec / gc if gc else 0.0:.2f} "
    line = (f"| {label} | {num(em)} | {num(gm)} | {ratio:.2f} | {spread(e)} | {spread(g)} | {verdict} "
            f"{cpu}| {per if ecpu is not None else ''} | {notes} |")
    summary = {"type": "figure", "figure": label, "efs_median": em, "ganesha_median": gm, "ratio": ratio,
               "efs_range": [min(e), max(e)], "ganesha_range": [min(g), max(g)], "verdict": verdict,
               "lower_is_better": lower_is_better}
    if ecpu is not None:
        summary.update(efs_cpu=statistics.median(ecpu), ganesha_cpu=statistics.median(gcpu), cpu_per=per)
    return line, summary


HEADER = ["| figure | efs-local | ganesha | ratio | efs-local min–max | ganesha min–max | spreads "
          "| efs-local CPU s | ganesha CPU s | CPU ratio | CPU per | notes |",
          "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---|"]


def table(bench, figs, out):
    lines = list(HEADER)
    for fig in figs:
        per = bench.runs[fig.label]
        e, g = per["efs"], per["ganesha"]
        recs = e + g
        busy = sum(1 for r in recs if r["quiet"] is False)
        dist = sum(1 for r in recs if r["disturbed"])
        notes = ", ".join(x for x in [f"{busy} of {len(recs)} on a busy machine" if busy else "",
                                      f"{dist} disturbed" if dist else ""] if x)
        line, s = row(fig.label, [r["value"] for r in e], [r["value"] for r in g], False,
                      [r["cpu_per_unit"] for r in e], [r["cpu_per_unit"] for r in g], fig.per, notes)
        lines.append(line)
        out.write(json.dumps(s) + "\n")
        if fig.p99:
            label = fig.label.replace("(ops/s)", "-p99(ms)")
            line, s = row(label, [r["p99_ms"] for r in e], [r["p99_ms"] for r in g], True, None, None, "", notes)
            lines.append(line)
            out.write(json.dumps(s) + "\n")
    return lines


def pair_table(bench, figs, out, kind, a, b, heads, wanted):
    """Server a against server b (two ways of running efs-local) on the
    figures where wanted(fig), measured in the same run: medians, a / b,
    each min–max, and whether the spreads overlap ("noise")."""
    lines = [f"| figure | {heads[0]} | {heads[1]} | {heads[0]} / {heads[1]} | {heads[0]} min–max "
             f"| {heads[1]} min–max | spreads |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for fig in figs:
        if not wanted(fig) or a not in bench.runs[fig.label]:
            continue
        per = bench.runs[fig.label]
        x = [r["value"] for r in per[a]]
        y = [r["value"] for r in per[b]]
        xm, ym = statistics.median(x), statistics.median(y)
        ratio = xm / ym if ym else 0.0
        verdict = "1 run" if len(x) < 2 else ("noise" if max(min(x), min(y)) <= min(max(x), max(y)) else "apart")
        lines.append(f"| {fig.label} | {num(xm)} | {num(ym)} | {ratio:.2f} | {spread(x)} | {spread(y)} | {verdict} |")
        out.write(json.dumps({"type": kind, "figure": fig.label, a + "_median": xm, b + "_median": ym,
                              "ratio": ratio}) + "\n")
    return lines


# The encrypted file system against the unencrypted one (issue 15's target:
# >= 0.85); the sequential figures through stunnel (TLS to efs-local's NFS
# port, as efs-utils mounts) against plain on the same port and file system
# (issue 12's: >= 0.70); every figure with metering on (--no-throttle, as all
# efs-local figures run) against a second efs-local with --no-metering
# (issue 11's: >= 0.97).
PAIRS = [
    ("encryption", "efs-enc", "efs", ("encrypted", "unencrypted"), lambda f: f.data,
     "efs-local, encrypted file system (KMS data key) against unencrypted, same run:"),
    ("tls", "efs-tls", "efs", ("TLS (stunnel)", "plain"), lambda f: f.tls,
     "efs-local through stunnel (TLS, as efs-utils mounts) against plain, same port, same run:"),
    ("tls-direct", "efs-tlsd", "efs", ("TLS (direct)", "plain"), lambda f: f.tls,
     "efs-local's TLS front end with nfsbench speaking TLS itself (no relay) against plain, same port, same run:"),
    ("metering", "efs", "efs-nometer", ("metered", "unmetered"), lambda f: True,
     "efs-local with metering (--no-throttle) against a second efs-local with --no-metering, same run:"),
]


def profile(bench, figs):
    """perf record of efs-local during the readdir and seq-read qd1 figures (at
    least 3 runs and 5 seconds of each)."""
    s = bench.srv["efs"]
    for fig in figs:
        if not (fig.label.startswith("readdir") or (fig.label.startswith("seq-read") and "-qd1(" in fig.label)):
            continue
        data = os.path.join(WORK, "perf-" + fig.label.split("(")[0] + ".data")
        perf = subprocess.Popen(["perf", "record", "-q", "-g", "-p", str(s.pid), "-o", data],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        t0, runs = time.monotonic(), 0
        while runs < 3 or time.monotonic() - t0 < 5:  # readdir is quick: enough samples
            bench.nfsbench(s, fig.args)
            runs += 1
        perf.send_signal(signal.SIGINT)
        perf.wait()
        rep = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "symbol",
                              "--percent-limit", "1", "-g", "none"], capture_output=True, text=True).stdout
        txt = data.replace(".data", ".txt")
        with open(txt, "w") as f:
            f.write(rep)
        top = [ln for ln in rep.splitlines() if ln.strip() and not ln.startswith("#")][:15]
        print(f"\nperf, efs-local during {fig.label} (top symbols, self time; {txt}):")
        for ln in top:
            print("    " + " ".join(ln.split()[:3]))  # percent, [k]/[.], symbol


def main():
    os.makedirs(WORK, exist_ok=True)
    figs = [f for f in figures() if ONLY.search(f.label)]
    if not figs:
        raise SystemExit(f"bench: no figure matches ONLY={ONLY.pattern!r}")
    with servers.started(WORK) as srv, open(JSONL, "w") as out:
        bench = Bench(srv, out)
        for s in srv.values():
            if s.name not in ("efs-tls", "efs-tlsd"):  # the same file system as "efs"
                bench.nfsbench(s, ["--test", "setup"])
        main_servers = [srv[n] for n in ("efs", "ganesha", "efs-nometer") if n in srv]
        dd = subprocess.run(["dd", "if=/dev/zero", f"of={WORK}/dd.tmp", "bs=1M", f"count={DD_MIB}", "conv=fsync"],
                            capture_output=True, text=True).stderr.strip().splitlines()[-1]
        os.unlink(f"{WORK}/dd.tmp")
        made_many = False
        for fig in figs:
            if fig.label.startswith(("stats-", "readdir-")) and not made_many:  # they read b/many
                made_many = True
                for s in main_servers:
                    bench.nfsbench(s, ["--test", "create", "--name", "many", "--count", str(COUNT), "--qd", "16"])
            bench.figure(fig)
        lines = table(bench, figs, out)
        pair_lines = [(title, pair_table(bench, figs, out, kind, a, b, heads, wanted))
                      for kind, a, b, heads, wanted, title in PAIRS if a in srv and b in srv]
        print(f"raw disk (dd {DD_MIB} MiB conv=fsync): {dd}")
        print(f"{REPS} repetitions (ABBA), quiet gate idle >= {QUIET_IDLE:.0%} "
              f"(timeout {QUIET_TIMEOUT:.0f} s{', off' if QUIET_TIMEOUT <= 0 else ''}), "
              f"disturbed above {DISTURBED:.0%} foreign CPU, {RETRIES} retries; {os.cpu_count()} CPUs; "
              f"CPU is the server's user+system seconds per GiB or per 1000 operations; runs in {JSONL}")
        print()
        print("\n".join(lines))
        for title, pl in pair_lines:
            print()
            print(title)
            print()
            print("\n".join(pl))
        with open(os.path.join(WORK, "table.md"), "w") as f:
            f.write("\n\n".join("\n".join(t) for t in [lines] + [pl for _, pl in pair_lines]) + "\n")
        if PERF:
            profile(bench, figs)


if __name__ == "__main__":
    main()
