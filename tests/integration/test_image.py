"""The container image, built from the repository's Dockerfile with buildah
and run with podman, daemonless, as this machine allows:

- The image is made with --build-arg BINARY_FROM=prebuilt from the static
  binary the test command has built (build-static/, meson -Dstatic=true),
  since the Dockerfile's own build stage needs debian:12 from a registry this
  machine cannot reach. Everything after that stage is the Dockerfile's.
- podman's own storage lives in the test's temporary directory (vfs driver),
  so nothing is left in /var/lib/containers.
- The container runs with runc and cgroupfs, and with lower nofile/nproc
  limits than podman's defaults: this sandbox has no CAP_SYS_RESOURCE and a
  hybrid cgroup tree, which crun refuses. A user's machine needs none of it.
- Its network is a namespace of its own (slirp4netns); efs-local listens on
  0.0.0.0 inside it and the ports are published on 127.0.0.1 only.

A client on the host then uses the API (AWS CLI) and mounts a file system
(libnfs); the image's HEALTHCHECK passes; the data survives a new container
on the same volume.
"""
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import types
import urllib.request

import pytest

from conftest import ROOT, aws_cli, free_port, wait_state

STATIC_BIN = ROOT / "build-static" / "efs-local"
TOOLS = ("buildah", "podman", "runc", "slirp4netns")
missing = [t for t in TOOLS if not shutil.which(t)]
# The test command installs the tools and builds build-static/; outside it
# the test is skipped, in CI it must run.
must_run = os.environ.get("CI") == "true"
if not must_run:
    pytestmark = pytest.mark.skipif(bool(missing) or not STATIC_BIN.exists() or os.geteuid() != 0,
                                    reason=f"needs root, {TOOLS} and build-static/efs-local")


class Engine:
    def __init__(self, tmp):
        # podman refuses a runroot path longer than 50 characters.
        self.runroot = tempfile.mkdtemp(prefix="efs-pd-", dir="/tmp")
        self.store = ["--root", str(tmp / "storage"), "--runroot", self.runroot,
                      "--storage-driver", "vfs"]

    def buildah(self, *args, timeout=300):
        return subprocess.run(["buildah", *self.store, *args], check=True, capture_output=True,
                              text=True, timeout=timeout)

    def podman(self, *args, check=True, timeout=120):
        return subprocess.run(["podman", *self.store, "--runtime", "runc", "--cgroup-manager",
                               "cgroupfs", *args], check=check, capture_output=True, text=True,
                              timeout=timeout)

    RUN = ["--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096", "--network", "slirp4netns"]


def wait_health(api, container, engine):
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{api}/_efs-local/health", timeout=1) as r:
                return json.loads(r.read())
        except OSError:
            state = engine.podman("inspect", "--format", "{{.State.Status}}", container).stdout.strip()
            assert state == "running", engine.podman("logs", container, check=False).stdout
            time.sleep(0.1)
    raise AssertionError("no health answer: " + engine.podman("logs", container, check=False).stdout)


NAME = "efs-local-test"
VOLUME = "efsdata"


@contextlib.contextmanager
def container(engine, tag):
    """Runs the image with its ports published on free loopback ports and the
    data volume mounted; yields (an object aws_cli takes, the NFS port) once
    health answers; stops and removes the container after."""
    api, nfs = free_port(), free_port()
    engine.podman("run", "-d", "--name", NAME, *Engine.RUN, "-p", f"127.0.0.1:{api}:2050",
                  "-p", f"127.0.0.1:{nfs}:2049", "-v", f"{VOLUME}:/data", tag)
    try:
        health = wait_health(api, NAME, engine)
        assert health["data_dir"] == "/data" and health["nfs_port"] == 2049, health
        yield types.SimpleNamespace(endpoint=f"http://127.0.0.1:{api}"), nfs
    finally:
        engine.podman("stop", "-t", "10", NAME, check=False)
        engine.podman("rm", "-f", NAME, check=False)


def test_image_serves_nfs_and_api_from_a_volume(tmp_path):
    assert not missing, f"missing {missing}"
    assert STATIC_BIN.exists(), "the test command builds build-static/efs-local"
    # The static binary needs nothing else: ldd finds no shared libraries.
    ldd = subprocess.run(["ldd", str(STATIC_BIN)], capture_output=True, text=True)
    assert "not a dynamic executable" in (ldd.stdout + ldd.stderr), ldd.stdout

    ctx = tmp_path / "context"
    rootfs = ctx / ".container" / "rootfs"
    subprocess.run(["bash", str(ROOT / "tools" / "container-rootfs.sh"), "--image", str(STATIC_BIN),
                    str(rootfs)], check=True, capture_output=True, timeout=120)
    assert not (rootfs / "dev").exists()  # the runtime provides /dev
    eng = Engine(tmp_path)
    tag = "localhost/efs-local:test"
    eng.buildah("bud", "--format", "docker", "--isolation", "chroot", "--build-arg",
                "BINARY_FROM=prebuilt", "-f", str(ROOT / "Dockerfile"), "-t", tag, str(ctx))
    cfg = json.loads(eng.podman("image", "inspect", tag).stdout)[0]
    conf = cfg["Config"]
    assert conf["User"] == "10001:10001"
    assert set(conf["ExposedPorts"]) == {"2049/tcp", "2050/tcp"}
    assert "/data" in conf["Volumes"]
    assert "EFS_LOCAL_LISTEN=0.0.0.0" in conf["Env"]
    assert cfg["Healthcheck"]["Test"] == ["CMD", "/usr/local/bin/efs-local", "health"]
    size_mib = cfg["Size"] / (1 << 20)
    print(f"image size {size_mib:.1f} MiB")
    assert size_mib < 40, size_mib  # one static binary and CA data

    try:
        with container(eng, tag) as (endpoint, nfs):
            # Inside, it runs as the image's user, not root.
            top = eng.podman("top", NAME, "user").stdout.split()
            assert "10001" in top, top
            hc = eng.podman("healthcheck", "run", NAME, check=False)
            assert hc.returncode == 0, hc.stdout + hc.stderr

            fs = aws_cli(endpoint, "efs", "create-file-system", "--creation-token", "image")["FileSystemId"]
            assert fs.startswith("fs-")
            # The image keeps EFS's creating state (1 s by default).
            wait_state(lambda: aws_cli(endpoint, "efs", "describe-file-systems", "--file-system-id", fs)
                       ["FileSystems"][0]["LifeCycleState"], "available")
            src = tmp_path / "hello.txt"
            src.write_text("into the container\n")
            url = f"nfs://127.0.0.1/{fs}/hello.txt?version=4&nfsport={nfs}"
            subprocess.run(["nfs-cp", str(src), url], check=True, capture_output=True, timeout=60)
            got = subprocess.run(["nfs-cat", url], check=True, capture_output=True, text=True,
                                 timeout=60).stdout
            assert got == "into the container\n"

        # A new container on the same volume finds the file system and its file.
        with container(eng, tag) as (endpoint, nfs):
            out = aws_cli(endpoint, "efs", "describe-file-systems")["FileSystems"]
            assert [f["FileSystemId"] for f in out] == [fs]
            # The new server gives the first one's client a grace period (RFC
            # 7530 9.6.2) in which OPEN waits, so the file is listed, not read.
            url = f"nfs://127.0.0.1/{fs}/?version=4&nfsport={nfs}"
            got = subprocess.run(["nfs-ls", url], check=True, capture_output=True, text=True,
                                 timeout=60).stdout
            assert "hello.txt" in got and " 19 " in f" {got} ", got
    finally:
        eng.podman("volume", "rm", "-f", VOLUME, check=False)
        shutil.rmtree(eng.runroot, ignore_errors=True)
