// @aws-sdk/client-cloudwatch (the current JS SDK v3) against efs-local's
// AWS/EFS metrics, in its default protocol (AWS JSON 1.0) and, through the
// client's `protocol` option, in Smithy RPC v2 CBOR and the query protocol:
// the balance read after the burst-credits endpoint moved it and after the
// clock moved, GetMetricData, ListMetrics, an alarm going to ALARM, and the
// modeled errors. Run by tests/integration/test_cloudwatch.py against a
// server of its own; EFS_LOCAL_ENDPOINT names it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CloudWatchClient, GetMetricStatisticsCommand, GetMetricDataCommand, ListMetricsCommand,
  PutMetricAlarmCommand, DescribeAlarmsCommand, DeleteAlarmsCommand,
  InvalidParameterValueException, ResourceNotFound,
} from '@aws-sdk/client-cloudwatch';
import { EFSClient, CreateFileSystemCommand, DescribeFileSystemsCommand } from '@aws-sdk/client-efs';
import { AwsSmithyRpcV2CborProtocol, AwsQueryProtocol } from '@aws-sdk/core/protocols';

const endpoint = process.env.EFS_LOCAL_ENDPOINT;
const common = {
  endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1,
};
const clients = {
  json: new CloudWatchClient(common),
  cbor: new CloudWatchClient({ ...common, protocol: AwsSmithyRpcV2CborProtocol }),
  query: new CloudWatchClient({ ...common, protocol: AwsQueryProtocol }),
};
const efs = new EFSClient(common);
const TiB = 2 ** 40;
const MiB = 2 ** 20;

async function admin(method, path, body) {
  const r = await fetch(`${endpoint}/_efs-local/${path}`, {
    method, headers: { 'Content-Type': 'application/json' }, body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  return JSON.parse(text);
}
const now = async () => new Date((await admin('GET', 'clock')).now_epoch_seconds * 1000);

async function newFileSystem() {
  const fs = await efs.send(new CreateFileSystemCommand({ CreationToken: `cw-${Math.random()}` }));
  for (let i = 0; i < 200; i++) {
    const d = await efs.send(new DescribeFileSystemsCommand({ FileSystemId: fs.FileSystemId }));
    if (d.FileSystems[0].LifeCycleState === 'available') return fs.FileSystemId;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('file system never became available');
}

async function latestBalance(cw, fid) {
  const t = await now();
  const out = await cw.send(new GetMetricStatisticsCommand({
    Namespace: 'AWS/EFS', MetricName: 'BurstCreditBalance', Dimensions: [{ Name: 'FileSystemId', Value: fid }],
    StartTime: new Date(t - 300e3), EndTime: new Date(t.getTime() + 60e3), Period: 60, Statistics: ['Minimum'],
  }));
  assert.equal(out.Label, 'BurstCreditBalance');
  assert.ok(out.Datapoints.length > 0);
  const dps = out.Datapoints.sort((a, b) => a.Timestamp - b.Timestamp);
  for (const d of dps) assert.ok(d.Timestamp instanceof Date);
  return dps[dps.length - 1].Minimum;
}

for (const [proto, cw] of Object.entries(clients)) {
  test(`${proto}: the balance falls with the credits and rises with the clock`, async () => {
    const fid = await newFileSystem();
    assert.ok(Math.abs(await latestBalance(cw, fid) - 2.1 * TiB) < 0.01 * TiB);
    await admin('PUT', `file-systems/${fid}/burst-credits`, { bytes: 100 * MiB });
    const low = await latestBalance(cw, fid);
    assert.ok(low < 200 * MiB, `${low}`);
    await admin('POST', 'clock', { advance_seconds: 600 });
    // Ten minutes of the 1 MiB/s baseline.
    const later = await latestBalance(cw, fid);
    assert.ok(later >= low + 590 * MiB, `${low} -> ${later}`);

    const t = await now();
    const data = await cw.send(new GetMetricDataCommand({
      MetricDataQueries: [{
        Id: 'b', ReturnData: true,
        MetricStat: { Metric: { Namespace: 'AWS/EFS', MetricName: 'BurstCreditBalance', Dimensions: [{ Name: 'FileSystemId', Value: fid }] }, Period: 60, Stat: 'Maximum' },
      }],
      StartTime: new Date(t - 900e3), EndTime: new Date(t.getTime() + 60e3), ScanBy: 'TimestampAscending',
    }));
    const r = data.MetricDataResults[0];
    assert.equal(r.Id, 'b');
    assert.equal(r.StatusCode, 'Complete');
    assert.ok(r.Timestamps.length >= 10);
    assert.ok(r.Timestamps[0] instanceof Date && r.Timestamps[0] < r.Timestamps[1]);
    for (let i = 1; i < r.Values.length; i++) assert.ok(r.Values[i] >= r.Values[i - 1] - 1);

    const listed = await cw.send(new ListMetricsCommand({ Namespace: 'AWS/EFS', Dimensions: [{ Name: 'FileSystemId', Value: fid }] }));
    const names = new Set(listed.Metrics.map((m) => m.MetricName));
    for (const n of ['BurstCreditBalance', 'PermittedThroughput', 'ClientConnections']) assert.ok(names.has(n), n);
  });

  test(`${proto}: an alarm on BurstCreditBalance goes to ALARM, and errors are modeled`, async () => {
    const fid = await newFileSystem();
    const AlarmName = `low-${proto}-${fid}`;
    await cw.send(new PutMetricAlarmCommand({
      AlarmName, Namespace: 'AWS/EFS', MetricName: 'BurstCreditBalance', Dimensions: [{ Name: 'FileSystemId', Value: fid }],
      Statistic: 'Minimum', Period: 60, EvaluationPeriods: 1, Threshold: TiB, ComparisonOperator: 'LessThanThreshold',
    }));
    const state = async () => (await cw.send(new DescribeAlarmsCommand({ AlarmNames: [AlarmName] }))).MetricAlarms[0];
    assert.equal((await state()).StateValue, 'OK');
    await admin('PUT', `file-systems/${fid}/burst-credits`, { bytes: 10 * MiB });
    const a = await state();
    assert.equal(a.StateValue, 'ALARM');
    assert.ok(a.StateUpdatedTimestamp instanceof Date);
    assert.equal(a.Threshold, TiB);
    await cw.send(new DeleteAlarmsCommand({ AlarmNames: [AlarmName] }));
    await assert.rejects(cw.send(new DeleteAlarmsCommand({ AlarmNames: [AlarmName] })),
      (e) => e instanceof ResourceNotFound || e.name === 'ResourceNotFound');
    const t = await now();
    await assert.rejects(cw.send(new GetMetricStatisticsCommand({
      Namespace: 'AWS/EFS', MetricName: 'BurstCreditBalance', StartTime: new Date(t - 600e3), EndTime: t, Period: 45, Statistics: ['Average'],
    })), (e) => e instanceof InvalidParameterValueException || e.name === 'InvalidParameterValue');
  });
}
