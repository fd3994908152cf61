"""A full data dir (docs/full-disk.md): the server's data dir is a 64 MiB tmpfs
filled to the last block by a kernel NFS client.

Checks: changes get NFS4ERR_NOSPC ("No space left on device", never "Input/output
error"); rm works and really frees space (writes work again without a restart);
CreateFileSystem answers InternalServerError naming the full disk; a restart on
the full disk comes up healthy with the data intact.
"""
import os
import re
import shutil
import subprocess

import pytest
from botocore.exceptions import ClientError

from conftest import Server, kernel_client, make_client, new_fs

MIB = 1 << 20
ENOSPC_TEXT = "No space left on device"


@pytest.fixture
def small_disk(tmp_path):
    """A 64 MiB tmpfs as the data dir; the server log lies outside it."""
    d = tmp_path / "data"
    d.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(d)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.strip()}")
    yield d
    subprocess.run(["umount", "-l", str(d)], check=False)


def free_bytes(d):
    st = os.statvfs(d)
    return st.f_bavail * st.f_frsize


def run(s, fid, script):
    p = kernel_client(f"127.0.0.1:{s.nfs_port}", script, export=f"/{fid}", timeout=240,
                      extra=("--keep-going",))
    assert p.returncode == 0, (f"rc={p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}\n"
                               f"server:\n{s.tail()}")
    return p.stdout


def sums(out):
    return {name: digest for digest, name in re.findall(r"^([0-9a-f]{64})\s+(\S+)$", out, re.M)}


def rc_of(out, what):
    m = re.search(rf"^{what} rc=(\d+)$", out, re.M)
    assert m, f"no '{what} rc=' in:\n{out}"
    return int(m.group(1))


# Fills the file system until the disk is full. dd's own error is
# "No space left on device" (written to stdout by 2>&1).
FILL = """
dd if=/dev/zero of={name} bs=1M 2>&1 | grep -o "No space left on device" | head -1
sync {name} 2>/dev/null; sync
"""


def top_up(d, name):
    """Fills what is left of the disk from the host, as any other user of it
    could: a WRITE that fails part-way gives its partial blocks back, and a
    client's unmount deletes its client record with a slice of the space
    reserve, so a disk filled through NFS has up to about 1 MiB free."""
    subprocess.run(["dd", "if=/dev/zero", f"of={d / name}", "bs=4k"], capture_output=True)
    assert free_bytes(d) == 0


def test_full_disk_nospc_remove_restart(small_disk):
    s = Server(small_disk)
    s.start()
    try:
        efs = make_client(s)
        fid = new_fs(efs)
        out = run(s, fid, """
set -u
mkdir keep
head -c 4000000 /dev/urandom > keep/a && sync && sha256sum keep/a
""" + FILL.format(name="fill"))
        written = sums(out)
        assert "keep/a" in written, out
        assert ENOSPC_TEXT in out, out
        assert free_bytes(small_disk) < 2 * MIB, f"disk not full: {free_bytes(small_disk)}"
        top_up(small_disk, "host-filler-1")

        out = run(s, fid, """
set -u
touch newfile 2>&1; echo "touch rc=$?"
mkdir newdir 2>&1; echo "mkdir rc=$?"
bash -c 'echo hello > keep/small' 2>&1; echo "create rc=$?"
rm -f fill 2>&1; echo "rm rc=$?"
test -e fill; echo "gone rc=$?"
dd if=/dev/urandom of=again bs=1M count=10 conv=fsync 2>&1 | tail -1; echo "again rc=${PIPESTATUS[0]}"
mkdir afterdir 2>&1; echo "mkdir2 rc=$?"
""" + FILL.format(name="fill2") + """
ls -la
""")
        assert "Input/output error" not in out, out
        for what in ("touch", "mkdir", "create"):
            assert rc_of(out, what) != 0, out
        assert out.count(ENOSPC_TEXT) >= 4, out  # touch, mkdir, create, dd
        assert rc_of(out, "rm") == 0, out
        assert rc_of(out, "gone") != 0, out
        assert rc_of(out, "again") == 0, out  # rm freed real space: writes work again
        assert rc_of(out, "mkdir2") == 0, out
        assert free_bytes(small_disk) < 2 * MIB, f"disk not full: {free_bytes(small_disk)}"
        top_up(small_disk, "host-filler-2")

        # The management API on the full disk: a named error, not a bare 500.
        with pytest.raises(ClientError) as ei:
            efs.create_file_system(CreationToken="on-a-full-disk")
        err = ei.value.response
        assert err["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert err["Error"]["Code"] == "InternalServerError"
        assert "full" in err["Error"]["Message"], err

        # Restart on the full disk: comes up healthy, explains why.
        s.restart()
        assert "is full" in s.tail(200), s.tail(200)
        assert free_bytes(small_disk) < 2 * MIB

        out = run(s, fid, """
set -u
sha256sum keep/a
dd if=/dev/zero of=more bs=1M count=8 conv=fsync 2>&1 | grep -o "No space left on device" | head -1
rm -f more fill2 2>&1; echo "rm rc=$?"
dd if=/dev/urandom of=after bs=1M count=10 conv=fsync 2>&1 | tail -1; echo "after rc=${PIPESTATUS[0]}"
touch newfile 2>&1; echo "touch rc=$?"
mkdir newdir 2>&1; echo "mkdir rc=$?"
rm -f after again
sha256sum keep/a
""")
        assert sums(out)["keep/a"] == written["keep/a"], out
        assert ENOSPC_TEXT in out, out  # still full until the rm
        assert "Input/output error" not in out, out
        assert rc_of(out, "rm") == 0, out
        assert rc_of(out, "after") == 0, out
        assert rc_of(out, "touch") == 0, out
        assert rc_of(out, "mkdir") == 0, out
        # Removed files' chunk files are gone: almost all the disk is free
        # again (64 MiB less keep/a, the 8 MiB space reserve and the database).
        (small_disk / "host-filler-1").unlink()
        (small_disk / "host-filler-2").unlink()
        assert free_bytes(small_disk) > 40 * MIB, free_bytes(small_disk)
        # And the API works again.
        assert new_fs(efs).startswith("fs-")
    finally:
        s.stop()
