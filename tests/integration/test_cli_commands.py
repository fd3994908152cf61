"""The emulator's own commands (`efs-local clock|lifecycle|credits|
mount-command|status|completion`) against a running server: what they print,
what they change, and their exit codes (1 refused, 2 usage, 3 no server)."""
import json
import os
import subprocess

from conftest import BIN, make_client, new_fs, wait_state


def run(server, *args, endpoint=None):
    env = dict(os.environ, EFS_LOCAL_ENDPOINT=endpoint or server.endpoint)
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, env=env, timeout=60)


def test_clock_show_and_advance(server):
    before = json.loads(run(server, "clock", "show", "--output", "json").stdout)
    p = run(server, "clock", "advance", "1d12h", "--output", "json")
    assert p.returncode == 0, p.stderr
    after = json.loads(p.stdout)
    moved = after["offset_seconds"] - before["offset_seconds"]
    assert moved == 129600
    # The server's own view agrees.
    assert server.admin("GET", "clock")["offset_seconds"] == after["offset_seconds"]
    text = run(server, "clock").stdout  # `show` is the default
    assert text.startswith(after["now"][:10]) and "offset" in text


def test_usage_and_connection_errors_have_their_own_exit_codes(server):
    bad = run(server, "clock", "advance", "3x")
    assert bad.returncode == 2 and "not a duration" in bad.stderr
    gone = run(server, "status", endpoint="http://127.0.0.1:1")
    assert gone.returncode == 3 and "cannot connect" in gone.stderr
    missing = run(server, "mount-command", "fs-0123456789abcdef0")
    assert missing.returncode == 1 and "FileSystemNotFound" in missing.stderr
    neither = run(server, "mount-command", "vol-1")
    assert neither.returncode == 2


def test_mount_command_and_status_follow_the_mount_targets(server, ec2):
    efs = make_client(server)
    fid = new_fs(efs, Tags=[{"Key": "Name", "Value": "cli-status"}])
    p = run(server, "mount-command", fid)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"mount -t nfs4 -o vers=4.1,port={server.nfs_port} 127.0.0.1:/{fid} /mnt/efs"

    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    mt = efs.create_mount_target(FileSystemId=fid, SubnetId=subnet)
    wait_state(lambda: efs.describe_mount_targets(MountTargetId=mt["MountTargetId"])["MountTargets"][0]["LifeCycleState"],
               "available")
    p = run(server, "mount-command", fid, "--vers", "4.0", "--mount-point", "/data")
    assert p.stdout.strip() == f"mount -t nfs4 -o vers=4.0,port={server.nfs_port} {mt['IpAddress']}:/ /data"

    st = json.loads(run(server, "status", "--output", "json").stdout)
    mine = [f for f in st["FileSystems"] if f["FileSystemId"] == fid]
    assert len(mine) == 1
    assert [m["IpAddress"] for m in mine[0]["MountTargets"]] == [mt["IpAddress"]]
    text = run(server, "status").stdout
    assert f"{fid}  cli-status  available" in text
    assert mt["IpAddress"] in text


def test_completion_script_is_valid_bash_and_names_every_command(server, tmp_path):
    p = run(server, "completion", "bash")
    assert p.returncode == 0
    script = tmp_path / "efs-local.bash"
    script.write_text(p.stdout)
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    # Completing `efs-local cl` and `efs-local clock ` in a real bash.
    probe = f"""
source {script}
COMP_WORDS=(efs-local cl); COMP_CWORD=1; _efs_local; echo "A:${{COMPREPLY[*]}}"
COMP_WORDS=(efs-local clock ''); COMP_CWORD=2; _efs_local; echo "B:${{COMPREPLY[*]}}"
COMP_WORDS=(efs-local serve --data); COMP_CWORD=2; _efs_local; echo "C:${{COMPREPLY[*]}}"
"""
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True).stdout
    assert "A:clock" in out
    b = next(l for l in out.splitlines() if l.startswith("B:")).split(":")[1].split()
    assert {"show", "advance", "--endpoint", "--output"} <= set(b)
    assert "C:--data-dir" in out


def test_credits_and_lifecycle_commands_reach_their_endpoints(server):
    fid = new_fs(make_client(server))
    p = run(server, "credits", "set", fid, "1048576", "--output", "json")
    assert p.returncode == 0, p.stderr
    # Credits keep accruing at the baseline (at least 1 MiB/s) while the test runs.
    mib = 1048576
    assert mib <= json.loads(p.stdout)["BurstCreditBalance"] < 10 * mib
    shown = json.loads(run(server, "credits", "show", fid, "--output", "json").stdout)
    assert mib <= shown["BurstCreditBalance"] < 10 * mib
    assert "burst credit balance " in run(server, "credits", "show", fid).stdout
    assert run(server, "credits", "set", "fs-0123456789abcdef0", "1").returncode == 1
    moved = json.loads(run(server, "lifecycle", "run", fid, "--output", "json").stdout)
    assert moved == {"moved": []}  # no lifecycle policy: nothing moves
    assert run(server, "lifecycle", "run", fid).stdout.strip() == "moved 0 files"
