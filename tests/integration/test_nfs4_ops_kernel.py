"""The Linux kernel client (in qemu) over the op-level permission rules: the
owner keeps writing through an fd after chmod 0400 (owner override on WRITE),
another user can exec a mode-0711 binary (OPEN/READ with execute only), and
cannot read a 0600 file."""
import pytest

from conftest import kernel_client, make_client, new_fs

AS_1000 = "/usr/bin/setpriv --reuid=1000 --regid=1000 --clear-groups"
AS_2000 = "/usr/bin/setpriv --reuid=2000 --regid=2000 --clear-groups"


@pytest.mark.parametrize("vers", ["4.1", "4.0"])
def test_owner_override_exec_only_and_private_files(server, vers):
    fs_id = new_fs(make_client(server))
    script = r"""
set -e
mkdir u && chown 1000:1000 u && chmod 755 u
# The owner opens, makes the file read-only, and keeps writing through the fd.
%(as1000)s /bin/bash -c 'exec 3>u/f; chmod 400 u/f; echo through-fd >&3; exec 3>&-; sync'
/usr/bin/cat u/f
/usr/bin/stat -c 'mode=%%a' u/f
# An execute-only binary owned by root runs for another user.
cp /usr/bin/flock u/xbin && chmod 711 u/xbin
sync; echo 3 > /proc/sys/vm/drop_caches
%(as2000)s /mnt/u/xbin --version >/dev/null && echo exec-ok
# A private file is unreadable for another user.
echo secret > u/private && chown 1000:1000 u/private && chmod 600 u/private
if %(as2000)s /usr/bin/cat u/private 2>/dev/null; then echo read-private; else echo denied; fi
""" % {"as1000": AS_1000, "as2000": AS_2000}
    p = kernel_client(f"127.0.0.1:{server.nfs_port}", script, export=f"/{fs_id}", vers=vers)
    assert p.returncode == 0, f"rc={p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}\nserver:\n{server.tail()}"
    lines = p.stdout.split()
    assert "through-fd" in lines
    assert "mode=400" in lines
    assert "exec-ok" in lines
    assert "denied" in lines and "read-private" not in lines
