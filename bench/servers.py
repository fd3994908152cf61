"""Starts efs-local (with two file systems: one unencrypted, one encrypted
under a KMS key made for it), nfs-ganesha (NFSv4.1, VFS FSAL, exporting a
directory on the same disk) and stunnel in front of efs-local's NFS port
(configured as efs-utils' stunnel mode configures it: TLS to the same port
plain clients use) on free loopback ports, and stops them, by their PIDs,
when the bench ends."""
import contextlib
import os
import socket
import subprocess
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Server:
    def __init__(self, name, proc, address, export, helpers=(), client_args=()):
        self.name, self.proc, self.address, self.export = name, proc, address, export
        # Extra nfsbench arguments for this server (TLS in nfsbench itself).
        self.client_args = list(client_args)
        # Client-side processes the measurement goes through (stunnel): their
        # CPU is the client's, not "something else ran".
        self.helpers = list(helpers)

    @property
    def pid(self):
        return self.proc.pid


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


GANESHA_CONF = """NFS_CORE_PARAM {{ NFS_Port = {port}; Bind_addr = 127.0.0.1; Protocols = 4;
                 Enable_NLM = false; Enable_RQUOTA = false; Enable_UDP = false; }}
NFSv4 {{ Graceless = true; RecoveryBackend = fs; RecoveryRoot = "{work}/ganesha/recovery";
        Only_Numeric_Owners = true; Minor_Versions = 1; }}
NFS_KRB5 {{ Active_krb5 = false; }}
EXPORT {{ Export_Id = 1; Path = "{work}/ganesha/export"; Pseudo = /export; Access_Type = RW;
         Squash = No_Root_Squash; SecType = sys; Protocols = 4; Transports = TCP;
         FSAL {{ Name = VFS; }} }}
"""


# mount_efs's STUNNEL_GLOBAL_CONFIG and STUNNEL_EFS_CONFIG with verify = 2,
# CAfile and checkHost, as for `mount -t efs -o tls` (README, "TLS").
STUNNEL_CONF = """fips = no
foreground = yes
socket = l:SO_REUSEADDR=yes
pid =
output = {log}
[efs]
client = yes
accept = 127.0.0.1:{port}
connect = 127.0.0.1:{nfs}
sslVersion = TLSv1.2
renegotiation = no
TIMEOUTbusy = 20
TIMEOUTclose = 0
TIMEOUTidle = 70
delay = yes
verify = 2
CAfile = {ca}
checkHost = {fs}.efs.us-east-1.amazonaws.com
libwrap = no
"""


@contextlib.contextmanager
def started(work):
    procs = []
    try:
        e_api, e_nfs, g_nfs = free_port(), free_port(), free_port()

        def efs_local(name, api, nfs, flag):
            log = open(os.path.join(work, name + ".log"), "w")
            p = subprocess.Popen([os.path.join(ROOT, "build", "efs-local"), "serve", "--data-dir",
                                  os.path.join(work, name + "-data"), "--api-port", str(api), "--nfs-port",
                                  str(nfs), "--state-delay", "0", "--log-level", "warn", flag],
                                 stdout=log, stderr=subprocess.STDOUT)
            procs.append(p)
            return p

        # The figures measure the emulator, not an EFS throughput mode:
        # metering runs, pacing does not (README, "Throughput modes").
        efs = efs_local("efs", e_api, e_nfs, "--no-throttle")
        # METERING=0 leaves out the second efs-local, which has metering off
        # (--no-metering) for the metering-cost table.
        metering = os.environ.get("METERING", "1") != "0"
        if metering:
            m_api, m_nfs = free_port(), free_port()
            nometer = efs_local("efs-nometer", m_api, m_nfs, "--no-metering")
        for d in ("export", "recovery"):
            os.makedirs(os.path.join(work, "ganesha", d), exist_ok=True)
        conf = os.path.join(work, "ganesha", "ganesha.conf")
        with open(conf, "w") as f:
            f.write(GANESHA_CONF.format(port=g_nfs, work=work))
        gan = subprocess.Popen(["ganesha.nfsd", "-F", "-f", conf, "-L", os.path.join(work, "ganesha", "ganesha.log"),
                                "-p", os.path.join(work, "ganesha", "ganesha.pid")])
        procs.append(gan)
        health = [f"http://127.0.0.1:{p}/_efs-local/health" for p in [e_api] + ([m_api] if metering else [])]
        for _ in range(200):
            try:
                for h in health:
                    urllib.request.urlopen(h, timeout=1).read()
                if listening(g_nfs):
                    break
            except OSError:
                pass
            for p in procs:
                if p.poll() is not None:
                    raise SystemExit(f"bench: a server exited at start (see {work}/efs.log, ganesha/ganesha.log)")
            time.sleep(0.1)
        else:
            raise SystemExit("bench: servers did not come up in 20 s")
        env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")
        def aws(*args, api=e_api):
            return subprocess.run(["/usr/bin/aws", "--endpoint-url", f"http://127.0.0.1:{api}"] + list(args)
                                  + ["--output", "text"], env=env, check=True, capture_output=True,
                                  text=True).stdout.strip()

        fs = aws("efs", "create-file-system", "--creation-token", "bench", "--query", "FileSystemId")
        if metering:
            m_fs = aws("efs", "create-file-system", "--creation-token", "bench", "--query", "FileSystemId",
                       api=m_api)
        # The encrypted one, as a user makes it: a key, an alias, the alias as KmsKeyId.
        key = aws("kms", "create-key", "--description", "bench", "--query", "KeyMetadata.KeyId")
        aws("kms", "create-alias", "--alias-name", "alias/bench", "--target-key-id", key)
        enc = aws("efs", "create-file-system", "--creation-token", "bench-encrypted", "--encrypted",
                  "--kms-key-id", "alias/bench", "--query", "FileSystemId")
        time.sleep(0.5)
        tls_port = free_port()
        conf = os.path.join(work, "stunnel.conf")
        with open(conf, "w") as f:
            f.write(STUNNEL_CONF.format(port=tls_port, nfs=e_nfs, fs=fs,
                                        ca=os.path.join(work, "efs-data", "tls", "ca.pem"),
                                        log=os.path.join(work, "stunnel.log")))
        stunnel = subprocess.Popen(["stunnel", conf], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        procs.append(stunnel)
        for _ in range(100):
            if listening(tls_port):
                break
            time.sleep(0.1)
        else:
            raise SystemExit(f"bench: stunnel did not start (see {work}/stunnel.log)")
        # "efs-enc" and "efs-tls" are the same process as "efs": only the data
        # figures run on them (drive.py), for the encrypted / unencrypted and
        # TLS / plain ratios.
        srv = {"efs": Server("efs", efs, f"127.0.0.1:{e_nfs}", "/" + fs),
               "ganesha": Server("ganesha", gan, f"127.0.0.1:{g_nfs}", "/export"),
               "efs-enc": Server("efs-enc", efs, f"127.0.0.1:{e_nfs}", "/" + enc),
               "efs-tls": Server("efs-tls", efs, f"127.0.0.1:{tls_port}", "/" + fs,
                                 helpers=[stunnel.pid])}
        # "efs-tlsd": nfsbench speaking TLS to the same port itself, checking the
        # certificate as efs-utils does: the cost of efs-local's TLS front end
        # without stunnel's relay (two more copies and hops on the client side).
        srv["efs-tlsd"] = Server("efs-tlsd", efs, f"127.0.0.1:{e_nfs}", "/" + fs, client_args=[
            "--tls-ca", os.path.join(work, "efs-data", "tls", "ca.pem"),
            "--tls-host", f"{fs}.efs.us-east-1.amazonaws.com"])
        if metering:
            srv["efs-nometer"] = Server("efs-nometer", nometer, f"127.0.0.1:{m_nfs}", "/" + m_fs)
        yield srv
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
