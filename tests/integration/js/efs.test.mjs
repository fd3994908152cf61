// The AWS SDK for JavaScript v3 (current, newer than Debian's botocore) against
// efs-local: the newest fields (Archive, protection, IPv6 mount targets).
// EFS_LOCAL_ENDPOINT is set by the pytest wrapper (test_js_sdk.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EFSClient, CreateFileSystemCommand, DescribeFileSystemsCommand, DeleteFileSystemCommand,
  PutLifecycleConfigurationCommand, DescribeLifecycleConfigurationCommand,
  UpdateFileSystemProtectionCommand, CreateMountTargetCommand, DescribeMountTargetsCommand,
  DeleteMountTargetCommand, FileSystemNotFound,
} from '@aws-sdk/client-efs';
import { EC2Client, DescribeSubnetsCommand } from '@aws-sdk/client-ec2';

const endpoint = process.env.EFS_LOCAL_ENDPOINT;
const cfg = { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 };
const efs = new EFSClient(cfg);
const ec2 = new EC2Client(cfg);

async function waitFor(fn, want, ms = 15000) {
  const end = Date.now() + ms;
  let got;
  while (Date.now() < end) {
    got = await fn();
    if (got === want) return got;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`state ${got}, wanted ${want}`);
}

test('file system with archive lifecycle, protection and a dual-stack mount target', async () => {
  const fs = await efs.send(new CreateFileSystemCommand({
    CreationToken: `js-${Date.now()}`, ThroughputMode: 'elastic', Tags: [{ Key: 'Name', Value: 'js' }],
  }));
  assert.match(fs.FileSystemId, /^fs-[0-9a-f]{17}$/);
  assert.equal(fs.ThroughputMode, 'elastic');
  assert.equal(fs.FileSystemProtection?.ReplicationOverwriteProtection, 'ENABLED');
  assert.ok(fs.CreationTime instanceof Date);
  const id = fs.FileSystemId;
  await waitFor(async () => (await efs.send(new DescribeFileSystemsCommand({ FileSystemId: id }))).FileSystems[0].LifeCycleState, 'available');

  const d = (await efs.send(new DescribeFileSystemsCommand({ FileSystemId: id }))).FileSystems[0];
  assert.equal(d.SizeInBytes.Value, 6144);
  assert.equal(d.SizeInBytes.ValueInArchive, 0);

  const lc = await efs.send(new PutLifecycleConfigurationCommand({
    FileSystemId: id,
    LifecyclePolicies: [{ TransitionToIA: 'AFTER_30_DAYS' }, { TransitionToArchive: 'AFTER_90_DAYS' }],
  }));
  assert.deepEqual(lc.LifecyclePolicies, [{ TransitionToIA: 'AFTER_30_DAYS' }, { TransitionToArchive: 'AFTER_90_DAYS' }]);
  const lc2 = await efs.send(new DescribeLifecycleConfigurationCommand({ FileSystemId: id }));
  assert.deepEqual(lc2.LifecyclePolicies, lc.LifecyclePolicies);

  const prot = await efs.send(new UpdateFileSystemProtectionCommand({ FileSystemId: id, ReplicationOverwriteProtection: 'DISABLED' }));
  assert.equal(prot.ReplicationOverwriteProtection, 'DISABLED');

  const subnets = (await ec2.send(new DescribeSubnetsCommand({}))).Subnets;
  assert.ok(subnets.length >= 3);
  const mt = await efs.send(new CreateMountTargetCommand({ FileSystemId: id, SubnetId: subnets[0].SubnetId, IpAddressType: 'DUAL_STACK' }));
  assert.match(mt.IpAddress, /^127\./);
  assert.ok(mt.Ipv6Address, 'a dual-stack mount target has an IPv6 address');
  await waitFor(async () => (await efs.send(new DescribeMountTargetsCommand({ MountTargetId: mt.MountTargetId }))).MountTargets[0].LifeCycleState, 'available');
  await efs.send(new DeleteMountTargetCommand({ MountTargetId: mt.MountTargetId }));
  await waitFor(async () => (await efs.send(new DescribeMountTargetsCommand({ FileSystemId: id }))).MountTargets.length, 0);

  await efs.send(new DeleteFileSystemCommand({ FileSystemId: id }));
  await waitFor(async () => {
    try { await efs.send(new DescribeFileSystemsCommand({ FileSystemId: id })); return 'present'; }
    catch (e) { return e instanceof FileSystemNotFound ? 'gone' : `error ${e.name}`; }
  }, 'gone');
});

test('named errors reach the SDK as typed exceptions', async () => {
  await assert.rejects(efs.send(new DescribeFileSystemsCommand({ FileSystemId: 'fs-00000000000000000' })),
    (e) => e instanceof FileSystemNotFound && e.$metadata.httpStatusCode === 404 && e.ErrorCode === 'FileSystemNotFound');
});

test('EC2 answers carry x-amzn-RequestId, so $metadata.requestId is set', async () => {
  const out = await ec2.send(new DescribeSubnetsCommand({}));
  assert.match(out.$metadata.requestId ?? '', /^[0-9a-f-]{36}$/);
  await assert.rejects(ec2.send(new DescribeSubnetsCommand({ SubnetIds: ['subnet-0123456789abcdef0'] })),
    (e) => e.name === 'InvalidSubnetID.NotFound' && /^[0-9a-f-]{36}$/.test(e.$metadata.requestId ?? ''));
});
