"""TLS on the NFS port as efs-utils uses it (README, "TLS (encryption in
transit)"): plain RPC and TLS on one socket, the server certificate names
efs-utils checks, client certificates with the EFS extensions (access point,
IAM identity), refusals that leave other clients served, efs-proxy's
bind_client_to_partition, and the Linux kernel client through stunnel
configured as mount_efs configures it."""
import datetime
import json
import socket
import ssl
import struct
import subprocess
import threading
import time
import warnings

import pytest

import efs_tls
from conftest import BIN, Server, kernel_client, make_client, new_fs, wait_state
from rpcraw import call, parse_reply, record, u32, opaque

REGION = "us-east-1"


def dns_name(fid):
    return f"{fid}.efs.{REGION}.amazonaws.com"


def ca_file(server):
    return str(server.data_dir / "tls" / "ca.pem")


def mount_target(server, fid):
    efs = make_client(server)
    ec2 = make_client(server, "ec2")
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    mt = efs.create_mount_target(FileSystemId=fid, SubnetId=subnet)
    wait_state(lambda: efs.describe_mount_targets(MountTargetId=mt["MountTargetId"])
               ["MountTargets"][0]["LifeCycleState"], "available")
    # The listener on the new address follows the catalog within moments.
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection((mt["IpAddress"], server.nfs_port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    return mt


def access_point(server, fid, uid=1234, gid=2345, path="/apps/tls"):
    efs = make_client(server)
    ap = efs.create_access_point(
        FileSystemId=fid, PosixUser={"Uid": uid, "Gid": gid},
        RootDirectory={"Path": path, "CreationInfo": {"OwnerUid": uid, "OwnerGid": gid,
                                                       "Permissions": "755"}})["AccessPointId"]
    wait_state(lambda: efs.describe_access_points(AccessPointId=ap)["AccessPoints"][0]
               ["LifeCycleState"], "available")
    return ap


def rpc_null(sock, prog=100003, vers=4, proc=0, args=b""):
    """One call on an open socket (plain or TLS); returns (accept_stat, results)."""
    xid = 0x1234
    sock.sendall(record(call(xid, prog, vers, proc, args)))
    def exact(n):
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf
    (mark,) = struct.unpack(">I", exact(4))
    rx, rstat, astat, rest = parse_reply(exact(mark & 0x7FFFFFFF))
    assert rx == xid and rstat == 0
    return astat, rest


def refused(sock):
    """True if the server ends the connection (a TLS alert or a close)."""
    try:
        sock.settimeout(10)
        return rpc_null(sock) is None
    except (ssl.SSLError, ConnectionError, OSError):
        return True


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("tls") / "data").start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def fs_mt(tls_server):
    fid = new_fs(make_client(tls_server))
    mt = mount_target(tls_server, fid)
    return fid, mt["IpAddress"]


def test_plain_and_tls_on_one_port_at_once(tls_server, fs_mt):
    fid, ip = fs_mt
    plain = socket.create_connection((ip, tls_server.nfs_port), timeout=10)
    secure = efs_tls.tls_connect(ip, tls_server.nfs_port, ca_file(tls_server), dns_name(fid))
    assert secure.version() in ("TLSv1.2", "TLSv1.3")
    for _ in range(3):  # interleaved on two connections to the same listener
        assert rpc_null(plain)[0] == 0
        assert rpc_null(secure)[0] == 0
    # A 1 MiB record each way over TLS (records larger than one TLS record).
    big = b"x" * (1 << 20)
    assert rpc_null(secure, args=big)[0] == 0
    plain.close()
    secure.close()
    assert "tls: connection" in tls_server.tail(200)


def test_server_certificate_names_what_efs_utils_checks(tls_server, fs_mt):
    fid, ip = fs_mt
    ca = ca_file(tls_server)
    # stunnel's checkHost (fs-....efs.region.amazonaws.com), the {az}. form,
    # and the mount target's IP all verify.
    for name in (dns_name(fid), f"{REGION}a.{dns_name(fid)}", ip):
        s = efs_tls.tls_connect(ip, tls_server.nfs_port, ca, name)
        assert rpc_null(s)[0] == 0
        s.close()
    # Another file system's name does not.
    with pytest.raises(ssl.SSLCertVerificationError):
        efs_tls.tls_connect(ip, tls_server.nfs_port, ca, dns_name("fs-0123456789abcdef0"))
    # The main listener, without SNI, names every file system.
    s = efs_tls.tls_connect("127.0.0.1", tls_server.nfs_port, ca, dns_name(fid))
    assert rpc_null(s)[0] == 0
    s.close()
    # TLS 1.1 and older are refused.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():  # the old versions are deprecated: that is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except ssl.SSLError:
        pass
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        ctx.wrap_socket(socket.create_connection((ip, tls_server.nfs_port), timeout=10))


def test_ca_is_kept_across_restarts(tmp_path):
    s = Server(tmp_path / "data").start()
    try:
        ca = (s.data_dir / "tls" / "ca.pem").read_bytes()
        key = s.data_dir / "tls" / "ca-key.pem"
        assert oct(key.stat().st_mode & 0o777) == "0o600"
        s.restart()
        assert (s.data_dir / "tls" / "ca.pem").read_bytes() == ca
        conn = efs_tls.tls_connect("127.0.0.1", s.nfs_port, ca_file(s), "localhost")
        assert rpc_null(conn)[0] == 0
    finally:
        s.stop()


def test_bad_handshakes_and_certificates_refused_others_served(tls_server, fs_mt, tmp_path):
    fid, ip = fs_mt
    port = tls_server.nfs_port
    ca = ca_file(tls_server)
    # A client that stays connected throughout.
    keeper = efs_tls.tls_connect(ip, port, ca, dns_name(fid))
    assert rpc_null(keeper)[0] == 0

    # Garbage after a TLS record header.
    g = socket.create_connection((ip, port), timeout=10)
    g.sendall(b"\x16\x03\x01\x00\x40" + b"\xde\xad" * 32 + b"more garbage")
    g.settimeout(10)
    try:
        assert g.recv(100) is not None
    except OSError:
        pass
    g.close()

    now = datetime.datetime.now(datetime.timezone.utc)
    expired = efs_tls.client_certificate(str(tmp_path), fid, name="expired",
                                         not_before=now - datetime.timedelta(days=2),
                                         not_after=now - datetime.timedelta(days=1))
    wrong_ca = efs_tls.client_certificate(str(tmp_path), fid, name="wrongca",
                                          issuer=efs_tls.other_ca())
    other_fs = efs_tls.client_certificate(str(tmp_path), "fs-0123456789abcdef0", name="otherfs")
    bad_ap = efs_tls.client_certificate(str(tmp_path), fid, ap_id="fsap-0123456789abcdef0",
                                        name="badap")
    forged = efs_tls.client_certificate(str(tmp_path), fid, name="forgedself",
                                        bad_self_signature=True)
    for cert in (expired, wrong_ca, other_fs, bad_ap, forged):
        try:
            c = efs_tls.tls_connect(ip, port, ca, dns_name(fid), cert=cert)
        except (ssl.SSLError, ConnectionError, OSError):
            continue  # refused in the handshake
        assert refused(c), cert
        c.close()
    log = tls_server.tail(400)
    assert "handshake refused" in log
    assert "certificate has expired" in log
    assert "unable to get local issuer certificate" in log or "unable to verify" in log
    assert "but this mount target belongs to " + fid in log
    assert "fsap-0123456789abcdef0, which is not available" in log
    assert "self-signed client certificate's signature does not verify" in log
    # The others kept being served, on TLS and plain.
    assert rpc_null(keeper)[0] == 0
    p = socket.create_connection((ip, port), timeout=10)
    assert rpc_null(p)[0] == 0
    p.close()
    keeper.close()
    assert tls_server.alive()


def test_client_certificate_identity_verified_against_iam_credentials(tmp_path):
    creds = tmp_path / "iam.json"
    creds.write_text(json.dumps([{
        "access_key_id": "AKIAEFSLOCALTEST0001", "secret_access_key": "s3cr3t/key+value",
        "account": "111122223333", "arn": "arn:aws:iam::111122223333:user/alice"}]))
    s = Server(tmp_path / "data", extra_args=["--iam-credentials", str(creds)]).start()
    try:
        fid = new_fs(make_client(s))
        ip = mount_target(s, fid)["IpAddress"]
        good = efs_tls.client_certificate(str(tmp_path), fid, name="good",
                                          iam=("AKIAEFSLOCALTEST0001", "s3cr3t/key+value"))
        c = efs_tls.tls_connect(ip, s.nfs_port, ca_file(s), dns_name(fid), cert=good)
        assert rpc_null(c)[0] == 0
        c.close()
        assert "arn:aws:iam::111122223333:user/alice" in s.tail(100)
        forged = efs_tls.client_certificate(str(tmp_path), fid, name="forged", bad_signature=True,
                                            iam=("AKIAEFSLOCALTEST0001", "s3cr3t/key+value"))
        wrong_secret = efs_tls.client_certificate(str(tmp_path), fid, name="wrongsecret",
                                                  iam=("AKIAEFSLOCALTEST0001", "guess"))
        unknown = efs_tls.client_certificate(str(tmp_path), fid, name="unknown",
                                             iam=("AKIAUNKNOWNKEY000000", "x"))
        for cert in (forged, wrong_secret, unknown):
            try:
                c = efs_tls.tls_connect(ip, s.nfs_port, ca_file(s), dns_name(fid), cert=cert)
            except (ssl.SSLError, OSError):
                continue
            assert refused(c)
            c.close()
        log = s.tail(200)
        assert log.count("signature does not verify for access key AKIAEFSLOCALTEST0001") >= 2
        assert "AKIAUNKNOWNKEY000000 is not in --iam-credentials" in log
    finally:
        s.stop()


def test_unverified_identity_accepted_with_a_log_line(tls_server, fs_mt, tmp_path):
    fid, ip = fs_mt
    cert = efs_tls.client_certificate(str(tmp_path), fid, name="anyiam",
                                      iam=("AKIAUNVERIFIED000001", "whatever"))
    c = efs_tls.tls_connect(ip, tls_server.nfs_port, ca_file(tls_server), dns_name(fid), cert=cert)
    assert rpc_null(c)[0] == 0
    c.close()
    assert "accepting the IAM identity of access key AKIAUNVERIFIED000001 unverified" in \
        tls_server.tail(100)


def bind_args():
    return opaque(bytes(range(16))) + opaque(struct.pack(">q", 7))


@pytest.mark.parametrize("prog,proc,fields", [(400123, 2, 4), (100200, 1, 3)])
def test_bind_client_to_partition(tls_server, fs_mt, prog, proc, fields):
    fid, ip = fs_mt
    for tls in (False, True):
        sock = efs_tls.tls_connect(ip, tls_server.nfs_port, ca_file(tls_server), dns_name(fid)) \
            if tls else socket.create_connection((ip, tls_server.nfs_port), timeout=10)
        astat, body = rpc_null(sock, prog, 1, proc, bind_args())
        assert astat == 0
        (kind,) = struct.unpack(">I", body[:4])
        assert kind == 3  # READY
        assert len(body) == 4 + 64 + 4 * fields
        (max_conns,) = struct.unpack(">i", body[68:72])
        assert max_conns == 1
        # The NFS program works on the same connection afterwards.
        assert rpc_null(sock)[0] == 0
        # Undecodable arguments: GARBAGE_ARGS.
        assert rpc_null(sock, prog, 1, proc, b"\xff\xff\xff\xff")[0] == 4
        sock.close()


def test_efs_utils_config_prints_ca_and_mount_target(tls_server, fs_mt):
    fid, ip = fs_mt
    out = subprocess.run([str(BIN), "efs-utils-config", "--data-dir", str(tls_server.data_dir)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert f"ca_file = {ca_file(tls_server)}" in out.stdout
    assert "dns_name_format = {fs_id}.efs.{region}.{dns_name_suffix}" in out.stdout
    assert "dns_name_suffix = amazonaws.com" in out.stdout
    assert f"region = {REGION}" in out.stdout
    assert f"{fid} " in out.stdout and f"mounttargetip={ip}" in out.stdout


WAIT_FOR = """
for i in $(seq 1 240); do [ -e {0} ] && break; sleep 0.5; done
[ -e {0} ]
"""


def test_kernel_mount_over_stunnel_beside_a_plain_mount(tls_server, fs_mt, tmp_path):
    """Two guests at once: one mounts through stunnel (TLS), the other plain,
    on the same mount target listener; each waits until the other's mount
    has written, so both are live together."""
    fid, ip = fs_mt
    st = efs_tls.Stunnel(str(tmp_path), f"{ip}:{tls_server.nfs_port}", dns_name(fid),
                         ca_file(tls_server))
    opts = ["--mount-opts", "hard,timeo=600,retrans=2,noresvport,lookupcache=none,actimeo=1",
            "--cpus", "1"]
    results = {}

    def run(name, addr, script):
        results[name] = kernel_client(addr, script, extra=opts)

    try:
        tls_script = """
echo over-tls > tls-file
head -c 2000000 /dev/urandom > big; sync; sha256sum big
touch tls-ready
""" + WAIT_FOR.format("plain-ready") + "cat plain-file\n"
        plain_script = """
echo plain > plain-file; sync
touch plain-ready
""" + WAIT_FOR.format("tls-ready") + "cat tls-file; sha256sum big\n"
        threads = [threading.Thread(target=run, args=("tls", f"127.0.0.1:{st.port}", tls_script)),
                   threading.Thread(target=run, args=("plain", f"{ip}:{tls_server.nfs_port}",
                                                      plain_script))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        tls, plain = results["tls"], results["plain"]
        assert tls.returncode == 0, tls.stdout + tls.stderr + st.tail() + tls_server.tail()
        assert plain.returncode == 0, plain.stdout + plain.stderr + tls_server.tail()
        assert "plain" in tls.stdout.split() and "over-tls" in plain.stdout.split()
        digest = [line.split()[0] for line in tls.stdout.splitlines() if line.endswith(" big")]
        assert digest and f"{digest[0]}  big" in plain.stdout
        assert "TLSv1.2" in tls_server.tail(600)  # stunnel's sslVersion = TLSv1.2
    finally:
        st.stop()


def test_kernel_mount_applies_the_access_point_in_the_client_certificate(tls_server, fs_mt,
                                                                        tmp_path):
    fid, ip = fs_mt
    ap = access_point(tls_server, fid)
    cert = efs_tls.client_certificate(str(tmp_path), fid, ap_id=ap,
                                      iam=("AKIAUNVERIFIED000002", "x"))
    st = efs_tls.Stunnel(str(tmp_path), f"{ip}:{tls_server.nfs_port}", dns_name(fid),
                         ca_file(tls_server), cert=cert)
    try:
        # The mount asks for "/", as efs-utils does; the certificate's access
        # point makes it /apps/tls with the access point's user.
        p = kernel_client(f"127.0.0.1:{st.port}", "echo via-cert > made; stat -c '%u:%g %n' made")
        assert p.returncode == 0, p.stdout + p.stderr + st.tail() + tls_server.tail()
        assert "1234:2345 made" in p.stdout
        assert f"through {ap}" in tls_server.tail(400)
    finally:
        st.stop()
    # Seen from the file system's root, plain: it is under the access point's root.
    p = kernel_client(f"{ip}:{tls_server.nfs_port}", "stat -c '%u:%g %n' apps/tls/made; "
                      "cat apps/tls/made")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "1234:2345 apps/tls/made" in p.stdout and "via-cert" in p.stdout


def test_own_server_certificate_with_tls_cert_and_key(tmp_path):
    ca_cert, ca_key = efs_tls.other_ca()
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = x509.CertificateBuilder() \
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nfs.example")])) \
        .issuer_name(ca_cert.subject).public_key(key.public_key()) \
        .serial_number(x509.random_serial_number()) \
        .not_valid_before(now - datetime.timedelta(hours=1)) \
        .not_valid_after(now + datetime.timedelta(days=1)) \
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("nfs.example"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False) \
        .sign(ca_key, hashes.SHA256())
    (tmp_path / "own.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "own-key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (tmp_path / "own-ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    s = Server(tmp_path / "data", extra_args=["--tls-cert", str(tmp_path / "own.pem"),
                                              "--tls-key", str(tmp_path / "own-key.pem")]).start()
    try:
        c = efs_tls.tls_connect("127.0.0.1", s.nfs_port, str(tmp_path / "own-ca.pem"), "nfs.example")
        assert c.getpeercert()["subject"] == ((("commonName", "nfs.example"),),)
        assert rpc_null(c)[0] == 0
        c.close()
    finally:
        s.stop()
    # A key that is not the certificate's: a named error at start, exit code 1.
    other = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "other-key.pem").write_bytes(other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    p = subprocess.run([str(BIN), "serve", "--data-dir", str(tmp_path / "data2"), "--nfs-port", "0",
                        "--api-port", "0", "--tls-cert", str(tmp_path / "own.pem"),
                        "--tls-key", str(tmp_path / "other-key.pem")],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert "cannot set up TLS for NFS" in p.stdout + p.stderr
    # One without the other is refused by the flags.
    p = subprocess.run([str(BIN), "serve", "--data-dir", str(tmp_path / "data3"),
                        "--tls-cert", str(tmp_path / "own.pem")], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 2 and "--tls-cert and --tls-key go together" in p.stderr
