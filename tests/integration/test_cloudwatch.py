"""CloudWatch's AWS/EFS metrics and alarms through real clients, in every
protocol they send:
  - Debian's AWS CLI v2 (2.9) and python3-boto3 (botocore 1.29): query;
  - the AWS CLI 1.45 on PATH (botocore 1.43): AWS JSON 1.0 (botocore picks
    json before smithy-rpc-v2-cbor from the model's "protocols");
  - the same CLI with a model that lists only smithy-rpc-v2-cbor
    (AWS_DATA_PATH): botocore's own CBOR serializer and parser;
  - the AWS SDK for JavaScript v3 (cloudwatch.test.mjs): JSON 1.0, and CBOR
    and query through its protocol option.
The server's log names the protocol of each CloudWatch request; the tests
check it, so each client is known to have sent what it is said to send.
The balance falling is seen through kernel-client NFS writes in qemu."""
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, SPEC, Server, aws_cli, make_client, new_fs
from test_nfs_kernel import run_ok

MiB = 1 << 20
TiB = 1 << 40
JS = Path(__file__).parent / "js"


@pytest.fixture(scope="module")
def cw_server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("cw") / "data").start()
    yield s
    assert s.stop() == 0, s.tail()


@pytest.fixture(scope="module")
def cbor_data(tmp_path_factory):
    """A botocore data dir whose CloudWatch model lists only smithy-rpc-v2-cbor."""
    d = tmp_path_factory.mktemp("cbor-model")
    m = json.loads((SPEC / "monitoring-2010-08-01.json").read_text())
    m["metadata"]["protocol"] = "smithy-rpc-v2-cbor"
    m["metadata"]["protocols"] = ["smithy-rpc-v2-cbor"]
    out = d / "cloudwatch" / "2010-08-01"
    out.mkdir(parents=True)
    (out / "service-2.json").write_text(json.dumps(m))
    return d


@pytest.fixture(scope="module")
def json_data(tmp_path_factory):
    """A botocore data dir whose CloudWatch model speaks AWS JSON 1.0 (for botocore 1.29)."""
    d = tmp_path_factory.mktemp("json-model")
    m = json.loads((SPEC / "monitoring-2010-08-01.json").read_text())
    m["metadata"]["protocol"] = "json"
    m["metadata"]["protocols"] = ["json"]
    out = d / "cloudwatch" / "2010-08-01"
    out.mkdir(parents=True)
    (out / "service-2.json").write_text(json.dumps(m))
    return d


def pyenv_aws():
    """The AWS CLI 1.x with a current botocore (not Debian's /usr/bin/aws)."""
    for p in os.environ.get("PATH", "").split(os.pathsep):
        c = Path(p) / "aws"
        if c.exists() and str(c) != "/usr/bin/aws":
            return str(c)
    pytest.skip("no AWS CLI beside Debian's on PATH")


def cli(server, *args, binary=None, data_path=None, check=True):
    """Runs an AWS CLI (Debian's by default); JSON output, or the process if check=False."""
    if binary is None:
        return aws_cli(server, *args, check=check)
    env = dict(os.environ)
    env.pop("AWS_DATA_PATH", None)
    if data_path:
        env["AWS_DATA_PATH"] = str(data_path)
    cmd = [binary, "--endpoint-url", server.endpoint, "--region", "us-east-1", "--output",
           "json"] + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    if not check:
        return p
    assert p.returncode == 0, f"{args} failed: {p.stderr}"
    return json.loads(p.stdout) if p.stdout.strip() else None


def protocols_logged(server):
    """How many CloudWatch requests the server answered, by protocol."""
    text = server.log_path.read_text(errors="replace")
    return {p: len(re.findall(r"api: CloudWatch \w+ \(" + p + r"\)", text))
            for p in ("cbor", "json", "query")}


def emu_now(server):
    """The emulator clock, epoch seconds."""
    return float(server.admin("GET", "clock")["now_epoch_seconds"])


def set_credits(server, fid, n):
    return server.admin("PUT", f"file-systems/{fid}/burst-credits", {"bytes": n})


def stats(server, fid, metric, start, end, period=60, stats=("Minimum", "Maximum"), **kw):
    """get-metric-statistics through a CLI; datapoints oldest first."""
    out = cli(server, "cloudwatch", "get-metric-statistics", "--namespace", "AWS/EFS",
              "--metric-name", metric, "--dimensions", f"Name=FileSystemId,Value={fid}",
              "--start-time", str(int(start)), "--end-time", str(int(end)), "--period",
              str(period), "--statistics", *stats, **kw)
    assert out["Label"] == metric
    return sorted(out["Datapoints"], key=lambda d: d["Timestamp"])


def latest_balance(server, fid, **kw):
    now = emu_now(server)
    dps = stats(server, fid, "BurstCreditBalance", now - 300, now + 60, **kw)
    assert dps, "no BurstCreditBalance datapoint"
    return dps[-1]["Minimum"]


def test_every_client_reads_the_balance_in_its_protocol(cw_server, cbor_data):
    s = cw_server
    fid = new_fs(make_client(s))
    before = protocols_logged(s)
    cli_aws = pyenv_aws()
    balances = {
        "query": latest_balance(s, fid),
        "json": latest_balance(s, fid, binary=cli_aws),
        "cbor": latest_balance(s, fid, binary=cli_aws, data_path=cbor_data),
    }
    after = protocols_logged(s)
    for proto, b in balances.items():
        # A new file system's balance: EFS's initial 2.1 TiB.
        assert b == pytest.approx(2.1 * TiB, rel=1e-3), proto
        assert after[proto] > before[proto], f"{proto}: the server saw no {proto} request"
    # Timestamps come back as timestamps in each protocol: on whole minutes
    # (CLI v2 prints ISO 8601, CLI v1 epoch seconds).
    now = emu_now(s)
    for kw in ({}, {"binary": cli_aws}, {"binary": cli_aws, "data_path": cbor_data}):
        dps = stats(s, fid, "PermittedThroughput", now - 300, now + 60, **kw)
        assert dps[-1]["Maximum"] == 100 * MiB  # bursting with credits: 100 MiB/s
        assert dps[-1]["Unit"] == "Bytes/Second"
        ts = dps[-1]["Timestamp"]
        if isinstance(ts, str):
            assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00", ts), dps[-1]
        else:
            assert ts % 60 == 0 and abs(ts - now) < 400, dps[-1]


def test_balance_falls_during_kernel_writes_and_rises_on_the_clock(cw_server):
    s = cw_server
    fid = new_fs(make_client(s))
    start = emu_now(s) - 60
    full = latest_balance(s, fid)
    # Real NFS I/O: the Linux client writes 192 MiB (three files, each
    # flushed), far above what the baseline (1 MiB/s) earns meanwhile.
    run_ok(s, fid, "set -e\nfor i in 1 2 3; do dd if=/dev/zero of=f$i bs=1M count=64 "
                   "conv=fsync status=none; done\n")
    low = latest_balance(s, fid)
    assert low < full - 128 * MiB, (full, low)
    now = emu_now(s)
    written = stats(s, fid, "DataWriteIOBytes", start, now + 60, stats=("Sum", "SampleCount"))
    assert sum(d["Sum"] for d in written) >= 192 * MiB
    metered = stats(s, fid, "MeteredIOBytes", start, now + 60, stats=("Sum",))
    assert sum(d["Sum"] for d in metered) >= 192 * MiB
    pct = stats(s, fid, "PercentIOLimit", start, now + 60, stats=("Maximum",))
    assert pct and all(0 < d["Maximum"] <= 100 for d in pct), pct
    # Two hours on the clock: the minutes in between are there (computed,
    # not waited for), and the balance only rises, back to the cap.
    s.advance_clock(7200)
    later = emu_now(s)
    dps = stats(s, fid, "BurstCreditBalance", now, later + 60)
    assert len(dps) >= 120
    values = [d["Minimum"] for d in dps]
    assert all(b >= a - 1 for a, b in zip(values, values[1:])), values
    assert values[-1] > low + 100 * MiB
    # The AWS JSON 1.0 client sees the same.
    assert latest_balance(s, fid, binary=pyenv_aws()) == pytest.approx(values[-1], rel=1e-6)


def test_a_day_on_the_clock_gives_the_days_samples(cw_server):
    s = cw_server
    fid = new_fs(make_client(s))
    set_credits(s, fid, 0)
    s.advance_clock(86400)
    end = (emu_now(s) // 60) * 60  # the current minute, not yet complete, is left out
    dps = stats(s, fid, "BurstCreditBalance", end - 86400, end, stats=("Average",))
    assert len(dps) == 1440
    # The baseline (1 MiB/s for a small file system) earns 60 MiB a minute.
    mid = dps[60:120]
    steps = [b["Average"] - a["Average"] for a, b in zip(mid, mid[1:])]
    assert all(st == pytest.approx(60 * MiB, rel=0.01) for st in steps), steps[:5]
    # StorageBytes every 15 minutes, by class.
    out = cli(s, "cloudwatch", "get-metric-statistics", "--namespace", "AWS/EFS", "--metric-name",
              "StorageBytes", "--dimensions", f"Name=FileSystemId,Value={fid}",
              "Name=StorageClass,Value=Total", "--start-time", str(int(end - 86400)),
              "--end-time", str(int(end)), "--period", "900", "--statistics", "Maximum",
              "SampleCount")
    assert 95 <= len(out["Datapoints"]) <= 97
    assert all(d["SampleCount"] == 1 and d["Maximum"] >= 6144 for d in out["Datapoints"])


def test_get_metric_data_and_list_metrics(cw_server):
    s = cw_server
    fid = new_fs(make_client(s))
    set_credits(s, fid, TiB)
    now = emu_now(s)
    q = [{"Id": "balance", "MetricStat": {"Metric": {"Namespace": "AWS/EFS",
                                                     "MetricName": "BurstCreditBalance",
                                                     "Dimensions": [{"Name": "FileSystemId",
                                                                     "Value": fid}]},
                                          "Period": 60, "Stat": "Maximum"}},
         {"Id": "permitted", "MetricStat": {"Metric": {"Namespace": "AWS/EFS",
                                                       "MetricName": "PermittedThroughput",
                                                       "Dimensions": [{"Name": "FileSystemId",
                                                                       "Value": fid}]},
                                            "Period": 60, "Stat": "Average"},
          "Label": "permitted"}]
    for binary in (None, pyenv_aws()):
        out = cli(s, "cloudwatch", "get-metric-data", "--metric-data-queries", json.dumps(q),
                  "--start-time", str(int(now - 600)), "--end-time", str(int(now + 60)),
                  binary=binary)
        r = {x["Id"]: x for x in out["MetricDataResults"]}
        assert r["balance"]["StatusCode"] == "Complete"
        assert r["balance"]["Values"][0] == pytest.approx(TiB, rel=1e-3)  # newest first
        assert r["permitted"]["Label"] == "permitted"
        assert r["permitted"]["Values"][0] == 100 * MiB
    # Metric math is refused by name.
    bad = cli(s, "cloudwatch", "get-metric-data", "--metric-data-queries",
              json.dumps([{"Id": "e1", "Expression": "SUM(METRICS())"}]), "--start-time",
              str(int(now - 600)), "--end-time", str(int(now + 60)), check=False)
    assert bad.returncode != 0 and "InvalidParameterValue" in bad.stderr, bad.stderr

    listed = cli(s, "cloudwatch", "list-metrics", "--namespace", "AWS/EFS", "--dimensions",
                 f"Name=FileSystemId,Value={fid}", binary=pyenv_aws())["Metrics"]
    names = {m["MetricName"] for m in listed}
    assert {"BurstCreditBalance", "PermittedThroughput", "ClientConnections"} <= names, names
    # PercentIOLimit and the I/O metrics come with I/O, as at EFS: none was done here.
    assert "PercentIOLimit" not in names and "DataWriteIOBytes" not in names, names
    for m in listed:
        assert m["Namespace"] == "AWS/EFS"
        assert {"Name": "FileSystemId", "Value": fid} in m["Dimensions"]
    only = cli(s, "cloudwatch", "list-metrics", "--metric-name", "BurstCreditBalance")["Metrics"]
    assert only and all(m["MetricName"] == "BurstCreditBalance" for m in only)
    assert any(m["Dimensions"] == [{"Name": "FileSystemId", "Value": fid}] for m in only)


def test_alarm_on_burst_credit_balance(cw_server):
    s = cw_server
    fid = new_fs(make_client(s))
    name = "efs-credits-low-" + fid
    binary = pyenv_aws()
    cli(s, "cloudwatch", "put-metric-alarm", "--alarm-name", name, "--namespace", "AWS/EFS",
        "--metric-name", "BurstCreditBalance", "--dimensions", f"Name=FileSystemId,Value={fid}",
        "--statistic", "Minimum", "--period", "60", "--evaluation-periods", "1", "--threshold",
        str(TiB), "--comparison-operator", "LessThanThreshold", binary=binary)

    def alarm(**kw):
        out = cli(s, "cloudwatch", "describe-alarms", "--alarm-names", name, **kw)
        assert len(out["MetricAlarms"]) == 1
        return out["MetricAlarms"][0]

    a = alarm(binary=binary)
    assert a["StateValue"] == "OK", a  # 2.1 TiB is not under 1 TiB
    assert a["AlarmArn"] == f"arn:aws:cloudwatch:us-east-1:000000000000:alarm:{name}"
    assert a["Threshold"] == TiB and a["ComparisonOperator"] == "LessThanThreshold"
    set_credits(s, fid, 100 << 30)
    a = alarm()  # query protocol, Debian's CLI
    assert a["StateValue"] == "ALARM", a
    assert "Threshold Crossed" in a["StateReason"]
    got = cli(s, "cloudwatch", "describe-alarms", "--state-value", "ALARM", binary=binary)
    assert name in [x["AlarmName"] for x in got["MetricAlarms"]]
    # A minute later with the credits back: OK again.
    set_credits(s, fid, 2 * TiB)
    s.advance_clock(60)
    assert alarm(binary=binary)["StateValue"] == "OK"
    cli(s, "cloudwatch", "delete-alarms", "--alarm-names", name, binary=binary)
    assert cli(s, "cloudwatch", "describe-alarms", "--alarm-names", name)["MetricAlarms"] == []
    gone = cli(s, "cloudwatch", "delete-alarms", "--alarm-names", name, check=False)
    assert gone.returncode != 0 and "ResourceNotFound" in gone.stderr, gone.stderr


def test_errors_are_named(cw_server, cbor_data):
    s = cw_server
    fid = new_fs(make_client(s))
    now = emu_now(s)
    for kw in ({}, {"binary": pyenv_aws()}, {"binary": pyenv_aws(), "data_path": cbor_data}):
        p = cli(s, "cloudwatch", "get-metric-statistics", "--namespace", "AWS/EFS",
                "--metric-name", "BurstCreditBalance", "--dimensions",
                f"Name=FileSystemId,Value={fid}", "--start-time", str(int(now - 600)),
                "--end-time", str(int(now)), "--period", "90", "--statistics", "Average",
                check=False, **kw)
        assert p.returncode != 0 and "(InvalidParameterValue)" in p.stderr, (kw, p.stderr)
        p = cli(s, "cloudwatch", "get-metric-statistics", "--namespace", "AWS/EFS",
                "--metric-name", "BurstCreditBalance", "--start-time", str(int(now - 600)),
                "--end-time", str(int(now)), "--period", "60", check=False, **kw)
        assert p.returncode != 0 and "(MissingParameter)" in p.stderr, (kw, p.stderr)
        p = cli(s, "cloudwatch", "list-dashboards", check=False, **kw)
        assert p.returncode != 0 and "(UnsupportedOperation)" in p.stderr, (kw, p.stderr)
        assert "ListDashboards" in p.stderr
    # Too many datapoints: InvalidParameterCombination.
    p = cli(s, "cloudwatch", "get-metric-statistics", "--namespace", "AWS/EFS", "--metric-name",
            "BurstCreditBalance", "--start-time", str(int(now - 2 * 86400)), "--end-time",
            str(int(now)), "--period", "60", "--statistics", "Average", check=False)
    assert p.returncode != 0 and "InvalidParameterCombination" in p.stderr, p.stderr


def test_boto3_query_and_json(cw_server, json_data, monkeypatch):
    """Debian's boto3 (botocore 1.29): query from its own model, JSON 1.0 from ours."""
    import boto3
    s = cw_server
    fid = new_fs(make_client(s))
    set_credits(s, fid, 3 * TiB // 2)
    for data_path, proto in ((None, "query"), (json_data, "json")):
        if data_path:
            monkeypatch.setenv("AWS_DATA_PATH", str(data_path))
        cw = boto3.session.Session().client("cloudwatch", endpoint_url=s.endpoint,
                                            region_name="us-east-1", aws_access_key_id="t",
                                            aws_secret_access_key="t")
        assert cw.meta.service_model.protocol == proto
        before = protocols_logged(s)[proto]
        import datetime
        now = datetime.datetime.fromtimestamp(emu_now(s), datetime.timezone.utc)
        r = cw.get_metric_statistics(Namespace="AWS/EFS", MetricName="BurstCreditBalance",
                                     Dimensions=[{"Name": "FileSystemId", "Value": fid}],
                                     StartTime=now - datetime.timedelta(minutes=5),
                                     EndTime=now + datetime.timedelta(minutes=1), Period=60,
                                     Statistics=["Maximum"])
        newest = max(r["Datapoints"], key=lambda d: d["Timestamp"])
        assert newest["Maximum"] == pytest.approx(1.5 * TiB, rel=1e-3)
        assert isinstance(newest["Timestamp"], datetime.datetime)
        with pytest.raises(cw.exceptions.InvalidParameterValueException):
            cw.get_metric_statistics(Namespace="AWS/EFS", MetricName="BurstCreditBalance",
                                     StartTime=now - datetime.timedelta(minutes=5),
                                     EndTime=now, Period=59, Statistics=["Maximum"])
        assert protocols_logged(s)[proto] >= before + 2


def test_prometheus_page_has_the_same_figures(cw_server):
    s = cw_server
    fid = new_fs(make_client(s))
    set_credits(s, fid, TiB)
    with urllib.request.urlopen(s.endpoint + "/_efs-local/metrics", timeout=10) as r:
        page = r.read().decode()
    m = re.search(r'^efs_local_burst_credit_balance_bytes\{file_system_id="' + fid +
                  r'"\} (\S+)$', page, re.M)
    assert m and float(m.group(1)) == pytest.approx(TiB, rel=1e-3)
    assert re.search(r'^efs_local_permitted_throughput_bytes_per_second\{file_system_id="' + fid +
                     r'"\} 104857600$', page, re.M)
    assert f'efs_local_io_bytes_total{{file_system_id="{fid}",kind="metered"}}' in page
    assert latest_balance(s, fid) == pytest.approx(float(m.group(1)), rel=1e-3)


def test_metrics_survive_a_restart(tmp_path):
    s = Server(tmp_path / "data").start()
    try:
        fid = new_fs(make_client(s))
        set_credits(s, fid, TiB)
        now = emu_now(s)
        assert stats(s, fid, "BurstCreditBalance", now - 300, now + 60)
        # Closes the minute: the restart starts a new one (the clock goes on
        # from where it was; the credits and the meters start over).
        s.advance_clock(120)
        s.restart()
        dps = stats(s, fid, "BurstCreditBalance", now - 300, now + 400)
        assert any(d["Minimum"] == pytest.approx(TiB, rel=1e-3) for d in dps), dps
        assert (s.data_dir / "metrics.db").exists()
    finally:
        s.stop()


def test_js_sdk_cloudwatch(tmp_path):
    """@aws-sdk/client-cloudwatch in its default JSON 1.0 and in CBOR and query."""
    if not (JS / "node_modules" / "@aws-sdk" / "client-cloudwatch").exists():
        pytest.fail("npm packages missing: run tools/install-deps.sh --test")
    s = Server(tmp_path / "data").start()
    try:
        before = protocols_logged(s)
        env = dict(os.environ, EFS_LOCAL_ENDPOINT=s.endpoint)
        p = subprocess.run(["node", "--test", "--test-reporter=spec", "cloudwatch.test.mjs"],
                           cwd=JS, env=env, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stdout[-6000:] + p.stderr[-3000:] + s.tail()
        after = protocols_logged(s)
        for proto in ("cbor", "json", "query"):
            assert after[proto] > before[proto], proto
    finally:
        s.stop()
