"""Throughput modes with the Linux kernel client: bursting credits running out
and coming back on the emulator clock, provisioned and elastic limits, file
systems paced independently, and --no-throttle.

Timings are measured inside the guest around `dd ... conv=fsync` (the data
reaches the server before dd returns). The machine may be slower than the
limits, never faster, so limits are asserted as lower bounds; "fast" is
asserted loosely, against the throttled time.
"""
import json
import re
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import Server, kernel_client, make_client, new_fs, wait_state

MiB = 1 << 20


def throughput(server, fid):
    return server.admin("GET", f"file-systems/{fid}/throughput")


def set_credits(server, fid, n):
    return server.admin("PUT", f"file-systems/{fid}/burst-credits", {"bytes": n})


def mount_target(efs, ec2, fid):
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    mt = efs.create_mount_target(FileSystemId=fid, SubnetId=subnet)
    wait_state(lambda: efs.describe_mount_targets(MountTargetId=mt["MountTargetId"])
               ["MountTargets"][0]["LifeCycleState"], "available")
    return mt["IpAddress"]


def timings(p):
    """NAME <ms> lines printed by the guest script."""
    return {m[1]: int(m[2]) / 1000 for m in re.finditer(r"^(\w+) (\d+)$", p.stdout, re.M)}


# ms NAME COMMAND...: runs COMMAND and prints "NAME <milliseconds>".
TIMER = """
ms() { local name=$1; shift; local s=$(date +%s%N); "$@"; echo "$name $(( ($(date +%s%N) - s) / 1000000 ))"; }
w() { dd if=/dev/zero of=$1 bs=1M count=$2 conv=fsync status=none; }
"""


def zero_credits_once_mounted(server, fid, done):
    """Empties fid's credits as soon as the guest's mount reaches it (the boot
    would otherwise earn ~1 MiB/s of credits), then returns."""
    deadline = time.time() + 240
    while time.time() < deadline and not done.is_set():
        if throughput(server, fid)["ClientConnections"] > 0:
            set_credits(server, fid, 0)
            return
        time.sleep(0.05)


@pytest.fixture(scope="module")
def tp_server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("tp") / "data").start()
    yield s
    s.stop()


def test_burst_credits_endpoint(tp_server):
    efs = make_client(tp_server)
    fid = new_fs(efs)
    t = throughput(tp_server, fid)
    # EFS's initial balance: 2.1 TiB; a new, empty bursting file system may burst at 100 MiB/s.
    assert t["BurstCreditBalance"] == pytest.approx(2.1 * (1 << 40), rel=1e-3)
    assert t["PermittedThroughput"] == 100 * MiB
    assert t["ThroughputMode"] == "bursting"
    t = set_credits(tp_server, fid, 0)
    assert t["BurstCreditBalance"] < MiB
    assert t["PermittedThroughput"] == MiB  # the 1 MiB/s floor of the baseline
    # A day on the clock earns a day of baseline (1 MiB/s).
    tp_server.advance_clock(86400)
    assert throughput(tp_server, fid)["BurstCreditBalance"] >= 86400 * MiB
    for path, body, code in [(f"file-systems/{fid}/burst-credits", {"bytes": -1}, 400),
                             (f"file-systems/{fid}/burst-credits", {"byte": 1}, 400),
                             ("file-systems/fs-0123456789abcdef0/burst-credits", {"bytes": 1}, 404)]:
        with pytest.raises(urllib.error.HTTPError) as e:
            tp_server.admin("PUT", path, body)
        assert e.value.code == code
    with pytest.raises(urllib.error.HTTPError) as e:
        tp_server.admin("GET", "file-systems/fs-0123456789abcdef0/throughput")
    assert e.value.code == 404


def test_modes_pace_writes_and_file_systems_are_independent(tp_server):
    s = tp_server
    efs = make_client(s)
    ec2 = make_client(s, "ec2")
    burst = new_fs(efs)                                   # bursting, credits emptied below
    free = new_fs(efs)                                    # bursting, full credits
    prov = new_fs(efs, ThroughputMode="provisioned", ProvisionedThroughputInMibps=2)
    elastic = new_fs(efs, ThroughputMode="elastic")
    ips = [mount_target(efs, ec2, f) for f in (burst, free, prov, elastic)]
    done = threading.Event()
    zeroer = threading.Thread(target=zero_credits_once_mounted, args=(s, burst, done))
    zeroer.start()
    # /mnt: burst, /mnt2: free, /mnt3: prov, /mnt4: elastic (one mount target each, so
    # each file system has its own connection, as separate clients would).
    servers = []
    for ip in ips:
        servers += ["--server", f"{ip}:{s.nfs_port}"]
    script = TIMER + """
sleep 1
ms BURST w /mnt/a 16
ms PROV w /mnt3/a 8
ms ELASTIC w /mnt4/a 64
ms ALONE w /mnt2/a 64
w /mnt/b 16 &
sleep 1
ms WHILE w /mnt2/b 64
wait
"""
    try:
        p = kernel_client(ips[0] + f":{s.nfs_port}", script, extra=servers[2:])
    finally:
        done.set()
        zeroer.join()
    assert p.returncode == 0, p.stdout + p.stderr + s.tail()
    t = timings(p)
    # Bursting without credits: 16 MiB at the 1 MiB/s baseline is 16 s, less
    # the credits earned between emptying and the write (about 1 s of baseline)
    # and the throttle's 50 ms tolerance.
    assert t["BURST"] >= 14, t
    # Provisioned at 2 MiB/s: 8 MiB is 4 s.
    assert t["PROV"] >= 3.8, t
    # Elastic is not held to any of those rates: 64 MiB well under what 8 MiB/s allows.
    assert t["ELASTIC"] < 8, t
    # The throttled file system's client does not slow the other's (generous: 2x and 1 s).
    assert t["WHILE"] <= 2 * t["ALONE"] + 1, t
    b = throughput(s, burst)
    assert b["DataWriteIOBytes"] >= 32 * MiB
    assert b["MeteredIOBytes"] >= 32 * MiB
    assert b["BurstCreditBalance"] < 4 * MiB
    assert throughput(s, free)["BurstCreditBalance"] > 2 * (1 << 40)

    # A day later the credits are back and the same write is fast.
    s.advance_clock(86400)
    assert throughput(s, burst)["BurstCreditBalance"] >= 80000 * MiB
    p2 = kernel_client(ips[0] + f":{s.nfs_port}", TIMER + "ms AFTER w /mnt/c 16\n")
    assert p2.returncode == 0, p2.stdout + p2.stderr + s.tail()
    after = timings(p2)["AFTER"]
    assert after < t["BURST"] / 3, (after, t)


def test_no_throttle_meters_but_never_delays(tmp_path):
    s = Server(tmp_path / "data", extra_args=["--no-throttle"]).start()
    try:
        efs = make_client(s)
        fid = new_fs(efs)
        done = threading.Event()
        zeroer = threading.Thread(target=zero_credits_once_mounted, args=(s, fid, done))
        zeroer.start()
        try:
            p = kernel_client(f"127.0.0.1:{s.nfs_port}", TIMER + "sleep 1\nms NT w a 16\n",
                              export=f"/{fid}")
        finally:
            done.set()
            zeroer.join()
        assert p.returncode == 0, p.stdout + p.stderr + s.tail()
        # 16 s at the baseline if it were enforced.
        assert timings(p)["NT"] < 8, p.stdout
        t = throughput(s, fid)
        assert t["DataWriteIOBytes"] >= 16 * MiB
        assert t["PermittedThroughput"] == MiB  # still metered as out of credits
    finally:
        s.stop()
