"""A small NFSv4.0 COMPOUND builder over rpcraw: each op encodes its
arguments and knows how to decode its result, so a test can send exact
AUTH_SYS identities and read exact nfsstat4 answers (RFC 7530 16)."""
import random
import struct

from rpcraw import Conn, auth_sys, call, opaque, parse_reply, record, u32

NFS = 100003

OP_ACCESS, OP_GETATTR, OP_GETFH, OP_LOOKUP, OP_OPEN = 3, 9, 10, 15, 18
OP_OPEN_CONFIRM, OP_PUTFH, OP_PUTROOTFH, OP_READ, OP_READDIR = 20, 22, 24, 25, 26
OP_SETATTR, OP_SETCLIENTID, OP_SETCLIENTID_CONFIRM, OP_WRITE = 34, 35, 36, 38

NFS4_OK, NFS4ERR_ACCESS, NFS4ERR_INVAL, NFS4ERR_TOOSMALL = 0, 13, 22, 10005

FATTR4_MODE, FATTR4_OWNER, FATTR4_TIME_MODIFY_SET = 33, 36, 54


def u64(v):
    return struct.pack(">Q", v)


class Reader:
    def __init__(self, data):
        self.data, self.off = data, 0

    def u32(self):
        (v,) = struct.unpack(">I", self.data[self.off:self.off + 4])
        self.off += 4
        return v

    def u64(self):
        (v,) = struct.unpack(">Q", self.data[self.off:self.off + 8])
        self.off += 8
        return v

    def fixed(self, n):
        b = self.data[self.off:self.off + n]
        self.off += (n + 3) & ~3
        return b

    def opaque(self):
        return self.fixed(self.u32())

    def bitmap(self):
        return [self.u32() for _ in range(self.u32())]


def bitmap(bits):
    words = [0] * (max(bits) // 32 + 1) if bits else []
    for b in bits:
        words[b // 32] |= 1 << (b % 32)
    return u32(len(words)) + b"".join(u32(w) for w in words)


def fattr(values):
    """values: {attr number: encoded bytes}, encoded in attribute order."""
    return bitmap(sorted(values)) + opaque(b"".join(values[k] for k in sorted(values)))


def stateid(seqid=0, other=b"\0" * 12):
    return u32(seqid) + other


class Op:
    def __init__(self, num, args=b"", decode=None):
        self.num, self.args, self.decode = num, args, decode


def putrootfh():
    return Op(OP_PUTROOTFH)


def putfh(fh):
    return Op(OP_PUTFH, opaque(fh))


def lookup(name):
    return Op(OP_LOOKUP, opaque(name.encode()))


def getfh():
    return Op(OP_GETFH, decode=lambda r: r.opaque())


def getattr_(bits):
    return Op(OP_GETATTR, bitmap(bits), decode=lambda r: (r.bitmap(), r.opaque()))


def setclientid(name):
    args = b"\x01" * 8 + opaque(name.encode()) + u32(0x40000000) + opaque(b"tcp") + opaque(b"127.0.0.1.0.0") + u32(1)
    return Op(OP_SETCLIENTID, args, decode=lambda r: (r.u64(), r.fixed(8)))


def setclientid_confirm(clientid, verifier):
    return Op(OP_SETCLIENTID_CONFIRM, u64(clientid) + verifier)


def _stateid(r):
    return stateid(r.u32(), r.fixed(12))


def _open_res(r):
    sid = _stateid(r)
    r.u32(), r.u64(), r.u64()  # change_info4
    rflags = r.u32()
    r.bitmap()  # attrset
    assert r.u32() == 0  # OPEN_DELEGATE_NONE: EFS never delegates
    return sid, rflags


def open_create(clientid, owner, seqid, name, attrs=b"", access=3):
    """OPEN4_CREATE / UNCHECKED4 / CLAIM_NULL with `attrs` (a fattr4)."""
    args = (u32(seqid) + u32(access) + u32(0) + u64(clientid) + opaque(owner.encode()) +
            u32(1) + u32(0) + (attrs or bitmap([]) + opaque(b"")) + u32(0) + opaque(name.encode()))
    return Op(OP_OPEN, args, decode=_open_res)


def open_confirm(sid, seqid):
    return Op(OP_OPEN_CONFIRM, sid + u32(seqid), decode=_stateid)


def write(sid, offset, data, stable=2):
    return Op(OP_WRITE, sid + u64(offset) + u32(stable) + opaque(data),
              decode=lambda r: (r.u32(), r.u32(), r.fixed(8)))


def read(sid, offset, count):
    return Op(OP_READ, sid + u64(offset) + u32(count), decode=lambda r: (r.u32(), r.opaque()))


def readdir(maxcount, dircount=None, bits=()):
    args = u64(0) + b"\0" * 8 + u32(maxcount if dircount is None else dircount) + u32(maxcount) + bitmap(list(bits))
    return Op(OP_READDIR, args)


class Result:
    def __init__(self, status, results):
        self.status = status
        self.results = results  # [(op, status, decoded or None)]

    def last(self):
        return self.results[-1][1]

    def value(self, i):
        return self.results[i][2]


class Client:
    """One TCP connection; every COMPOUND may carry its own AUTH_SYS uid/gid."""

    def __init__(self, port, host="127.0.0.1"):
        self.conn = Conn(host, port)

    def compound(self, ops, uid=0, gid=0, minor=0):
        body = opaque(b"") + u32(minor) + u32(len(ops)) + b"".join(u32(o.num) + o.args for o in ops)
        xid = random.getrandbits(31)
        self.conn.send(record(call(xid, NFS, 4, 1, body, cred=auth_sys(uid, gid))))
        rx, rstat, astat, rest = parse_reply(self.conn.recv_record())
        assert (rx, rstat, astat) == (xid, 0, 0)
        r = Reader(rest)
        status = r.u32()
        r.opaque()  # tag
        results = []
        for op in ops[:r.u32()]:
            num, st = r.u32(), r.u32()
            assert num == op.num
            results.append((num, st, op.decode(r) if st == NFS4_OK and op.decode else None))
        return Result(status, results)

    def close(self):
        self.conn.close()


def confirmed_client(c, name="nfs4ops-raw"):
    """SETCLIENTID + SETCLIENTID_CONFIRM as root: the clientid."""
    res = c.compound([setclientid(name)])
    assert res.status == NFS4_OK
    clientid, verifier = res.value(0)
    assert c.compound([setclientid_confirm(clientid, verifier)]).status == NFS4_OK
    return clientid
