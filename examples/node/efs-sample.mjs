// AWS SDK for JavaScript v3 against efs-local: a file system, a mount target
// and an access point, then the mount used with libnfs's nfs-cp / nfs-cat.
//   npm install && node efs-sample.mjs
// Endpoint: EFS_LOCAL_ENDPOINT, else http://127.0.0.1:$EFS_LOCAL_API_PORT (2050);
// NFS port: EFS_LOCAL_NFS_PORT (2049).
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  EFSClient, CreateFileSystemCommand, DescribeFileSystemsCommand, CreateMountTargetCommand,
  DescribeMountTargetsCommand, CreateAccessPointCommand, DescribeAccessPointsCommand,
} from "@aws-sdk/client-efs";
import { EC2Client, DescribeSubnetsCommand } from "@aws-sdk/client-ec2";

const endpoint = process.env.EFS_LOCAL_ENDPOINT ??
  `http://127.0.0.1:${process.env.EFS_LOCAL_API_PORT ?? "2050"}`;
const nfsPort = process.env.EFS_LOCAL_NFS_PORT ?? "2049";
const config = {
  endpoint, region: "us-east-1",
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
};
const efs = new EFSClient(config);
const ec2 = new EC2Client(config);

async function wait(describe, want, what) {
  for (let i = 0; i < 300; i++) {
    const state = await describe();
    if (state === want) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ${want}`);
}

const fs = await efs.send(new CreateFileSystemCommand({
  CreationToken: `sample-${randomUUID()}`, ThroughputMode: "elastic",
  Tags: [{ Key: "Name", Value: "node-sample" }],
}));
const fsId = fs.FileSystemId;
await wait(async () => (await efs.send(new DescribeFileSystemsCommand({ FileSystemId: fsId })))
  .FileSystems[0].LifeCycleState, "available", fsId);
console.log("file system", fsId);

const subnets = await ec2.send(new DescribeSubnetsCommand({}));
const mt = await efs.send(new CreateMountTargetCommand({
  FileSystemId: fsId, SubnetId: subnets.Subnets[0].SubnetId,
}));
await wait(async () => (await efs.send(new DescribeMountTargetsCommand({ MountTargetId: mt.MountTargetId })))
  .MountTargets[0].LifeCycleState, "available", mt.MountTargetId);
console.log("mount target", mt.MountTargetId, "at", mt.IpAddress);

const ap = await efs.send(new CreateAccessPointCommand({
  FileSystemId: fsId, ClientToken: randomUUID(),
  PosixUser: { Uid: 1000, Gid: 1000 },
  RootDirectory: { Path: "/web", CreationInfo: { OwnerUid: 1000, OwnerGid: 1000, Permissions: "755" } },
}));
await wait(async () => (await efs.send(new DescribeAccessPointsCommand({ AccessPointId: ap.AccessPointId })))
  .AccessPoints[0].LifeCycleState, "available", ap.AccessPointId);
console.log("access point", ap.AccessPointId);

// Use the mount: write through the access point, read back from the file
// system's root through the mount target's own address.
const dir = mkdtempSync(join(tmpdir(), "efs-sample-"));
const local = join(dir, "index.html");
const body = `<p>written by efs-sample.mjs through ${ap.AccessPointId}</p>\n`;
writeFileSync(local, body);
try {
  execFileSync("nfs-cp", [local, `nfs://127.0.0.1/${ap.AccessPointId}/index.html?version=4&nfsport=${nfsPort}`]);
} finally {
  rmSync(dir, { recursive: true });
}
const got = execFileSync("nfs-cat", [`nfs://${mt.IpAddress}/web/index.html?version=4&nfsport=${nfsPort}`]).toString();
if (got !== body) throw new Error(`read back ${JSON.stringify(got)}, wrote ${JSON.stringify(body)}`);
console.log("read back through", mt.IpAddress, ":", got.trim());
console.log("OK");
