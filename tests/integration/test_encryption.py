"""Encryption at rest over the kernel client (issue 15): a data key per
encrypted file system, and the effect of its KMS key's state on the data.

The guest and the test synchronise through the file system's names: the
guest creates phase-N files (metadata, which stays writable when the key is
unusable) and the test watches for them in meta.db (read-only)."""
import re
import sqlite3
import threading
import time

import subprocess

import pytest

from conftest import KNC, Server, make_client, new_fs, wait_state

MARKER = b"EFS-LOCAL-PLAINTEXT-MARKER-7f3a9c"


def sums(out):
    return {name: digest for digest, name in re.findall(r"^([0-9a-f]{64})\s+(\S+)$", out, re.M)}


def guest(server, exports, script, timeout=300):
    """One kernel-client boot mounting each export of server at /mnt, /mnt2, ..."""
    cmd = [str(KNC), "--shell", "bash", "--timeout", str(timeout), "--script", "-"]
    for e in exports:
        cmd += ["--server", f"127.0.0.1:{server.nfs_port}", "--export", e]
    return subprocess.run(cmd, input=script, capture_output=True, text=True, timeout=timeout + 60)


def has_name(server, name):
    """True once a directory entry called name exists (any file system)."""
    try:
        db = sqlite3.connect(f"file:{server.data_dir / 'meta.db'}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute("SELECT 1 FROM vfs_dirents WHERE name = ?",
                              (name.encode(),)).fetchone() is not None or \
                db.execute("SELECT 1 FROM vfs_dirents WHERE name = ?", (name,)).fetchone() is not None
        finally:
            db.close()
    except sqlite3.Error:
        return False


def count_prefix(server, prefix):
    db = sqlite3.connect(f"file:{server.data_dir / 'meta.db'}?mode=ro", uri=True, timeout=5)
    try:
        rows = db.execute("SELECT name FROM vfs_dirents").fetchall()
    finally:
        db.close()
    return sum(1 for (n,) in rows if (n.decode() if isinstance(n, bytes) else n).startswith(prefix))


def wait_name(server, name, timeout=240):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if has_name(server, name):
            return
        time.sleep(0.2)
    raise AssertionError(f"the guest never created {name}:\n{server.tail()}")


def encrypted_fs(server, alias):
    kms = make_client(server, "kms")
    efs = make_client(server)
    key = kms.create_key(Description="efs data")["KeyMetadata"]
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    fs = efs.create_file_system(CreationToken=alias, Encrypted=True, KmsKeyId=alias)
    assert fs["KmsKeyId"] == key["Arn"]
    fid = fs["FileSystemId"]
    wait_state(lambda: efs.describe_file_systems(FileSystemId=fid)["FileSystems"][0]
               ["LifeCycleState"], "available")
    return kms, efs, key, fid


# The guest's helpers: reading through the server, not the page cache.
PRELUDE = r"""
set -u
fresh() { sync; echo 3 > /proc/sys/vm/drop_caches; }
# Waits until reading $1 fails (want=fail) or succeeds (want=ok); 120 s at most.
wait_read() {
  for i in $(seq 1 600); do
    fresh
    if cat "$1" > /dev/null 2> /tmp/err; then [ "$2" = ok ] && return 0
    else [ "$2" = fail ] && { cat /tmp/err; return 0; }; fi
    sleep 0.2
  done
  echo "TIMEOUT waiting for read $2 of $1"; return 1
}
"""


def test_data_key_and_key_state_delay_0(tmp_path):
    s = Server(tmp_path / "data").start()
    try:
        kms, efs, key, enc = encrypted_fs(s, "alias/efs-enc")
        plain = new_fs(efs)
        # The mount target of the encrypted file system, as a user makes it.
        ec2 = make_client(s, "ec2")
        subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
        mt = efs.create_mount_target(FileSystemId=enc, SubnetId=subnet)
        wait_state(lambda: efs.describe_mount_targets(MountTargetId=mt["MountTargetId"])
                   ["MountTargets"][0]["LifeCycleState"], "available")
        # Only the wrapped data key is stored, 0600.
        kf = s.data_dir / "data-keys" / f"{enc}.key"
        assert kf.exists() and (kf.stat().st_mode & 0o777) == 0o600
        assert not (s.data_dir / "data-keys" / f"{plain}.key").exists()

        result = {}

        def run():
            result["p"] = guest(s, [f"/{enc}", f"/{plain}"], PRELUDE + r"""
set -e
for d in /mnt /mnt2; do
  for i in $(seq 1 2000); do printf '%s\n' "MARKER"; done > $d/marker
  head -c 3000000 /dev/urandom > $d/data
done
fresh
cd /mnt; sha256sum marker data | sed 's/^/before /'
touch /mnt/phase-1
wait_read /mnt/data fail
echo "READ-FAILED"
ls -l /mnt | grep -q ' data$' && echo "LS-OK"
stat -c 'size %s' /mnt/data
if dd if=/dev/zero of=/mnt/newdata bs=4096 count=4 conv=fsync 2>/tmp/werr; then echo WRITE-OK; else echo WRITE-FAILED; cat /tmp/werr; fi
cat /mnt2/data > /dev/null && echo "PLAIN-OK"
touch /mnt/phase-2
wait_read /mnt/data ok
fresh
cd /mnt; sha256sum marker data | sed 's/^/after /'
""".replace("MARKER", MARKER.decode()))

        t = threading.Thread(target=run)
        t.start()
        wait_name(s, "phase-1")
        kms.disable_key(KeyId=key["KeyId"])
        wait_name(s, "phase-2")
        kms.enable_key(KeyId=key["KeyId"])
        t.join()
        p = result["p"]
        out = p.stdout
        assert p.returncode == 0, f"{out}\n{p.stderr}\n{s.tail()}"
        assert "READ-FAILED" in out and "Input/output error" in out, out
        assert "LS-OK" in out and "size 3000000" in out, out
        assert "WRITE-FAILED" in out, out
        assert "PLAIN-OK" in out, out
        before = dict(re.findall(r"^before ([0-9a-f]{64})\s+(\S+)$", out, re.M))
        after = dict(re.findall(r"^after ([0-9a-f]{64})\s+(\S+)$", out, re.M))
        assert len(before) == 2 and before == after, out
        log = s.log_path.read_text(errors="replace")
        assert re.search(rf"vfs {enc}: READ of inode \d+ refused with NFS4ERR_IO: its KMS key "
                         rf".* is disabled", log), s.tail()

        # A restart unwraps the data key again: nothing to check but that the
        # gate is open (the chunk store refuses an encrypted file system
        # without its key).
        s.restart()
        assert f"data key of {enc} unwrapped" in s.tail(200)

        # No plaintext of the encrypted file system under the data dir.
        found = []
        for f in s.data_dir.rglob("*"):
            if f.is_file() and MARKER in f.read_bytes():
                found.append(str(f.relative_to(s.data_dir)))
        assert any(plain in f for f in found), found
        leaked = [f for f in found if enc in f]
        assert not leaked, f"plaintext of the encrypted file system on disk: {leaked}"
    finally:
        s.stop()


def test_revocation_delay_deletion_and_restart(tmp_path):
    s = Server(tmp_path / "data", extra_args=["--kms-revocation-delay", "3600"]).start()
    try:
        kms, efs, key, enc = encrypted_fs(s, "alias/efs-delay")
        p = guest(s, [f"/{enc}"], "set -e; head -c 2000000 /dev/urandom > data; mkdir d; "
                  "echo hi > d/f; sync; sha256sum data")
        assert p.returncode == 0, p.stdout + p.stderr
        written = sums(p.stdout)
        # A restart keeps the encrypted file system readable.
        s.restart()

        result = {}

        def run():
            result["p"] = guest(s, [f"/{enc}"], PRELUDE + r"""
fresh; sha256sum data
touch phase-1
# Reads go on while the key is disabled but the delay has not passed.
for i in $(seq 1 600); do
  fresh
  if cat data > /dev/null 2>/tmp/err; then touch ok-$i; else echo "READ-FAILED"; cat /tmp/err; break; fi
  sleep 0.2
done
touch phase-2
wait_read data fail || exit 1
ls -l d && echo "LS-OK"
true
""")

        t = threading.Thread(target=run)
        t.start()
        wait_name(s, "phase-1")
        kms.disable_key(KeyId=key["KeyId"])
        n0 = count_prefix(s, "ok-")
        # Several more reads succeed with the key disabled (however slowly the
        # emulated guest runs: on two busy cores one read loop took over a
        # second), and none has failed meanwhile.
        deadline = time.time() + 90
        while count_prefix(s, "ok-") <= n0 + 3 and time.time() < deadline:
            assert not has_name(s, "phase-2"), "reads stopped before the revocation delay passed"
            time.sleep(0.2)
        assert count_prefix(s, "ok-") > n0 + 3, "no reads while the key was disabled"
        assert not has_name(s, "phase-2"), "reads stopped before the revocation delay passed"
        s.advance_clock(3601)
        t.join()
        p = result["p"]
        assert p.returncode == 0, p.stdout + p.stderr + s.tail()
        assert sums(p.stdout) == written
        assert "READ-FAILED" in p.stdout and "Input/output error" in p.stdout, p.stdout
        assert "LS-OK" in p.stdout

        # Deletion carried out by the clock: unreadable for good.
        kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
        s.advance_clock(8 * 86400)
        with pytest.raises(kms.exceptions.NotFoundException):
            kms.enable_key(KeyId=key["KeyId"])
        s.restart()
        fs = efs.describe_file_systems(FileSystemId=enc)["FileSystems"][0]
        assert fs["LifeCycleState"] == "available"
        p = guest(s, [f"/{enc}"], PRELUDE + """
ls d && cat d/f > /dev/null 2>&1 || echo "SMALL-FAILED"
if cat data > /dev/null 2>/tmp/err; then echo READ-OK; else echo READ-FAILED; cat /tmp/err; fi
stat -c 'size %s' data
""")
        assert p.returncode == 0, p.stdout + p.stderr
        assert "READ-FAILED" in p.stdout and "READ-OK" not in p.stdout, p.stdout
        assert "size 2000000" in p.stdout and "SMALL-FAILED" in p.stdout
        assert re.search(r"was deleted: the data key can never be unwrapped", s.tail(300))

        # Deleting the file system deletes its wrapped data key.
        kf = s.data_dir / "data-keys" / f"{enc}.key"
        assert kf.exists()
        efs.delete_file_system(FileSystemId=enc)
        wait_state(lambda: kf.exists(), False)
    finally:
        s.stop()


def test_a_flipped_byte_on_disk_is_an_io_error_not_data(tmp_path):
    """Every block carries a CRC32C checked on every read (docs/chunk-format.md):
    a byte flipped in a chunk file reaches the client as EIO, with a log line
    naming the file system, inode and offset; the file's other blocks, other
    files and other clients are served as before."""
    s = Server(tmp_path / "data").start()
    try:
        efs = make_client(s)
        kms, _, _, enc = encrypted_fs(s, "alias/efs-flip")
        plain = new_fs(efs)
        p = guest(s, [f"/{plain}", f"/{enc}"], r"""
set -e
for d in /mnt /mnt2; do
  head -c 1048576 /dev/urandom > $d/hit
  head -c 1048576 /dev/urandom > $d/other
  stat -c "ino $d %i" $d/hit
done
sync
cd /mnt; sha256sum hit other | sed 's/^/plain /'
cd /mnt2; sha256sum hit other | sed 's/^/enc /'
""")
        assert p.returncode == 0, p.stdout + p.stderr + s.tail()
        inos = dict(re.findall(r"^ino (/mnt2?) (\d+)$", p.stdout, re.M))
        before = {k: {name: digest for digest, name in
                      re.findall(rf"^{k} ([0-9a-f]{{64}})\s+(\S+)$", p.stdout, re.M)}
                  for k in ("plain", "enc")}
        assert all(len(v) == 2 for v in before.values()), p.stdout
        offset = 5 * 4096 + 123  # inside block 5
        for fid, mnt in ((plain, "/mnt"), (enc, "/mnt2")):
            ino = int(inos[mnt])
            f = s.data_dir / "chunks" / "standard" / fid / f"{ino & 0xff:02x}" / str(ino)
            data = bytearray(f.read_bytes())
            data[offset] ^= 0x01
            f.write_bytes(bytes(data))

        p = guest(s, [f"/{plain}", f"/{enc}"], r"""
for d in /mnt /mnt2; do
  if cat $d/hit > /dev/null 2> /tmp/err; then echo "READ-OK $d"; else echo "READ-FAILED $d: $(cat /tmp/err)"; fi
  # The blocks before the bad one still read.
  dd if=$d/hit of=/dev/null bs=4096 count=4 2>/dev/null && echo "HEAD-OK $d"
done
cd /mnt; sha256sum other | sed 's/^/plain /'
cd /mnt2; sha256sum other | sed 's/^/enc /'
""")
        out = p.stdout
        for mnt in ("/mnt", "/mnt2"):
            assert re.search(rf"^READ-FAILED {mnt}: .*Input/output error", out, re.M), out + p.stderr
            assert f"HEAD-OK {mnt}" in out, out
        for k in ("plain", "enc"):
            assert re.search(rf"^{k} {before[k]['other']}\s+other$", out, re.M), out
        log = s.log_path.read_text(errors="replace")
        for fid, mnt in ((plain, "/mnt"), (enc, "/mnt2")):
            assert re.search(rf"file system {fid} inode {inos[mnt]}: checksum mismatch in the "
                             rf"block at byte {offset - offset % 4096}", log), s.tail()
        # The server carries on: the API and a fresh client are served.
        assert s.alive()
        assert efs.describe_file_systems(FileSystemId=plain)["FileSystems"][0]["FileSystemId"] == plain
    finally:
        s.stop()
