import { beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import { AWS_KEYS, AZURE_KEYS, AZURE_TENANT, AZURE_VAULT, CLUSTER_IDS, awsKeyArn, azureKeyId } from '../../src/sandbox/seed.js';
import { callTool, type TestServer } from '../helpers/harness.js';
import { cloudCalls, useFastSandboxServer } from './cmek-helpers.js';

let sandbox: Sandbox;
let server: TestServer;
const PROD = CLUSTER_IDS['prod-east'];
const EAST = awsKeyArn(AWS_KEYS.prodEastUsEast1);
const WEST = awsKeyArn(AWS_KEYS.prodEastUsWest2);
const NEXT_EAST = awsKeyArn(AWS_KEYS.prodEastNext);
const NEXT_WEST = awsKeyArn(AWS_KEYS.prodEastNextWest);

useFastSandboxServer((ready, readyServer) => {
  sandbox = ready;
  server = readyServer;
});
beforeEach(() => sandbox.cloud.reset());

const putBodies = () => sandbox.cloud.cmekMutations(PROD);
const awsRotations = () => sandbox.aws.log.count({ operation: 'RotateKeyOnDemand' });

describe('rotate_cmek new_version', () => {
  it('dry_run shows the PUT and the warnings and changes nothing, in the KMS or the Cloud', async () => {
    const before = awsRotations();
    const result = await callTool(server.client, 'rotate_cmek', { cluster: 'prod-east', mode: 'new_version', dry_run: true });
    expect(result.isError).toBe(false);
    expect(result.structured).toMatchObject({ outcome: 'dry_run', request: { method: 'PUT', path: `/api/v1/clusters/${PROD}/cmek` } });
    expect(result.structured!.request.body.region_specs.map((s: any) => s.key_spec.uri)).toEqual([EAST, WEST]);
    expect(result.text).toMatch(/scheduled for deletion.*cancel the deletion/);
    expect(cloudCalls(sandbox, 'PUT')).toBe(0);
    expect(awsRotations()).toBe(before);
  });

  it('makes a new KMS version per key, PUTs once with the same URIs and verifies both regions', async () => {
    const before = awsRotations();
    const progress: number[] = [];
    const result = await callTool(
      server.client,
      'rotate_cmek',
      { cluster: 'prod-east', mode: 'new_version' },
      { onprogress: (p) => progress.push(p.progress) },
    );
    expect(result.isError).toBe(false);
    expect(result.structured!.outcome).toBe('rotated');
    expect(awsRotations() - before).toBe(2);
    expect(result.structured!.kms_rotations.map((r: any) => [r.uri, r.new_uri])).toEqual([
      [EAST, EAST],
      [WEST, WEST],
    ]);
    expect(cloudCalls(sandbox, 'PUT', 'PUT /cmek')).toBe(1);
    expect(result.structured!.regions.map((r: any) => [r.region, r.result, r.key_uri])).toEqual([
      ['us-east-1', 'rotated', EAST],
      ['us-west-2', 'rotated', WEST],
    ]);
    expect(progress.length).toBeGreaterThan(0);
    expect(result.text).toMatch(/Keep every previous key enabled/);
  });

  it('reports a region that fails precisely, keeps the other, and a re-run resumes only that region', async () => {
    sandbox.cloud.failRegionOnNextRotate('us-west-2');
    const first = await callTool(server.client, 'rotate_cmek', { cluster: 'prod-east', mode: 'new_version' });
    expect(first.isError).toBe(false);
    expect(first.structured!.outcome).toBe('partial');
    const regions = Object.fromEntries(first.structured!.regions.map((r: any) => [r.region, r]));
    expect(regions['us-east-1']).toMatchObject({ result: 'rotated', status: 'ENABLED' });
    expect(regions['us-west-2']).toMatchObject({
      result: 'failed',
      status: 'ROTATE_FAILED',
      user_message: expect.stringMatching(/could not re-wrap the store key in us-west-2/),
    });
    expect(first.text).toMatch(/PARTIAL/);
    expect(first.text).toMatch(/us-west-2: FAILED/);
    expect(first.text).toMatch(/us-east-1: ROTATED/);
    expect(first.text).toMatch(/re-run rotate_cmek prod-east mode new_version: it resumes only the failed regions/);

    const rotationsBefore = awsRotations();
    const second = await callTool(server.client, 'rotate_cmek', { cluster: 'prod-east', mode: 'new_version' });
    expect(second.structured!.outcome).toBe('rotated');
    expect(second.structured!.plan.map((p: any) => [p.region, p.action])).toEqual([['us-west-2', 'resume']]);
    expect(second.structured!.request.body.region_specs.map((s: any) => s.region)).toEqual(['us-west-2']);
    expect(awsRotations()).toBe(rotationsBefore);
    expect(sandbox.cloud.cmek(PROD)?.status).toBe('ENABLED');
    expect(cloudCalls(sandbox, 'PUT', 'PUT /cmek')).toBe(2);
  });

  it('rotates only the regions asked for', async () => {
    const result = await callTool(server.client, 'rotate_cmek', { cluster: 'prod-east', mode: 'new_version', regions: ['us-west-2'] });
    expect(result.structured!.outcome).toBe('rotated');
    expect(result.structured!.request.body.region_specs.map((s: any) => s.region)).toEqual(['us-west-2']);
  });
});

describe('rotate_cmek on Azure', () => {
  it('new_version PUTs the new versioned key id and keeps the old version as a past key', async () => {
    const uri = azureKeyId(AZURE_VAULT, AZURE_KEYS.payments.name, AZURE_KEYS.payments.version);
    const enabled = await callTool(server.client, 'enable_cmek', { cluster: 'payments-azure', keys: { eastus: uri }, auth_principal: AZURE_TENANT });
    expect(enabled.structured!.outcome).toBe('enabled');
    const dry = await callTool(server.client, 'rotate_cmek', { cluster: 'payments-azure', mode: 'new_version', dry_run: true });
    expect(dry.structured!.request.body.region_specs[0].key_spec.uri).toBe(`<new version of ${uri}>`);
    const result = await callTool(server.client, 'rotate_cmek', { cluster: 'payments-azure', mode: 'new_version' });
    expect(result.structured!.outcome).toBe('rotated');
    const newUri = result.structured!.kms_rotations[0].new_uri;
    expect(newUri).toMatch(/^https:\/\/acme-crdb-kv\.vault\.azure\.net\/keys\/payments-cmek\/[0-9a-f]{32}$/);
    expect(newUri).not.toBe(uri);
    expect(result.structured!.request.body.region_specs[0].key_spec.uri).toBe(newUri);
    expect(result.structured!.regions[0]).toMatchObject({ result: 'rotated', key_uri: newUri, previous_key_uri: uri });
    const status = await callTool(server.client, 'get_cmek_status', { cluster: 'payments-azure' });
    expect(status.structured!.regions[0].past_keys.map((k: any) => k.uri)).toEqual([uri]);
  });
});

describe('rotate_cmek new_key', () => {
  it('switches both regions to the new keys and keeps the old ones as past keys', async () => {
    const result = await callTool(server.client, 'rotate_cmek', {
      cluster: 'prod-east',
      mode: 'new_key',
      new_keys: { 'us-east-1': NEXT_EAST, 'us-west-2': NEXT_WEST },
    });
    expect(result.isError).toBe(false);
    expect(result.structured!.outcome).toBe('rotated');
    expect(result.structured!.kms_rotations).toEqual([]);
    expect(result.structured!.regions.map((r: any) => [r.region, r.result, r.key_uri, r.previous_key_uri])).toEqual([
      ['us-east-1', 'rotated', NEXT_EAST, EAST],
      ['us-west-2', 'rotated', NEXT_WEST, WEST],
    ]);
    const status = await callTool(server.client, 'get_cmek_status', { cluster: 'prod-east' });
    const east = status.structured!.regions.find((r: any) => r.region === 'us-east-1');
    expect(east.current_key.uri).toBe(NEXT_EAST);
    expect(east.past_keys.map((k: any) => k.uri)).toEqual(expect.arrayContaining([EAST]));

    const rerun = await callTool(server.client, 'rotate_cmek', {
      cluster: 'prod-east',
      mode: 'new_key',
      new_keys: { 'us-east-1': NEXT_EAST, 'us-west-2': NEXT_WEST },
    });
    expect(rerun.structured!.outcome).toBe('nothing_to_do');
    expect(cloudCalls(sandbox, 'PUT', 'PUT /cmek')).toBe(1);
  });

  it('a failed region in new_key mode is resumed with the same new_keys; the finished region is skipped', async () => {
    sandbox.cloud.failRegionOnNextRotate('us-west-2');
    const args = { cluster: 'prod-east', mode: 'new_key', new_keys: { 'us-east-1': NEXT_EAST, 'us-west-2': NEXT_WEST } };
    const first = await callTool(server.client, 'rotate_cmek', args);
    expect(first.structured!.outcome).toBe('partial');
    const second = await callTool(server.client, 'rotate_cmek', args);
    expect(second.structured!.plan.map((p: any) => [p.region, p.action])).toEqual([
      ['us-east-1', 'skip'],
      ['us-west-2', 'resume'],
    ]);
    expect(second.structured!.outcome).toBe('rotated');
    expect(second.structured!.request.body.region_specs).toEqual([{ region: 'us-west-2', key_spec: expect.objectContaining({ uri: NEXT_WEST }) }]);
  });

  it('a new key in another region warns, never refuses (dry run)', async () => {
    const result = await callTool(server.client, 'rotate_cmek', {
      cluster: 'prod-east',
      mode: 'new_key',
      new_keys: { 'us-east-1': awsKeyArn(AWS_KEYS.wrongRegion) },
      dry_run: true,
    });
    expect(result.text).not.toMatch(/but the cluster region is/);
    expect(result.text).toMatch(/in eu-central-1 and serves us-east-1/);
    expect(cloudCalls(sandbox, 'PUT')).toBe(0);
  });

  it('refuses a disabled target key (the KMS check), naming it', async () => {
    const result = await callTool(server.client, 'rotate_cmek', { cluster: 'reports-aws', mode: 'new_version' });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/Disabled/);
    expect(cloudCalls(sandbox, 'PUT')).toBe(0);
  });

  it('refuses a cluster without CMEK', async () => {
    const result = await callTool(server.client, 'rotate_cmek', { cluster: 'analytics-gcp', mode: 'new_version' });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/not enabled.*enable_cmek/s);
    expect(putBodies()).toBe(0);
  });
});
