"""Many clients at once through a real efs-local with ONE I/O thread
(--threads 1): calls that may block (WRITE FILE_SYNC, OPEN, namespace
changes: group commit and fdatasync) run on the --nfs-workers pool, so every
client is answered and none is lost or mixed up (rpc/program.h, "Where a
call runs")."""
import struct
import subprocess
import threading

import pytest

from conftest import BIN, Server, make_client, new_fs
from nfs4ops_raw import (FATTR4_MODE, NFS4_OK, Client, Reader, confirmed_client, fattr,
                         getattr_, getfh, lookup, open_confirm, open_create, putfh, putrootfh,
                         read, u32, write)
from rpcraw import auth_sys, call, opaque, parse_reply, record

FILE_SYNC4 = 2
NFS = 100003


@pytest.fixture
def one_io_thread(tmp_path):
    s = Server(tmp_path / "data", extra_args=["--threads", "1", "--nfs-workers", "2"]).start()
    yield s
    # Graceful shutdown drains the pool: a clean exit, not the watchdog's.
    rc = s.stop()
    assert rc == 0, s.tail()


def open_file(c, clientid, fs_id, owner, name):
    attrs = fattr({FATTR4_MODE: u32(0o644)})
    res = c.compound([putrootfh(), lookup(fs_id), open_create(clientid, owner, 1, name, attrs),
                      getfh()])
    assert res.status == NFS4_OK, res.results
    sid, rflags = res.value(2)
    fh = res.value(3)
    if rflags & 2:  # OPEN4_RESULT_CONFIRM
        res = c.compound([putfh(fh), open_confirm(sid, 2)])
        assert res.status == NFS4_OK
        sid = res.value(1)
    return fh, sid


def test_concurrent_clients_writing_file_sync_and_reading_are_all_answered(one_io_thread):
    srv = one_io_thread
    fs_id = new_fs(make_client(srv))
    clients, rounds, errors = 8, 12, []

    def worker(i):
        try:
            c = Client(srv.nfs_port)
            clientid = confirmed_client(c, name=f"concurrency-{i}")
            fh, sid = open_file(c, clientid, fs_id, f"owner-{i}", f"f{i}")
            for n in range(rounds):
                data = bytes([i]) * 4096 + struct.pack(">II", i, n)
                res = c.compound([putfh(fh), write(sid, n * 8192, data, stable=FILE_SYNC4)])
                assert res.status == NFS4_OK, res.results
                count, committed, _ = res.value(1)
                assert (count, committed) == (len(data), FILE_SYNC4)
                res = c.compound([putfh(fh), read(sid, n * 8192, len(data))])
                assert res.status == NFS4_OK and res.value(1)[1] == data, res.results
                res = c.compound([putfh(fh), getattr_([FATTR4_MODE])])
                assert res.status == NFS4_OK
            c.close()
        except Exception as e:  # reported by the main thread
            errors.append(f"client {i}: {e!r}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a client was never answered"
    assert errors == []


def test_pipelined_file_sync_writes_and_reads_on_one_connection_all_answered(one_io_thread):
    """A burst of FILE_SYNC WRITEs (to the pool) and GETATTRs (inline) sent
    without waiting: every xid is answered exactly once, in any order."""
    srv = one_io_thread
    fs_id = new_fs(make_client(srv))
    c = Client(srv.nfs_port)
    clientid = confirmed_client(c, name="pipeline")
    fh, sid = open_file(c, clientid, fs_id, "owner-p", "p")

    def body(ops):
        return opaque(b"") + u32(0) + u32(len(ops)) + b"".join(u32(o.num) + o.args for o in ops)

    sent = {}
    burst = b""
    for n in range(40):
        xid = 0x7000 + n
        if n % 2 == 0:
            ops = [putfh(fh), write(sid, n * 4096, bytes([n]) * 4096, stable=FILE_SYNC4)]
        else:
            ops = [putfh(fh), getattr_([FATTR4_MODE])]
        sent[xid] = ops
        burst += record(call(xid, NFS, 4, 1, body(ops), cred=auth_sys(0, 0)))
    c.conn.send(burst)
    seen = []
    for _ in sent:
        xid, rstat, astat, rest = parse_reply(c.conn.recv_record())
        assert (rstat, astat) == (0, 0)
        r = Reader(rest)
        assert r.u32() == NFS4_OK, hex(xid)
        seen.append(xid)
    assert sorted(seen) == sorted(sent)
    # Every WRITE landed.
    for n in range(0, 40, 2):
        res = c.compound([putfh(fh), read(sid, n * 4096, 4096)])
        assert res.value(1)[1] == bytes([n]) * 4096
    c.close()


@pytest.mark.parametrize("value", ["0", "257"])
def test_nfs_workers_out_of_range_is_refused(tmp_path, value):
    r = subprocess.run([str(BIN), "serve", "--data-dir", str(tmp_path / "d"), "--nfs-workers", value],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "--nfs-workers must be between 1 and 256" in r.stderr
