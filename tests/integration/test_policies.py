"""File system policies applied to the Linux kernel client (one qemu boot
mounting several exports): no ClientRootAccess squashes root, a Deny of
ClientWrite refuses changes and keeps reads, and a policy that allows only
one access point refuses the file system's own root. The policy's effect on
handles a client already holds is in tests/unit/nfs4/policy_gate_test.cc."""
import json

from conftest import kernel_client, make_client, new_fs, wait_state

ACCOUNT = "000000000000"


def arn(kind, rid):
    return f"arn:aws:elasticfilesystem:us-east-1:{ACCOUNT}:{kind}/{rid}"


def access_point(efs, fid, path, uid, permissions="755"):
    ap = efs.create_access_point(
        FileSystemId=fid, PosixUser={"Uid": uid, "Gid": uid},
        RootDirectory={"Path": path, "CreationInfo": {"OwnerUid": uid, "OwnerGid": uid,
                                                      "Permissions": permissions}})["AccessPointId"]
    wait_state(lambda: efs.describe_access_points(AccessPointId=ap)["AccessPoints"][0]["LifeCycleState"],
               "available")
    return ap


def put_policy(efs, fid, statements):
    efs.put_file_system_policy(FileSystemId=fid, Policy=json.dumps(
        {"Version": "2012-10-17", "Statement": statements}))


def test_policies_apply_to_kernel_mounts(server):
    efs = make_client(server)
    no_root, no_write, one_ap = new_fs(efs), new_fs(efs), new_fs(efs)
    opener = access_point(efs, no_root, "/open", 0, "777")  # mounting it makes /open
    writer = access_point(efs, no_write, "/w", 1000)
    only = access_point(efs, one_ap, "/only", 2000)

    put_policy(efs, no_root, [{"Effect": "Allow", "Principal": {"AWS": "*"},
                               "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]}])
    # Writes only through an access point: a Deny when the key is absent.
    put_policy(efs, no_write, [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "elasticfilesystem:*"},
        {"Sid": "NoWritesOutsideAccessPoints", "Effect": "Deny", "Principal": {"AWS": "*"},
         "Action": "elasticfilesystem:ClientWrite",
         "Condition": {"Null": {"elasticfilesystem:AccessPointArn": "true"}}}])
    put_policy(efs, one_ap, [{"Effect": "Allow", "Principal": {"AWS": "*"},
                              "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                              "Condition": {"StringEquals": {"elasticfilesystem:AccessPointArn": arn("access-point", only)}}}])

    script = f"""
set -u
knc-mount -e /{opener} /m/opener
knc-mount -e /{no_root} /m/noroot
cd /m/noroot/open && echo hi > rootfile && mkdir rootdir && stat -c 'OWNER %u:%g %n' rootfile rootdir; cd /
# Squashed root is nobody: the file system's root directory (root's, 0755) is closed to it.
if touch /m/noroot/top 2>/dev/null; then echo TOP-ALLOWED; else echo TOP-REFUSED; fi
knc-mount -e /{writer} /m/writer
echo via-ap > /m/writer/made && echo WROTE-VIA-AP
knc-mount -e /{no_write} /m/nowrite
echo "READ $(cat /m/nowrite/w/made)"
if echo x > /m/nowrite/w/other 2>/dev/null; then echo WRITE-ALLOWED; else echo WRITE-REFUSED; fi
if mkdir /m/nowrite/d 2>/dev/null; then echo MKDIR-ALLOWED; else echo MKDIR-REFUSED; fi
if rm /m/nowrite/w/made 2>/dev/null; then echo RM-ALLOWED; else echo RM-REFUSED; fi
if knc-mount -e /{one_ap} /m/fsroot 2>/tmp/err; then echo ROOT-MOUNTED; else echo "ROOT-REFUSED $(cat /tmp/err)"; fi
knc-mount -e /{only} /m/only && echo in-ap > /m/only/f && echo "AP-OK $(cat /m/only/f)"
"""
    p = kernel_client(f"127.0.0.1:{server.nfs_port}", script, extra=("--no-mount",))
    out = p.stdout
    assert p.returncode == 0, f"rc={p.returncode}\n{out}\n{p.stderr}\n{server.tail()}"
    # No ClientRootAccess: root's new objects belong to nobody.
    assert "OWNER 65534:65534 rootfile" in out, out
    assert "OWNER 65534:65534 rootdir" in out, out
    assert "TOP-REFUSED" in out, out
    # No ClientWrite outside access points: reads work, changes are refused.
    assert "WROTE-VIA-AP" in out, out
    assert "READ via-ap" in out, out
    assert "WRITE-REFUSED" in out and "MKDIR-REFUSED" in out and "RM-REFUSED" in out, out
    # Only one access point: the file system root cannot be mounted.
    assert "ROOT-REFUSED" in out, out
    assert "AP-OK in-ap" in out, out
    # The server says which statement decided.
    assert "denied by statement NoWritesOutsideAccessPoints" in server.tail(400)

