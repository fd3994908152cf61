#!/usr/bin/env python3
"""boto3 against efs-local: a file system, a mount target and an access point,
then the mount used with libnfs's nfs-cp / nfs-cat (no root, no kernel mount).

    python3 efs_sample.py [--endpoint http://127.0.0.1:2050] [--nfs-port 2049]

With root and the kernel client, the same access point mounts with
    mount -t nfs4 -o vers=4.1 <mount target IP>:/ /mnt     (the file system)
    mount -t nfs4 -o vers=4.1 127.0.0.1:/fsap-... /mnt      (the access point)
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid

import boto3


def wait(describe, want, what, timeout=30):
    deadline = time.time() + timeout
    while True:
        state = describe()
        if state == want:
            return
        if time.time() > deadline:
            sys.exit(f"{what} is {state}, not {want}, after {timeout} s")
        time.sleep(0.1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", default=os.environ.get(
        "EFS_LOCAL_ENDPOINT", "http://127.0.0.1:" + os.environ.get("EFS_LOCAL_API_PORT", "2050")))
    ap.add_argument("--nfs-port", type=int, default=int(os.environ.get("EFS_LOCAL_NFS_PORT", "2049")))
    args = ap.parse_args()

    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                    region_name="us-east-1")
    efs = session.client("efs", endpoint_url=args.endpoint)
    ec2 = session.client("ec2", endpoint_url=args.endpoint)

    fs = efs.create_file_system(CreationToken=f"sample-{uuid.uuid4()}", Encrypted=True,
                                Tags=[{"Key": "Name", "Value": "python-sample"}])
    fs_id = fs["FileSystemId"]
    wait(lambda: efs.describe_file_systems(FileSystemId=fs_id)["FileSystems"][0]["LifeCycleState"],
         "available", fs_id)
    print("file system", fs_id)

    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    mt = efs.create_mount_target(FileSystemId=fs_id, SubnetId=subnet)
    mt_id = mt["MountTargetId"]
    wait(lambda: efs.describe_mount_targets(MountTargetId=mt_id)["MountTargets"][0]["LifeCycleState"],
         "available", mt_id)
    print("mount target", mt_id, "at", mt["IpAddress"])

    ap_ = efs.create_access_point(
        FileSystemId=fs_id, ClientToken=str(uuid.uuid4()),
        PosixUser={"Uid": 1000, "Gid": 1000},
        RootDirectory={"Path": "/app",
                       "CreationInfo": {"OwnerUid": 1000, "OwnerGid": 1000, "Permissions": "755"}})
    ap_id = ap_["AccessPointId"]
    wait(lambda: efs.describe_access_points(AccessPointId=ap_id)["AccessPoints"][0]["LifeCycleState"],
         "available", ap_id)
    print("access point", ap_id)

    # Use the mount: write through the access point, read back through the
    # mount target's address (the file system's root: the file is in /app).
    body = f"written by efs_sample.py through {ap_id}\n"
    with tempfile.NamedTemporaryFile("w", delete=False) as f:
        f.write(body)
        local = f.name
    via_ap = f"nfs://127.0.0.1/{ap_id}/hello.txt?version=4&nfsport={args.nfs_port}"
    via_mt = f"nfs://{mt['IpAddress']}/app/hello.txt?version=4&nfsport={args.nfs_port}"
    try:
        subprocess.run(["nfs-cp", local, via_ap], check=True)
    finally:
        os.unlink(local)
    got = subprocess.run(["nfs-cat", via_mt], check=True, capture_output=True, text=True).stdout
    if got != body:
        sys.exit(f"read back {got!r}, wrote {body!r}")
    print("read back through", mt["IpAddress"], ":", got.strip())

    size = efs.describe_file_systems(FileSystemId=fs_id)["FileSystems"][0]["SizeInBytes"]
    print("SizeInBytes", size["Value"])
    print("OK")


if __name__ == "__main__":
    main()
