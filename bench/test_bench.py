"""Checks of the bench itself (python3 -m pytest -q -p no:cacheprovider bench/test_bench.py):
the table's verdicts, and that nfsbench fails on a wrong answer instead of
reporting its speed. Needs build/efs-local, build/bench/nfsbench and ganesha.nfsd."""
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import drive  # noqa: E402
import servers  # noqa: E402


def test_overlapping_spreads_are_noise():
    line, s = drive.row("x(ops/s)", [100, 120, 130], [110, 125, 140], False, None, None, "", "")
    assert s["verdict"] == "noise"
    assert s["ratio"] == pytest.approx(120 / 125)


def test_separate_spreads_are_apart_and_latency_ratio_is_inverted():
    _, s = drive.row("x(ops/s)", [200, 210, 220], [100, 110, 120], False, [1.0], [2.0], "1k ops", "")
    assert s["verdict"] == "apart" and s["ratio"] == pytest.approx(210 / 110)
    assert s["efs_cpu"] == 1.0 and s["ganesha_cpu"] == 2.0
    _, s = drive.row("x-p99(ms)", [1.0, 1.1], [2.0, 2.2], True, None, None, "", "")
    assert s["verdict"] == "apart" and s["ratio"] == pytest.approx(2.1 / 1.05)


def test_table_row_is_what_tools_test_sh_counts():
    import re
    line, _ = drive.row("seq(MiB/s)", [1234.5], [1000.0], False, [0.5], [0.4], "GiB", "")
    assert re.match(r"^\| [a-z].*\| [0-9.,]+ \| [0-9.,]+ \| [0-9.]+ \|", line)
    assert line.count("|") == drive.HEADER[0].count("|") == drive.HEADER[1].count("|")
    latency, _ = drive.row("p99(ms)", [1.0], [2.0], True, None, None, "", "")
    assert latency.count("|") == drive.HEADER[0].count("|")


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    work = str(tmp_path_factory.mktemp("bench"))
    with servers.started(work) as s:
        yield work, s


def nfsbench(s, *args):
    return subprocess.run([drive.BENCH, "--server", s.address, "--export", s.export, "--dir", "t",
                           "--server-pid", str(s.pid)] + list(args), capture_output=True, text=True)


def test_reads_fail_when_the_data_differs(srv):
    work, s = srv
    g = s["ganesha"]
    assert nfsbench(g, "--test", "setup").returncode == 0
    assert nfsbench(g, "--test", "seqwrite", "--size-mib", "2").returncode == 0
    ok = nfsbench(g, "--test", "seqread", "--size-mib", "2")
    assert ok.returncode == 0, ok.stderr
    assert '"cpu":{' in ok.stdout
    # ganesha's export is a plain directory: change one byte behind its back.
    with open(os.path.join(work, "ganesha", "export", "t", "big"), "r+b") as f:
        f.seek(1_500_000)
        b = f.read(1)
        f.seek(1_500_000)
        f.write(bytes([b[0] ^ 0xFF]))
    bad = nfsbench(g, "--test", "seqread", "--size-mib", "2")
    assert bad.returncode == 1 and "differs" in bad.stderr
    bad = nfsbench(g, "--test", "clients-randread", "--size-mib", "2", "--count", "8000", "--clients", "4")
    # Exit status 1, not a crash: the client thread that finds it exits while
    # the others still read.
    assert bad.returncode == 1 and "differs" in bad.stderr, (bad.returncode, bad.stderr)


def test_metadata_figures_check_their_results(srv):
    _, s = srv
    e = s["efs"]
    assert nfsbench(e, "--test", "setup").returncode == 0
    for test in ("rename", "remove", "untar", "clients-create"):
        r = nfsbench(e, "--test", test, "--count", "32", "--clients", "4")
        assert r.returncode == 0, (test, r.stderr)
    assert nfsbench(e, "--test", "create", "--name", "many", "--count", "20").returncode == 0
    assert nfsbench(e, "--test", "readdir", "--name", "many", "--count", "20").returncode == 0
    wrong = nfsbench(e, "--test", "readdir", "--name", "many", "--count", "21")
    assert wrong.returncode == 1 and "expected 21" in wrong.stderr
    again = nfsbench(e, "--test", "create", "--name", "many", "--count", "20")  # the directory exists
    assert again.returncode == 1 and "EXIST" in again.stderr
