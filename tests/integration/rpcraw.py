"""A minimal ONC RPC client over TCP for sending well-formed and malformed
calls to the NFS port (the malformed-input tests)."""
import random
import socket
import struct


def u32(v):
    return struct.pack(">I", v & 0xFFFFFFFF)


def opaque(b):
    pad = (4 - len(b) % 4) % 4
    return u32(len(b)) + b + b"\0" * pad


def auth_sys(uid=0, gid=0, machine=b"test"):
    body = u32(0) + opaque(machine) + u32(uid) + u32(gid) + u32(0)
    return u32(1) + opaque(body)


def call(xid, prog, vers, proc, args=b"", cred=None):
    cred = cred if cred is not None else auth_sys()
    return u32(xid) + u32(0) + u32(2) + u32(prog) + u32(vers) + u32(proc) + cred + u32(0) + u32(0) + args


def record(payload, last=True):
    return u32((0x80000000 if last else 0) | len(payload)) + payload


class Conn:
    def __init__(self, host, port, timeout=10):
        self.s = socket.create_connection((host, port), timeout=timeout)

    def send(self, data):
        self.s.sendall(data)

    def recv_record(self):
        out = b""
        while True:
            hdr = self._exact(4)
            (n,) = struct.unpack(">I", hdr)
            out += self._exact(n & 0x7FFFFFFF)
            if n & 0x80000000:
                return out

    def _exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf

    def closed_by_peer(self):
        try:
            self.s.settimeout(10)
            return self.s.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.s.close()


def parse_reply(data):
    """Returns (xid, reply_stat, accept_stat_or_reject, rest)."""
    xid, mtype, rstat = struct.unpack(">III", data[:12])
    assert mtype == 1
    if rstat == 0:  # MSG_ACCEPTED: verifier, then accept_stat
        flavor, vlen = struct.unpack(">II", data[12:20])
        off = 20 + ((vlen + 3) & ~3)
        (astat,) = struct.unpack(">I", data[off:off + 4])
        return xid, rstat, astat, data[off + 4:]
    (rej,) = struct.unpack(">I", data[12:16])
    return xid, rstat, rej, data[16:]


def null_call(host, port):
    c = Conn(host, port)
    xid = random.getrandbits(31)
    c.send(record(call(xid, 100003, 4, 0)))
    rx, rstat, astat, _ = parse_reply(c.recv_record())
    c.close()
    return rx == xid and rstat == 0 and astat == 0
