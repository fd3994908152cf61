"""GET /_efs-local/ui in a real browser: Debian's chromium driven by
playwright-core (tests/integration/js/dashboard.mjs) renders a file system
with its mount target and access point, plots its figures, and its clock
button moves the emulator clock."""
import json
import subprocess
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from conftest import make_client, new_fs, wait_state

JS = Path(__file__).resolve().parent / "js"


def fetch(server, path, method="GET"):
    req = urllib.request.Request(server.endpoint + path, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type"), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read()


def test_ui_files_are_served(server):
    status, ctype, body = fetch(server, "/_efs-local/ui")
    assert status == 200 and ctype.startswith("text/html")
    assert b'src="/_efs-local/ui/ui.js"' in body
    status, ctype, body = fetch(server, "/_efs-local/ui/ui.js")
    assert status == 200 and ctype.startswith("text/javascript") and b"efsLocalUi" in body
    status, ctype, _ = fetch(server, "/_efs-local/ui/ui.css")
    assert status == 200 and ctype.startswith("text/css")
    status, _, body = fetch(server, "/_efs-local/ui/nope.js")
    assert status == 404 and json.loads(body)["ErrorCode"] == "NotFound"
    status, _, body = fetch(server, "/_efs-local/ui", method="POST")
    assert status == 405 and json.loads(body)["ErrorCode"] == "MethodNotAllowed"


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="chromium not installed")
def test_dashboard_in_chromium(server, tmp_path):
    efs, ec2 = make_client(server), make_client(server, "ec2")
    fs = new_fs(efs, Tags=[{"Key": "Name", "Value": "dash"}])
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    mt = efs.create_mount_target(FileSystemId=fs, SubnetId=subnet)
    wait_state(lambda: efs.describe_mount_targets(MountTargetId=mt["MountTargetId"])
               ["MountTargets"][0]["LifeCycleState"], "available")
    ap = efs.create_access_point(FileSystemId=fs, ClientToken=str(uuid.uuid4()),
                                 PosixUser={"Uid": 1000, "Gid": 1000})["AccessPointId"]
    # Some metered I/O to plot.
    src = tmp_path / "data.bin"
    # libnfs 4.0 (Debian 12) cannot encode an NFSv4 WRITE over about 3.9 KiB (its
    # COMPOUND buffer is fixed at 4 KiB; no request reaches the server): stay under.
    src.write_bytes(b"x" * 3000)
    subprocess.run(["nfs-cp", str(src), f"nfs://127.0.0.1/{fs}/data.bin?version=4&nfsport={server.nfs_port}"],
                   check=True, capture_output=True, timeout=60)
    shot = tmp_path / "dashboard.png"
    p = subprocess.run(["node", "dashboard.mjs", server.endpoint + "/_efs-local/ui?interval_ms=300",
                        fs, str(shot)], cwd=JS, capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr + p.stdout
    seen = json.loads(p.stdout.strip().splitlines()[-1])
    assert seen["errors"] == []
    assert seen["fs_text"] == fs
    assert "bursting" in seen["facts"] and "2.1 TiB" in seen["facts"]  # a new file system's credits
    assert mt["MountTargetId"] in seen["mount_targets"] and mt["IpAddress"] in seen["mount_targets"]
    assert ap in seen["access_points"] and "1000:1000" in seen["access_points"]
    assert seen["credit_samples"] >= 2 and len(seen["credit_points"].split()) >= 2
    assert seen["clock_after"] >= seen["clock_before"] + 86400
    assert seen["clock_result"] == "advanced 86400 s"
    # The server's clock moved too, not only the page's.
    assert server.admin("GET", "clock")["now_epoch_seconds"] >= seen["clock_before"] + 86400
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
