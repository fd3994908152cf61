"""efs-local from the minimal root file system the image is meant to hold
(tools/container-rootfs.sh: the binary, its libraries if it is dynamic, /data
owned by user 10001), run with chroot as that non-root user, because no
container engine runs on this machine. A host client uses its API (AWS CLI)
and mounts a file system from it (libnfs), and `efs-local health` inside the
root file system answers."""
import os
import shutil
import subprocess
import time
import urllib.request

import pytest

from conftest import BIN, ROOT, free_port

CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("chroot"),
                                reason="chroot needs root")


def test_chroot_rootfs(tmp_path):
    rootfs = tmp_path / "rootfs"
    out = subprocess.run(["bash", str(ROOT / "tools" / "container-rootfs.sh"), str(BIN), str(rootfs)],
                         check=True, capture_output=True, text=True, timeout=300).stdout
    assert out.startswith("rootfs ")
    api, nfs = free_port(), free_port()
    env = {"EFS_LOCAL_DATA_DIR": "/data", "EFS_LOCAL_API_PORT": str(api), "EFS_LOCAL_NFS_PORT": str(nfs),
           "EFS_LOCAL_STATE_DELAY": "0", "PATH": "/usr/local/bin"}
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen([CHROOT, "--userspec=10001:10001", str(rootfs), "/usr/local/bin/efs-local",
                             "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        health = None
        for _ in range(200):
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{api}/_efs-local/health", timeout=1) as r:
                    health = r.read().decode()
                    break
            except OSError:
                time.sleep(0.05)
        assert health and '"data_dir":"/data"' in health.replace(" ", "")
        # The health command inside the root file system (the image's HEALTHCHECK).
        h = subprocess.run([CHROOT, "--userspec=10001:10001", str(rootfs), "/usr/local/bin/efs-local",
                            "health"], env=env, capture_output=True, text=True, timeout=30)
        assert h.returncode == 0 and h.stdout.startswith("ok: efs-local"), h.stderr
        cli_env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                       AWS_DEFAULT_REGION="us-east-1")
        cli_env.pop("AWS_DATA_PATH", None)
        fs = subprocess.run(["aws", "--endpoint-url", f"http://127.0.0.1:{api}", "efs", "create-file-system",
                             "--creation-token", "chroot", "--query", "FileSystemId", "--output", "text"],
                            env=cli_env, check=True, capture_output=True, text=True, timeout=60).stdout.strip()
        assert fs.startswith("fs-")
        src = tmp_path / "hello.txt"
        src.write_text("from the host\n")
        url = f"nfs://127.0.0.1/{fs}/hello.txt?version=4&nfsport={nfs}"
        subprocess.run(["nfs-cp", str(src), url], check=True, capture_output=True, timeout=60)
        got = subprocess.run(["nfs-cat", url], check=True, capture_output=True, text=True, timeout=60).stdout
        assert got == "from the host\n"
        # The data landed in the root file system's /data, owned by the non-root user.
        owned = {os.stat(p).st_uid for p in (rootfs / "data").iterdir()}
        assert owned == {10001}, owned
    finally:
        proc.terminate()
        proc.wait(timeout=20)
