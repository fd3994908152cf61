"""A small NFSv4 COMPOUND builder and reply reader over rpcraw (RFC 7530 /
RFC 8881 XDR, only the ops the raw tests use). Ops are built as bytes; replies
are read op by op as far as the tests need."""
import struct

from rpcraw import Conn, call, opaque, record, u32

NFS = 100003

OP_CREATE, OP_GETFH, OP_LOOKUP, OP_PUTFH, OP_PUTROOTFH, OP_REMOVE = 6, 10, 15, 22, 24, 28
OP_EXCHANGE_ID, OP_CREATE_SESSION, OP_DESTROY_SESSION, OP_SEQUENCE = 42, 43, 44, 53
NF4DIR = 2

NFS4_OK = 0
NFS4ERR_NOENT = 2
NFS4ERR_EXIST = 17
NFS4ERR_STALE_CLIENTID = 10022


def u64(v):
    return struct.pack(">Q", v)


def compound(ops, minor=0, tag=b""):
    """COMPOUND4args from a list of encoded ops (each starting with its opcode)."""
    return opaque(tag) + u32(minor) + u32(len(ops)) + b"".join(ops)


def putrootfh():
    return u32(OP_PUTROOTFH)


def lookup(name):
    return u32(OP_LOOKUP) + opaque(name)


def getfh():
    return u32(OP_GETFH)


def mkdir(name):
    # CREATE4args: createtype4 NF4DIR (no body), component4, fattr4 (empty bitmap, no values)
    return u32(OP_CREATE) + u32(NF4DIR) + opaque(name) + u32(0) + opaque(b"")


def remove(name):
    return u32(OP_REMOVE) + opaque(name)


def exchange_id(owner, verifier=b"\x01" * 8, flags=0):
    # client_owner4, eia_flags, state_protect4_a (SP4_NONE), no implementation id
    return u32(OP_EXCHANGE_ID) + verifier + opaque(owner) + u32(flags) + u32(0) + u32(0)


def channel_attrs(maxreq=1 << 20, maxresp=1 << 20, cached=8192, ops=16, reqs=8):
    # ca_headerpadsize, sizes, ops, requests, no RDMA ird
    return u32(0) + u32(maxreq) + u32(maxresp) + u32(cached) + u32(ops) + u32(reqs) + u32(0)


def create_session(clientid, sequence, flags=0, fore=None, back=None):
    fore = fore if fore is not None else channel_attrs()
    back = back if back is not None else channel_attrs()
    # csa_cb_program, one callback_sec_parms4 of AUTH_NONE
    return (u32(OP_CREATE_SESSION) + u64(clientid) + u32(sequence) + u32(flags) + fore + back +
            u32(0x40000000) + u32(1) + u32(0))


class Reply:
    """A decoded COMPOUND4res header: status, tag, and a cursor over the results."""

    def __init__(self, body):
        self.body = body
        self.status, = struct.unpack(">I", body[:4])
        (taglen,) = struct.unpack(">I", body[4:8])
        self.off = 8 + ((taglen + 3) & ~3)
        (self.count,) = struct.unpack(">I", body[self.off:self.off + 4])
        self.off += 4

    def u32(self):
        (v,) = struct.unpack(">I", self.body[self.off:self.off + 4])
        self.off += 4
        return v

    def u64(self):
        (v,) = struct.unpack(">Q", self.body[self.off:self.off + 8])
        self.off += 8
        return v

    def raw(self, n):
        v = self.body[self.off:self.off + n]
        self.off += (n + 3) & ~3
        return v

    def opaque(self):
        return self.raw(self.u32())

    def op(self):
        """Reads one result's opcode and status."""
        return self.u32(), self.u32()


def send_compound(conn, xid, ops, minor=0, cred=None):
    """Sends one COMPOUND and returns (raw RPC reply record, parsed Reply)."""
    conn.send(record(call(xid, NFS, 4, 1, compound(ops, minor), cred=cred)))
    data = conn.recv_record()
    rxid, mtype, rstat = struct.unpack(">III", data[:12])
    assert (rxid, mtype, rstat) == (xid, 1, 0), (rxid, mtype, rstat)
    flavor, vlen = struct.unpack(">II", data[12:20])
    off = 20 + ((vlen + 3) & ~3)
    (astat,) = struct.unpack(">I", data[off:off + 4])
    assert astat == 0, astat
    return data, Reply(data[off + 4:])


__all__ = ["Conn", "send_compound", "Reply"]
