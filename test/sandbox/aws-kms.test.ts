import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
  ListAliasesCommand,
  ListKeyRotationsCommand,
  ListKeysCommand,
  PutKeyPolicyCommand,
  ReplicateKeyCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cmekKeyPolicy, rootStatement } from '../../src/kms/providers/aws/policy.js';
import { startAwsKmsEmulator, type AwsKmsEmulator } from '../../src/sandbox/aws-kms.js';
import { AWS_ACCOUNT, AWS_CMEK_ROLE, AWS_KEYS, awsKeyArn } from '../../src/sandbox/seed.js';

const NOW = Date.parse('2026-11-20T12:00:00Z');
/** The emulator's clock; tests move it to let an on-demand rotation finish. */
let now = NOW;
const DAY = 86_400_000;
let kms: AwsKmsEmulator;
const clients: KMSClient[] = [];

function client(region = 'us-east-1', overrides: Partial<ConstructorParameters<typeof KMSClient>[0]> = {}): KMSClient {
  const created = new KMSClient({ region, endpoint: kms.url, credentials: kms.credentials, maxAttempts: 1, ...overrides });
  clients.push(created);
  return created;
}

/** The AWS error a promise rejects with. */
async function awsError(promise: Promise<unknown>): Promise<{ name: string; message: string; $metadata: { httpStatusCode?: number; requestId?: string } }> {
  try {
    await promise;
  } catch (error) {
    return error as never;
  }
  throw new Error('expected the call to fail');
}

const policyText = (policy: object) => JSON.stringify(policy);

beforeAll(async () => {
  kms = await startAwsKmsEmulator({ now: () => now });
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await kms.close();
});

describe('AWS KMS emulator: keys and aliases', () => {
  it('describes a key by id, key ARN, alias name and alias ARN', async () => {
    const east = client();
    const key = AWS_KEYS.prodEastUsEast1;
    for (const keyId of [key.id, awsKeyArn(key), key.alias, `arn:aws:kms:us-east-1:${AWS_ACCOUNT}:${key.alias}`]) {
      const { KeyMetadata } = await east.send(new DescribeKeyCommand({ KeyId: keyId }));
      expect(KeyMetadata).toMatchObject({
        KeyId: key.id,
        Arn: awsKeyArn(key),
        KeyState: 'Enabled',
        Enabled: true,
        KeySpec: 'SYMMETRIC_DEFAULT',
        KeyUsage: 'ENCRYPT_DECRYPT',
        AWSAccountId: AWS_ACCOUNT,
      });
      expect(KeyMetadata?.CreationDate).toEqual(new Date('2025-02-20T09:00:00Z'));
    }
  });

  it('answers NotFoundException for unknown keys, aliases and keys of another region', async () => {
    const east = client();
    const missing = await awsError(east.send(new DescribeKeyCommand({ KeyId: '00000000-0000-4000-8000-000000000000' })));
    expect(missing.name).toBe('NotFoundException');
    expect(missing.message).toBe(`Key 'arn:aws:kms:us-east-1:${AWS_ACCOUNT}:key/00000000-0000-4000-8000-000000000000' does not exist`);
    expect(missing.$metadata.httpStatusCode).toBe(400);
    expect(missing.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await awsError(east.send(new DescribeKeyCommand({ KeyId: 'alias/nope' })))).message).toBe(
      `Alias arn:aws:kms:us-east-1:${AWS_ACCOUNT}:alias/nope is not found.`,
    );
    expect((await awsError(east.send(new DescribeKeyCommand({ KeyId: awsKeyArn(AWS_KEYS.wrongRegion) })))).name).toBe('NotFoundException');
    expect((await awsError(east.send(new DescribeKeyCommand({ KeyId: 'not a key' })))).message).toBe("Invalid keyId 'not a key'");
    const { KeyMetadata } = await client('eu-central-1').send(new DescribeKeyCommand({ KeyId: AWS_KEYS.wrongRegion.id }));
    expect(KeyMetadata?.Arn).toBe(awsKeyArn(AWS_KEYS.wrongRegion));
  });

  it('rejects credentials it does not know and requests without a signature', async () => {
    const stranger = client('us-east-1', { credentials: { accessKeyId: 'AKIAOTHER', secretAccessKey: 'x' } });
    const denied = await awsError(stranger.send(new ListKeysCommand({})));
    expect(denied.name).toBe('UnrecognizedClientException');
    expect(denied.message).toBe('The security token included in the request is invalid.');
    const response = await fetch(kms.url, {
      method: 'POST',
      headers: { 'x-amz-target': 'TrentService.ListKeys', 'content-type': 'application/x-amz-json-1.1' },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' });
  });

  it('verifies SigV4 signatures: a wrong secret or a request changed after signing is refused', async () => {
    const wrongSecret = client('us-east-1', { credentials: { accessKeyId: kms.credentials.accessKeyId, secretAccessKey: 'not-the-sandbox-secret' } });
    const denied = await awsError(wrongSecret.send(new ListKeysCommand({})));
    expect(denied.name).toBe('InvalidSignatureException');
    expect(denied.message).toMatch(/^The request signature we calculated does not match the signature you provided/);

    const signer = client();
    let signed: { headers: Record<string, string>; body: string } | undefined;
    signer.middlewareStack.addRelativeTo(
      ((next: (args: { request: { headers: Record<string, string>; body: string } }) => Promise<unknown>) =>
        async (args: { request: { headers: Record<string, string>; body: string } }) => {
          signed = { headers: { ...args.request.headers }, body: args.request.body };
          return next(args);
        }) as never,
      { relation: 'after', toMiddleware: 'httpSigningMiddleware' } as never,
    );
    await signer.send(new DescribeKeyCommand({ KeyId: awsKeyArn(AWS_KEYS.prodEastUsEast1) }));
    const { host: _host, 'content-length': _length, ...headers } = signed!.headers;
    const replay = (body: string) => fetch(kms.url, { method: 'POST', headers, body });
    expect((await replay(signed!.body)).status).toBe(200);
    const tampered = await replay(signed!.body.replace(AWS_KEYS.prodEastUsEast1.id, AWS_KEYS.unused.id));
    expect(tampered.status).toBe(400);
    expect(await tampered.json()).toMatchObject({ __type: 'InvalidSignatureException' });
    const otherOperation = await fetch(kms.url, {
      method: 'POST',
      headers: { ...headers, 'x-amz-target': 'TrentService.ScheduleKeyDeletion' },
      body: signed!.body,
    });
    expect(await otherOperation.json()).toMatchObject({
      __type: 'InvalidSignatureException',
      message: expect.stringMatching(/^The request signature we calculated/),
    });
    expect(kms.keyState(awsKeyArn(AWS_KEYS.prodEastUsEast1))).toBe('Enabled');
    const unsignedDate = await fetch(kms.url, { method: 'POST', headers: { ...headers, 'x-amz-date': '20200101T000000Z' }, body: signed!.body });
    expect(await unsignedDate.json()).toMatchObject({ __type: 'IncompleteSignatureException' });
  });

  it('lists keys per region with pagination', async () => {
    const east = client();
    const all = await east.send(new ListKeysCommand({}));
    const ids = all.Keys?.map((k) => k.KeyId) ?? [];
    expect(ids).toEqual(expect.arrayContaining([AWS_KEYS.prodEastUsEast1.id, AWS_KEYS.prodEastPast.id, AWS_KEYS.unused.id, AWS_KEYS.prodEastNext.id]));
    expect(ids).not.toContain(AWS_KEYS.prodEastUsWest2.id);
    const first = await east.send(new ListKeysCommand({ Limit: 2 }));
    expect(first).toMatchObject({ Truncated: true });
    const second = await east.send(new ListKeysCommand({ Limit: 1000, Marker: first.NextMarker }));
    expect([...(first.Keys ?? []), ...(second.Keys ?? [])].map((k) => k.KeyId)).toEqual(ids);
    expect((await awsError(east.send(new ListKeysCommand({ Limit: 0 })))).name).toBe('ValidationException');
  });

  it('creates symmetric and multi-Region keys, validates specs and policies', async () => {
    const east = client();
    const created = await east.send(new CreateKeyCommand({ Description: 'test', Tags: [{ TagKey: 'a', TagValue: 'b' }] }));
    expect(created.KeyMetadata).toMatchObject({
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeyState: 'Enabled',
      MultiRegion: false,
      Description: 'test',
    });
    expect(created.KeyMetadata?.KeyId).toMatch(/^[0-9a-f-]{36}$/);
    const policy = await east.send(new GetKeyPolicyCommand({ KeyId: created.KeyMetadata!.KeyId! }));
    expect(JSON.parse(policy.Policy!).Statement[0].Principal.AWS).toBe(`arn:aws:iam::${AWS_ACCOUNT}:root`);
    const mrk = await east.send(new CreateKeyCommand({ MultiRegion: true, Policy: policyText(cmekKeyPolicy(AWS_ACCOUNT, AWS_CMEK_ROLE)) }));
    expect(mrk.KeyMetadata?.KeyId).toMatch(/^mrk-[0-9a-f]{32}$/);
    expect(mrk.KeyMetadata?.MultiRegionConfiguration?.MultiRegionKeyType).toBe('PRIMARY');
    expect((await awsError(east.send(new CreateKeyCommand({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'SIGN_VERIFY' })))).name).toBe('ValidationException');
    const lockout = await awsError(
      east.send(
        new CreateKeyCommand({
          Policy: policyText({ Statement: [{ Effect: 'Allow', Principal: { AWS: AWS_CMEK_ROLE }, Action: 'kms:Decrypt', Resource: '*' }] }),
        }),
      ),
    );
    expect(lockout).toMatchObject({
      name: 'MalformedPolicyDocumentException',
      message: 'The new key policy will not allow you to update the key policy in the future.',
    });
    const badPrincipal = await awsError(
      east.send(
        new CreateKeyCommand({
          Policy: policyText({
            Statement: [rootStatement(AWS_ACCOUNT), { Effect: 'Allow', Principal: { AWS: 'crdb-role' }, Action: 'kms:Decrypt', Resource: '*' }],
          }),
        }),
      ),
    );
    expect(badPrincipal.message).toBe('Policy contains a statement with one or more invalid principals.');
    expect((await awsError(east.send(new CreateKeyCommand({ Policy: '{not json' })))).name).toBe('MalformedPolicyDocumentException');
  });

  it('creates and lists aliases with AWS errors for duplicates and reserved names', async () => {
    const west = client('us-west-2');
    const { KeyMetadata } = await west.send(new CreateKeyCommand({}));
    const keyId = KeyMetadata!.KeyId!;
    await west.send(new CreateAliasCommand({ AliasName: 'alias/test-alias', TargetKeyId: keyId }));
    const duplicate = await awsError(west.send(new CreateAliasCommand({ AliasName: 'alias/test-alias', TargetKeyId: keyId })));
    expect(duplicate).toMatchObject({
      name: 'AlreadyExistsException',
      message: `An alias with the name arn:aws:kms:us-west-2:${AWS_ACCOUNT}:alias/test-alias already exists`,
    });
    expect((await awsError(west.send(new CreateAliasCommand({ AliasName: 'alias/aws/mine', TargetKeyId: keyId })))).name).toBe('InvalidAliasNameException');
    expect((await awsError(west.send(new CreateAliasCommand({ AliasName: 'no-prefix', TargetKeyId: keyId })))).name).toBe('ValidationException');
    expect((await awsError(west.send(new CreateAliasCommand({ AliasName: 'alias/x', TargetKeyId: 'alias/test-alias' })))).name).toBe('NotFoundException');
    const filtered = await west.send(new ListAliasesCommand({ KeyId: keyId }));
    expect(filtered.Aliases?.map((a) => [a.AliasName, a.TargetKeyId])).toEqual([['alias/test-alias', keyId]]);
    const all = await west.send(new ListAliasesCommand({}));
    expect(all.Aliases?.map((a) => a.AliasName)).toEqual(expect.arrayContaining(['alias/test-alias', AWS_KEYS.prodEastUsWest2.alias, 'alias/aws/ebs']));
    expect((await client('us-east-1').send(new ListAliasesCommand({}))).Aliases?.map((a) => a.AliasName)).not.toContain('alias/test-alias');
  });

  it('gets and puts key policies, refusing a lockout and unknown policy names', async () => {
    const east = client();
    const { KeyMetadata } = await east.send(new CreateKeyCommand({}));
    const keyId = KeyMetadata!.KeyId!;
    const policy = policyText(cmekKeyPolicy(AWS_ACCOUNT, AWS_CMEK_ROLE));
    await east.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: policy, PolicyName: 'default' }));
    expect((await east.send(new GetKeyPolicyCommand({ KeyId: KeyMetadata!.Arn! }))).Policy).toBe(policy);
    expect((await awsError(east.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'other' })))).name).toBe('NotFoundException');
    const rootless = policyText({ Statement: [{ Effect: 'Allow', Principal: { AWS: AWS_CMEK_ROLE }, Action: '*', Resource: '*' }] });
    expect((await awsError(east.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: rootless })))).name).toBe('MalformedPolicyDocumentException');
    await east.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: rootless, BypassPolicyLockoutSafetyCheck: true }));
  });
});

describe('AWS KMS emulator: key states, rotation, deletion', () => {
  it('disables and enables keys; refuses both while pending deletion', async () => {
    const east = client();
    const { KeyMetadata } = await east.send(new CreateKeyCommand({}));
    const keyId = KeyMetadata!.KeyId!;
    await east.send(new DisableKeyCommand({ KeyId: keyId }));
    expect((await east.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata).toMatchObject({ KeyState: 'Disabled', Enabled: false });
    await east.send(new EnableKeyCommand({ KeyId: keyId }));
    expect((await east.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState).toBe('Enabled');
    const pending = await awsError(east.send(new EnableKeyCommand({ KeyId: AWS_KEYS.prodEastPast.id })));
    expect(pending).toMatchObject({ name: 'KMSInvalidStateException', message: `${awsKeyArn(AWS_KEYS.prodEastPast)} is pending deletion.` });
    expect((await awsError(east.send(new DisableKeyCommand({ KeyId: AWS_KEYS.prodEastPast.id })))).name).toBe('KMSInvalidStateException');
  });

  it('reports seeded states and rotation as documented', async () => {
    const status = async (key: { id: string; region: string }) => client(key.region).send(new GetKeyRotationStatusCommand({ KeyId: key.id }));
    expect(await status(AWS_KEYS.prodEastUsEast1)).toMatchObject({
      KeyRotationEnabled: true,
      RotationPeriodInDays: 365,
      NextRotationDate: new Date('2027-02-20T09:00:00Z'),
    });
    expect((await status(AWS_KEYS.prodEastUsWest2)).KeyRotationEnabled).toBe(false);
    expect(kms.keyState(awsKeyArn(AWS_KEYS.prodEastPast))).toBe('PendingDeletion');
    expect(kms.keyState(awsKeyArn(AWS_KEYS.reportsDisabled))).toBe('Disabled');
    expect(kms.keyState(`arn:aws:kms:us-east-1:${AWS_ACCOUNT}:${AWS_KEYS.unused.alias}`)).toBe('Enabled');
    const past = await client().send(new DescribeKeyCommand({ KeyId: AWS_KEYS.prodEastPast.id }));
    expect(past.KeyMetadata).toMatchObject({ KeyState: 'PendingDeletion', DeletionDate: new Date(NOW + 12 * DAY), PendingDeletionWindowInDays: 30 });
  });

  it('enables rotation with AWS period bounds and refuses disabled keys', async () => {
    const east = client();
    const { KeyMetadata } = await east.send(new CreateKeyCommand({}));
    const keyId = KeyMetadata!.KeyId!;
    const tooShort = await awsError(east.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 89 })));
    expect(tooShort).toMatchObject({
      name: 'ValidationException',
      message:
        "1 validation error detected: Value '89' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value greater than or equal to 90",
    });
    expect((await awsError(east.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 2561 })))).name).toBe('ValidationException');
    await east.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 90 }));
    expect(await east.send(new GetKeyRotationStatusCommand({ KeyId: keyId }))).toMatchObject({
      KeyRotationEnabled: true,
      RotationPeriodInDays: 90,
      KeyId: KeyMetadata!.Arn,
    });
    const disabled = await awsError(client('eu-west-1').send(new EnableKeyRotationCommand({ KeyId: AWS_KEYS.reportsDisabled.id })));
    expect(disabled).toMatchObject({ name: 'DisabledException', message: `${awsKeyArn(AWS_KEYS.reportsDisabled)} is disabled.` });
  });

  it('rotates on demand asynchronously, at most 25 times, symmetric primary keys only', async () => {
    const east = client();
    const { KeyMetadata } = await east.send(new CreateKeyCommand({}));
    const keyId = KeyMetadata!.KeyId!;
    const finish = () => (now += kms.onDemandRotationMs);
    try {
      expect((await east.send(new RotateKeyOnDemandCommand({ KeyId: keyId }))).KeyId).toBe(keyId);
      // In progress: the start date shows, nothing is listed as completed, a second start conflicts.
      expect((await east.send(new GetKeyRotationStatusCommand({ KeyId: keyId }))).OnDemandRotationStartDate).toEqual(new Date(now));
      expect((await east.send(new ListKeyRotationsCommand({ KeyId: keyId }))).Rotations).toEqual([]);
      expect((await awsError(east.send(new RotateKeyOnDemandCommand({ KeyId: keyId })))).name).toBe('ConflictException');
      finish();
      expect((await east.send(new GetKeyRotationStatusCommand({ KeyId: keyId }))).OnDemandRotationStartDate).toBeUndefined();
      for (let i = 1; i < 25; i++) {
        await east.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
        finish();
      }
      const limit = await awsError(east.send(new RotateKeyOnDemandCommand({ KeyId: keyId })));
      expect(limit.name).toBe('LimitExceededException');
      expect(limit.message).toContain('on-demand rotations limit has been reached');
      const rotations = await east.send(new ListKeyRotationsCommand({ KeyId: keyId, Limit: 4 }));
      expect(rotations).toMatchObject({ Truncated: true });
      expect(rotations.Rotations?.[0]).toMatchObject({ KeyId: keyId, RotationType: 'ON_DEMAND', RotationDate: new Date(NOW + kms.onDemandRotationMs) });
      expect((await east.send(new ListKeyRotationsCommand({ KeyId: keyId, Limit: 100 }))).Rotations).toHaveLength(25);
    } finally {
      now = NOW;
    }
    const rsa = await east.send(new CreateKeyCommand({ KeySpec: 'RSA_3072', KeyUsage: 'ENCRYPT_DECRYPT' }));
    expect((await awsError(east.send(new RotateKeyOnDemandCommand({ KeyId: rsa.KeyMetadata!.KeyId! })))).name).toBe('UnsupportedOperationException');
    expect((await awsError(east.send(new RotateKeyOnDemandCommand({ KeyId: AWS_KEYS.prodEastUsEast1.alias })))).name).toBe('NotFoundException');
  });

  it('replicates a multi-Region key; the replica shares rotation state and refuses to be rotated itself', async () => {
    const east = client();
    const west = client('eu-west-1');
    const { KeyMetadata } = await east.send(new CreateKeyCommand({ MultiRegion: true }));
    const primary = KeyMetadata!.Arn!;
    expect((await awsError(east.send(new ReplicateKeyCommand({ KeyId: primary, ReplicaRegion: 'us-east-1' })))).name).toBe('UnsupportedOperationException');
    const { ReplicaKeyMetadata } = await east.send(new ReplicateKeyCommand({ KeyId: primary, ReplicaRegion: 'eu-west-1' }));
    const replica = ReplicaKeyMetadata!.Arn!;
    expect((await awsError(east.send(new ReplicateKeyCommand({ KeyId: primary, ReplicaRegion: 'eu-west-1' })))).name).toBe('AlreadyExistsException');
    expect((await east.send(new DescribeKeyCommand({ KeyId: primary }))).KeyMetadata!.MultiRegionConfiguration).toMatchObject({
      MultiRegionKeyType: 'PRIMARY',
      ReplicaKeys: [{ Arn: replica, Region: 'eu-west-1' }],
    });
    const refused = await awsError(west.send(new RotateKeyOnDemandCommand({ KeyId: replica })));
    expect(refused).toMatchObject({ name: 'UnsupportedOperationException', message: expect.stringContaining(`call the operation on ${primary}`) });
    await east.send(new RotateKeyOnDemandCommand({ KeyId: primary }));
    expect((await west.send(new GetKeyRotationStatusCommand({ KeyId: replica }))).OnDemandRotationStartDate).toEqual(new Date(now));
    try {
      now += kms.onDemandRotationMs;
      expect((await west.send(new GetKeyRotationStatusCommand({ KeyId: replica }))).OnDemandRotationStartDate).toBeUndefined();
      expect((await west.send(new ListKeyRotationsCommand({ KeyId: replica }))).Rotations).toHaveLength(1);
    } finally {
      now = NOW;
    }
  });

  it('schedules deletion within 7-30 days and cancels it to Disabled', async () => {
    const east = client();
    const { KeyMetadata } = await east.send(new CreateKeyCommand({}));
    const keyId = KeyMetadata!.KeyId!;
    const six = await awsError(east.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 6 })));
    expect(six.message).toBe(
      "1 validation error detected: Value '6' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value greater than or equal to 7",
    );
    expect((await awsError(east.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 31 })))).name).toBe('ValidationException');
    const scheduled = await east.send(new ScheduleKeyDeletionCommand({ KeyId: keyId }));
    expect(scheduled).toMatchObject({ KeyId: KeyMetadata!.Arn, KeyState: 'PendingDeletion', PendingWindowInDays: 30, DeletionDate: new Date(NOW + 30 * DAY) });
    expect((await awsError(east.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 })))).name).toBe('KMSInvalidStateException');
    expect((await awsError(east.send(new CreateAliasCommand({ AliasName: 'alias/doomed', TargetKeyId: keyId })))).name).toBe('KMSInvalidStateException');
    expect((await east.send(new CancelKeyDeletionCommand({ KeyId: keyId }))).KeyId).toBe(KeyMetadata!.Arn);
    const cancelled = (await east.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
    expect(cancelled?.KeyState).toBe('Disabled');
    expect(cancelled?.DeletionDate).toBeUndefined();
    const again = await awsError(east.send(new CancelKeyDeletionCommand({ KeyId: keyId })));
    expect(again).toMatchObject({ name: 'KMSInvalidStateException', message: `${KeyMetadata!.Arn} is not pending deletion.` });
    const seven = await east.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    expect(seven.DeletionDate).toEqual(new Date(NOW + 7 * DAY));
  });

  it('denies operations the caller lacks permission for', async () => {
    kms.deny.add('GetKeyPolicy');
    try {
      const denied = await awsError(client().send(new GetKeyPolicyCommand({ KeyId: awsKeyArn(AWS_KEYS.unused) })));
      expect(denied.name).toBe('AccessDeniedException');
      expect(denied.message).toBe(
        `User: arn:aws:iam::${AWS_ACCOUNT}:user/sandbox-operator is not authorized to perform: kms:GetKeyPolicy on resource: ${awsKeyArn(AWS_KEYS.unused)} because no identity-based policy allows the kms:GetKeyPolicy action`,
      );
    } finally {
      kms.deny.clear();
    }
  });
});

describe('AWS KMS emulator: faults', () => {
  it('throttles with ThrottlingException and status 400', async () => {
    kms.faults.inject({ kind: 'throttle', count: 1, match: { operation: 'DescribeKey' } });
    const throttled = await awsError(client().send(new DescribeKeyCommand({ KeyId: AWS_KEYS.unused.id })));
    expect(throttled).toMatchObject({ name: 'ThrottlingException', message: 'Rate exceeded' });
    expect(throttled.$metadata.httpStatusCode).toBe(400);
  });

  it('answers server errors with KMSInternalException 503', async () => {
    kms.faults.inject({ kind: 'server_error', count: 1 });
    const failed = await awsError(client().send(new ListKeysCommand({})));
    expect(failed.name).toBe('KMSInternalException');
    expect(failed.$metadata.httpStatusCode).toBe(503);
  });

  it('resets connections', async () => {
    kms.faults.inject({ kind: 'reset', count: 1 });
    const before = kms.log.count({ operation: 'ListKeys' });
    const reset = await awsError(client().send(new ListKeysCommand({})));
    expect(reset.name).not.toBe('NotFoundException');
    expect(`${reset.name} ${reset.message} ${(reset as { code?: string }).code ?? ''}`).toMatch(/ECONNRESET|socket hang up/);
    expect(kms.log.count({ operation: 'ListKeys' })).toBe(before + 1);
  });

  it('lets the SDK retry a throttled request when attempts remain', async () => {
    kms.faults.inject({ kind: 'throttle', count: 1, match: { operation: 'ListAliases' } });
    const result = await client('us-east-1', { maxAttempts: 2 }).send(new ListAliasesCommand({}));
    expect(result.Aliases?.length).toBeGreaterThan(0);
  });
});

describe('AWS KMS emulator: checkCmekAccess', () => {
  const alias = (key: { region: string; alias: string }) => `arn:aws:kms:${key.region}:${AWS_ACCOUNT}:${key.alias}`;
  it('accepts enabled keys whose policy grants the role, including kms:*', async () => {
    expect(await kms.checkCmekAccess(awsKeyArn(AWS_KEYS.prodEastUsEast1), AWS_CMEK_ROLE)).toEqual({ ok: true });
    expect(await kms.checkCmekAccess(awsKeyArn(AWS_KEYS.prodEastUsWest2), AWS_CMEK_ROLE)).toEqual({ ok: true });
    expect(await kms.checkCmekAccess(alias(AWS_KEYS.prodEastNext), AWS_CMEK_ROLE)).toEqual({ ok: true });
  });

  it('explains each refusal like CockroachDB Cloud would', async () => {
    const message = async (uri: string, principal = AWS_CMEK_ROLE) => {
      const result = await kms.checkCmekAccess(uri, principal);
      expect(result.ok).toBe(false);
      return result.ok ? '' : result.message;
    };
    expect(await message(awsKeyArn(AWS_KEYS.reportsDisabled), `arn:aws:iam::${AWS_ACCOUNT}:role/crdb-cmek-reports`)).toBe(
      `KMS key ${awsKeyArn(AWS_KEYS.reportsDisabled)} is disabled; enable it and retry`,
    );
    expect(await message(awsKeyArn(AWS_KEYS.prodEastPast))).toContain('is pending deletion');
    expect(await message(awsKeyArn(AWS_KEYS.unused))).toBe(
      `role ${AWS_CMEK_ROLE} is not allowed kms:Encrypt, kms:Decrypt, kms:GenerateDataKey*, kms:DescribeKey, kms:ReEncrypt* on key ${awsKeyArn(AWS_KEYS.unused)}; grant it in the key policy and retry`,
    );
    expect(await message(awsKeyArn({ ...AWS_KEYS.wrongRegion, region: 'us-east-1' }))).toContain('was not found in region us-east-1');
    expect(await message(awsKeyArn(AWS_KEYS.prodEastUsEast1).replace(AWS_ACCOUNT, '999988887777'))).toContain('was not found');
    expect(await message('arn:aws:kms:us-east-1:1:key/x')).toContain('is not a valid AWS KMS key ARN');
    expect(await message(awsKeyArn(AWS_KEYS.prodEastUsEast1), 'crdb-cmek-prod-east')).toContain('is not an IAM role ARN');
    expect(await message(awsKeyArn(AWS_KEYS.prodEastUsEast1), `arn:aws:iam::${AWS_ACCOUNT}:role/someone-else`)).toContain('is not allowed kms:Encrypt');
  });
});
