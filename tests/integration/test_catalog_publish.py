"""The export catalog is pushed to NFS when it changes: a file system is
mountable the moment it becomes available (on the emulator clock or after a
clock advance) and gone the moment it is deleted, with no API call in between.
Also: the API's 404 answers are valid JSON whatever bytes the path holds."""
import json
import socket
import time
import uuid

import pytest

from conftest import Server, make_client
from nfs4raw import NFS4_OK, NFS4ERR_NOENT, Conn, lookup, putrootfh, send_compound

_xid = [1000]


def lookup_status(server, fs_id):
    """PUTROOTFH + LOOKUP fs-... on a new connection: the status of LOOKUP."""
    c = Conn("127.0.0.1", server.nfs_port)
    try:
        _xid[0] += 1
        _, r = send_compound(c, _xid[0], [putrootfh(), lookup(fs_id.encode())])
        assert r.op() == (24, NFS4_OK)  # PUTROOTFH
        op, status = r.op()
        assert op == 15
        return status
    finally:
        c.s.close()


@pytest.fixture
def slow_server(tmp_path):
    """A server whose resources stay 'creating' for ten minutes of emulator time."""
    s = Server(tmp_path / "data", state_delay_ms=600_000).start()
    yield s
    s.stop()


def test_clock_advance_exports_at_once_and_delete_hides_at_once(slow_server):
    efs = make_client(slow_server)
    fid = efs.create_file_system(CreationToken=str(uuid.uuid4()))["FileSystemId"]
    assert lookup_status(slow_server, fid) == NFS4ERR_NOENT
    slow_server.advance_clock(599)
    assert lookup_status(slow_server, fid) == NFS4ERR_NOENT
    # The reply to the clock advance comes after the catalog was republished:
    # the very next NFS call finds the file system, no DescribeFileSystems needed.
    slow_server.advance_clock(2)
    assert lookup_status(slow_server, fid) == NFS4_OK
    efs.delete_file_system(FileSystemId=fid)
    assert lookup_status(slow_server, fid) == NFS4ERR_NOENT


def test_file_system_is_exported_when_its_delay_elapses_without_api_calls(server):
    # server: --state-delay 200 ms. Nothing but NFS calls after the create.
    efs = make_client(server)
    fid = efs.create_file_system(CreationToken=str(uuid.uuid4()))["FileSystemId"]
    assert lookup_status(server, fid) == NFS4ERR_NOENT
    time.sleep(0.6)
    assert lookup_status(server, fid) == NFS4_OK


def raw_http(server, request):
    with socket.create_connection(("127.0.0.1", server.api_port), timeout=10) as s:
        s.sendall(request)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
            head, sep, body = out.partition(b"\r\n\r\n")
            if sep:
                cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if cl and len(body) >= int(cl[0].split(b":")[1]):
                    break
    head, _, body = out.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


# A quote, a backslash, control bytes (0x01, newline), DEL and invalid UTF-8
# (a NUL is refused earlier, with 400).
NASTY = b"%22%5C%01%0A%7F%FF%C3%28"


@pytest.mark.parametrize("prefix", [b"/_efs-local/", b"/2015-02-01/", b"/"])
def test_404_body_is_valid_json_for_any_path(server, prefix):
    status, body = raw_http(server, b"GET " + prefix + b"x" + NASTY + b" HTTP/1.1\r\nHost: x\r\n"
                            b"Connection: close\r\n\r\n")
    assert status == 404, body
    doc = json.loads(body)  # raises on invalid JSON
    assert doc["ErrorCode"] in ("NotFound", "UnknownOperationException")
    msg = doc["Message"]
    assert '"' in msg and "\\" in msg and "\x01" in msg and "\n" in msg
    assert "\ufffd" in msg  # the invalid bytes, replaced
