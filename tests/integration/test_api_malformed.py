"""Malformed HTTP requests get clean errors while another client keeps working."""
import json
import socket
import urllib.request

from conftest import make_client


def raw(server, data, read=65536):
    with socket.create_connection(("127.0.0.1", server.api_port), timeout=10) as s:
        s.sendall(data)
        out = b""
        try:
            while True:
                chunk = s.recv(read)
                if not chunk:
                    break
                out += chunk
                if b"\r\n\r\n" in out and len(out) > 12:
                    head, _, body = out.partition(b"\r\n\r\n")
                    cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                    if cl and len(body) >= int(cl[0].split(b":")[1]):
                        break
        except socket.timeout:
            pass
    return out


def status(resp):
    return int(resp.split(b" ", 2)[1])


def test_bad_json_body(server):
    r = raw(server, b"POST /2015-02-01/file-systems HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 9\r\n\r\n{not json")
    assert status(r) == 400
    body = json.loads(r.split(b"\r\n\r\n", 1)[1])
    assert body["ErrorCode"] == "BadRequest"
    assert b"x-amzn-errortype: badrequest" in r.lower()


def test_unknown_path_and_wrong_method(server):
    assert status(raw(server, b"GET /2015-02-01/nothing-here HTTP/1.1\r\nHost: x\r\n\r\n")) == 404
    r = raw(server, b"PATCH /2015-02-01/file-systems HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert status(r) in (404, 405)


def test_oversized_body_and_headers(server):
    r = raw(server, b"POST /2015-02-01/file-systems HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n")
    assert status(r) == 413
    r = raw(server, b"GET /2015-02-01/file-systems HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n")
    assert status(r) == 431


def test_broken_chunked_encoding(server):
    r = raw(server, b"POST /2015-02-01/file-systems HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"zz\r\nabc\r\n0\r\n\r\n")
    assert status(r) == 400


def test_chunked_body_works(server):
    body = json.dumps({"CreationToken": "chunked-ok"}).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    r = raw(server, b"POST /2015-02-01/file-systems HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked)
    assert status(r) == 201


def test_other_clients_keep_working_during_garbage(server):
    socks = []
    for _ in range(5):
        s = socket.create_connection(("127.0.0.1", server.api_port), timeout=5)
        s.sendall(b"\x00\xff garbage \r\n\r\n")
        socks.append(s)
    efs = make_client(server)
    assert "FileSystems" in efs.describe_file_systems()
    with urllib.request.urlopen(server.endpoint + "/_efs-local/health") as r:
        assert json.loads(r.read())["status"] == "ok"
    for s in socks:
        s.close()
    assert server.alive()
