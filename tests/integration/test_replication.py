"""Replication that copies (issue 13): a replication set up with the AWS CLI
copies what the Linux kernel client wrote to the source (files of several
sizes, a hard link, a symlink, a FIFO, an owner other than root, modes and
times) to the destination, which NFS clients see read-only; renames and
deletes follow at the next sync, run by the emulator clock; a kill -9 in the
middle of a sync loses nothing; deleting the replication leaves the
destination writable with everything on it. LastReplicatedTimestamp moves
only when a sync completed."""
import json
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import Server, aws_cli, kernel_client, make_client, new_fs, wait_state

# Prints a line per object of the tree under $1: path, type, mode, owner,
# group, mtime; then checksums, symlink targets and the groups of hard links.
MANIFEST = r'''
manifest() {
  ( cd "$1" || exit 1
    find . -mindepth 1 -printf '%P %y %m %U %G %T@\n' | sort
    find . -type f -print0 | sort -z | xargs -0 -r sha256sum
    find . -type l -printf '%P -> %l\n' | sort
    find . -type f -links +1 -printf '%i %P\n' | sort -k2 |
      awk '{a[$1] = a[$1] " " $2} END {for (k in a) print "links:" a[k]}' | sort )
}
post() {  # post PATH JSON: the emulator's own endpoints, from the guest
  wget -q -O - --header 'Content-Type: application/json' --post-data "$2" \
    "http://$KNC_ADDR_2:$KNC_PORT_2/_efs-local/$1"
  echo
}
same() {  # same LABEL: the destination's tree is the source's
  echo 3 > /proc/sys/vm/drop_caches
  manifest /mnt/$SRC > /tmp/src.txt
  manifest /mnt/$DST > /tmp/dst.txt
  if cmp -s /tmp/src.txt /tmp/dst.txt && [ -s /tmp/src.txt ]; then echo "SAME $1";
  else echo "DIFFERENT $1"; diff /tmp/src.txt /tmp/dst.txt | head -40; fi
}
'''

FIRST_BOOT = MANIFEST + r'''
set -e
knc-mount -e / /mnt
S=/mnt/$SRC D=/mnt/$DST
head -c 0 /dev/urandom > $S/empty
head -c 1000 /dev/urandom > $S/k1
head -c 300000 /dev/urandom > $S/k300
head -c 5000000 /dev/urandom > $S/m5
mkdir -p $S/dir/sub $S/user
echo leaf > $S/dir/sub/leaf
ln $S/dir/sub/leaf $S/dir/leaf-link
ln -s ../k1 $S/dir/to-k1
mkfifo $S/dir/fifo
chmod 0640 $S/k300; chmod 0750 $S/dir; chmod 4755 $S/dir/sub/leaf
chown 1000:1000 $S/user
/usr/bin/setpriv --reuid=1000 --regid=1000 --clear-groups bash -c "echo mine > $S/user/owned"
touch -d '2020-01-02 03:04:05' $S/m5
sync
post replication/run '{}'
same first
# Every change to the destination is refused: NFS4ERR_ROFS.
set +e
for cmd in "touch $D/new" "rm $D/k1" "mv $D/k1 $D/k1x" "chmod 600 $D/k1" "ln $D/k1 $D/k1l" \
           "mkdir $D/nd" "mkfifo $D/nf" "ln -s x $D/ns" "truncate -s 0 $D/k1" \
           "chown 1000 $D/k1" "dd if=/dev/zero of=$D/k300 bs=1 count=1 conv=notrunc"; do
  if $cmd 2> /tmp/err; then echo "WROTE: $cmd"
  elif grep -q 'Read-only file system' /tmp/err; then echo "ROFS: $cmd"
  else echo "OTHER: $cmd: $(cat /tmp/err)"; fi
done
cat $D/k1 > /dev/null && echo "READ OK"
set -e
# Renames and deletes on the source; the clock runs the next sync.
mv $S/m5 $S/dir/m5-moved
mv $S/dir/sub $S/sub-moved
rm $S/k1 $S/dir/to-k1
rm -r $S/user
echo more >> $S/k300
ln $S/k300 $S/k300-link
mkdir $S/fresh; echo new > $S/fresh/inside
sync
post clock '{"advance_seconds": 900}'
same second
# For the kill -9 on the host: a big file the next sync copies.
head -c 100000000 /dev/urandom > $S/big.bin
sync
'''

SECOND_BOOT = MANIFEST + r'''
set -e
knc-mount -e / /mnt
same after-crash
echo writable > /mnt/$DST/after-failover && cat /mnt/$DST/after-failover
rm /mnt/$DST/k300-link && echo "REMOVED OK"
'''


def guest(s, script, env):
    extra = ["--no-mount", "--server", f"127.0.0.1:{s.api_port}"]
    for k, v in env.items():
        extra += ["--env", f"{k}={v}"]
    r = kernel_client(f"127.0.0.1:{s.nfs_port}", script, timeout=280, extra=extra)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def describe(s, fid):
    return aws_cli(s, "efs", "describe-replication-configurations", "--file-system-id",
                   fid)["Replications"][0]["Destinations"][0]


def log_count(s, text):
    return s.log_path.read_text(errors="replace").count(text)


@pytest.fixture
def unthrottled_server(tmp_path):
    # The big file of the kill -9 step would wait for burst credits otherwise.
    s = Server(tmp_path / "data", extra_args=["--no-throttle"]).start()
    yield s
    s.stop()


def test_replication_copies_follows_survives_kill9_and_fails_over(unthrottled_server):
    s = unthrottled_server
    efs = make_client(s)
    src = new_fs(efs)
    made = aws_cli(s, "efs", "create-replication-configuration", "--source-file-system-id", src,
                   "--destinations", "Region=us-west-2")
    dst = made["Destinations"][0]["FileSystemId"]
    # The configuration starts ENABLING, before its first sync completed.
    assert made["Destinations"][0]["Status"] == "ENABLING"
    assert "LastReplicatedTimestamp" not in made["Destinations"][0]
    west = make_client(s, region="us-west-2")
    wait_state(lambda: west.describe_file_systems(FileSystemId=dst)["FileSystems"][0]
               ["LifeCycleState"], "available")
    prot = west.describe_file_systems(FileSystemId=dst)["FileSystems"][0]["FileSystemProtection"]
    assert prot["ReplicationOverwriteProtection"] == "REPLICATING"
    wait_state(lambda: describe(s, src)["Status"], "ENABLED", timeout=30)

    out = guest(s, FIRST_BOOT, {"SRC": src, "DST": dst})
    assert "SAME first" in out, out
    assert "SAME second" in out, out
    assert "READ OK" in out, out
    refused = re.findall(r"^(ROFS|WROTE|OTHER): (.*)$", out, re.M)
    assert len(refused) == 11, out
    assert all(kind == "ROFS" for kind, _ in refused), out

    # LastReplicatedTimestamp is the start of the last completed sync: the
    # clock advance of the guest ran one. Ten more minutes: no sync is due.
    d = describe(s, src)
    assert d["Status"] == "ENABLED"
    t1 = d["LastReplicatedTimestamp"]
    completed = log_count(s, "sync completed")
    s.advance_clock(600)
    assert describe(s, src)["LastReplicatedTimestamp"] == t1
    assert log_count(s, "sync completed") == completed

    # A kill -9 while the sync that copies the big file runs.
    started = log_count(s, "sync started")

    def run():
        try:
            s.admin("POST", "replication/run", {"SourceFileSystemId": src})
        except (OSError, urllib.error.URLError):
            pass  # the server died under the request

    t = threading.Thread(target=run)
    t.start()
    deadline = time.time() + 30
    while log_count(s, "sync started") == started and time.time() < deadline:
        time.sleep(0.01)
    assert log_count(s, "sync started") > started
    time.sleep(0.05)
    s.kill9()
    t.join()
    assert log_count(s, "sync completed") == completed, "the sync ended before the kill"
    s.start()
    # The interrupted sync did not count.
    assert describe(s, src)["LastReplicatedTimestamp"] == t1
    r = s.admin("POST", "replication/run", {"SourceFileSystemId": src})
    assert r["replications"][0]["Synced"] is True, r
    assert r["replications"][0]["BytesCopied"] >= 100000000, r
    # The timestamp never goes back across the restart.
    t2 = describe(s, src)["LastReplicatedTimestamp"]
    assert t2 >= t1

    # 15 emulated minutes later the clock request runs the next sync.
    completed = log_count(s, "sync completed")
    s.advance_clock(2000)
    assert log_count(s, "sync completed") == completed + 1
    assert describe(s, src)["LastReplicatedTimestamp"] > t2
    with urllib.request.urlopen(s.endpoint + "/_efs-local/metrics", timeout=10) as r:
        page = r.read().decode()
    assert re.search(r'efs_local_replication_seconds_since_last_sync\{file_system_id="%s",'
                     r'destination_file_system_id="%s"\} [0-9.e+-]+' % (src, dst), page), page

    # Failover: delete the replication; the destination is writable again.
    aws_cli(s, "efs", "delete-replication-configuration", "--source-file-system-id", src)
    p = aws_cli(s, "efs", "describe-replication-configurations", "--file-system-id", src,
                check=False)
    assert p.returncode != 0 and "ReplicationNotFound" in p.stderr
    prot = west.describe_file_systems(FileSystemId=dst)["FileSystems"][0]["FileSystemProtection"]
    assert prot["ReplicationOverwriteProtection"] == "ENABLED"
    out = guest(s, SECOND_BOOT, {"SRC": src, "DST": dst})
    assert "SAME after-crash" in out, out
    assert "writable" in out and "REMOVED OK" in out, out


def nfs_ls(s, fid):
    r = subprocess.run(["nfs-ls", f"nfs://127.0.0.1/{fid}/?version=4&nfsport={s.nfs_port}"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return sorted(line.split()[-1] for line in r.stdout.splitlines() if line.strip())


def nfs_put(s, fid, name, data):
    f = s.data_dir.parent / name
    f.write_bytes(data)
    url = f"nfs://127.0.0.1/{fid}/{name}?version=4&nfsport={s.nfs_port}"
    r = subprocess.run(["nfs-cp", str(f), url], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_replication_into_an_existing_file_system_replaces_its_contents(fresh_server):
    s = fresh_server
    efs = make_client(s)
    src, dst = new_fs(efs), new_fs(efs)
    nfs_put(s, src, "from-source", b"source data\n")
    nfs_put(s, dst, "old-file", b"destination data\n")
    # Debian's AWS CLI predates UpdateFileSystemProtection: boto3 with our model.
    efs.update_file_system_protection(FileSystemId=dst, ReplicationOverwriteProtection="DISABLED")
    efs.create_replication_configuration(SourceFileSystemId=src, Destinations=[
        {"Region": "us-east-1", "FileSystemId": dst}])
    r = s.admin("POST", "replication/run", {"SourceFileSystemId": src})
    assert r["replications"][0]["Synced"] is True, r
    assert nfs_ls(s, dst) == ["from-source"]
    cat = subprocess.run(["nfs-cat", f"nfs://127.0.0.1/{dst}/from-source?version=4&nfsport="
                          f"{s.nfs_port}"], capture_output=True, timeout=60)
    assert cat.stdout == b"source data\n"
    # libnfs gets the read-only answer too.
    put = subprocess.run(["nfs-cp", str(s.data_dir.parent / "old-file"),
                          f"nfs://127.0.0.1/{dst}/x?version=4&nfsport={s.nfs_port}"],
                         capture_output=True, text=True, timeout=60)
    assert put.returncode != 0
    # An unknown source is a clear error.
    with pytest.raises(urllib.error.HTTPError) as ei:
        s.admin("POST", "replication/run", {"SourceFileSystemId": dst})
    assert ei.value.code == 404


def test_replication_pauses_while_the_source_key_is_disabled(fresh_server):
    s = fresh_server
    efs = make_client(s)
    key = aws_cli(s, "kms", "create-key")["KeyMetadata"]["KeyId"]
    src = new_fs(efs, Encrypted=True, KmsKeyId=key)
    aws_cli(s, "efs", "create-replication-configuration", "--source-file-system-id", src,
            "--destinations", "Region=us-west-2")
    # Debian's AWS CLI predates StatusMessage: boto3 with our model shows it.
    def dest():
        return efs.describe_replication_configurations(FileSystemId=src)["Replications"][0][
            "Destinations"][0]

    wait_state(lambda: dest()["Status"], "ENABLED", timeout=30)
    t1 = dest()["LastReplicatedTimestamp"]
    aws_cli(s, "kms", "disable-key", "--key-id", key)
    s.advance_clock(1000)
    d = dest()
    assert d["Status"] == "PAUSED"
    assert "disabled" in d["StatusMessage"]
    assert d["LastReplicatedTimestamp"] == t1
    aws_cli(s, "kms", "enable-key", "--key-id", key)
    # The key monitor hears of EnableKey soon after (server/key_state.h).
    deadline = time.time() + 15
    while True:
        r = s.admin("POST", "replication/run", {"SourceFileSystemId": src})
        if r["replications"][0]["Synced"] or time.time() > deadline:
            break
        time.sleep(0.2)
    assert r["replications"][0]["Synced"] is True, r
    d = dest()
    assert d["Status"] == "ENABLED" and d["LastReplicatedTimestamp"] > t1
    assert "StatusMessage" not in d
