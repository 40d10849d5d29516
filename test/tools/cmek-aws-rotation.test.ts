/**
 * AWS on-demand rotation through rotate_cmek, with the real @aws-sdk/client-kms against the
 * emulator: asynchronous (the PUT waits for the new key material), 25 per key, and a
 * multi-Region replica rotated through its primary.
 */
import { CreateKeyCommand, KMSClient, ReplicateKeyCommand, RotateKeyOnDemandCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAwsKmsProvider } from '../../src/kms/providers/aws/client.js';
import { cmekKeyPolicy } from '../../src/kms/providers/aws/policy.js';
import { createKmsRegistry } from '../../src/kms/registry.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { AWS_ACCOUNT, AWS_CMEK_ROLE, AWS_KEYS, CLUSTER_IDS, awsKeyArn } from '../../src/sandbox/seed.js';
import { callTool, type TestServer } from '../helpers/harness.js';
import { startCmekServer } from './cmek-helpers.js';

let sandbox: Sandbox;
let server: TestServer;
let sdk: KMSClient;
const PROD = CLUSTER_IDS['prod-east'];
const EAST = awsKeyArn(AWS_KEYS.prodEastUsEast1);
const WEST = awsKeyArn(AWS_KEYS.prodEastUsWest2);

const count = (operation: string) => sandbox.aws.log.count({ operation });
const puts = () => sandbox.cloud.log.entries.filter((entry) => entry.method === 'PUT' && entry.operation === 'PUT /cmek');

beforeAll(async () => {
  sandbox = await startSandbox({ cmekTransitionMs: 30, rateLimitPerSecond: 1000 });
  // No SDK retries: every KMS call the tool makes is visible once at the emulator.
  const kms = createKmsRegistry(async (type) => {
    if (type !== 'AWS_KMS') throw new Error(`unexpected ${type}`);
    return createAwsKmsProvider({ endpoint: sandbox.aws.url, credentials: sandbox.aws.credentials, maxAttempts: 1, rotationPollMs: 5 });
  });
  server = await startCmekServer(sandbox, { deps: { kms } });
  sdk = new KMSClient({ region: 'us-east-1', endpoint: sandbox.aws.url, credentials: sandbox.aws.credentials, maxAttempts: 1 });
});
afterAll(async () => {
  sdk.destroy();
  await server.close();
  await sandbox.stop();
});
beforeEach(() => {
  sandbox.cloud.reset();
  sandbox.aws.onDemandRotationMs = 150;
});

describe('rotate_cmek new_version on AWS', () => {
  it("waits for each key's new material (GetKeyRotationStatus) before the one PUT /cmek", async () => {
    const polls = count('GetKeyRotationStatus');
    const result = await callTool(server.client, 'rotate_cmek', { cluster: 'prod-east', mode: 'new_version' });
    expect(result.isError).toBe(false);
    expect(result.structured!.outcome).toBe('rotated');
    const east = sandbox.aws.rotationsOf(EAST)!;
    const west = sandbox.aws.rotationsOf(WEST)!;
    expect(east.inProgressSince).toBeUndefined();
    expect(west.inProgressSince).toBeUndefined();
    const done = [east, west].map((history) => history.completed.filter((r) => r.type === 'ON_DEMAND').at(-1)!.at);
    expect(puts()).toHaveLength(1);
    // The PUT went out only after both rotations had completed at AWS.
    expect(puts()[0]!.at).toBeGreaterThanOrEqual(Math.max(...done));
    // Each key: one status read before starting, then polls until the start date disappeared.
    expect(count('GetKeyRotationStatus') - polls).toBeGreaterThanOrEqual(4);
    expect(result.structured!.kms_rotations.map((r: any) => r.detail)).toEqual([
      expect.stringMatching(/new key material is in place \(GetKeyRotationStatus shows no rotation in progress\)/),
      expect.stringMatching(/new key material is in place/),
    ]);
  });

  it('refuses a key that used its 25 on-demand rotations before calling AWS, and names the way out', async () => {
    sandbox.aws.onDemandRotationMs = 0;
    const key = await sdk.send(new CreateKeyCommand({ Policy: JSON.stringify(cmekKeyPolicy(AWS_ACCOUNT, AWS_CMEK_ROLE)) }));
    const arn = key.KeyMetadata!.Arn!;
    const moved = await callTool(server.client, 'rotate_cmek', { cluster: 'prod-east', mode: 'new_key', new_keys: { 'us-east-1': arn } });
    expect(moved.structured!.outcome).toBe('rotated');
    for (let i = 0; i < 25; i++) await sdk.send(new RotateKeyOnDemandCommand({ KeyId: arn }));
    const started = count('RotateKeyOnDemand');
    const putsBefore = puts().length;

    const refused = await callTool(server.client, 'rotate_cmek', { cluster: 'prod-east', mode: 'new_version', regions: ['us-east-1'] });
    expect(refused.isError).toBe(true);
    expect(refused.text).toContain(`Key ${arn} has used all 25 on-demand rotations AWS KMS allows per key (25 of 25 used (ListKeyRotations))`);
    expect(refused.text).toContain('Nothing was sent to CockroachDB Cloud');
    const [provision, rotate] = refused.structured!.next_actions;
    expect(provision).toMatchObject({
      tool: 'provision_cmek_key',
      arguments: { cluster: 'prod-east', regions: ['us-east-1'], auth_principal: AWS_CMEK_ROLE, dry_run: true },
    });
    expect(rotate).toMatchObject({
      tool: 'rotate_cmek',
      arguments: { cluster: 'prod-east', mode: 'new_key', regions: ['us-east-1'] },
      needs: { new_keys: expect.any(String) },
    });
    expect(count('RotateKeyOnDemand')).toBe(started);
    expect(puts()).toHaveLength(putsBefore);
  });

  it("maps AWS's LimitExceededException to the same way out when the rotations cannot be listed", async () => {
    sandbox.aws.onDemandRotationMs = 0;
    const key = await sdk.send(new CreateKeyCommand({ Policy: JSON.stringify(cmekKeyPolicy(AWS_ACCOUNT, AWS_CMEK_ROLE)) }));
    const arn = key.KeyMetadata!.Arn!;
    await callTool(server.client, 'rotate_cmek', { cluster: 'prod-east', mode: 'new_key', new_keys: { 'us-east-1': arn } });
    for (let i = 0; i < 25; i++) await sdk.send(new RotateKeyOnDemandCommand({ KeyId: arn }));
    sandbox.aws.deny.add('ListKeyRotations');
    try {
      const started = count('RotateKeyOnDemand');
      const refused = await callTool(server.client, 'rotate_cmek', { cluster: 'prod-east', mode: 'new_version', regions: ['us-east-1'] });
      expect(refused.isError).toBe(true);
      expect(refused.text).toMatch(/all 25 on-demand rotations .*on-demand rotations limit has been reached/);
      expect(refused.structured!.next_actions[0].tool).toBe('provision_cmek_key');
      expect(count('RotateKeyOnDemand')).toBe(started + 1);
    } finally {
      sandbox.aws.deny.delete('ListKeyRotations');
    }
  });

  it('rotates a region on a multi-Region replica through its primary, and PUTs the replica ARN', async () => {
    const key = await sdk.send(new CreateKeyCommand({ MultiRegion: true, Policy: JSON.stringify(cmekKeyPolicy(AWS_ACCOUNT, AWS_CMEK_ROLE)) }));
    const primary = key.KeyMetadata!.Arn!;
    const { ReplicaKeyMetadata } = await sdk.send(new ReplicateKeyCommand({ KeyId: primary, ReplicaRegion: 'us-west-2' }));
    const replica = ReplicaKeyMetadata!.Arn!;
    const moved = await callTool(server.client, 'rotate_cmek', { cluster: 'prod-east', mode: 'new_key', new_keys: { 'us-west-2': replica } });
    expect(moved.structured!.outcome).toBe('rotated');

    const result = await callTool(server.client, 'rotate_cmek', { cluster: 'prod-east', mode: 'new_version', regions: ['us-west-2'] });
    expect(result.isError).toBe(false);
    expect(result.structured!.outcome).toBe('rotated');
    expect(result.structured!.kms_rotations).toEqual([
      { uri: replica, new_uri: replica, detail: expect.stringContaining(`through its primary ${primary} (a replica cannot be rotated itself`) },
    ]);
    expect(sandbox.aws.rotationsOf(primary)!.completed.map((r) => r.type)).toEqual(['ON_DEMAND']);
    expect(result.structured!.request.body.region_specs).toEqual([
      { region: 'us-west-2', key_spec: { type: 'AWS_KMS', uri: replica, auth_principal: AWS_CMEK_ROLE } },
    ]);
    expect(sandbox.cloud.cmek(PROD)?.status).toBe('ENABLED');
  });
});
