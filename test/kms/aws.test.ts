import { CreateAliasCommand, CreateKeyCommand, KMSClient, ReplicateKeyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsKmsProvider, type AwsKmsOptions } from '../../src/kms/providers/aws/client.js';
import { CMEK_ACTIONS, rootStatement } from '../../src/kms/providers/aws/policy.js';
import { KeyUriError } from '../../src/kms/key-uri.js';
import { parseAwsKeyArn } from '../../src/kms/providers/aws/key-uri.js';
import { keyLocation } from '../../src/kms/providers/index.js';
import { KmsError, type KmsProvider, type ProvisionKeyRequest } from '../../src/kms/provider.js';
import { startAwsKmsEmulator, type AwsKmsEmulator } from '../../src/sandbox/aws-kms.js';
import { AWS_ACCOUNT, AWS_CMEK_ROLE, AWS_KEYS, ORG_ID, awsKeyArn } from '../../src/sandbox/seed.js';

const NOW = Date.parse('2026-11-20T12:00:00Z');
/** The emulator's clock: fixed unless a test moves it (an on-demand rotation completes when it passes its end). */
let now = NOW;
const DAY = 86_400_000;
const MUTATIONS = /^(CreateKey|CreateAlias|PutKeyPolicy|EnableKeyRotation|RotateKeyOnDemand|DisableKey|ScheduleKeyDeletion)$/;
let kms: AwsKmsEmulator;
let aws: KmsProvider;
let sdk: KMSClient;

const provider = (options: Partial<AwsKmsOptions> = {}) =>
  createAwsKmsProvider({ endpoint: kms.url, credentials: kms.credentials, maxAttempts: 1, rotationPollMs: 1, ...options });

async function kmsError(promise: Promise<unknown>): Promise<KmsError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(KmsError);
    return error as KmsError;
  }
  throw new Error('expected a KmsError');
}

/** A fresh key (with optional root-only policy and alias) made directly through the SDK. */
async function freshKey(alias?: string, region = 'us-east-1'): Promise<string> {
  const client = region === 'us-east-1' ? sdk : new KMSClient({ region, endpoint: kms.url, credentials: kms.credentials });
  const { KeyMetadata } = await client.send(new CreateKeyCommand({}));
  if (alias) await client.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: KeyMetadata!.KeyId! }));
  return KeyMetadata!.Arn!;
}

const request = (fields: Partial<ProvisionKeyRequest> = {}): ProvisionKeyRequest => ({
  location: 'us-east-1',
  keyName: 'crdb-cmek-test',
  authPrincipal: AWS_CMEK_ROLE,
  container: AWS_ACCOUNT,
  organizationId: ORG_ID,
  clusterAccountId: '987654321098',
  clusterId: '3b1f5c7e-2a4d-4c6e-8f10-a2b4c6d8e0f1',
  dryRun: false,
  ...fields,
});

beforeAll(async () => {
  kms = await startAwsKmsEmulator({ now: () => now, onDemandRotationMs: 0 });
  aws = await provider();
  sdk = new KMSClient({ region: 'us-east-1', endpoint: kms.url, credentials: kms.credentials });
});

afterAll(async () => {
  sdk.destroy();
  await kms.close();
});

describe('AWS provider: describeKey', () => {
  it('describes an enabled key with rotation, by key ARN and alias ARN', async () => {
    for (const uri of [awsKeyArn(AWS_KEYS.prodEastUsEast1), `arn:aws:kms:us-east-1:${AWS_ACCOUNT}:${AWS_KEYS.prodEastUsEast1.alias}`]) {
      expect(await aws.describeKey(uri)).toEqual({
        uri,
        type: 'AWS_KMS',
        location: 'us-east-1',
        state: 'Enabled',
        usable: true,
        createdAt: '2025-02-20T09:00:00.000Z',
        rotation: { automatic: true, periodDays: 365, nextRotationAt: '2027-02-20T09:00:00.000Z' },
        deletion: { scheduled: false },
      });
    }
  });

  it('maps disabled, pending-deletion and rotation-off keys', async () => {
    const past = await aws.describeKey(awsKeyArn(AWS_KEYS.prodEastPast));
    expect(past).toMatchObject({
      state: 'PendingDeletion',
      usable: false,
      deletion: { scheduled: true, scheduledFor: new Date(NOW + 12 * DAY).toISOString(), windowDays: 30 },
    });
    expect(await aws.describeKey(awsKeyArn(AWS_KEYS.reportsDisabled))).toMatchObject({ state: 'Disabled', usable: false, location: 'eu-west-1' });
    expect((await aws.describeKey(awsKeyArn(AWS_KEYS.prodEastUsWest2))).rotation).toEqual({ automatic: false });
  });

  it('turns AWS errors into KmsError with the AWS name and request id', async () => {
    const missing = await kmsError(aws.describeKey(awsKeyArn({ ...AWS_KEYS.wrongRegion, region: 'us-east-1' })));
    expect(missing).toMatchObject({ kind: 'not_found', providerCode: 'NotFoundException' });
    expect(missing.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(missing.message).toContain('must exist in us-east-1');
    kms.deny.add('DescribeKey');
    try {
      const denied = await kmsError(aws.describeKey(awsKeyArn(AWS_KEYS.unused)));
      expect(denied).toMatchObject({ kind: 'access_denied', providerCode: 'AccessDeniedException' });
      expect(denied.message).toContain('needs kms:DescribeKey');
    } finally {
      kms.deny.clear();
    }
    await expect(aws.describeKey('arn:aws:kms:us-east-1:123:key/x')).rejects.toBeInstanceOf(KeyUriError);
  });
});

describe('AWS provider: checkAccess', () => {
  it('grants the exact policy and flags kms:* as broader', async () => {
    expect(await aws.checkAccess(awsKeyArn(AWS_KEYS.prodEastUsEast1), AWS_CMEK_ROLE)).toEqual({ granted: true, missing: [], broader: [], verified: true });
    const broad = await aws.checkAccess(awsKeyArn(AWS_KEYS.prodEastUsWest2), AWS_CMEK_ROLE);
    expect(broad).toMatchObject({ granted: true, missing: [], verified: true });
    expect(broad.broader).toEqual([`statement "AllowCockroachDBCloudCMEK" grants kms:* to ${AWS_CMEK_ROLE}`]);
  });

  it('lists missing actions, and flags Principal "*"', async () => {
    const unused = await aws.checkAccess(awsKeyArn(AWS_KEYS.unused), AWS_CMEK_ROLE);
    expect(unused).toMatchObject({ granted: false, missing: [...CMEK_ACTIONS], verified: true });
    expect(unused.detail).toContain('delegates to the account');
    const arn = await freshKey();
    const { PutKeyPolicyCommand } = await import('@aws-sdk/client-kms');
    const policy = {
      Statement: [rootStatement(AWS_ACCOUNT), { Sid: 'Open', Effect: 'Allow', Principal: { AWS: '*' }, Action: ['kms:Decrypt', 'kms:Encrypt'], Resource: '*' }],
    };
    await sdk.send(new PutKeyPolicyCommand({ KeyId: arn, Policy: JSON.stringify(policy) }));
    const open = await aws.checkAccess(arn, AWS_CMEK_ROLE);
    expect(open.missing).toEqual(['kms:GenerateDataKey*', 'kms:DescribeKey', 'kms:ReEncrypt*']);
    expect(open.broader).toEqual(['statement "Open" allows kms:Decrypt, kms:Encrypt to anyone (Principal "*")']);
  });

  it('reports verified=false when the key policy cannot be read', async () => {
    kms.deny.add('GetKeyPolicy');
    try {
      const result = await aws.checkAccess(awsKeyArn(AWS_KEYS.prodEastUsEast1), AWS_CMEK_ROLE);
      expect(result).toMatchObject({ granted: false, verified: false, missing: [] });
      expect(result.detail).toContain('AccessDeniedException');
    } finally {
      kms.deny.clear();
    }
  });
});

describe('AWS provider: provisionKey', () => {
  it('creates key, alias and rotation, and the emulated CockroachDB Cloud can use the key', async () => {
    const created = await aws.provisionKey(request({ keyName: 'crdb-cmek-new' }));
    const parsed = parseAwsKeyArn(created.uri);
    expect(parsed).toMatchObject({ resource: 'key', region: 'us-east-1', account: AWS_ACCOUNT, multiRegion: false });
    expect(created.actions.map((a) => a.action)).toEqual(['created', 'created', 'created']);
    expect(created.authPrincipal).toBe(AWS_CMEK_ROLE);
    expect(await kms.checkCmekAccess(created.uri, AWS_CMEK_ROLE)).toEqual({ ok: true });
    expect(await aws.checkAccess(created.uri, AWS_CMEK_ROLE)).toEqual({ granted: true, missing: [], broader: [], verified: true });
    expect((await aws.describeKey(created.uri)).rotation.automatic).toBe(true);
    const trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::987654321098:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"${ORG_ID}"}}}]}`;
    expect(created.manualSteps[0]).toContain(trust);
    expect(created.manualSteps[1]).toContain(
      `aws iam create-role --role-name crdb-cmek-prod-east --description "CockroachDB Cloud CMEK for cluster ${request().clusterId}" --assume-role-policy-document '${trust}'`,
    );

    const before = kms.log.count({ operation: MUTATIONS });
    const again = await aws.provisionKey(request({ keyName: 'crdb-cmek-new' }));
    expect(again.uri).toBe(created.uri);
    expect(again.actions.map((a) => a.action)).toEqual(['reused', 'reused', 'reused']);
    expect(kms.log.count({ operation: MUTATIONS })).toBe(before);
  });

  it('creates multi-Region keys and uses the requested rotation period', async () => {
    const created = await aws.provisionKey(request({ keyName: 'crdb-cmek-mrk', multiRegion: true, rotationPeriodDays: 180, location: 'us-west-2' }));
    expect(parseAwsKeyArn(created.uri)).toMatchObject({ multiRegion: true, region: 'us-west-2' });
    expect((await aws.describeKey(created.uri)).rotation).toMatchObject({ automatic: true, periodDays: 180 });
  });

  it('dry run reports would_* actions and sends no mutation', async () => {
    const before = kms.log.count({ operation: MUTATIONS });
    const plan = await aws.provisionKey(request({ keyName: 'crdb-cmek-dry', dryRun: true }));
    expect(plan.uri).toBe(`arn:aws:kms:us-east-1:${AWS_ACCOUNT}:alias/crdb-cmek-dry`);
    expect(plan.actions.map((a) => a.action)).toEqual(['would_create', 'would_create', 'would_create']);
    expect(plan.actions[0]!.detail).toContain('"KeySpec":"SYMMETRIC_DEFAULT"');
    expect(plan.manualSteps).toHaveLength(2);
    expect(kms.log.count({ operation: MUTATIONS })).toBe(before);
  });

  it('grants the role and turns rotation on for an existing key (dry run first)', async () => {
    const arn = await freshKey('alias/crdb-cmek-existing');
    const before = kms.log.count({ operation: MUTATIONS });
    const plan = await aws.provisionKey(request({ keyName: 'crdb-cmek-existing', dryRun: true }));
    expect(plan.actions.map((a) => a.action)).toEqual(['reused', 'would_update', 'would_update']);
    expect(kms.log.count({ operation: MUTATIONS })).toBe(before);
    expect(await kms.checkCmekAccess(arn, AWS_CMEK_ROLE)).toMatchObject({ ok: false });
    const done = await aws.provisionKey(request({ keyName: 'crdb-cmek-existing' }));
    expect(done.uri).toBe(arn);
    expect(done.actions.map((a) => a.action)).toEqual(['reused', 'updated', 'updated']);
    expect(await kms.checkCmekAccess(arn, AWS_CMEK_ROLE)).toEqual({ ok: true });
    expect((await aws.checkAccess(arn, AWS_CMEK_ROLE)).missing).toEqual([]);
  });

  it('provisions in the requested region only, so a key meant for another region is detectable', async () => {
    const eu = await aws.provisionKey(request({ keyName: 'crdb-cmek-new', location: 'eu-central-1' }));
    expect(keyLocation(parseAwsKeyArn(eu.uri))).toBe('eu-central-1');
    expect(eu.actions[0]!.action).toBe('created');
  });

  it('refuses bad requests before calling AWS', async () => {
    const before = kms.log.entries.length;
    expect((await kmsError(aws.provisionKey(request({ location: 'US-EAST-1' })))).kind).toBe('invalid');
    expect((await kmsError(aws.provisionKey(request({ authPrincipal: 'arn:aws:iam::111122223333:user/bob' })))).message).toContain('not an IAM role ARN');
    expect((await kmsError(aws.provisionKey(request({ keyName: 'aws/ebs' })))).kind).toBe('invalid');
    expect((await kmsError(aws.provisionKey(request({ container: '1234' })))).kind).toBe('invalid');
    expect((await kmsError(aws.provisionKey(request({ rotationPeriodDays: 30 })))).message).toContain('90 to 2560');
    expect(kms.log.entries.length).toBe(before);
  });

  it('refuses an alias that points at a key pending deletion', async () => {
    const error = await kmsError(aws.provisionKey(request({ keyName: AWS_KEYS.prodEastPast.alias })));
    expect(error.kind).toBe('conflict');
    expect(error.message).toContain('pending deletion');
  });
});

describe('AWS provider: rotation, disable, deletion', () => {
  it('rotates on demand with the URI unchanged; refuses the 26th before calling AWS, with the way out', async () => {
    const arn = await freshKey();
    const first = await aws.rotateKey(arn);
    expect(first.uri).toBe(arn);
    expect(first.detail).toContain('PUT /cmek');
    expect(first.detail).toContain('on-demand rotation 1 of 25');
    expect(kms.rotationsOf(arn)!.completed.map((r) => r.type)).toEqual(['ON_DEMAND']);
    for (let i = 1; i < 25; i++) await aws.rotateKey(arn);
    const started = kms.log.count({ operation: 'RotateKeyOnDemand' });
    const limit = await kmsError(aws.rotateKey(arn));
    expect(limit).toMatchObject({ kind: 'limit_reached', providerCode: 'LimitExceededException' });
    expect(limit.message).toContain('all 25 on-demand rotations');
    expect(limit.message).toContain('25 of 25 used (ListKeyRotations)');
    expect(limit.message).toMatch(/provision_cmek_key.*rotate_cmek mode new_key/);
    expect(kms.log.count({ operation: 'RotateKeyOnDemand' })).toBe(started);
  });

  it("maps AWS's LimitExceededException when the rotations cannot be counted", async () => {
    const arn = await freshKey();
    const direct = await provider();
    for (let i = 0; i < 25; i++) await direct.rotateKey(arn);
    kms.deny.add('ListKeyRotations');
    try {
      const started = kms.log.count({ operation: 'RotateKeyOnDemand' });
      const limit = await kmsError(direct.rotateKey(arn));
      expect(limit).toMatchObject({ kind: 'limit_reached', providerCode: 'LimitExceededException' });
      expect(limit.message).toMatch(/all 25 on-demand rotations .*limit has been reached/);
      expect(kms.log.count({ operation: 'RotateKeyOnDemand' })).toBe(started + 1);
    } finally {
      kms.deny.delete('ListKeyRotations');
    }
  });

  it('waits while GetKeyRotationStatus shows the rotation in progress, and returns only once the new material is in place', async () => {
    const arn = await freshKey();
    kms.onDemandRotationMs = 5 * 60_000;
    try {
      const polls = () => kms.log.count({ operation: 'GetKeyRotationStatus' });
      const before = polls();
      let settled = false;
      const rotation = provider({ rotationPollMs: 1 })
        .then((p) => p.rotateKey(arn))
        .finally(() => (settled = true));
      while (polls() < before + 4) await new Promise((resolve) => setTimeout(resolve, 2));
      expect(settled).toBe(false);
      expect(kms.rotationsOf(arn)).toEqual({ completed: [], inProgressSince: now });
      now += 5 * 60_000;
      const result = await rotation;
      expect(result.uri).toBe(arn);
      expect(kms.rotationsOf(arn)!.completed).toHaveLength(1);
      expect(kms.log.count({ operation: 'RotateKeyOnDemand' })).toBeGreaterThan(0);
    } finally {
      kms.onDemandRotationMs = 0;
      now = NOW;
    }
  });

  it('a rotation already in progress is waited for, not doubled', async () => {
    const arn = await freshKey();
    kms.onDemandRotationMs = 60_000;
    try {
      await sdk.send(new (await import('@aws-sdk/client-kms')).RotateKeyOnDemandCommand({ KeyId: arn }));
      const started = kms.log.count({ operation: 'RotateKeyOnDemand' });
      const polled = kms.log.count({ operation: 'GetKeyRotationStatus' });
      const rotation = provider({ rotationPollMs: 1 }).then((p) => p.rotateKey(arn));
      while (kms.log.count({ operation: 'GetKeyRotationStatus' }) < polled + 2) await new Promise((resolve) => setTimeout(resolve, 2));
      now += 60_000;
      expect((await rotation).detail).toMatch(/was already in progress; this waited for it instead of starting another/);
      expect(kms.log.count({ operation: 'RotateKeyOnDemand' })).toBe(started);
      expect(kms.rotationsOf(arn)!.completed).toHaveLength(1);
    } finally {
      kms.onDemandRotationMs = 0;
      now = NOW;
    }
  });

  it('gives up after the wait budget without claiming success, and says how to continue', async () => {
    const arn = await freshKey();
    kms.onDemandRotationMs = 60_000;
    try {
      const error = await kmsError(provider({ rotationPollMs: 1, rotationWaitMs: 0 }).then((p) => p.rotateKey(arn)));
      expect(error).toMatchObject({ kind: 'unavailable', providerCode: 'RotationInProgress' });
      expect(error.message).toMatch(/still in progress .*nothing was sent to CockroachDB Cloud/);
      expect(error.message).toContain(`aws kms get-key-rotation-status --key-id ${arn} --region us-east-1`);
    } finally {
      now += 60_000;
      kms.onDemandRotationMs = 0;
      now = NOW;
    }
  });

  it('rotates a multi-Region replica through its primary; AWS itself refuses the replica', async () => {
    const { KeyMetadata } = await sdk.send(new CreateKeyCommand({ MultiRegion: true }));
    const primary = KeyMetadata!.Arn!;
    const { ReplicaKeyMetadata } = await sdk.send(new ReplicateKeyCommand({ KeyId: primary, ReplicaRegion: 'eu-west-1' }));
    const replica = ReplicaKeyMetadata!.Arn!;
    expect(replica).toBe(primary.replace('us-east-1', 'eu-west-1'));
    expect(ReplicaKeyMetadata!.MultiRegionConfiguration).toMatchObject({ MultiRegionKeyType: 'REPLICA', PrimaryKey: { Arn: primary, Region: 'us-east-1' } });

    const west = new KMSClient({ region: 'eu-west-1', endpoint: kms.url, credentials: kms.credentials, maxAttempts: 1 });
    const refused = await west.send(new (await import('@aws-sdk/client-kms')).RotateKeyOnDemandCommand({ KeyId: replica })).catch((error: Error) => error);
    expect(refused).toMatchObject({ name: 'UnsupportedOperationException', message: expect.stringContaining(primary) });
    west.destroy();

    const result = await aws.rotateKey(replica);
    expect(result.uri).toBe(replica);
    expect(result.detail).toContain(`through its primary ${primary}`);
    expect(kms.rotationsOf(replica)!.completed.map((r) => r.type)).toEqual(['ON_DEMAND']);
  });

  it('never retries RotateKeyOnDemand, and says how to check', async () => {
    const arn = await freshKey();
    const retrying = await provider({ maxAttempts: 3 });
    kms.faults.inject({ kind: 'server_error', count: 1, match: { operation: 'RotateKeyOnDemand' } });
    const before = kms.log.count({ operation: 'RotateKeyOnDemand' });
    const error = await kmsError(retrying.rotateKey(arn));
    expect(error.kind).toBe('unavailable');
    expect(error.message).toContain(`aws kms get-key-rotation-status --key-id ${arn} --region us-east-1`);
    expect(error.message).toContain('waits for it instead of spending another of the 25');
    expect(kms.log.count({ operation: 'RotateKeyOnDemand' })).toBe(before + 1);
  });

  it('disables a key', async () => {
    const arn = await freshKey();
    expect(await aws.disableKey(arn)).toMatchObject({ state: 'Disabled', usable: false });
  });

  it('schedules deletion only within 7-30 days and says how to undo', async () => {
    expect(aws.deletionWindow).toEqual({ minDays: 7, defaultDays: 30, maxDays: 30 });
    const arn = await freshKey();
    const before = kms.log.entries.length;
    for (const days of [0, 6, 31, 7.5]) expect((await kmsError(aws.scheduleDeletion(arn, days))).kind).toBe('invalid');
    expect(kms.log.entries.length).toBe(before);
    const result = await aws.scheduleDeletion(arn, 7);
    const date = new Date(NOW + 7 * DAY).toISOString();
    expect(result).toEqual({
      state: 'PendingDeletion',
      deletionDate: date,
      undo: `Before ${date}: aws kms cancel-key-deletion --key-id ${arn} --region us-east-1, then aws kms enable-key --key-id ${arn} --region us-east-1 (cancelling leaves the key Disabled). After that date the key material is gone and data encrypted under it cannot be recovered.`,
    });
    expect((await kmsError(aws.scheduleDeletion(arn, 30))).kind).toBe('conflict');
    const other = await freshKey('alias/crdb-cmek-doomed');
    expect((await aws.scheduleDeletion(`arn:aws:kms:us-east-1:${AWS_ACCOUNT}:alias/crdb-cmek-doomed`, 30)).deletionDate).toBe(
      new Date(NOW + 30 * DAY).toISOString(),
    );
    expect(kms.keyState(other)).toBe('PendingDeletion');
  });
});

describe('AWS provider: faults (fresh client each)', () => {
  it('throttling becomes throttled', async () => {
    kms.faults.inject({ kind: 'throttle', count: 1 });
    expect(await kmsError((await provider()).describeKey(awsKeyArn(AWS_KEYS.unused)))).toMatchObject({
      kind: 'throttled',
      providerCode: 'ThrottlingException',
    });
  });

  it('server errors and resets become unavailable', async () => {
    kms.faults.inject({ kind: 'server_error', count: 1 });
    expect(await kmsError((await provider()).describeKey(awsKeyArn(AWS_KEYS.unused)))).toMatchObject({
      kind: 'unavailable',
      providerCode: 'KMSInternalException',
    });
    kms.faults.inject({ kind: 'reset', count: 1 });
    expect((await kmsError((await provider()).describeKey(awsKeyArn(AWS_KEYS.unused)))).kind).toBe('unavailable');
  });

  it('a hung request times out as unavailable', async () => {
    kms.faults.inject({ kind: 'hang', count: 1 });
    const error = await kmsError((await provider({ requestTimeoutMs: 200 })).describeKey(awsKeyArn(AWS_KEYS.unused)));
    expect(error.kind).toBe('unavailable');
  });

  it('retries idempotent reads when attempts remain', async () => {
    kms.faults.inject({ kind: 'server_error', count: 1, match: { operation: 'DescribeKey' } });
    expect((await (await provider({ maxAttempts: 2 })).describeKey(awsKeyArn(AWS_KEYS.unused))).state).toBe('Enabled');
  });
});
