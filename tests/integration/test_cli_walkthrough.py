"""The README walkthrough with Debian's AWS CLI v2, as a new user would run it."""
import time

from conftest import aws_cli, wait_state


def test_cli_create_describe_restart_delete(fresh_server):
    s = fresh_server
    fs = aws_cli(s, "efs", "create-file-system", "--creation-token", "walkthrough",
                 "--performance-mode", "generalPurpose", "--throughput-mode", "bursting",
                 "--encrypted", "--tags", "Key=Name,Value=demo")
    fid = fs["FileSystemId"]
    assert fid.startswith("fs-") and len(fid) == 20
    assert fs["LifeCycleState"] == "creating"
    assert fs["Name"] == "demo"
    assert fs["FileSystemArn"] == f"arn:aws:elasticfilesystem:us-east-1:000000000000:file-system/{fid}"
    wait_state(lambda: aws_cli(s, "efs", "describe-file-systems", "--file-system-id", fid)
               ["FileSystems"][0]["LifeCycleState"], "available")

    subnets = aws_cli(s, "ec2", "describe-subnets")["Subnets"]
    assert len(subnets) >= 3
    subnet = sorted(subnets, key=lambda x: x["AvailabilityZone"])[0]
    assert subnet["CidrBlock"].startswith("127.")
    mt = aws_cli(s, "efs", "create-mount-target", "--file-system-id", fid,
                 "--subnet-id", subnet["SubnetId"])
    assert mt["IpAddress"].startswith("127.")
    assert mt["AvailabilityZoneName"] == subnet["AvailabilityZone"]
    wait_state(lambda: aws_cli(s, "efs", "describe-mount-targets", "--mount-target-id",
                               mt["MountTargetId"])["MountTargets"][0]["LifeCycleState"], "available")

    ap = aws_cli(s, "efs", "create-access-point", "--file-system-id", fid,
                 "--posix-user", "Uid=1000,Gid=1000",
                 "--root-directory", "Path=/app,CreationInfo={OwnerUid=1000,OwnerGid=1000,Permissions=750}")
    assert ap["AccessPointId"].startswith("fsap-")
    assert ap["PosixUser"] == {"Uid": 1000, "Gid": 1000}

    lc = aws_cli(s, "efs", "put-lifecycle-configuration", "--file-system-id", fid,
                 "--lifecycle-policies", "TransitionToIA=AFTER_30_DAYS",
                 "TransitionToPrimaryStorageClass=AFTER_1_ACCESS")
    assert {"TransitionToIA": "AFTER_30_DAYS"} in lc["LifecyclePolicies"]

    # Restart: everything is still there, unchanged.
    before = aws_cli(s, "efs", "describe-file-systems", "--file-system-id", fid)["FileSystems"][0]
    s.restart()
    after = aws_cli(s, "efs", "describe-file-systems", "--file-system-id", fid)["FileSystems"][0]
    for k in ("FileSystemId", "CreationTime", "CreationToken", "FileSystemArn", "Encrypted",
              "KmsKeyId", "PerformanceMode", "ThroughputMode", "Name", "Tags"):
        assert before[k] == after[k], k
    mts = aws_cli(s, "efs", "describe-mount-targets", "--file-system-id", fid)["MountTargets"]
    assert [m["MountTargetId"] for m in mts] == [mt["MountTargetId"]]
    assert mts[0]["IpAddress"] == mt["IpAddress"]
    aps = aws_cli(s, "efs", "describe-access-points", "--file-system-id", fid)["AccessPoints"]
    assert [a["AccessPointId"] for a in aps] == [ap["AccessPointId"]]
    lc2 = aws_cli(s, "efs", "describe-lifecycle-configuration", "--file-system-id", fid)
    assert lc2["LifecyclePolicies"] == lc["LifecyclePolicies"]

    # Deleting the file system first is refused while a mount target exists.
    p = aws_cli(s, "efs", "delete-file-system", "--file-system-id", fid, check=False)
    assert p.returncode != 0 and "FileSystemInUse" in p.stderr

    aws_cli(s, "efs", "delete-access-point", "--access-point-id", ap["AccessPointId"])
    aws_cli(s, "efs", "delete-mount-target", "--mount-target-id", mt["MountTargetId"])
    wait_state(lambda: len(aws_cli(s, "efs", "describe-mount-targets", "--file-system-id", fid)
                           ["MountTargets"]), 0)
    aws_cli(s, "efs", "delete-file-system", "--file-system-id", fid)
    deadline = time.time() + 15
    while time.time() < deadline:
        p = aws_cli(s, "efs", "describe-file-systems", "--file-system-id", fid, check=False)
        if p.returncode != 0:
            break
        time.sleep(0.1)
    assert "FileSystemNotFound" in p.stderr


def test_cli_errors_are_named(server):
    p = aws_cli(server, "efs", "describe-file-systems", "--file-system-id", "fs-0123456789abcdef0",
                check=False)
    assert p.returncode != 0
    assert "FileSystemNotFound" in p.stderr
    p = aws_cli(server, "efs", "create-file-system", "--creation-token", "x",
                "--throughput-mode", "provisioned", check=False)
    assert p.returncode != 0
    assert "BadRequest" in p.stderr
