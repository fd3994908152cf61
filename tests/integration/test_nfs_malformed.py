"""Malformed RPC is answered or the connection closed, while another client
keeps being served."""
import struct

from rpcraw import Conn, call, null_call, opaque, parse_reply, record, u32

NFS = 100003
OP_PUTROOTFH, OP_GETFH = 24, 10


def compound(tag=b"", minor=1, ops=b"", nops=0):
    return opaque(tag) + u32(minor) + u32(nops) + ops


def test_wrong_program_and_version(server):
    c = Conn("127.0.0.1", server.nfs_port)
    c.send(record(call(1, 400124, 1, 0)))  # a program we do not serve (AWSFILE_CALLBACK)
    assert parse_reply(c.recv_record())[1:3] == (0, 1)  # PROG_UNAVAIL
    c.send(record(call(4, 400123, 1, 0)))  # efs-proxy's program is served (test_tls.py)
    assert parse_reply(c.recv_record())[1:3] == (0, 0)
    c.send(record(call(2, NFS, 3, 0)))
    xid, rstat, astat, rest = parse_reply(c.recv_record())
    assert (rstat, astat) == (0, 2)  # PROG_MISMATCH
    assert struct.unpack(">II", rest[:8]) == (4, 4)
    c.send(record(call(3, NFS, 4, 7)))
    assert parse_reply(c.recv_record())[1:3] == (0, 3)  # PROC_UNAVAIL
    c.close()


def test_unknown_auth_flavor_is_rejected(server):
    c = Conn("127.0.0.1", server.nfs_port)
    c.send(record(call(5, NFS, 4, 0, cred=u32(6) + opaque(b"gss"))))
    xid, rstat, why, rest = parse_reply(c.recv_record())
    assert rstat == 1 and why == 1  # MSG_DENIED, AUTH_ERROR
    c.close()


def test_garbage_and_huge_records_close_only_that_connection(server):
    bad = Conn("127.0.0.1", server.nfs_port)
    bad.send(b"\x80\x00\x00\x10" + b"\xff" * 16)
    assert bad.closed_by_peer()
    huge = Conn("127.0.0.1", server.nfs_port)
    huge.send(u32(0x80000000 | 0x7FFFFFFF) + b"\0" * 1000)  # a 2 GiB record
    assert huge.closed_by_peer()
    trunc = Conn("127.0.0.1", server.nfs_port)
    trunc.send(u32(0x80000000 | 100) + b"\0" * 10)
    trunc.close()
    assert null_call("127.0.0.1", server.nfs_port)
    assert server.alive()


def test_compound_with_10000_ops_and_huge_tag(server):
    c = Conn("127.0.0.1", server.nfs_port)
    ops = (u32(OP_PUTROOTFH) + u32(OP_GETFH)) * 5000
    c.send(record(call(9, NFS, 4, 1, compound(minor=0, ops=ops, nops=10000))))
    xid, rstat, astat, rest = parse_reply(c.recv_record())
    assert (xid, rstat, astat) == (9, 0, 0)
    status = struct.unpack(">I", rest[:4])[0]
    assert status != 0  # refused (NFS4ERR_RESOURCE / TOO_MANY_OPS), not executed
    c.send(record(call(10, NFS, 4, 1, compound(tag=b"t" * (1 << 20), minor=0, ops=u32(OP_PUTROOTFH), nops=1))))
    try:
        reply = c.recv_record()
        assert parse_reply(reply)[0] == 10
    except ConnectionError:
        pass  # closing the connection is an acceptable answer to an oversized record
    assert null_call("127.0.0.1", server.nfs_port)


def test_minor_version_2_is_refused(server):
    c = Conn("127.0.0.1", server.nfs_port)
    c.send(record(call(11, NFS, 4, 1, compound(minor=2, ops=u32(OP_PUTROOTFH), nops=1))))
    xid, rstat, astat, rest = parse_reply(c.recv_record())
    assert astat == 0
    assert struct.unpack(">I", rest[:4])[0] == 10021  # NFS4ERR_MINOR_VERS_MISMATCH
    c.close()
