"""The Linux kernel NFS client (in qemu) against efs-local: real POSIX work on
an EFS file system, over NFSv4.1 and NFSv4.0."""
import re
import subprocess
import threading

import pytest

from conftest import kernel_client, make_client, new_fs, wait_state

VERSIONS = ["4.1", "4.0"]


@pytest.fixture
def fs_id(server):
    return new_fs(make_client(server))


def run_ok(server, fid, script, vers="4.1", **kw):
    p = kernel_client(f"127.0.0.1:{server.nfs_port}", script, export=f"/{fid}", vers=vers, **kw)
    assert p.returncode == 0, f"rc={p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}\nserver:\n{server.tail()}"
    return p.stdout


def sums(out):
    return {name: digest for digest, name in re.findall(r"^([0-9a-f]{64})\s+(\S+)$", out, re.M)}


@pytest.mark.parametrize("vers", VERSIONS)
def test_write_then_read_back_in_a_new_client(server, fs_id, vers):
    w = run_ok(server, fs_id, """
set -e
: > empty
printf x > one
head -c 1048577 /dev/urandom > mib_plus_1
head -c 67108864 /dev/urandom > big
sync
sha256sum empty one mib_plus_1 big
grep -q "vers=%s" /proc/mounts
""" % vers, vers=vers)
    written = sums(w)
    assert set(written) == {"empty", "one", "mib_plus_1", "big"}
    r = run_ok(server, fs_id, "sha256sum empty one mib_plus_1 big; stat -c '%s %n' empty one mib_plus_1 big",
               vers=vers)
    assert sums(r) == written
    sizes = dict((n, int(s)) for s, n in re.findall(r"^(\d+) (\S+)$", r, re.M))
    assert sizes == {"empty": 0, "one": 1, "mib_plus_1": 1048577, "big": 67108864}


@pytest.mark.parametrize("vers", VERSIONS)
def test_namespace_operations(server, fs_id, vers):
    out = run_ok(server, fs_id, r"""
set -e
mkdir -p d1/d2/d3 d4
for i in $(seq 1 200); do echo "file $i" > d1/f$i; done
ls d1 | wc -l
echo old > d4/target; echo new > d1/src
mv d1/src d4/target            # rename over an existing file, across directories
cat d4/target
mv d1/d2 d4/moved              # a directory across directories
ls d4/moved
ln -s ../d4/target d1/link; readlink d1/link; cat d1/link
ln d4/target d1/hard; stat -c 'links=%h' d4/target
rm d1/hard; stat -c 'links=%h' d4/target
chmod 640 d4/target; stat -c 'mode=%a' d4/target
chown 1000:1000 d4/target; stat -c 'owner=%u:%g' d4/target
truncate -s 3 d4/target; stat -c 'size=%s' d4/target
touch -d '2001-02-03 04:05:06' d4/target; stat -c 'mtime=%Y' d4/target
rm d1/f1; test ! -e d1/f1
rmdir d4/moved/d3 d4/moved
if rmdir d1 2>/dev/null; then echo "rmdir of a non-empty dir succeeded"; exit 1; fi
ls d1 | wc -l
echo done
""", vers=vers, extra=())
    lines = out.split()
    assert "200" in lines  # 200 files listed
    assert "new" in lines
    assert "d3" in lines
    assert "../d4/target" in lines
    assert "links=2" in lines and "links=1" in lines
    assert "mode=640" in lines
    assert "owner=1000:1000" in lines
    assert "size=3" in lines
    assert "mtime=981173106" in lines
    assert "200" in lines[-2:]  # 199 files + link (hard removed) = 200 entries
    assert lines[-1] == "done"


def test_flock_conflicts(server, fs_id):
    out = run_ok(server, fs_id, r"""
set -e
touch lockfile
exec 4>lockfile
flock -x 4
( flock -n -x lockfile -c 'echo child-got-it' || echo child-refused )
flock -u 4
flock -n -x lockfile -c 'echo after-unlock-got-it'
""")
    assert "child-refused" in out
    assert "after-unlock-got-it" in out


def test_two_clients_see_each_other(server, fs_id):
    results = {}

    def client(me, other):
        results[me] = kernel_client(f"127.0.0.1:{server.nfs_port}", f"""
echo hello-from-{me} > {me}.txt
for i in $(seq 1 600); do [ -e {other}.txt ] && break; sleep 0.1; done
cat {other}.txt
""", export=f"/{fs_id}")

    ts = [threading.Thread(target=client, args=("a", "b")), threading.Thread(target=client, args=("b", "a"))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert results["a"].returncode == 0, results["a"].stderr
    assert results["b"].returncode == 0, results["b"].stderr
    assert "hello-from-b" in results["a"].stdout
    assert "hello-from-a" in results["b"].stdout


def test_kill9_and_restart_keep_data(fresh_server):
    s = fresh_server
    efs = make_client(s)
    fid = new_fs(efs)
    w = run_ok(s, fid, """
mkdir keep; head -c 3000000 /dev/urandom > keep/data; sync; sha256sum keep/data
""")
    s.kill9()
    s.start()
    r = run_ok(s, fid, "sha256sum keep/data")
    assert sums(r) == sums(w)
    s.restart()
    r = run_ok(s, fid, "sha256sum keep/data; ls")
    assert sums(r) == sums(w)


def test_mount_target_address_serves_its_file_system(server):
    efs = make_client(server)
    ec2 = make_client(server, "ec2")
    fid = new_fs(efs)
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    mt = efs.create_mount_target(FileSystemId=fid, SubnetId=subnet)
    wait_state(lambda: efs.describe_mount_targets(MountTargetId=mt["MountTargetId"])
               ["MountTargets"][0]["LifeCycleState"], "available")
    run_ok(server, fid, "echo via-name > marker")
    p = kernel_client(f"{mt['IpAddress']}:{server.nfs_port}", "cat marker", export="/")
    assert p.returncode == 0, p.stderr + server.tail()
    assert "via-name" in p.stdout


def test_pseudo_root_lists_file_systems(server, fs_id):
    p = kernel_client(f"127.0.0.1:{server.nfs_port}", "ls /mnt", export="/")
    assert p.returncode == 0, p.stderr
    assert fs_id in p.stdout.split()


def test_size_in_bytes_follows_the_data(server, fs_id):
    efs = make_client(server)
    empty = efs.describe_file_systems(FileSystemId=fs_id)["FileSystems"][0]["SizeInBytes"]
    assert empty["Value"] == 6144
    run_ok(server, fs_id, "head -c 10485760 /dev/urandom > ten; sync")
    size = efs.describe_file_systems(FileSystemId=fs_id)["FileSystems"][0]["SizeInBytes"]
    assert 10485760 <= size["Value"] < 10485760 + 64 * 1024
    assert size["ValueInStandard"] == size["Value"]
    assert size["ValueInIA"] == 0


def test_deleted_file_system_is_gone_from_nfs(server):
    from rpcraw import null_call
    efs = make_client(server)
    fid = new_fs(efs)
    run_ok(server, fid, "echo data > f")
    efs.delete_file_system(FileSystemId=fid)
    wait_state(lambda: fid in [f["FileSystemId"] for f in efs.describe_file_systems()["FileSystems"]], False)
    p = kernel_client(f"127.0.0.1:{server.nfs_port}", "ls /mnt", export="/")
    assert p.returncode == 0, p.stderr
    assert fid not in p.stdout.split()
    p = kernel_client(f"127.0.0.1:{server.nfs_port}", "cat f", export=f"/{fid}")
    assert p.returncode != 0
    assert null_call("127.0.0.1", server.nfs_port)
    assert server.alive()


def test_access_point_enforces_user_and_root(server, fs_id):
    efs = make_client(server)
    ap = efs.create_access_point(
        FileSystemId=fs_id, PosixUser={"Uid": 1234, "Gid": 2345},
        RootDirectory={"Path": "/apps/one", "CreationInfo": {"OwnerUid": 1234, "OwnerGid": 2345,
                                                             "Permissions": "750"}})["AccessPointId"]
    wait_state(lambda: efs.describe_access_points(AccessPointId=ap)["AccessPoints"][0]["LifeCycleState"],
               "available")
    # Root (uid 0) on the client still writes as the access point's user.
    p = kernel_client(f"127.0.0.1:{server.nfs_port}", "echo via-ap > made; stat -c '%u:%g %n' made .; ls -a",
                      export=f"/{ap}")
    assert p.returncode == 0, p.stderr + server.tail()
    assert "1234:2345 made" in p.stdout
    assert "1234:2345 ." in p.stdout
    # The access point's root is /apps/one of the file system, made with CreationInfo.
    out = run_ok(server, fs_id, "stat -c '%a %u:%g %n' apps/one; cat apps/one/made; ls /mnt/apps")
    assert "750 1234:2345 apps/one" in out
    assert "via-ap" in out
    assert out.split()[-1] == "one"
