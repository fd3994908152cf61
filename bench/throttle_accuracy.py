#!/usr/bin/env python3
"""How closely efs-local's throughput pacing holds the configured rates
(README, "Throughput modes"): 1 MiB WRITEs from nfsbench (8 in flight) to a
provisioned file system at 10 and at 100 MiB/s and to a bursting one without
credits (its 1 MiB/s baseline), each for about SECONDS seconds. Prints a
markdown table of measured against configured MiB/s; exits 1 when a figure
is off by more than 10 %.

    ninja -C build efs-local bench/nfsbench && python3 bench/throttle_accuracy.py
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

import servers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECONDS = float(os.environ.get("SECONDS_PER_RATE", "12"))
NFSBENCH = os.path.join(ROOT, "build", "bench", "nfsbench")


def call(api, method, path, body=None, target=None):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if target:
        headers = {"Content-Type": "application/x-amz-json-1.1"}
    req = urllib.request.Request(api + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def create_fs(api, token, **kw):
    body = {"CreationToken": token, **kw}
    fid = call(api, "POST", "/2015-02-01/file-systems", body)["FileSystemId"]
    for _ in range(200):
        d = call(api, "GET", f"/2015-02-01/file-systems?FileSystemId={fid}")["FileSystems"][0]
        if d["LifeCycleState"] == "available":
            return fid
        time.sleep(0.05)
    raise SystemExit(f"{fid} never became available")


def nfsbench(nfs, fid, test, size_mib=0):
    args = [NFSBENCH, "--server", f"127.0.0.1:{nfs}", "--export", f"/{fid}", "--dir", "b",
            "--test", test, "--qd", "8"]
    if size_mib:
        args += ["--size-mib", str(size_mib)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise SystemExit(f"nfsbench {test} failed: {out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else {}


def main():
    work = tempfile.mkdtemp(prefix="efs-throttle-bench-")
    api_port, nfs_port = servers.free_port(), servers.free_port()
    log = open(os.path.join(work, "efs.log"), "w")
    proc = subprocess.Popen([os.path.join(ROOT, "build", "efs-local"), "serve", "--data-dir",
                             os.path.join(work, "data"), "--api-port", str(api_port), "--nfs-port",
                             str(nfs_port), "--state-delay", "0", "--log-level", "warn"],
                            stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{api_port}"
    try:
        for _ in range(200):
            try:
                call(api, "GET", "/_efs-local/health")
                break
            except OSError:
                time.sleep(0.05)
        rows, bad = [], False
        cases = [("provisioned 10 MiB/s", 10, {"ThroughputMode": "provisioned",
                                               "ProvisionedThroughputInMibps": 10}),
                 ("provisioned 100 MiB/s", 100, {"ThroughputMode": "provisioned",
                                                 "ProvisionedThroughputInMibps": 100}),
                 ("bursting baseline, no credits", 1, {})]
        for i, (name, rate, kw) in enumerate(cases):
            fid = create_fs(api, f"bench-{i}", **kw)
            nfsbench(nfs_port, fid, "setup")
            if not kw:  # empty the credits just before the timed write
                call(api, "PUT", f"/_efs-local/file-systems/{fid}/burst-credits", {"bytes": 0})
            r = nfsbench(nfs_port, fid, "seqwrite", size_mib=max(1, int(rate * SECONDS)))
            got = r["mib_per_s"]
            err = got / rate - 1
            bad |= abs(err) > 0.10
            rows.append((name, rate, got, r["seconds"], err))
        print("| case | configured MiB/s | measured MiB/s | seconds | error |")
        print("|---|---|---|---|---|")
        for name, rate, got, secs, err in rows:
            print(f"| {name} | {rate} | {got:.2f} | {secs:.1f} | {err:+.1%} |")
        return 1 if bad else 0
    finally:
        proc.terminate()
        proc.wait(timeout=20)


if __name__ == "__main__":
    sys.exit(main())
