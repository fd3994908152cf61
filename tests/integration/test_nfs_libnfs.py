"""libnfs (Debian's 4.0, NFSv4.0 only) as a second, independent client:
reads and listings of files the kernel client wrote."""
import subprocess

from conftest import make_client, new_fs
from test_nfs_kernel import run_ok


def test_libnfs_lists_and_reads(server):
    fid = new_fs(make_client(server))
    run_ok(server, fid, "mkdir sub; echo hello-libnfs > sub/greeting; head -c 100000 /dev/zero > zeros")
    base = f"nfs://127.0.0.1/{fid}"
    q = f"?version=4&nfsport={server.nfs_port}"
    ls = subprocess.run(["nfs-ls", base + "/" + q], capture_output=True, text=True, timeout=60)
    assert ls.returncode == 0, ls.stderr
    assert "sub" in ls.stdout and "zeros" in ls.stdout
    cat = subprocess.run(["nfs-cat", base + "/sub/greeting" + q], capture_output=True, text=True, timeout=60)
    assert cat.returncode == 0, cat.stderr
    assert cat.stdout == "hello-libnfs\n"
    big = subprocess.run(["nfs-cat", base + "/zeros" + q], capture_output=True, timeout=60)
    assert big.returncode == 0 and big.stdout == b"\0" * 100000
