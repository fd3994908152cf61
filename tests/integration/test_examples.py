"""examples/ run here: the boto3 and SDK v3 samples, the Terraform
configuration's API call sequence and the EFS CSI driver's, replayed with the
AWS CLI, and the CI recipes' shell steps (those not marked `# runner only`)
with a local efs-local. The YAML files are parsed and checked for what they
promise (ports, health check, volumes)."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import yaml

from conftest import BIN, ROOT, free_port

EX = ROOT / "examples"
JS = ROOT / "tests" / "integration" / "js"


def cli_env(server=None, **extra):
    env = dict(os.environ)
    env.pop("AWS_DATA_PATH", None)  # the CLI's own model; boto3 samples set theirs below
    env.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1",
               PATH=f"{BIN.parent}:{env['PATH']}")
    if server:
        env.update(EFS_LOCAL_API_PORT=str(server.api_port), EFS_LOCAL_NFS_PORT=str(server.nfs_port),
                   EFS_LOCAL_ENDPOINT=server.endpoint)
    env.update(extra)
    return env


def run(cmd, env, cwd=None, timeout=180):
    p = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, f"{cmd} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
    return p.stdout


def test_python_sample(server):
    env = cli_env(server, AWS_DATA_PATH=os.environ.get("AWS_DATA_PATH", ""))
    out = run(["/usr/bin/python3", str(EX / "python" / "efs_sample.py")], env)
    fs = re.search(r"file system (fs-[0-9a-f]{17})", out).group(1)
    ap = re.search(r"access point (fsap-[0-9a-f]{17})", out).group(1)
    assert f"read back through" in out and ap in out and out.strip().endswith("OK")
    # What the sample wrote through the access point is in the file system's /app.
    got = run(["nfs-cat", f"nfs://127.0.0.1/{fs}/app/hello.txt?version=4&nfsport={server.nfs_port}"], env)
    assert got == f"written by efs_sample.py through {ap}\n"


def test_node_sample(server):
    # Resolved against tests/integration/js/node_modules (the SDK the tests install).
    d = Path(tempfile.mkdtemp(prefix=".run-", dir=JS))
    try:
        shutil.copy(EX / "node" / "efs-sample.mjs", d)
        out = run(["node", str(d / "efs-sample.mjs")], cli_env(server))
    finally:
        shutil.rmtree(d)
    fs = re.search(r"file system (fs-[0-9a-f]{17})", out).group(1)
    assert out.strip().endswith("OK")
    got = run(["nfs-cat", f"nfs://127.0.0.1/{fs}/web/index.html?version=4&nfsport={server.nfs_port}"],
              cli_env(server))
    assert got.startswith("<p>written by efs-sample.mjs through fsap-")


def test_terraform_replay(server):
    tf = (EX / "terraform" / "main.tf").read_text()
    for r in ("aws_kms_key", "aws_efs_file_system", "aws_efs_mount_target", "aws_efs_access_point",
              "aws_efs_file_system_policy"):
        assert f'resource "{r}"' in tf
    p = subprocess.run(["bash", str(EX / "terraform" / "replay.sh")], env=cli_env(server),
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "applied: fs-" in p.stdout and p.stdout.strip().endswith("destroyed")
    calls = [l[2:] for l in p.stderr.splitlines() if l.startswith("+ ")]
    for want in ("kms create-key", "efs create-file-system", "efs create-mount-target",
                 "efs create-access-point", "efs put-file-system-policy", "efs delete-file-system",
                 "kms schedule-key-deletion"):
        assert any(c.startswith(want) for c in calls), want


def test_csi_driver_calls(server):
    out = run(["bash", str(EX / "kubernetes" / "csi-calls.sh")], cli_env(server))
    assert re.search(r"CreateVolume: fs-[0-9a-f]{17}::fsap-[0-9a-f]{17} \(gid 50000,", out), out
    assert "DeleteVolume: fsap-" in out


def test_kubernetes_objects():
    docs = list(yaml.safe_load_all((EX / "kubernetes" / "efs-local.yaml").read_text()))
    kinds = {d["kind"]: d for d in docs}
    assert set(kinds) >= {"Deployment", "Service", "PersistentVolume", "PersistentVolumeClaim", "Pod"}
    svc, pv = kinds["Service"], kinds["PersistentVolume"]
    assert {p["port"] for p in svc["spec"]["ports"]} == {2049, 2050}
    assert pv["spec"]["nfs"]["server"] == svc["spec"]["clusterIP"]
    assert re.fullmatch(r"/(fs|fsap)-[0-9a-f]{17}", pv["spec"]["nfs"]["path"])
    assert "nfsvers=4.1" in pv["spec"]["mountOptions"]
    probe = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    assert probe["httpGet"]["path"] == "/_efs-local/health"


def test_compose_file():
    c = yaml.safe_load((EX / "compose" / "docker-compose.yml").read_text())
    efs = c["services"]["efs-local"]
    assert "127.0.0.1:2049:2049" in efs["ports"] and "127.0.0.1:2050:2050" in efs["ports"]
    vol = c["volumes"]["app-data"]["driver_opts"]
    assert vol["type"] == "nfs4" and "port=2049" in vol["o"] and "vers=4.1" in vol["o"]
    assert vol["device"].startswith(":/${EFS_FS_ID")
    assert c["services"]["app"]["depends_on"]["setup"]["condition"] == "service_completed_successfully"


def run_steps(scripts, env, tmp):
    """Runs shell steps as a CI runner would (each its own bash -e), carrying
    $GITHUB_ENV between them; ends every process they left behind."""
    genv = tmp / "github_env"
    genv.touch()
    procs = []
    outs = []
    try:
        for script in scripts:
            step_env = dict(env)
            for line in genv.read_text().splitlines():
                k, _, v = line.partition("=")
                step_env[k] = v
            p = subprocess.Popen(["bash", "-e", "-c", script], env=step_env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, start_new_session=True)
            procs.append(p)
            out, _ = p.communicate(timeout=120)
            outs.append(out)
            assert p.returncode == 0, f"step failed:\n{script}\n{out}"
    finally:
        for p in procs:  # the server a step started in the background
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    return outs


def local_steps(lines):
    # YAML drops comments, so the gitlab job's local lines are its `script`;
    # `before_script` installs (runner only).
    return list(lines)


def test_github_actions_steps(tmp_path):
    wf = yaml.safe_load((EX / "ci" / "github-actions.yml").read_text())
    job = wf["jobs"]["with-binary"]
    assert "services" in wf["jobs"]["with-service-container"]
    scripts = [s["run"] for s in job["steps"]
               if "run" in s and "(runner only)" not in s.get("name", "") and s.get("name") != "Server log"]
    assert len(scripts) == 3
    env = cli_env(None, **{k: str(v) for k, v in wf["env"].items()})
    env.update(EFS_LOCAL_API_PORT=str(free_port()), EFS_LOCAL_NFS_PORT=str(free_port()),
               RUNNER_TEMP=str(tmp_path), GITHUB_ENV=str(tmp_path / "github_env"))
    env.pop("EFS_LOCAL_ENDPOINT", None)
    outs = run_steps(scripts, env, tmp_path)
    assert '"status": "ok"' in outs[0] or "ok" in outs[0]
    fs = re.search(r"^FS=(fs-[0-9a-f]{17})$", (tmp_path / "github_env").read_text(), re.M).group(1)
    assert fs in outs[1]          # efs-local status lists it
    assert outs[2].strip().splitlines()[-1] == "available"


def test_gitlab_ci_script(tmp_path):
    ci = yaml.safe_load((EX / "ci" / "gitlab-ci.yml").read_text())
    job = ci["efs-tests"]
    script = "\n".join(local_steps(job["script"]))
    env = cli_env(None, **{k: str(v) for k, v in ci["variables"].items()})
    env.update(EFS_LOCAL_API_PORT=str(free_port()), EFS_LOCAL_NFS_PORT=str(free_port()),
               CI_PROJECT_DIR=str(tmp_path))
    env.pop("EFS_LOCAL_ENDPOINT", None)
    (out,) = run_steps([f"cd {tmp_path}\n" + script], env, tmp_path)
    assert re.search(r"mount -t nfs4 .*:/ ?.*|mount -t nfs4 .*fs-[0-9a-f]{17}", out), out
    assert "fs-" in out


def test_publish_image_workflow():
    wf = yaml.safe_load((EX / "ci" / "publish-image.yml").read_text())
    steps = wf["jobs"]["image"]["steps"]
    push = [s for s in steps if s.get("uses", "").startswith("docker/build-push-action")]
    assert push and push[0]["with"]["file"] == "Dockerfile" and push[0]["with"]["push"] is True
    # The file it builds is there, and the smoke test's port is one the image exposes.
    dockerfile = (ROOT / push[0]["with"]["context"] / push[0]["with"]["file"]).read_text()
    assert re.search(r"^EXPOSE 2049 2050$", dockerfile, re.M)
    smoke = [s for s in steps if "docker run" in s.get("run", "")]
    assert smoke and "-p 2050:2050" in smoke[0]["run"]
