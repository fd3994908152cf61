"""What efs-utils does on the client side of a TLS mount, for the TLS tests:
the client certificate with the EFS extensions (certificate_utils.py in
aws/efs-utils: a self-signed certificate, OIDs 1.3.6.1.4.1.4843.7.1-4, the
efs_client_auth SigV4 "Connect" signature), and stunnel configured as
mount_efs writes it (STUNNEL_GLOBAL_CONFIG / STUNNEL_EFS_CONFIG)."""
import datetime
import hashlib
import hmac
import os
import socket
import ssl
import subprocess
import time
from urllib.parse import quote_plus

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa, ec
from cryptography.x509.oid import NameOID

OID_AP = "1.3.6.1.4.1.4843.7.1"
OID_AUTH = "1.3.6.1.4.1.4843.7.2"
OID_FS = "1.3.6.1.4.1.4843.7.3"
OID_INFO = "1.3.6.1.4.1.4843.7.4"


def der(tag, body):
    n = len(body)
    if n < 0x80:
        length = bytes([n])
    elif n < 0x100:
        length = bytes([0x81, n])
    else:
        length = bytes([0x82, n >> 8, n & 0xFF])
    return bytes([tag]) + length + body


def utf8(s):
    return der(0x0C, s.encode())


def public_key_hash(cert):
    """SHA-1 of the subjectPublicKey BIT STRING's contents, as get_public_key_sha1."""
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    # SEQUENCE { AlgorithmIdentifier, BIT STRING }: skip to the BIT STRING.
    def tlv(b, i):
        n = b[i + 1]
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(b[i + 2:i + 2 + k], "big")
            return i + 2 + k, n
        return i + 2, n
    i, _ = tlv(spki, 0)
    j, alg_len = tlv(spki, i)
    i = j + alg_len
    assert spki[i] == 0x03
    j, n = tlv(spki, i)
    return hashlib.sha1(spki[j + 1:j + n]).hexdigest()


def connect_signature(access_key, secret, when, region, fs_id, pk_hash, token=None):
    """efs_client_auth_builder's signature (certificate_utils.py)."""
    date = when.strftime("%Y%m%d")
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{date}/{region}/elasticfilesystem/aws4_request"
    params = {
        "Action": "Connect",
        "PublicKeyHash": quote_plus(pk_hash),
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": quote_plus(access_key + "/" + scope),
        "X-Amz-Date": quote_plus(amz_date),
        "X-Amz-Expires": 86400,
        "X-Amz-SignedHeaders": "host",
    }
    if token:
        params["X-Amz-Security-Token"] = quote_plus(token)
    query = "&".join("%s=%s" % (k, v) for k, v in sorted(params.items()))
    canonical = "GET\n/\n" + query + "\nhost:" + fs_id + "\nhost\n" + hashlib.sha256(b"").hexdigest()
    to_sign = "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" + \
        hashlib.sha256(canonical.encode()).hexdigest()

    def sign(key, msg):
        return hmac.new(key, msg.encode(), hashlib.sha256)
    k = sign(("AWS4" + secret).encode(), date).digest()
    k = sign(k, region).digest()
    k = sign(k, "elasticfilesystem").digest()
    k = sign(k, "aws4_request").digest()
    return sign(k, to_sign).hexdigest()


def client_certificate(directory, fs_id, ap_id=None, iam=None, region="us-east-1",
                       not_before=None, not_after=None, issuer=None, name="client",
                       bad_signature=False, client_info=("efs-utils", "test"),
                       bad_self_signature=False):
    """Writes <name>.pem and <name>-key.pem; returns (cert path, key path).

    iam: (access key, secret[, token]) for efs_client_auth. issuer: (cert, key)
    of another CA to sign with (default: self-signed, as efs-utils does)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "efs-mount")])
    b = x509.CertificateBuilder().subject_name(subject).public_key(key.public_key()) \
        .serial_number(x509.random_serial_number()) \
        .not_valid_before(not_before or now - datetime.timedelta(minutes=15)) \
        .not_valid_after(not_after or now + datetime.timedelta(hours=3))
    if ap_id:
        b = b.add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier(OID_AP), utf8(ap_id)),
                            critical=False)
    if iam:
        # The signature covers the public key's hash: build a throwaway
        # certificate first to get it (same key, same hash).
        probe = b.issuer_name(subject).sign(key, hashes.SHA256())
        pk = public_key_hash(probe)
        access_key, secret = iam[0], iam[1]
        token = iam[2] if len(iam) > 2 else None
        sig = connect_signature(access_key, secret, now, region, fs_id, pk, token)
        if bad_signature:
            sig = ("0" if sig[0] != "0" else "1") + sig[1:]
        body = utf8(access_key) + der(0x04, sig.encode()) + \
            der(0x17, now.strftime("%y%m%d%H%M%SZ").encode())
        if token:
            body += der(0xA0, utf8(token))
        b = b.add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier(OID_AUTH),
                                                       der(0x30, body)), critical=False)
    b = b.add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier(OID_FS), utf8(fs_id)),
                        critical=False)
    if client_info:
        b = b.add_extension(x509.UnrecognizedExtension(
            x509.ObjectIdentifier(OID_INFO), der(0x30, b"".join(utf8(v) for v in client_info))),
            critical=False)
    b = b.issuer_name(issuer[0].subject if issuer else subject)
    cert = b.sign(issuer[1] if issuer else key, hashes.SHA256())
    pem = cert.public_bytes(serialization.Encoding.PEM)
    if bad_self_signature:
        # Flip a bit inside the signature (the certificate's last bytes).
        raw = bytearray(cert.public_bytes(serialization.Encoding.DER))
        raw[-5] ^= 0x01
        pem = x509.load_der_x509_certificate(bytes(raw)).public_bytes(serialization.Encoding.PEM)
    cert_path = os.path.join(directory, name + ".pem")
    key_path = os.path.join(directory, name + "-key.pem")
    with open(cert_path, "wb") as f:
        f.write(pem)
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    os.chmod(key_path, 0o600)
    return cert_path, key_path


def other_ca():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "some other CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = x509.CertificateBuilder().subject_name(name).issuer_name(name) \
        .public_key(key.public_key()).serial_number(x509.random_serial_number()) \
        .not_valid_before(now - datetime.timedelta(days=1)) \
        .not_valid_after(now + datetime.timedelta(days=30)) \
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True) \
        .sign(key, hashes.SHA256())
    return cert, key


def tls_context(ca_file, cert=None):
    ctx = ssl.create_default_context(cafile=ca_file)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert:
        ctx.load_cert_chain(cert[0], cert[1])
    return ctx


def tls_connect(host, port, ca_file, server_hostname, cert=None, timeout=10):
    raw = socket.create_connection((host, port), timeout=timeout)
    return tls_context(ca_file, cert).wrap_socket(raw, server_hostname=server_hostname)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stunnel:
    """stunnel in client mode, configured as mount_efs's write_stunnel_config_file."""

    def __init__(self, directory, connect, check_host, ca_file, cert=None):
        self.port = free_port()
        self.conf = os.path.join(directory, f"stunnel-{self.port}.conf")
        self.log = os.path.join(directory, f"stunnel-{self.port}.log")
        lines = [
            "fips = no", "foreground = yes", "socket = l:SO_REUSEADDR=yes",
            "socket = a:SO_BINDTODEVICE=lo", "pid = ", "output = " + self.log, "debug = 6",
            "[efs]", "client = yes", f"accept = 127.0.0.1:{self.port}", f"connect = {connect}",
            "sslVersion = TLSv1.2", "renegotiation = no", "TIMEOUTbusy = 20", "TIMEOUTclose = 0",
            "TIMEOUTidle = 70", "delay = yes", "verify = 2", f"CAfile = {ca_file}",
            f"checkHost = {check_host}", "libwrap = no",
        ]
        if cert:
            lines += [f"cert = {cert[0]}", f"key = {cert[1]}"]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = subprocess.Popen(["stunnel", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("stunnel did not start:\n" + self.tail())

    def tail(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
