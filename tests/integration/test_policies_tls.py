"""File system policies that use what TLS brings (README, "File system
policies"): aws:SecureTransport and the IAM principal of efs-utils' client
certificate, seen by the Linux kernel client through stunnel configured as
mount_efs configures it. Mounts three ways: TLS with a verified IAM identity,
plain, and TLS without a certificate."""
import json

import efs_tls
from conftest import Server, kernel_client, make_client, new_fs
from test_tls import ca_file, dns_name, mount_target

ALICE = "arn:aws:iam::111122223333:user/alice"


def test_secure_transport_and_principal_decide_kernel_mounts(tmp_path):
    creds = tmp_path / "iam.json"
    creds.write_text(json.dumps([{
        "access_key_id": "AKIAEFSLOCALTEST0001", "secret_access_key": "s3cr3t/key+value",
        "account": "111122223333", "arn": ALICE}]))
    s = Server(tmp_path / "data", extra_args=["--iam-credentials", str(creds)]).start()
    tunnels = []
    try:
        efs = make_client(s)
        fid = new_fs(efs)
        ip = mount_target(s, fid)["IpAddress"]
        efs.put_file_system_policy(FileSystemId=fid, Policy=json.dumps({"Statement": [
            # Mount and read over TLS for anyone; write and keep root only as alice.
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "elasticfilesystem:ClientMount"},
            {"Effect": "Allow", "Principal": {"AWS": ALICE},
             "Action": ["elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"]},
            {"Sid": "RequireTls", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "*",
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
        cert = efs_tls.client_certificate(str(tmp_path), fid, name="alice",
                                          iam=("AKIAEFSLOCALTEST0001", "s3cr3t/key+value"))
        anon = efs_tls.Stunnel(str(tmp_path), f"{ip}:{s.nfs_port}", dns_name(fid), ca_file(s))
        tunnels.append(anon)
        alice = efs_tls.Stunnel(str(tmp_path), f"{ip}:{s.nfs_port}", dns_name(fid),
                                ca_file(s), cert=cert)
        tunnels.append(alice)
        # Two guests: the Linux client shares one connection between mounts of
        # the same server (trunking), so each identity gets its own client.
        first = kernel_client(f"127.0.0.1:{alice.port}", "echo by-alice > f && stat -c 'OWNER %u %n' f")
        assert first.returncode == 0, first.stdout + first.stderr + s.tail()
        assert "OWNER 0 f" in first.stdout                # alice writes and keeps root
        script = """
set -u
if knc-mount -n 1 /m/plain 2>/tmp/err; then echo PLAIN-MOUNTED; else echo "PLAIN-REFUSED $(cat /tmp/err)"; fi
knc-mount -n 2 /m/anon
echo "ANON-READ $(cat /m/anon/f)"
if echo x > /m/anon/g 2>/dev/null; then echo ANON-WROTE; else echo ANON-WRITE-REFUSED; fi
"""
        p = kernel_client(f"{ip}:{s.nfs_port}", script,
                          extra=("--no-mount", "--server", f"127.0.0.1:{anon.port}"))
        out = p.stdout
        assert p.returncode == 0, out + p.stderr + s.tail()
        assert "PLAIN-REFUSED" in out, out           # aws:SecureTransport false: denied
        assert "ANON-READ by-alice" in out, out      # TLS, anonymous: mount and read
        assert "ANON-WRITE-REFUSED" in out, out      # ... but no ClientWrite
        assert "denied by statement RequireTls" in s.tail(400)
    finally:
        for t in tunnels:
            t.stop()
        s.stop()
