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


def zero_credits_once_mounted(server, fid, done, when=None):
    """Empties fid's credits as soon as the guest's mount reaches it (the boot
    would otherwise earn ~1 MiB/s of credits), then returns; when["t"] is the
    time it did."""
    deadline = time.time() + 240
    while time.time() < deadline and not done.is_set():
        if throughput(server, fid)["ClientConnections"] > 0:
            set_credits(server, fid, 0)
            if when is not None:
                when["t"] = time.time()
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


def test_bursting_provisioned_and_elastic_pace_writes(tp_server):
    s = tp_server
    efs = make_client(s)
    burst = new_fs(efs)                                   # bursting, credits emptied below
    prov = new_fs(efs, ThroughputMode="provisioned", ProvisionedThroughputInMibps=2)
    elastic = new_fs(efs, ThroughputMode="elastic")
    done = threading.Event()
    zeroed = {}
    zeroer = threading.Thread(target=zero_credits_once_mounted, args=(s, burst, done, zeroed))
    zeroer.start()
    # The pseudo-root shows every file system as /mnt/<id>. The first look
    # into the bursting one lets the host empty its credits.
    script = TIMER + f"""
ls /mnt/{burst} >/dev/null
sleep 0.5
ms BURST w /mnt/{burst}/a 16
ms PROV w /mnt/{prov}/a 8
ms ELASTIC w /mnt/{elastic}/a 16
"""
    try:
        p = kernel_client(f"127.0.0.1:{s.nfs_port}", script, export="/")
    finally:
        done.set()
        zeroer.join()
    assert p.returncode == 0, p.stdout + p.stderr + s.tail()
    t = timings(p)
    # Bursting without credits: 16 MiB at the 1 MiB/s baseline is 16 s, less
    # the credits earned between emptying and the write (about 1 s of
    # baseline) and the throttle's 50 ms tolerance.
    assert t["BURST"] >= 14, t
    # Provisioned at 2 MiB/s: 8 MiB is 4 s.
    assert t["PROV"] >= 3.8, t
    # Elastic is held to none of those rates (nor to its 1,500 MiB/s per
    # client): the same 16 MiB in well under half the bursting time (the
    # guest itself writes at a few MiB/s under emulation, so no tighter).
    assert t["ELASTIC"] < t["BURST"] / 2, t
    b = throughput(s, burst)
    assert b["DataWriteIOBytes"] >= 16 * MiB
    assert b["MeteredIOBytes"] >= 16 * MiB
    # Emptied, then earned at 1 MiB/s since, less the 16 MiB spent.
    assert b["BurstCreditBalance"] <= (time.time() - zeroed["t"] - 16 + 2) * MiB, b
    assert throughput(s, prov)["DataWriteIOBytes"] >= 8 * MiB
    assert throughput(s, elastic)["DataWriteIOBytes"] >= 16 * MiB

    # A day later the credits are back and the same write is fast.
    s.advance_clock(86400)
    assert throughput(s, burst)["BurstCreditBalance"] >= 80000 * MiB
    p2 = kernel_client(f"127.0.0.1:{s.nfs_port}", TIMER + f"ms AFTER w /mnt/{burst}/c 16\n",
                       export="/")
    assert p2.returncode == 0, p2.stdout + p2.stderr + s.tail()
    after = timings(p2)["AFTER"]
    assert after < t["BURST"] / 3, (after, t)


def test_a_throttled_file_system_does_not_slow_another_client(tp_server):
    """Two guests, two clients: one writes to a bursting file system without
    credits (paced at 1 MiB/s) while the other writes to another file system;
    the other's write takes about as long as it did alone. B's writes are
    small beside A's paced one (64 MiB once took 14 s in the emulated guest on
    two busy cores, outlasting a 12 MiB paced write), so they overlap it."""
    s = tp_server
    efs = make_client(s)
    slow = new_fs(efs)
    other = new_fs(efs)
    opts = ["--mem", "512", "--mount-opts", "actimeo=0,lookupcache=none"]
    # Guest A: once guest B has measured its write alone, looks into the slow
    # file system (the host then empties its credits) and writes to it.
    # Markers go in `other`, so only A is a client of `slow`.
    script_a = TIMER + f"""
while [ ! -e /mnt/{other}/alone-done ]; do sleep 0.2; done
ls /mnt/{slow} >/dev/null
sleep 0.5
touch /mnt/{other}/started
ms PACED w /mnt/{slow}/a 16
touch /mnt/{other}/ended
"""
    script_b = TIMER + f"""
ms ALONE w /mnt/{other}/a 24
touch /mnt/{other}/alone-done
while [ ! -e /mnt/{other}/started ]; do sleep 0.2; done
sleep 1
ms WHILE w /mnt/{other}/b 24
[ -e /mnt/{other}/ended ] && echo OVERLAP-no || echo OVERLAP-yes
"""
    results = {}

    def run(name, script):
        results[name] = kernel_client(f"127.0.0.1:{s.nfs_port}", script, export="/", extra=opts)

    threads = [threading.Thread(target=run, args=("a", script_a)),
               threading.Thread(target=run, args=("b", script_b))]
    done = threading.Event()
    zeroer = threading.Thread(target=zero_credits_once_mounted, args=(s, slow, done))
    zeroer.start()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    done.set()
    zeroer.join()
    for name, p in results.items():
        assert p.returncode == 0, name + p.stdout + p.stderr + s.tail()
    a, b = timings(results["a"]), timings(results["b"])
    assert a["PACED"] >= 12, a  # 16 MiB at 1 MiB/s (less what it earned meanwhile)
    assert "OVERLAP-yes" in results["b"].stdout, b  # WHILE ran during the paced write
    # Within 2x of the unthrottled time (and a second for a slow machine).
    assert b["WHILE"] <= 2 * b["ALONE"] + 1, (a, b)


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
        assert t["BurstCreditBalance"] < MiB  # still metered: the write spent what it earned
    finally:
        s.stop()


def test_provisioned_capacity_and_limits(tmp_path):
    """UpdateFileSystem and CreateFileSystem: ThroughputLimitExceeded above the
    per-file-system maximum, InsufficientThroughputCapacity when the Region
    (--provisioned-capacity) has no more to give; DescribeFileSystems shows
    the mode and the rate as EFS does."""
    from botocore.exceptions import ClientError
    s = Server(tmp_path / "data", extra_args=["--provisioned-capacity", "100"]).start()
    try:
        efs = make_client(s)
        a = new_fs(efs, ThroughputMode="provisioned", ProvisionedThroughputInMibps=60)
        d = efs.describe_file_systems(FileSystemId=a)["FileSystems"][0]
        assert d["ThroughputMode"] == "provisioned"
        assert d["ProvisionedThroughputInMibps"] == 60
        assert throughput(s, a)["PermittedThroughput"] == 60 * MiB
        with pytest.raises(ClientError) as e:
            efs.create_file_system(CreationToken="too-much", ThroughputMode="provisioned",
                                   ProvisionedThroughputInMibps=50)
        assert e.value.response["Error"]["Code"] == "InsufficientThroughputCapacity"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        # Raising the same file system within the capacity is fine.
        efs.update_file_system(FileSystemId=a, ProvisionedThroughputInMibps=90)
        b = new_fs(efs)
        with pytest.raises(ClientError) as e:
            efs.update_file_system(FileSystemId=b, ThroughputMode="provisioned",
                                   ProvisionedThroughputInMibps=20)
        assert e.value.response["Error"]["Code"] == "InsufficientThroughputCapacity"
        d = efs.describe_file_systems(FileSystemId=b)["FileSystems"][0]
        assert d["ThroughputMode"] == "bursting"
        assert "ProvisionedThroughputInMibps" not in d
        with pytest.raises(ClientError) as e:
            efs.update_file_system(FileSystemId=a, ProvisionedThroughputInMibps=5000)
        assert e.value.response["Error"]["Code"] == "ThroughputLimitExceeded"
        # The pacing follows the catalog within a tick.
        wait_state(lambda: throughput(s, a)["PermittedThroughput"], 90 * MiB, timeout=5)
    finally:
        s.stop()


@pytest.mark.parametrize("flag", [None, "--no-metering"])
def test_no_metering_charges_nothing(tmp_path, flag):
    """--no-metering (the benchmark's metering-cost figures) leaves every meter
    where it was; without it the same write is metered."""
    import subprocess
    s = Server(tmp_path / "data", extra_args=[flag] if flag else []).start()
    try:
        fid = new_fs(make_client(s))
        src = tmp_path / "data.bin"
        src.write_bytes(b"m" * 3000)  # under libnfs 4.0's WRITE limit (test_dashboard.py)
        url = f"nfs://127.0.0.1/{fid}/data.bin?version=4&nfsport={s.nfs_port}"
        subprocess.run(["nfs-cp", str(src), url], check=True, capture_output=True, timeout=60)
        back = tmp_path / "back.bin"
        subprocess.run(["nfs-cp", url, str(back)], check=True, capture_output=True, timeout=60)
        assert back.read_bytes() == src.read_bytes()
        t = throughput(s, fid)
        if flag:
            assert (t["MeteredIOBytes"], t["DataWriteIOBytes"], t["DataReadIOBytes"],
                    t["MetadataIOBytes"]) == (0, 0, 0, 0), t
            assert t["BurstCreditBalance"] == pytest.approx(2.1 * (1 << 40), rel=1e-3)
            assert "--no-metering: NFS I/O is neither metered nor paced" in s.log_path.read_text()
        else:
            assert t["DataWriteIOBytes"] >= 3000 and t["DataReadIOBytes"] >= 3000, t
            assert t["MetadataIOBytes"] > 0, t
    finally:
        s.stop()
