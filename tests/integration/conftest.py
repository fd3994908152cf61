"""Fixtures that run a real efs-local and point real clients at it.

Every pytest-xdist worker starts its own server on free loopback ports with
its own data directory, so workers never share state. Tests that restart or
kill the server use the `fresh_server` fixture, which gives them a private one.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("EFS_LOCAL_BIN", ROOT / "build" / "efs-local"))
SPEC = ROOT / "spec"
KNC = ROOT / "tests" / "tools" / "kernel-nfs-client"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One efs-local process with its data dir, ports and log file."""

    def __init__(self, data_dir, extra_args=(), state_delay_ms=200):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.extra_args = list(extra_args)
        self.state_delay_ms = state_delay_ms
        self.api_port = free_port()
        self.nfs_port = free_port()
        self.proc = None
        self.log_path = self.data_dir.parent / (self.data_dir.name + ".log")

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.api_port}"

    def start(self):
        self.log = open(self.log_path, "ab")
        args = [str(BIN), "serve", "--data-dir", str(self.data_dir),
                "--api-port", str(self.api_port), "--nfs-port", str(self.nfs_port),
                "--state-delay", str(self.state_delay_ms), "--log-level", "debug"] + self.extra_args
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"efs-local exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(self.endpoint + "/_efs-local/health", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("efs-local did not become healthy:\n" + self.tail())

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        return rc

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def restart(self):
        self.stop()
        return self.start()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def tail(self, n=60):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def admin(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.endpoint + "/_efs-local/" + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"{}")

    def advance_clock(self, seconds):
        return self.admin("POST", "clock", {"advance_seconds": seconds})


@pytest.fixture(scope="session")
def botocore_data(tmp_path_factory):
    """Our model for botocore (AWS_DATA_PATH): boto3 then knows all 31 operations."""
    d = tmp_path_factory.mktemp("botocore-data")
    efs = d / "efs" / "2015-02-01"
    efs.mkdir(parents=True)
    shutil.copy(SPEC / "efs-2015-02-01.json", efs / "service-2.json")
    shutil.copy(SPEC / "efs-2015-02-01.paginators.json", efs / "paginators-1.json")
    return d


@pytest.fixture(scope="session", autouse=True)
def aws_env(botocore_data):
    os.environ["AWS_DATA_PATH"] = str(botocore_data)
    os.environ["AWS_ACCESS_KEY_ID"] = "test"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "test"
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    os.environ.pop("AWS_PROFILE", None)
    os.environ["AWS_CONFIG_FILE"] = "/dev/null"
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
    os.environ["AWS_PAGER"] = ""
    yield


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("srv") / "data").start()
    yield s
    rc = s.stop()
    assert rc == 0, f"efs-local did not shut down cleanly (rc={rc}):\n{s.tail()}"


@pytest.fixture
def fresh_server(tmp_path):
    s = Server(tmp_path / "data").start()
    yield s
    s.stop(signal.SIGKILL if not s.alive() else signal.SIGTERM)


def make_client(server, service="efs", region="us-east-1"):
    import boto3
    from botocore.config import Config
    return boto3.client(service, endpoint_url=server.endpoint, region_name=region,
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 1}))


@pytest.fixture
def efs(server):
    return make_client(server)


@pytest.fixture
def ec2(server):
    return make_client(server, "ec2")


def wait_state(fn, want, timeout=15):
    """Polls fn() until it returns want."""
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        got = fn()
        if got == want:
            return got
        time.sleep(0.05)
    raise AssertionError(f"state is {got!r}, wanted {want!r}")


def new_fs(efs, **kw):
    """Creates a file system and waits until it is available."""
    import uuid
    fs = efs.create_file_system(CreationToken=kw.pop("CreationToken", str(uuid.uuid4())), **kw)
    fid = fs["FileSystemId"]
    wait_state(lambda: efs.describe_file_systems(FileSystemId=fid)["FileSystems"][0]["LifeCycleState"],
               "available")
    return fid


def aws_cli(server, *args, check=True):
    """Runs Debian's AWS CLI v2 against the server; returns parsed JSON output (or None)."""
    cmd = ["/usr/bin/aws", "--endpoint-url", server.endpoint, "--region", "us-east-1",
           "--output", "json"] + list(args)
    env = dict(os.environ)
    env.pop("AWS_DATA_PATH", None)  # the CLI uses its own bundled model
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({p.returncode}): {p.stderr}")
    if not check:
        return p
    return json.loads(p.stdout) if p.stdout.strip() else None


def kernel_client(server_addr, script, export="/", vers="4.1", timeout=300, extra=()):
    """Runs a script in a qemu guest that mounts server_addr (host:port) with the Linux client."""
    cmd = [str(KNC), "--server", server_addr, "--export", export, "--vers", vers,
           "--timeout", str(timeout), "--shell", "bash", "--script", "-"] + list(extra)
    return subprocess.run(cmd, input=script, capture_output=True, text=True, timeout=timeout + 60)
