"""The Linux kernel NFS client (in qemu) against efs-local: FIFOs and Unix
sockets (EFS supports both; only block and character devices are refused),
and set-ID bits cleared by writes and chown as on Linux."""
import re
import subprocess
from pathlib import Path

import pytest

from conftest import kernel_client, make_client, new_fs

HELPER_SRC = Path(__file__).parent / "helpers" / "bind_unix_socket.c"


@pytest.fixture
def bind_unix_socket(tmp_path):
    out = tmp_path / "bind_unix_socket"
    subprocess.run(["cc", "-O2", "-Wall", "-Werror", "-o", str(out), str(HELPER_SRC)], check=True)
    return out


def run_ok(server, fid, script, **kw):
    p = kernel_client(f"127.0.0.1:{server.nfs_port}", script, export=f"/{fid}", **kw)
    assert p.returncode == 0, f"rc={p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}\nserver:\n{server.tail()}"
    return p.stdout


def test_fifo_and_socket_rename_link_remove_and_survive_a_restart(fresh_server, bind_unix_socket):
    s = fresh_server
    fid = new_fs(make_client(s))
    out = run_ok(s, fid, r"""
set -e
mkfifo p1
bind_unix_socket s1
ls -l p1 s1 | cut -c1 | tr -d '\n'; echo ' kinds'
mv p1 p2; mv s1 s2
ln p2 p3; ln s2 s3
stat -c '%F %h %n' p2 p3 s2 s3
rm p3 s3
stat -c 'after-rm %F %h %n' p2 s2
# A FIFO on the mount works as one (the client's kernel makes the pipe).
(echo through-the-fifo > p2 &) ; cat p2
""", extra=("--bin", str(bind_unix_socket)))
    assert "ps kinds" in out
    assert "fifo 2 p2" in out and "fifo 2 p3" in out
    assert "socket 2 s2" in out and "socket 2 s3" in out
    assert "after-rm fifo 1 p2" in out and "after-rm socket 1 s2" in out
    assert "through-the-fifo" in out

    s.restart()
    out = run_ok(s, fid, r"""
set -e
ls -l p2 s2 | cut -c1 | tr -d '\n'; echo ' kinds'
stat -c 'kept %F %h %n' p2 s2
rm p2 s2
ls -A | wc -l | sed 's/^/left /'
""")
    assert "ps kinds" in out
    assert "kept fifo 1 p2" in out and "kept socket 1 s2" in out
    assert "left 0" in out


def test_setid_bits_cleared_by_non_root_write_and_by_chown(server):
    fid = new_fs(make_client(server))
    # noac: every stat asks the server, so the modes shown are the server's.
    out = run_ok(server, fid, r"""
set -e
echo data > both; chmod 6777 both        # S_ISUID + S_ISGID with g+x
echo data > gonly; chmod 2767 gonly      # S_ISGID without g+x: kept
echo data > byroot; chmod 6777 byroot
stat -c 'before %a %n' both gonly byroot
setpriv --reuid=1000 --regid=1000 --clear-groups bash -c 'echo more >> both; echo more >> gonly'
echo more >> byroot
sync
stat -c 'after-write %a %n' both gonly byroot
chown 1000 byroot
stat -c 'after-chown %a %n' byroot
""", extra=("--mount-opts", "noac"))
    modes = {name: mode for mode, name in re.findall(r"^after-write (\d+) (\S+)$", out, re.M)}
    assert re.search(r"^before 6777 both$", out, re.M), out
    assert modes == {"both": "777", "gonly": "2767", "byroot": "6777"}, out
    assert re.search(r"^after-chown 777 byroot$", out, re.M), out
