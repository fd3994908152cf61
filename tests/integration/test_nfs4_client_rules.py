"""Client-ID, session and reply-cache rules over raw RPC: the NFSv4.0
duplicate request cache (RFC 7530 3.1.1) and EXCHANGE_ID's replacement of an
unconfirmed record (RFC 8881 18.35.4 case 4)."""
import os

from conftest import make_client, new_fs
from nfs4raw import (NFS4_OK, NFS4ERR_EXIST, NFS4ERR_NOENT, NFS4ERR_STALE_CLIENTID,
                     OP_CREATE, OP_CREATE_SESSION, OP_EXCHANGE_ID, OP_REMOVE, create_session,
                     exchange_id, lookup, mkdir, putrootfh, remove, send_compound)
from rpcraw import Conn, auth_sys


def test_v40_retransmitted_create_and_remove_get_the_first_reply(server):
    fid = new_fs(make_client(server)).encode()
    c = Conn("127.0.0.1", server.nfs_port)
    name = b"drc-" + os.urandom(4).hex().encode()
    base = 0x5EED0000 + int.from_bytes(os.urandom(2), "big")

    create = [putrootfh(), lookup(fid), mkdir(name)]
    first, r1 = send_compound(c, base + 1, create)
    assert r1.status == NFS4_OK
    # The same call again (same xid, same connection, same bytes): a
    # retransmission, answered with the first reply and not executed again.
    again, r2 = send_compound(c, base + 1, create)
    assert again == first
    assert r2.status == NFS4_OK
    r2.op(); r2.op()
    assert r2.op() == (OP_CREATE, NFS4_OK)
    # A new xid is a new request: now the directory exists.
    _, r3 = send_compound(c, base + 2, create)
    assert r3.status == NFS4ERR_EXIST

    rm = [putrootfh(), lookup(fid), remove(name)]
    first, r1 = send_compound(c, base + 3, rm)
    assert r1.status == NFS4_OK
    again, r2 = send_compound(c, base + 3, rm)
    assert again == first
    r2.op(); r2.op()
    assert r2.op() == (OP_REMOVE, NFS4_OK)
    _, r3 = send_compound(c, base + 4, rm)
    assert r3.status == NFS4ERR_NOENT
    c.close()


def test_v41_replaced_unconfirmed_client_id_is_stale_for_create_session(server):
    c = Conn("127.0.0.1", server.nfs_port)
    owner = b"raw-41-" + os.urandom(4).hex().encode()
    alice = auth_sys(uid=1000, gid=1000, machine=b"host-a")
    bob = auth_sys(uid=2000, gid=2000, machine=b"host-b")

    _, r = send_compound(c, 1, [exchange_id(owner, b"\x01" * 8)], minor=1, cred=alice)
    assert r.status == NFS4_OK and r.op() == (OP_EXCHANGE_ID, NFS4_OK)
    old_id, old_seq = r.u64(), r.u32()
    # A new verifier and a new principal replace the unconfirmed record.
    _, r = send_compound(c, 2, [exchange_id(owner, b"\x02" * 8)], minor=1, cred=bob)
    assert r.status == NFS4_OK and r.op() == (OP_EXCHANGE_ID, NFS4_OK)
    new_id, new_seq = r.u64(), r.u32()
    assert new_id != old_id

    _, r = send_compound(c, 3, [create_session(old_id, old_seq)], minor=1, cred=alice)
    assert r.status == NFS4ERR_STALE_CLIENTID
    assert r.op() == (OP_CREATE_SESSION, NFS4ERR_STALE_CLIENTID)
    _, r = send_compound(c, 4, [create_session(new_id, new_seq)], minor=1, cred=bob)
    assert r.status == NFS4_OK
    c.close()
