import { beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import { AWS_CMEK_ROLE, AWS_KEYS, CLUSTER_IDS, GCP_CMEK_SERVICE_ACCOUNT, GCP_KEYS, awsKeyArn, gcpKeyName } from '../../src/sandbox/seed.js';
import { auditEntries, callTool, type TestServer } from '../helpers/harness.js';
import { cloudCalls, useFastSandboxServer } from './cmek-helpers.js';

let sandbox: Sandbox;
let server: TestServer;
const GCP_ID = CLUSTER_IDS['analytics-gcp'];

const gcpSpecs = () => [
  { region: 'us-central1', key_spec: { uri: gcpKeyName(GCP_KEYS.usCentral1), auth_principal: GCP_CMEK_SERVICE_ACCOUNT } },
  { region: 'europe-west1', key_spec: { type: 'GCP_CLOUD_KMS', uri: gcpKeyName(GCP_KEYS.europeWest1), auth_principal: GCP_CMEK_SERVICE_ACCOUNT } },
];

useFastSandboxServer((ready, readyServer) => {
  sandbox = ready;
  server = readyServer;
});
beforeEach(() => sandbox.cloud.reset());

describe('enable_cmek', () => {
  it('dry_run returns the exact POST body and the checks, and sends nothing', async () => {
    const result = await callTool(server.client, 'enable_cmek', { cluster: 'analytics-gcp', region_specs: gcpSpecs(), dry_run: true });
    expect(result.isError).toBe(false);
    expect(result.structured).toMatchObject({ outcome: 'dry_run', request: { method: 'POST', path: `/api/v1/clusters/${GCP_ID}/cmek` } });
    expect(result.structured!.request.body.region_specs).toEqual([
      { region: 'us-central1', key_spec: { type: 'GCP_CLOUD_KMS', uri: gcpKeyName(GCP_KEYS.usCentral1), auth_principal: GCP_CMEK_SERVICE_ACCOUNT } },
      { region: 'europe-west1', key_spec: { type: 'GCP_CLOUD_KMS', uri: gcpKeyName(GCP_KEYS.europeWest1), auth_principal: GCP_CMEK_SERVICE_ACCOUNT } },
    ]);
    const checks = result.structured!.checks.map((c: any) => `${c.check}:${c.result}`);
    expect(checks).toEqual(expect.arrayContaining(['region_coverage:pass', 'key_usable:pass', 'key_access:pass']));
    expect(cloudCalls(sandbox, 'POST')).toBe(0);
  });

  it('enables CMEK on the GCP cluster, with progress, and reports each region', async () => {
    const progress: string[] = [];
    const result = await callTool(
      server.client,
      'enable_cmek',
      {
        cluster: 'analytics-gcp',
        keys: { 'us-central1': gcpKeyName(GCP_KEYS.usCentral1), 'europe-west1': gcpKeyName(GCP_KEYS.europeWest1) },
        auth_principal: GCP_CMEK_SERVICE_ACCOUNT,
      },
      { onprogress: (p) => progress.push(p.message ?? '') },
    );
    expect(result.isError).toBe(false);
    expect(result.structured).toMatchObject({ outcome: 'enabled', status: 'ENABLED' });
    expect(result.structured!.regions.map((r: any) => [r.region, r.status])).toEqual([
      ['us-central1', 'ENABLED'],
      ['europe-west1', 'ENABLED'],
    ]);
    expect(progress.length).toBeGreaterThan(0);
    expect(cloudCalls(sandbox, 'POST', 'POST /cmek')).toBe(1);
    expect(sandbox.cloud.cmek(GCP_ID)?.status).toBe('ENABLED');
    expect(result.text).toMatch(/Next: /);
    const audit = auditEntries(server.config.auditLog);
    expect(audit.at(-1)).toMatchObject({
      tool: 'enable_cmek',
      target: 'analytics-gcp',
      outcome: 'succeeded',
      requestIds: expect.arrayContaining([expect.any(String)]),
    });

    const again = await callTool(server.client, 'enable_cmek', { cluster: 'analytics-gcp', region_specs: gcpSpecs() });
    expect(again.isError).toBe(true);
    expect(again.text).toMatch(/already set up.*rotate_cmek/s);
    expect(cloudCalls(sandbox, 'POST', 'POST /cmek')).toBe(1);
  });

  it.each([
    ['a missing region', { cluster: 'analytics-gcp', region_specs: gcpSpecs().slice(0, 1) }, /Missing a key for europe-west1/],
    ['an unknown region', { cluster: 'analytics-gcp', region_specs: [...gcpSpecs(), { ...gcpSpecs()[0]!, region: 'asia-east1' }] }, /has no region asia-east1/],
    ['a duplicate region', { cluster: 'analytics-gcp', region_specs: [...gcpSpecs(), gcpSpecs()[0]!] }, /more than once/],
    [
      'the wrong key type',
      { cluster: 'analytics-gcp', region_specs: [{ ...gcpSpecs()[0]!, key_spec: { ...gcpSpecs()[0]!.key_spec, type: 'AWS_KMS' } }, gcpSpecs()[1]!] },
      /needs GCP_CLOUD_KMS/,
    ],
    [
      'a GCP key name with a version',
      {
        cluster: 'analytics-gcp',
        region_specs: [
          { region: 'us-central1', key_spec: { uri: `${gcpKeyName(GCP_KEYS.usCentral1)}/cryptoKeyVersions/1`, auth_principal: GCP_CMEK_SERVICE_ACCOUNT } },
          gcpSpecs()[1]!,
        ],
      },
      /WITHOUT \/cryptoKeyVersions/,
    ],
    [
      'a principal of the wrong shape',
      {
        cluster: 'analytics-gcp',
        keys: { 'us-central1': gcpKeyName(GCP_KEYS.usCentral1), 'europe-west1': gcpKeyName(GCP_KEYS.europeWest1) },
        auth_principal: AWS_CMEK_ROLE,
      },
      /not the email of the cross-tenant service account in your project/,
    ],
    [
      'CMEK already enabled',
      {
        cluster: 'prod-east',
        keys: { 'us-east-1': awsKeyArn(AWS_KEYS.prodEastNext), 'us-west-2': awsKeyArn(AWS_KEYS.prodEastNextWest) },
        auth_principal: AWS_CMEK_ROLE,
      },
      /already set up.*rotate_cmek/s,
    ],
  ])('refuses %s before any POST', async (_name, args, message) => {
    const result = await callTool(server.client, 'enable_cmek', args);
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(message);
    expect(result.text).toMatch(/Next: /);
    expect(cloudCalls(sandbox, 'POST')).toBe(0);
  });

  it('a key outside the region warns, never refuses; the dry run states the enable caveats', async () => {
    const result = await callTool(server.client, 'enable_cmek', {
      cluster: 'analytics-gcp',
      keys: { 'us-central1': gcpKeyName(GCP_KEYS.wrongLocation), 'europe-west1': gcpKeyName(GCP_KEYS.europeWest1) },
      auth_principal: GCP_CMEK_SERVICE_ACCOUNT,
      dry_run: true,
    });
    expect(result.isError, result.text).toBe(false);
    const checks = result.structured!.checks as Array<{ check: string; result: string; region?: string }>;
    expect(checks.find((c) => c.check === 'key_location')).toMatchObject({ result: 'warn', region: 'us-central1' });
    expect(checks.filter((c) => c.result === 'warn').map((c) => c.check)).toEqual(expect.arrayContaining(['existing_data', 'pre_cmek_backups']));
    expect(result.text).toMatch(/does not re-encrypt data already written/);
    expect(result.text).toMatch(/backups taken before CMEK is enabled can no longer be restored/);
    expect(cloudCalls(sandbox, 'POST')).toBe(0);
  });

  it('refuses a key the principal is not granted on, naming the missing permission', async () => {
    const result = await callTool(server.client, 'enable_cmek', {
      cluster: 'analytics-gcp',
      keys: { 'us-central1': gcpKeyName(GCP_KEYS.usCentral1), 'europe-west1': gcpKeyName(GCP_KEYS.europeWest1) },
      auth_principal: 'someone-else@acme-kms-prod.iam.gserviceaccount.com',
    });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/lacks .* on the key/);
    expect(cloudCalls(sandbox, 'POST')).toBe(0);
  });
});
