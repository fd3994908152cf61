"""An NFSv4.0 COMPOUND builder and reply reader over rpcraw, for tests that
need exact file handles (no kernel client): PUTROOTFH, PUTFH, LOOKUP, LOOKUPP,
GETFH, GETATTR, SAVEFH, CREATE (directory, symlink), RENAME, LINK, READDIR.
Ops without state need no client id in 4.0 (RFC 7530 16.2)."""
import random
import struct

from rpcraw import Conn, call, opaque, parse_reply, record, u32

NFS = 100003
OP_CREATE, OP_GETATTR, OP_GETFH, OP_LINK, OP_LOOKUP, OP_LOOKUPP = 6, 9, 10, 11, 15, 16
OP_PUTFH, OP_PUTROOTFH, OP_READDIR, OP_RENAME, OP_SAVEFH = 22, 24, 26, 29, 32

NFS4_OK = 0
NFS4ERR_NOENT = 2
NFS4ERR_XDEV = 18
NFS4ERR_STALE = 70
NFS4ERR_BADHANDLE = 10001

FATTR4_FSID = 8
FATTR4_FILEHANDLE = 19
FATTR4_FILEID = 20


def u64(v):
    return struct.pack(">Q", v)


def bitmap(*bits):
    words = [0] * (max(bits) // 32 + 1 if bits else 0)
    for b in bits:
        words[b // 32] |= 1 << (b % 32)
    return u32(len(words)) + b"".join(u32(w) for w in words)


def putrootfh():
    return (OP_PUTROOTFH, u32(OP_PUTROOTFH))


def putfh(fh):
    return (OP_PUTFH, u32(OP_PUTFH) + opaque(fh))


def lookup(name):
    return (OP_LOOKUP, u32(OP_LOOKUP) + opaque(name.encode()))


def lookupp():
    return (OP_LOOKUPP, u32(OP_LOOKUPP))


def getfh():
    return (OP_GETFH, u32(OP_GETFH))


def savefh():
    return (OP_SAVEFH, u32(OP_SAVEFH))


def getattr_(*bits):
    return (OP_GETATTR, u32(OP_GETATTR) + bitmap(*bits))


def mkdir(name):
    # createtype4 NF4DIR (2), objname, empty fattr4.
    return (OP_CREATE, u32(OP_CREATE) + u32(2) + opaque(name.encode()) + bitmap() + opaque(b""))


def symlink(name, target):
    return (OP_CREATE, u32(OP_CREATE) + u32(5) + opaque(target.encode()) + opaque(name.encode())
            + bitmap() + opaque(b""))


def rename(old, new):
    return (OP_RENAME, u32(OP_RENAME) + opaque(old.encode()) + opaque(new.encode()))


def link(name):
    return (OP_LINK, u32(OP_LINK) + opaque(name.encode()))


def readdir(*bits):
    return (OP_READDIR, u32(OP_READDIR) + u64(0) + b"\0" * 8 + u32(8192) + u32(32768)
            + bitmap(*bits))


class Reader:
    def __init__(self, data):
        self.d, self.o = data, 0

    def u32(self):
        (v,) = struct.unpack(">I", self.d[self.o:self.o + 4])
        self.o += 4
        return v

    def u64(self):
        (v,) = struct.unpack(">Q", self.d[self.o:self.o + 8])
        self.o += 8
        return v

    def opaque(self):
        n = self.u32()
        v = self.d[self.o:self.o + n]
        self.o += (n + 3) & ~3
        return v

    def skip(self, n):
        self.o += n

    def bitmap(self):
        return [self.u32() for _ in range(self.u32())]


class Result:
    """The overall status and, per op, (opnum, status, body): body is the
    handle for GETFH, the attribute bytes for GETATTR, [(name, attr bytes)]
    for READDIR, None otherwise."""

    def __init__(self, status, ops):
        self.status, self.ops = status, ops

    def body(self, opnum):
        return [b for (n, _, b) in self.ops if n == opnum]


def _parse(data, sent):
    r = Reader(data)
    status = r.u32()
    r.opaque()  # tag
    out = []
    for i in range(r.u32()):
        opnum, st = r.u32(), r.u32()
        assert opnum == sent[i], f"op {i}: reply for {opnum}, sent {sent[i]}"
        body = None
        if st == NFS4_OK:
            if opnum == OP_GETFH:
                body = r.opaque()
            elif opnum == OP_GETATTR:
                r.bitmap()
                body = r.opaque()
            elif opnum == OP_CREATE:
                r.skip(20)
                r.bitmap()
            elif opnum == OP_RENAME:
                r.skip(40)
            elif opnum == OP_LINK:
                r.skip(20)
            elif opnum == OP_READDIR:
                r.skip(8)
                body = []
                while r.u32():
                    r.u64()
                    name = r.opaque().decode()
                    r.bitmap()
                    body.append((name, r.opaque()))
                r.u32()  # eof
        out.append((opnum, st, body))
    return Result(status, out)


class Nfs4:
    """One TCP connection to the NFS port speaking NFSv4.0 COMPOUNDs as AUTH_SYS root."""

    def __init__(self, port, host="127.0.0.1", uid=0, gid=0):
        from rpcraw import auth_sys
        self.conn = Conn(host, port)
        self.cred = auth_sys(uid, gid)

    def compound(self, *ops):
        args = opaque(b"t") + u32(0) + u32(len(ops)) + b"".join(o[1] for o in ops)
        xid = random.getrandbits(31)
        self.conn.send(record(call(xid, NFS, 4, 1, args, cred=self.cred)))
        rx, rstat, astat, rest = parse_reply(self.conn.recv_record())
        assert (rx, rstat, astat) == (xid, 0, 0)
        return _parse(rest, [o[0] for o in ops])

    def fh(self, *ops):
        """The handle GETFH returns at the end of ops (which must succeed)."""
        res = self.compound(*ops, getfh())
        assert res.status == NFS4_OK, res.ops
        return res.body(OP_GETFH)[-1]

    def close(self):
        self.conn.close()
