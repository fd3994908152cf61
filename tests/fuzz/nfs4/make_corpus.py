#!/usr/bin/env python3
"""Writes the seed corpus of tests/fuzz/nfs4 (nfs4_fuzz.cc): a few valid
NFSv4 calls, XDR by hand (RFC 7530 / RFC 8881 section 16 and 18).
Byte 0 of each input picks the procedure (0: NULL, 1: COMPOUND with AUTH_SYS
uid 0); the rest are the call's arguments. The opaque "@FILEFH@" is replaced
by the fuzz target with the real handle of /f.
Usage: tests/fuzz/nfs4/make_corpus.py   (rewrites tests/fuzz/nfs4/corpus/)"""
import os
import struct

FS_ID = "fs-0123456789abcdef0"
# Op numbers (RFC 8881 16.2 / 18).
ACCESS, COMMIT, CREATE, GETATTR, GETFH, LOOKUP = 3, 5, 6, 9, 10, 15
OPEN, PUTFH, PUTROOTFH, READ, READDIR, REMOVE = 18, 22, 24, 25, 26, 28
RENAME, SAVEFH, SETCLIENTID, WRITE, EXCHANGE_ID, SECINFO_NO_NAME = 29, 32, 35, 38, 42, 52


def u32(v):
    return struct.pack(">I", v)


def u64(v):
    return struct.pack(">Q", v)


def opaque(b):
    if isinstance(b, str):
        b = b.encode()
    return u32(len(b)) + b + b"\0" * (-len(b) % 4)


def bitmap(*words):
    return u32(len(words)) + b"".join(u32(w) for w in words)


def compound(minor, *ops, tag="fuzz"):
    return b"\x01" + opaque(tag) + u32(minor) + u32(len(ops)) + b"".join(ops)


def op(num, body=b""):
    return u32(num) + body


ANON_STATEID = u32(0) + b"\0" * 12
ATTRS = bitmap(0x0010011A, 0x00B0A23A)  # type, change, size, fsid, fileid, mode, owner, times
FILE_FH = opaque("@FILEFH@")
to_fs = [op(PUTROOTFH), op(LOOKUP, opaque(FS_ID))]

SEEDS = {
    "null": b"\x00",
    "putrootfh_getattr": compound(0, op(PUTROOTFH), op(GETATTR, ATTRS)),
    "lookup_getfh": compound(0, *to_fs, op(LOOKUP, opaque("f")), op(GETFH), op(GETATTR, ATTRS),
                             op(ACCESS, u32(0x3F))),
    "setclientid": compound(0, op(SETCLIENTID, b"\x01" * 8 + opaque("fuzz-client") + u32(0x40000000)
                                 + opaque("tcp") + opaque("127.0.0.1.3.0") + u32(1))),
    # eia_flags 0, SP4_NONE, no implementation id.
    "exchange_id": compound(1, op(EXCHANGE_ID, b"\x02" * 8 + opaque("fuzz-client-41") + u32(0)
                                  + u32(0) + u32(0))),
    "putfh_write": compound(0, op(PUTFH, FILE_FH),
                            op(WRITE, ANON_STATEID + u64(0) + u32(2) + opaque("hello fuzz")),
                            op(READ, ANON_STATEID + u64(0) + u32(64)), op(COMMIT, u64(0) + u32(0))),
    "readdir": compound(0, *to_fs, op(READDIR, u64(0) + b"\0" * 8 + u32(4096) + u32(8192) + ATTRS)),
    # CREATE NF4DIR "x" with no attributes, then REMOVE it; SAVEFH + RENAME in between.
    "create_rename_remove": compound(0, *to_fs, op(SAVEFH), op(CREATE, u32(2) + opaque("x") + bitmap() + opaque(b"")),
                                     op(PUTROOTFH), op(LOOKUP, opaque(FS_ID)), op(SAVEFH),
                                     op(RENAME, opaque("x") + opaque("y")), op(REMOVE, opaque("y"))),
    # A 4.1 COMPOUND without SEQUENCE (NFS4ERR_OP_NOT_IN_SESSION, RFC 8881 2.10.6).
    "v41_no_sequence": compound(1, op(PUTROOTFH), op(SECINFO_NO_NAME, u32(0))),
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "corpus")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
