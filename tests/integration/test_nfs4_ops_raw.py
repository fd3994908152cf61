"""Op-level answers of a running efs-local to raw NFSv4.0 COMPOUNDs with exact
AUTH_SYS identities (RFC 7530 16; pynfs RD12, RDDR7/8, GATT3)."""
from conftest import new_fs
from nfs4ops_raw import (FATTR4_MODE, FATTR4_OWNER, FATTR4_TIME_MODIFY_SET, NFS4_OK,
                         NFS4ERR_ACCESS, NFS4ERR_INVAL, NFS4ERR_TOOSMALL, Client,
                         confirmed_client, fattr, getattr_, getfh, lookup, open_confirm,
                         open_create, opaque, putfh, putrootfh, read, readdir, u32, write)


def test_write_and_read_with_someone_elses_stateid_are_refused(server, efs):
    fs_id = new_fs(efs)
    c = Client(server.nfs_port)
    clientid = confirmed_client(c)
    # Root creates a 0600 file owned by uid 1000 and opens it.
    attrs = fattr({FATTR4_MODE: u32(0o600), FATTR4_OWNER: opaque(b"1000")})
    res = c.compound([putrootfh(), lookup(fs_id), open_create(clientid, "owner-a", 1, "private", attrs), getfh()])
    assert res.status == NFS4_OK, res.results
    sid, rflags = res.value(2)
    fh = res.value(3)
    if rflags & 2:  # OPEN4_RESULT_CONFIRM
        res = c.compound([putfh(fh), open_confirm(sid, 2)])
        assert res.status == NFS4_OK
        sid = res.value(1)

    # The file's owner writes and reads under the stateid.
    assert c.compound([putfh(fh), write(sid, 0, b"secret")], uid=1000, gid=1000).status == NFS4_OK
    res = c.compound([putfh(fh), read(sid, 0, 100)], uid=1000, gid=1000)
    assert res.status == NFS4_OK and res.value(1) == (1, b"secret")

    # Another user carrying the same stateid: the mode says no.
    res = c.compound([putfh(fh), write(sid, 0, b"overwritten")], uid=2000, gid=2000)
    assert res.last() == NFS4ERR_ACCESS
    res = c.compound([putfh(fh), read(sid, 0, 100)], uid=2000, gid=2000)
    assert res.last() == NFS4ERR_ACCESS
    # The data is unchanged.
    res = c.compound([putfh(fh), read(sid, 0, 100)], uid=1000, gid=1000)
    assert res.value(1) == (1, b"secret")
    c.close()


def test_readdir_too_small_and_write_only_attributes(server, efs):
    fs_id = new_fs(efs)
    c = Client(server.nfs_port)
    assert c.compound([putrootfh(), lookup(fs_id), readdir(15)]).last() == NFS4ERR_TOOSMALL
    assert c.compound([putrootfh(), lookup(fs_id), readdir(16)]).status == NFS4_OK  # empty root
    assert c.compound([putrootfh(), lookup(fs_id), readdir(4096, bits=[FATTR4_TIME_MODIFY_SET])]).last() == NFS4ERR_INVAL
    assert c.compound([putrootfh(), lookup(fs_id), getattr_([4, FATTR4_TIME_MODIFY_SET])]).last() == NFS4ERR_INVAL
    c.close()
