"""Storage classes (issue 10): a lifecycle policy put with the AWS CLI moves
files the Linux kernel client wrote to IA and Archive as the emulator clock
passes, a READ brings one back (AFTER_1_ACCESS), SizeInBytes meters each
class, and the bytes never change: across moves, a restart, a reader running
while files move, and a kill -9 in the middle of a batch of moves."""
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import threading
import time
import urllib.request

import pytest

from conftest import Server, aws_cli, kernel_client, make_client, new_fs

DAY = 86400
SIZES = {"one_k": 1024, "k200": 200 * 1024, "m5": 5 * 1024 * 1024}


def sums(out):
    return {name: digest for digest, name in re.findall(r"^([0-9a-f]{64})\s+(\S+)$", out, re.M)}


def inodes(server, fid):
    """name -> inode of the entries in fid's root directory."""
    db = sqlite3.connect(f"file:{server.data_dir / 'meta.db'}?mode=ro", uri=True, timeout=5)
    try:
        (num,) = db.execute("SELECT num FROM vfs_file_systems WHERE fs_id = ?", (fid,)).fetchone()
        rows = db.execute("SELECT name, child FROM vfs_dirents WHERE fs = ? AND dir = 1",
                          (num,)).fetchall()
    finally:
        db.close()
    return {(n.decode() if isinstance(n, bytes) else n): ino for n, ino in rows}


def where(server, fid, ino):
    """The storage classes whose directory holds inode ino's data file."""
    return [c for c in ("standard", "ia", "archive")
            if (server.data_dir / "chunks" / c / fid / f"{ino & 0xff:02x}" / str(ino)).exists()]


def size_in_bytes(efs, fid):
    return efs.describe_file_systems(FileSystemId=fid)["FileSystems"][0]["SizeInBytes"]


def policy_cli(server, fid, *rules):
    return aws_cli(server, "efs", "put-lifecycle-configuration", "--file-system-id", fid,
                   "--lifecycle-policies", json.dumps(list(rules)))


def fs_with_ia_after_7_days(server):
    """A new file system whose lifecycle policy sends files to IA after 7 days."""
    efs = make_client(server)
    fid = new_fs(efs)
    efs.put_lifecycle_configuration(FileSystemId=fid,
                                    LifecyclePolicies=[{"TransitionToIA": "AFTER_7_DAYS"}])
    return fid


def guest(server, script, fid):
    r = kernel_client(f"127.0.0.1:{server.nfs_port}", script, export=f"/{fid}", timeout=240)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_files_go_to_ia_and_archive_and_come_back(fresh_server):
    s = fresh_server
    efs = make_client(s)
    fid = new_fs(efs, ThroughputMode="elastic")
    plain = new_fs(efs, ThroughputMode="elastic")  # no policy: nothing moves
    # Debian's AWS CLI predates TransitionToArchive (its model refuses the
    # member): boto3 with the current model puts the full policy, the CLI
    # reads it back.
    efs.put_lifecycle_configuration(FileSystemId=fid, LifecyclePolicies=[
        {"TransitionToIA": "AFTER_7_DAYS"}, {"TransitionToArchive": "AFTER_30_DAYS"},
        {"TransitionToPrimaryStorageClass": "AFTER_1_ACCESS"}])
    got = aws_cli(s, "efs", "describe-lifecycle-configuration", "--file-system-id", fid)
    assert {"TransitionToIA": "AFTER_7_DAYS"} in got["LifecyclePolicies"]

    write = ("head -c 1024 /dev/urandom > /mnt/one_k; head -c 204800 /dev/urandom > /mnt/k200; "
             "head -c 5242880 /dev/urandom > /mnt/m5; sync; sha256sum /mnt/one_k /mnt/k200 /mnt/m5 "
             "| sed 's|/mnt/||'")
    want = sums(guest(s, write, fid))
    assert set(want) == set(SIZES)
    want_plain = sums(guest(s, write, plain))
    ino = inodes(s, fid)
    ino_plain = inodes(s, plain)
    assert all(where(s, fid, ino[n]) == ["standard"] for n in SIZES)
    before = size_in_bytes(efs, fid)
    assert before["ValueInIA"] == 0 and before["ValueInArchive"] == 0

    # Eight days pass: the clock request answers once what became due moved.
    s.advance_clock(8 * DAY)
    assert where(s, fid, ino["k200"]) == ["ia"]
    assert where(s, fid, ino["m5"]) == ["ia"]
    assert where(s, fid, ino["one_k"]) == ["standard"]  # under 128 KiB: never moves
    size = size_in_bytes(efs, fid)
    assert size["ValueInIA"] == 204800 + 5242880
    # 2 KiB of metadata per object in Standard (root, three files), the
    # root's 4 KiB and the 1 KiB file's 4 KiB of data.
    assert size["ValueInStandard"] == 4 * 2048 + 4096 + 4096
    assert size["Value"] == size["ValueInStandard"] + size["ValueInIA"]
    # No policy, nothing moved.
    assert all(where(s, plain, ino_plain[n]) == ["standard"] for n in SIZES)
    assert size_in_bytes(efs, plain)["ValueInIA"] == 0
    # The Prometheus page says so too.
    with urllib.request.urlopen(s.endpoint + "/_efs-local/metrics", timeout=10) as r:
        assert r.headers["Content-Type"] == "text/plain; version=0.0.4"
        page = r.read().decode()
    assert (f'efs_local_storage_bytes{{file_system_id="{fid}",storage_class="ia"}} '
            f'{204800 + 5242880}') in page
    assert 'efs_local_lifecycle_transitions_total{from="standard",to="ia"} 2' in page
    assert re.search(r'efs_local_nfs_operation_seconds_count\{op="WRITE"\} [1-9]', page)
    assert re.search(r'efs_local_api_request_seconds_count\{service="efs",'
                     r'operation="DescribeFileSystems"\} [1-9]', page)

    # Reading the 5 MiB file brings it back to Standard (AFTER_1_ACCESS).
    read = "sha256sum /mnt/m5 /mnt/one_k | sed 's|/mnt/||'"
    got = sums(guest(s, read, fid))
    assert got["m5"] == want["m5"] and got["one_k"] == want["one_k"]
    deadline = time.time() + 10
    while where(s, fid, ino["m5"]) != ["standard"] and time.time() < deadline:
        time.sleep(0.05)
    assert where(s, fid, ino["m5"]) == ["standard"]
    assert where(s, fid, ino["k200"]) == ["ia"]
    assert size_in_bytes(efs, fid)["ValueInIA"] == 204800

    # 31 more days on an elastic file system: both big files reach Archive.
    s.advance_clock(31 * DAY)
    assert where(s, fid, ino["k200"]) == ["archive"]
    assert where(s, fid, ino["m5"]) == ["archive"]
    size = size_in_bytes(efs, fid)
    assert size["ValueInArchive"] == 204800 + 5242880 and size["ValueInIA"] == 0

    # Data in Archive keeps the file system on elastic throughput, even with
    # the Archive rule gone.
    policy_cli(s, fid, {"TransitionToIA": "AFTER_7_DAYS"})
    p = aws_cli(s, "efs", "update-file-system", "--file-system-id", fid, "--throughput-mode",
                "bursting", check=False)
    assert p.returncode != 0 and "BadRequest" in p.stderr and "Archive" in p.stderr

    # Across a restart the classes and bytes stay; a reader runs while the
    # files it reads move back (its own READs recall them).
    s.restart()
    assert where(s, fid, ino["m5"]) == ["archive"]
    policy_cli(s, fid, {"TransitionToIA": "AFTER_7_DAYS"},
               {"TransitionToPrimaryStorageClass": "AFTER_1_ACCESS"})
    reader = ("for i in 1 2 3 4 5 6; do sha256sum /mnt/k200 /mnt/m5 /mnt/one_k | sed 's|/mnt/||'; "
              "echo 3 > /proc/sys/vm/drop_caches; done")
    out = guest(s, reader, fid)
    lines = re.findall(r"^([0-9a-f]{64})\s+(\S+)$", out, re.M)
    assert len(lines) == 18
    assert all(digest == want[name] for digest, name in lines)
    assert where(s, fid, ino["m5"]) == ["standard"]
    assert where(s, fid, ino["k200"]) == ["standard"]
    assert size_in_bytes(efs, fid)["ValueInArchive"] == 0
    assert sums(guest(s, read.replace("m5 ", "m5 /mnt/k200 "), plain)) == {
        k: want_plain[k] for k in ("m5", "k200", "one_k")}
    log = s.log_path.read_text(errors="replace")
    assert re.search(rf"lifecycle: {fid} inode {ino['m5']} /m5: standard -> ia \(5242880 bytes\)", log)


def test_lifecycle_run_endpoint_errors_and_status(fresh_server):
    s = fresh_server
    efs = make_client(s)
    fid = new_fs(efs)  # no policy
    s.advance_clock(400 * DAY)
    assert s.admin("POST", "lifecycle/run", {"FileSystemId": fid}) == {"moved": []}
    # Bad input gets a named error.
    with pytest.raises(urllib.error.HTTPError) as e:
        s.admin("POST", "lifecycle/run", {"FileSystemId": "fs-00000000000000000"})
    assert e.value.code == 404 and json.loads(e.value.read())["ErrorCode"] == "FileSystemNotFound"
    with pytest.raises(urllib.error.HTTPError) as e:
        s.admin("POST", "lifecycle/run", {"Bogus": 1})
    assert e.value.code == 400
    with pytest.raises(urllib.error.HTTPError) as e:
        s.admin("GET", "lifecycle/run")
    assert e.value.code == 405
    # The JSON that /_efs-local/metrics served before.
    status = s.admin("GET", "status")
    assert status["file_systems_exported"] == 1 and "nfs_connections" in status and "clock" in status


def test_lifecycle_run_answers_what_moved(tmp_path):
    # A long interval: only lifecycle/run moves files.
    s = Server(tmp_path / "data", extra_args=["--lifecycle-interval", str(400 * DAY)]).start()
    try:
        fid = fs_with_ia_after_7_days(s)
        guest(s, "head -c 262144 /dev/urandom > /mnt/f; sync", fid)
        s.advance_clock(8 * DAY)
        ino = inodes(s, fid)["f"]
        assert where(s, fid, ino) == ["standard"]
        moved = s.admin("POST", "lifecycle/run", {})["moved"]
        assert moved == [{"FileSystemId": fid, "inode": ino, "path": "/f", "from": "standard",
                          "to": "ia", "bytes": 256 * 1024}]
        assert where(s, fid, ino) == ["ia"]
    finally:
        s.stop()


def test_idle_days_count_across_a_restart(tmp_path):
    """The emulator clock continues after a restart: four idle days before it and four after
    make eight, so the file goes to IA. (A clock back at real time after the restart left the
    file's last access four days in the future, and it stayed in Standard.)"""
    s = Server(tmp_path / "data").start()
    try:
        fid = fs_with_ia_after_7_days(s)
        guest(s, "head -c 262144 /dev/urandom > /mnt/f; sync", fid)
        ino = inodes(s, fid)["f"]
        s.advance_clock(4 * DAY)
        ahead = s.admin("GET", "clock")["offset_seconds"]
        assert ahead >= 4 * DAY
        s.kill9()  # the advance was saved when it was answered, not at shutdown
        s.start()
        assert s.admin("GET", "clock")["offset_seconds"] == pytest.approx(ahead)
        assert where(s, fid, ino) == ["standard"]
        s.advance_clock(4 * DAY)
        assert where(s, fid, ino) == ["ia"]
        assert "emulator clock restored" in s.log_path.read_text(errors="replace")
    finally:
        s.stop()


def test_kill9_during_a_batch_of_moves(tmp_path):
    s = Server(tmp_path / "data").start()
    try:
        fid = fs_with_ia_after_7_days(s)
        # 24 files of 1 MiB + i * 4 KiB, written by the kernel client.
        out = guest(s, "for i in $(seq 0 23); do head -c $((1048576 + i * 4096)) /dev/urandom "
                    "> /mnt/f$i; done; sync; cd /mnt; sha256sum f*", fid)
        files = sums(out)
        assert len(files) == 24
        ino = inodes(s, fid)
        # The advance starts the batch; kill -9 lands in the middle of it.
        t = threading.Thread(target=lambda: _quiet(lambda: s.advance_clock(8 * DAY)))
        t.start()
        deadline = time.time() + 20
        while time.time() < deadline:
            moved = sum(1 for n in files if where(s, fid, ino[n]) != ["standard"])
            if moved >= 3:
                break
            time.sleep(0.002)
        s.kill9()
        t.join()
        partly = {n: where(s, fid, ino[n]) for n in files}
        s.start()
        in_ia = 0
        for n, digest in files.items():
            at = where(s, fid, ino[n])
            assert len(at) == 1, (n, at, partly[n])
            in_ia += at == ["ia"]
            url = f"nfs://127.0.0.1/{fid}/{n}?version=4&nfsport={s.nfs_port}"
            cat = subprocess.run(["nfs-cat", url], capture_output=True, timeout=60)
            assert cat.returncode == 0
            assert hashlib.sha256(cat.stdout).hexdigest() == digest, n
        assert 0 < in_ia, partly
        size = size_in_bytes(make_client(s), fid)
        assert size["ValueInIA"] == sum(1024 * 1024 + int(n[1:]) * 4096
                                        for n in files if where(s, fid, ino[n]) == ["ia"])
        assert "lifecycle recovery" in s.tail(400) or in_ia == len(files)
    finally:
        s.stop()


def _quiet(fn):
    try:
        fn()
    except OSError:
        pass  # the server died under the request
