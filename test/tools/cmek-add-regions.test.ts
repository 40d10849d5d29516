/**
 * Adding a region to a CMEK cluster (enable_cmek add_regions) through a real MCP client against
 * the sandbox: the dry run shows PATCH /clusters/{id} with the whole region map and keys for the
 * new regions only; the next action sends exactly that; refusals send nothing; the audit log
 * records each attempt. Also: key/principal account warnings at the tool level, and the
 * per-cluster lock across enable, add-region and rotate.
 */
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cmekKeyPolicy } from '../../src/kms/providers/aws/policy.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import {
  AWS_ACCOUNT,
  AWS_CMEK_ROLE,
  AZURE_KEYS,
  AZURE_TENANT,
  AZURE_VAULT,
  azureKeyId,
  CLUSTER_IDS,
  GCP_CMEK_SERVICE_ACCOUNT,
  GCP_KEYS,
  gcpKeyName,
} from '../../src/sandbox/seed.js';
import { auditEntries, callTool, type TestServer } from '../helpers/harness.js';
import { cloudCalls, useFastSandboxServer } from './cmek-helpers.js';

let sandbox: Sandbox;
let server: TestServer;
let sdk: KMSClient;
const PROD = CLUSTER_IDS['prod-east'];
const OTHER_ROLE = 'arn:aws:iam::444455556666:role/crdb-cmek-elsewhere';

useFastSandboxServer((ready, readyServer) => {
  sandbox = ready;
  server = readyServer;
});
beforeAll(() => {
  sdk = new KMSClient({ region: 'eu-west-1', endpoint: sandbox.aws.url, credentials: sandbox.aws.credentials, maxAttempts: 1 });
});
afterAll(() => sdk.destroy());
beforeEach(() => sandbox.cloud.reset());

/** A key in eu-west-1 whose policy grants `role`. */
async function euKey(role = AWS_CMEK_ROLE): Promise<string> {
  const { KeyMetadata } = await sdk.send(new CreateKeyCommand({ Policy: JSON.stringify(cmekKeyPolicy(AWS_ACCOUNT, role)) }));
  return KeyMetadata!.Arn!;
}

const audit = () => auditEntries(server.config.auditLog).filter((entry) => entry.tool === 'enable_cmek' && entry.outcome !== 'attempted');

describe('enable_cmek add_regions', () => {
  it('dry run shows method, path and the full body; following next_actions[0] adds the region with CMEK ENABLED', async () => {
    const key = await euKey();
    const spec = { region: 'eu-west-1', key_spec: { type: 'AWS_KMS', uri: key, auth_principal: AWS_CMEK_ROLE } };
    const dry = await callTool(server.client, 'enable_cmek', { cluster: 'prod-east', add_regions: { 'eu-west-1': 3 }, region_specs: [spec], dry_run: true });
    expect(dry.isError, dry.text).toBe(false);
    expect(dry.structured!.request).toEqual({
      method: 'PATCH',
      path: `/api/v1/clusters/${PROD}`,
      body: { dedicated: { region_nodes: { 'us-east-1': 3, 'us-west-2': 3, 'eu-west-1': 3 }, cmek_region_specs: [spec] } },
    });
    expect(dry.text).toContain(`PATCH /api/v1/clusters/${PROD}\n{`);
    expect(dry.text).toContain('"cmek_region_specs"');
    expect(dry.structured!.checks.map((c: any) => `${c.check}:${c.result}`)).toEqual(
      expect.arrayContaining(['region_coverage:pass', 'key_access:pass', 'key_account:pass']),
    );
    expect(cloudCalls(sandbox, 'PATCH')).toBe(0);
    const [send] = dry.structured!.next_actions;
    expect(send).toEqual({
      tool: 'enable_cmek',
      arguments: { cluster: 'prod-east', region_specs: [spec], add_regions: { 'eu-west-1': 3 } },
      why: expect.any(String),
    });

    const done = await callTool(server.client, send.tool, send.arguments);
    expect(done.isError, done.text).toBe(false);
    expect(done.structured).toMatchObject({ outcome: 'enabled', regions: [{ region: 'eu-west-1', status: 'ENABLED', key_uri: key }] });
    expect(done.text).toMatch(/^adding eu-west-1 to prod-east: enabled/);
    expect(cloudCalls(sandbox, 'PATCH', 'PATCH /cluster')).toBe(1);
    expect(cloudCalls(sandbox, 'POST')).toBe(0);
    expect(sandbox.cloud.cmek(PROD)!.region_infos!.map((r) => [r.region, r.status])).toEqual([
      ['eu-west-1', 'ENABLED'],
      ['us-east-1', 'ENABLED'],
      ['us-west-2', 'ENABLED'],
    ]);
    expect(done.structured!.next_actions[0]).toEqual({ tool: 'get_cmek_status', arguments: { cluster: 'prod-east' }, why: expect.any(String) });
    expect(
      audit()
        .slice(-2)
        .map((entry) => entry.outcome),
    ).toEqual(['dry_run', 'succeeded']);
  });

  it('refuses, sending nothing: an existing region, a key for an existing region, a new region without a key, a cluster without CMEK', async () => {
    const key = await euKey();
    const eu = { region: 'eu-west-1', key_spec: { uri: key, auth_principal: AWS_CMEK_ROLE } };
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ cluster: 'prod-east', add_regions: { 'us-west-2': 3 }, region_specs: [eu] }, /us-west-2 already belong to prod-east/],
      [
        {
          cluster: 'prod-east',
          add_regions: { 'eu-west-1': 3 },
          region_specs: [eu, { region: 'us-east-1', key_spec: { uri: key, auth_principal: AWS_CMEK_ROLE } }],
        },
        /Keys were given for us-east-1, which already belong to prod-east/,
      ],
      [{ cluster: 'prod-east', add_regions: { 'eu-west-1': 3, 'ap-south-1': 3 }, region_specs: [eu] }, /Missing a key for ap-south-1/],
      [
        {
          cluster: 'analytics-gcp',
          add_regions: { 'asia-east1': 3 },
          keys: { 'asia-east1': gcpKeyName(GCP_KEYS.usCentral1) },
          auth_principal: GCP_CMEK_SERVICE_ACCOUNT,
        },
        /add_regions is for clusters whose CMEK is ENABLED; analytics-gcp is NOT_ENABLED/,
      ],
    ];
    for (const [args, why] of cases) {
      const refused = await callTool(server.client, 'enable_cmek', args);
      expect(refused.isError, JSON.stringify(args)).toBe(true);
      expect(refused.text).toMatch(why);
    }
    expect(cloudCalls(sandbox, 'PATCH')).toBe(0);
    expect(
      audit()
        .slice(-4)
        .map((entry) => entry.outcome),
    ).toEqual(['refused', 'refused', 'refused', 'refused']);
  });

  it('warns in the dry run when the new key grants a role in another AWS account', async () => {
    const key = await euKey(OTHER_ROLE);
    const dry = await callTool(server.client, 'enable_cmek', {
      cluster: 'prod-east',
      add_regions: { 'eu-west-1': 3 },
      keys: { 'eu-west-1': key },
      auth_principal: OTHER_ROLE,
      dry_run: true,
    });
    expect(dry.isError, dry.text).toBe(false);
    const warning = dry.structured!.checks.find((c: any) => c.check === 'principal_account');
    expect(warning).toMatchObject({ result: 'warn', region: 'eu-west-1' });
    expect(dry.text).toContain(
      `The auth_principal ${OTHER_ROLE} is in AWS account 444455556666, unlike the cluster's existing keys (AWS account ${AWS_ACCOUNT})`,
    );
  });
});

describe('account warnings on the other CMEK tools', () => {
  it('rotate_cmek new_key (Azure): a key in another vault is warned about in the dry run; another tenant is refused by the vault check', async () => {
    const other = '0b6c6d1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e';
    const current = azureKeyId(AZURE_VAULT, AZURE_KEYS.payments.name, AZURE_KEYS.payments.version);
    const enabled = await callTool(server.client, 'enable_cmek', { cluster: 'payments-azure', keys: { eastus: current }, auth_principal: AZURE_TENANT });
    expect(enabled.structured?.outcome, enabled.text).toBe('enabled');
    const provisioned = await callTool(server.client, 'provision_cmek_key', {
      cluster: 'payments-azure',
      key_name: 'payments-next',
      azure_vault: AZURE_KEYS.protectedVault.name,
      auth_principal: AZURE_TENANT,
    });
    expect(provisioned.isError, provisioned.text).toBe(false);
    const next = provisioned.structured!.region_specs[0].key_spec.uri as string;
    const dry = await callTool(server.client, 'rotate_cmek', {
      cluster: 'payments-azure',
      mode: 'new_key',
      new_keys: { eastus: next },
      auth_principal: AZURE_TENANT,
      dry_run: true,
    });
    expect(dry.structured!.outcome, dry.text).toBe('dry_run');
    const foreign = await callTool(server.client, 'rotate_cmek', {
      cluster: 'payments-azure',
      mode: 'new_key',
      new_keys: { eastus: next },
      auth_principal: other,
      dry_run: true,
    });
    expect(foreign.isError).toBe(true);
    expect(foreign.text).toContain(`auth_principal must be the vault's tenant id ${AZURE_TENANT}`);
    expect(dry.text).toContain(
      `is in Key Vault ${AZURE_KEYS.protectedVault.name}.vault.azure.net, unlike the cluster's existing keys (Key Vault ${AZURE_VAULT}.vault.azure.net)`,
    );
  });

  it('enable_cmek (GCP): keys of one request in two projects are warned about', async () => {
    const foreign = `projects/other-kms-project/locations/europe-west1/keyRings/crdb/cryptoKeys/analytics`;
    const dry = await callTool(server.client, 'enable_cmek', {
      cluster: 'analytics-gcp',
      keys: { 'us-central1': gcpKeyName(GCP_KEYS.usCentral1), 'europe-west1': foreign },
      auth_principal: GCP_CMEK_SERVICE_ACCOUNT,
      dry_run: true,
    });
    expect(dry.text).toMatch(/europe-west1: .*GCP project other-kms-project, unlike the other keys of this request/);
  });
});

describe('per-cluster mutation lock across CMEK tools', () => {
  it('two identical concurrent enables send one POST; the second sees the first result', async () => {
    // A 1 s transition keeps the first enable in progress until the second arrives, however loaded the machine.
    sandbox.cloud.setCmekTransitionMs(1_000);
    const args = {
      cluster: 'analytics-gcp',
      keys: { 'us-central1': gcpKeyName(GCP_KEYS.usCentral1), 'europe-west1': gcpKeyName(GCP_KEYS.europeWest1) },
      auth_principal: GCP_CMEK_SERVICE_ACCOUNT,
    };
    const results = await Promise.all([callTool(server.client, 'enable_cmek', args), callTool(server.client, 'enable_cmek', args)]);
    expect(results.map((r) => r.isError)).toEqual([false, false]);
    expect(cloudCalls(sandbox, 'POST', 'POST /cmek')).toBe(1);
    const joined = results.filter((r) => r.structured!.joined === true);
    expect(joined).toHaveLength(1);
    expect(joined[0]!.text).toContain('An identical request was already running in this server: this is its result');
    expect(results.map((r) => r.structured!.outcome)).toEqual(['enabled', 'enabled']);
  });

  it('an add-region and a rotation of one cluster, sent together, run one after the other and both succeed', async () => {
    const key = await euKey();
    const [added, rotated] = await Promise.all([
      callTool(server.client, 'enable_cmek', {
        cluster: 'prod-east',
        add_regions: { 'eu-west-1': 3 },
        keys: { 'eu-west-1': key },
        auth_principal: AWS_CMEK_ROLE,
      }),
      callTool(server.client, 'rotate_cmek', { cluster: 'prod-east', mode: 'new_version', regions: ['us-east-1'] }),
    ]);
    // Without the lock the second would be refused for the first one's operation in progress (or hit the API's 409).
    expect(added.isError, added.text).toBe(false);
    expect(rotated.isError, rotated.text).toBe(false);
    expect(added.structured!.outcome).toBe('enabled');
    expect(rotated.structured!.outcome).toBe('rotated');
    expect(cloudCalls(sandbox, 'PATCH', 'PATCH /cluster')).toBe(1);
    expect(cloudCalls(sandbox, 'PUT', 'PUT /cmek')).toBe(1);
  });
});
