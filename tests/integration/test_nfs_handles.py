"""File handles cannot escape an access point (raw NFSv4.0 COMPOUNDs):
forged handles are refused, RENAME/LINK do not cross exports, and real
handles survive a server restart (docs/file-handle.md)."""
import os
import stat
import struct

import pytest

from conftest import make_client, new_fs, wait_state
from nfs4fh_raw import (FATTR4_FILEHANDLE, FATTR4_FILEID, FATTR4_FSID, NFS4_OK, NFS4ERR_BADHANDLE, NFS4ERR_STALE,
                     NFS4ERR_XDEV, OP_GETATTR, OP_READDIR, Nfs4, getattr_, link, lookup, lookupp,
                     mkdir, putfh, putrootfh, readdir, rename, savefh, symlink)

REFUSED = (NFS4ERR_BADHANDLE, NFS4ERR_STALE)


def make_access_point(server, fid, path="/ap"):
    efs = make_client(server)
    ap = efs.create_access_point(
        FileSystemId=fid, PosixUser={"Uid": 1000, "Gid": 1000},
        RootDirectory={"Path": path, "CreationInfo": {"OwnerUid": 1000, "OwnerGid": 1000,
                                                      "Permissions": "755"}})["AccessPointId"]
    wait_state(lambda: efs.describe_access_points(AccessPointId=ap)["AccessPoints"][0]["LifeCycleState"],
               "available")
    return ap


@pytest.fixture
def setup(server):
    """A file system with /topsecret (root's) and an access point rooted at /ap."""
    fid = new_fs(make_client(server))
    ap = make_access_point(server, fid)
    c = Nfs4(server.nfs_port)
    fs_root = c.fh(putrootfh(), lookup(fid))
    assert c.compound(putfh(fs_root), mkdir("topsecret")).status == NFS4_OK
    ap_root = c.fh(putrootfh(), lookup(ap))
    yield c, fid, ap, fs_root, ap_root
    c.close()


def names(res):
    return sorted(n for n, _ in res.body(OP_READDIR)[0])


def test_forged_access_point_handles_are_refused(setup):
    c, fid, ap, fs_root, ap_root = setup
    assert names(c.compound(putfh(fs_root), readdir())) == ["ap", "topsecret"]
    assert c.compound(putfh(ap_root), readdir()).status == NFS4_OK
    assert len(ap_root) <= 128
    # The attack on version-1 handles: the inode number (the 8 bytes after the
    # kind, access point id, vfs version and file system id) replaced by 1.
    forged = bytearray(ap_root)
    fileid = c.compound(putfh(ap_root), getattr_(FATTR4_FILEID)).body(OP_GETATTR)[0]
    assert forged[20:28] == fileid != struct.pack(">Q", 1)  # the layout in docs/file-handle.md
    forged[20:28] = struct.pack(">Q", 1)
    res = c.compound(putfh(bytes(forged)), readdir())
    assert res.status in REFUSED and not res.body(OP_READDIR)
    # Any single byte of the handle edited: never an answer with data.
    for i in range(len(ap_root)):
        bad = bytearray(ap_root)
        bad[i] ^= 0x01
        res = c.compound(putfh(bytes(bad)), readdir())
        assert res.status in REFUSED, f"byte {i}: {res.status}"


def test_file_system_handles_do_not_resolve_through_an_access_point(setup):
    c, fid, ap, fs_root, ap_root = setup
    secret = c.fh(putfh(fs_root), lookup("topsecret"))
    # The file system export's handle of an inode outside the access point's
    # root, presented with the access point's prefix (kind byte and id).
    for inner in (secret, fs_root):
        moved = ap_root[:10] + inner[1:]
        res = c.compound(putfh(moved), readdir())
        assert res.status in REFUSED and not res.body(OP_READDIR)
    # ...and the access point's root handle presented through the file system export.
    res = c.compound(putfh(fs_root[:1] + ap_root[10:]), getattr_(FATTR4_FSID))
    assert res.status in REFUSED


def test_lookupp_and_readdir_stay_inside_the_access_point(setup):
    c, fid, ap, fs_root, ap_root = setup
    # ".." at the access point root is the root itself.
    assert c.fh(putfh(ap_root), lookupp(), lookupp()) == ap_root
    assert c.compound(putfh(ap_root), mkdir("sub")).status == NFS4_OK
    res = c.compound(putfh(ap_root), readdir(FATTR4_FILEHANDLE))
    entries = res.body(OP_READDIR)[0]
    assert [n for n, _ in entries] == ["sub"]
    (n,) = struct.unpack(">I", entries[0][1][:4])
    sub = entries[0][1][4:4 + n]
    assert sub[:10] == ap_root[:10]  # issued through the same access point
    assert c.fh(putfh(sub), lookupp()) == ap_root
    # Moved out of the root by the file system export: climbing from it is stale.
    ap_dir = c.fh(putfh(fs_root), lookup("ap"))
    assert c.compound(putfh(ap_dir), savefh(), putfh(fs_root), rename("sub", "moved")).status == NFS4_OK
    assert c.compound(putfh(sub), lookupp()).status == NFS4ERR_STALE


def test_rename_and_link_across_exports_are_xdev(setup):
    c, fid, ap, fs_root, ap_root = setup
    assert c.compound(putfh(fs_root), symlink("rootlink", "/etc/shadow")).status == NFS4_OK
    assert c.compound(putfh(ap_root), mkdir("mine")).status == NFS4_OK
    # A root-only object linked into the access point.
    res = c.compound(putfh(fs_root), lookup("rootlink"), savefh(), putfh(ap_root), link("got"))
    assert res.status == NFS4ERR_XDEV
    # Out of the access point, into it.
    assert c.compound(putfh(ap_root), savefh(), putfh(fs_root),
                      rename("mine", "out")).status == NFS4ERR_XDEV
    assert c.compound(putfh(fs_root), savefh(), putfh(ap_root),
                      rename("topsecret", "in")).status == NFS4ERR_XDEV
    assert names(c.compound(putfh(ap_root), readdir())) == ["mine"]
    # Within one export both work.
    assert c.compound(putfh(ap_root), savefh(), rename("mine", "ours")).status == NFS4_OK
    # The exports are different file systems to a client: different fsids.
    fsids = [c.compound(putfh(h), getattr_(FATTR4_FSID)).body(OP_GETATTR)[0] for h in (fs_root, ap_root)]
    assert fsids[0] != fsids[1]


def test_handles_survive_a_restart(fresh_server):
    fid = new_fs(make_client(fresh_server))
    ap = make_access_point(fresh_server, fid)
    c = Nfs4(fresh_server.nfs_port)
    fs_root = c.fh(putrootfh(), lookup(fid))
    assert c.compound(putfh(fs_root), mkdir("d")).status == NFS4_OK
    d = c.fh(putfh(fs_root), lookup("d"))
    ap_root = c.fh(putrootfh(), lookup(ap))
    c.close()
    key = fresh_server.data_dir / "handle.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    fresh_server.restart()
    c = Nfs4(fresh_server.nfs_port)
    for h in (fs_root, d, ap_root):
        assert c.compound(putfh(h), getattr_(FATTR4_FSID)).status == NFS4_OK
    # The same objects get the same handles.
    assert c.fh(putrootfh(), lookup(fid), lookup("d")) == d
    assert c.fh(putrootfh(), lookup(ap)) == ap_root
    c.close()
