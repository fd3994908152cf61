// @aws-sdk/client-kms (the current JS SDK v3) against efs-local's KMS:
// create, alias, encrypt/decrypt with an encryption context, a tampered blob,
// disable/enable, grants, paging, ScheduleKeyDeletion carried out after
// POST /_efs-local/clock. Run by tests/integration/test_kms_js.py against a
// server of its own (the test moves its clock); EFS_LOCAL_ENDPOINT names it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  KMSClient, CreateKeyCommand, DescribeKeyCommand, CreateAliasCommand, ListAliasesCommand,
  EncryptCommand, DecryptCommand, DisableKeyCommand, EnableKeyCommand, ScheduleKeyDeletionCommand,
  CreateGrantCommand, ListGrantsCommand, RetireGrantCommand, RevokeGrantCommand, ListKeysCommand,
  GenerateDataKeyCommand, ReEncryptCommand, paginateListKeys,
  InvalidCiphertextException, DisabledException, NotFoundException, KMSInvalidStateException,
  AlreadyExistsException, InvalidMarkerException,
} from '@aws-sdk/client-kms';

const endpoint = process.env.EFS_LOCAL_ENDPOINT;
const kms = new KMSClient({
  endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1,
});
const text = (s) => new TextEncoder().encode(s);

async function advanceClock(seconds) {
  const r = await fetch(`${endpoint}/_efs-local/clock`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ advance_seconds: seconds }),
  });
  assert.equal(r.status, 200);
}

test('create, alias, encrypt/decrypt with context, tampering, disable/enable', async () => {
  const { KeyMetadata: md } = await kms.send(new CreateKeyCommand({ Description: 'js', Tags: [{ TagKey: 'k', TagValue: 'v' }] }));
  assert.match(md.KeyId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(md.Arn, `arn:aws:kms:us-east-1:000000000000:key/${md.KeyId}`);
  assert.ok(md.CreationDate instanceof Date);
  assert.equal(md.KeyState, 'Enabled');

  await kms.send(new CreateAliasCommand({ AliasName: 'alias/js-app', TargetKeyId: md.KeyId }));
  await assert.rejects(kms.send(new CreateAliasCommand({ AliasName: 'alias/js-app', TargetKeyId: md.KeyId })),
    (e) => e instanceof AlreadyExistsException);
  const aliases = (await kms.send(new ListAliasesCommand({ KeyId: md.KeyId }))).Aliases;
  assert.deepEqual(aliases.map((a) => a.AliasName), ['alias/js-app']);
  assert.ok(aliases[0].CreationDate instanceof Date);

  const context = { tenant: 'a', purpose: 'js' };
  const enc = await kms.send(new EncryptCommand({ KeyId: 'alias/js-app', Plaintext: text('hello kms'), EncryptionContext: context }));
  assert.ok(enc.CiphertextBlob instanceof Uint8Array);
  assert.equal(enc.KeyId, md.Arn);
  const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { purpose: 'js', tenant: 'a' } }));
  assert.equal(new TextDecoder().decode(dec.Plaintext), 'hello kms');
  assert.equal(dec.KeyId, md.Arn);

  await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { tenant: 'b', purpose: 'js' } })),
    (e) => e instanceof InvalidCiphertextException && e.$metadata.httpStatusCode === 400);
  const tampered = Uint8Array.from(enc.CiphertextBlob);
  tampered[tampered.length - 1] ^= 0x40;
  await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob: tampered, EncryptionContext: context })),
    (e) => e instanceof InvalidCiphertextException);

  await kms.send(new DisableKeyCommand({ KeyId: md.KeyId }));
  await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: context })),
    (e) => e instanceof DisabledException);
  await kms.send(new EnableKeyCommand({ KeyId: md.KeyId }));
  const again = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: context }));
  assert.equal(new TextDecoder().decode(again.Plaintext), 'hello kms');

  const other = (await kms.send(new CreateKeyCommand({}))).KeyMetadata;
  const re = await kms.send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: context, DestinationKeyId: other.KeyId }));
  assert.equal(re.SourceKeyId, md.Arn);
  assert.equal(re.KeyId, other.Arn);
  const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: other.KeyId, NumberOfBytes: 24 }));
  assert.equal(dk.Plaintext.length, 24);
  const dkBack = await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob }));
  assert.deepEqual(Uint8Array.from(dkBack.Plaintext), Uint8Array.from(dk.Plaintext));
});

test('grants: create, list, retire, revoke', async () => {
  const { KeyMetadata: md } = await kms.send(new CreateKeyCommand({}));
  const grantee = 'arn:aws:iam::000000000000:role/js';
  const g = await kms.send(new CreateGrantCommand({
    KeyId: md.KeyId, GranteePrincipal: grantee, Operations: ['Encrypt', 'Decrypt'],
    Constraints: { EncryptionContextEquals: { fs: 'fs-1' } },
  }));
  const g2 = await kms.send(new CreateGrantCommand({ KeyId: md.Arn, GranteePrincipal: grantee, Operations: ['CreateGrant'] }));
  const listed = (await kms.send(new ListGrantsCommand({ KeyId: md.KeyId }))).Grants;
  assert.deepEqual(listed.map((x) => x.GrantId), [g.GrantId, g2.GrantId]);
  assert.deepEqual(listed[0].Constraints, { EncryptionContextEquals: { fs: 'fs-1' } });
  assert.ok(listed[0].CreationDate instanceof Date);
  await kms.send(new RetireGrantCommand({ GrantToken: g.GrantToken }));
  await kms.send(new RevokeGrantCommand({ KeyId: md.KeyId, GrantId: g2.GrantId }));
  assert.deepEqual((await kms.send(new ListGrantsCommand({ KeyId: md.KeyId }))).Grants, []);
});

test('ListKeys pages by Limit and Marker; the paginator sees every key', async () => {
  const made = [];
  for (let i = 0; i < 5; i++) made.push((await kms.send(new CreateKeyCommand({}))).KeyMetadata.KeyId);
  const seen = [];
  for await (const page of paginateListKeys({ client: kms, pageSize: 2 }, {})) {
    assert.ok(page.Keys.length <= 2);
    seen.push(...page.Keys.map((k) => k.KeyId));
  }
  for (const id of made) assert.ok(seen.includes(id), `ListKeys shows ${id}`);
  const first = await kms.send(new ListKeysCommand({ Limit: 1 }));
  assert.equal(first.Truncated, true);
  assert.ok(first.NextMarker);
  await assert.rejects(kms.send(new ListKeysCommand({ Marker: 'not-a-marker' })), (e) => e instanceof InvalidMarkerException);
});

test('ScheduleKeyDeletion is carried out when the emulator clock passes the date', async () => {
  const { KeyMetadata: md } = await kms.send(new CreateKeyCommand({}));
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/js-doomed', TargetKeyId: md.KeyId }));
  const s = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: md.KeyId, PendingWindowInDays: 7 }));
  assert.equal(s.KeyState, 'PendingDeletion');
  assert.ok(s.DeletionDate instanceof Date);
  assert.ok(Math.abs(s.DeletionDate.getTime() - Date.now() - 7 * 86400e3) < 120e3);
  const enc = kms.send(new EncryptCommand({ KeyId: md.KeyId, Plaintext: text('x') }));
  await assert.rejects(enc, (e) => e instanceof KMSInvalidStateException);
  await advanceClock(7 * 86400 + 60);
  await assert.rejects(kms.send(new DescribeKeyCommand({ KeyId: md.KeyId })), (e) => e instanceof NotFoundException);
  await assert.rejects(kms.send(new DescribeKeyCommand({ KeyId: 'alias/js-doomed' })), (e) => e instanceof NotFoundException);
});
