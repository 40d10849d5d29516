/**
 * Reliability: input that is well-formed but wrong for the target (foreign-region key, window
 * below the provider minimum, key in use, plan without CMEK...). The server may read upstream to
 * find out, but must refuse with a clear next step and send NO mutating request anywhere.
 */
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import {
  AWS_ACCOUNT,
  AWS_CMEK_ROLE,
  AWS_KEYS,
  AZURE_KEYS,
  AZURE_TENANT,
  AZURE_VAULT,
  GCP_CMEK_SERVICE_ACCOUNT,
  GCP_KEYS,
  awsKeyArn,
  azureKeyId,
  gcpKeyName,
} from '../../src/sandbox/seed.js';
import { expectActionableAnswer } from '../helpers/next-actions.js';
import { callTool, type TestServer } from '../helpers/harness.js';
import { useFastSandboxServer } from '../tools/cmek-helpers.js';
import { BAD_KEY_URIS, HOSTILE_STRINGS } from './schema-arbitraries.js';
import { mutatingCalls, upstreamCalls } from './upstream.js';

let sandbox: Sandbox;
let server: TestServer;

useFastSandboxServer((ready, readyServer) => {
  sandbox = ready;
  server = readyServer;
});
beforeEach(() => sandbox.cloud.reset());

const GCP_KEY_NAMES = { 'us-central1': gcpKeyName(GCP_KEYS.usCentral1), 'europe-west1': gcpKeyName(GCP_KEYS.europeWest1) };
const AWS_REGIONS = ['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-2', 'sa-east-1'];

interface Refusal {
  name: string;
  tool: string;
  args: Record<string, unknown>;
  says: RegExp;
  /** Refused before any upstream request (not even a read). */
  offline?: boolean;
}

const REFUSALS: Refusal[] = [
  {
    name: 'enable: a region the cluster does not run in, and one missing',
    tool: 'enable_cmek',
    args: { cluster: 'byoc-ledger', keys: { 'eu-west-1': awsKeyArn(AWS_KEYS.reportsDisabled) }, auth_principal: AWS_CMEK_ROLE },
    says: /no region eu-west-1[\s\S]*key for EVERY cluster region/,
  },
  {
    name: 'enable: GCP key name with a version',
    tool: 'enable_cmek',
    args: {
      cluster: 'analytics-gcp',
      keys: { ...GCP_KEY_NAMES, 'us-central1': `${GCP_KEY_NAMES['us-central1']}/cryptoKeyVersions/1` },
      auth_principal: GCP_CMEK_SERVICE_ACCOUNT,
    },
    says: /WITHOUT \/cryptoKeyVersions/,
  },
  {
    name: 'enable: AWS ARN for a GCP cluster',
    tool: 'enable_cmek',
    args: {
      cluster: 'analytics-gcp',
      keys: { ...GCP_KEY_NAMES, 'us-central1': awsKeyArn(AWS_KEYS.prodEastUsEast1) },
      auth_principal: GCP_CMEK_SERVICE_ACCOUNT,
    },
    says: /Expected "projects\/"/,
  },
  {
    name: 'enable: Azure key id without a version',
    tool: 'enable_cmek',
    args: { cluster: 'payments-azure', keys: { eastus: azureKeyId(AZURE_VAULT, AZURE_KEYS.payments.name) }, auth_principal: AZURE_TENANT },
    says: /WITH its version/,
  },
  {
    name: 'enable: CMEK already on',
    tool: 'enable_cmek',
    args: {
      cluster: 'prod-east',
      keys: { 'us-east-1': awsKeyArn(AWS_KEYS.prodEastNext), 'us-west-2': awsKeyArn(AWS_KEYS.prodEastNextWest) },
      auth_principal: AWS_CMEK_ROLE,
    },
    says: /already set up[\s\S]*rotate_cmek/,
  },
  {
    name: 'enable: a Standard cluster (CMEK is Advanced only), even with a granted key',
    tool: 'enable_cmek',
    args: { cluster: 'web-standard', keys: { 'us-east-1': awsKeyArn(AWS_KEYS.prodEastNext) }, auth_principal: AWS_CMEK_ROLE },
    says: /Advanced plan[\s\S]*STANDARD[\s\S]*check_cmek_eligibility/,
  },
  {
    name: 'rotate: a region the cluster does not run in',
    tool: 'rotate_cmek',
    args: { cluster: 'prod-east', mode: 'new_version', regions: ['eu-west-1'] },
    says: /no region eu-west-1/,
  },
  { name: 'revoke: CMEK not enabled', tool: 'revoke_cmek', args: { cluster: 'analytics-gcp' }, says: /needs CMEK status ENABLED/ },
  {
    name: 'delete: AWS window of 3 days (below the 7-day minimum)',
    tool: 'delete_kms_key',
    args: { key_uri: awsKeyArn(AWS_KEYS.unused), pending_window_days: 3 },
    says: /3 days is out of range.*7-30/,
    offline: true,
  },
  {
    name: 'delete: AWS window of 6 days',
    tool: 'delete_kms_key',
    args: { key_uri: awsKeyArn(AWS_KEYS.unused), pending_window_days: 6 },
    says: /out of range/,
    offline: true,
  },
  {
    name: 'delete: AWS window of 31 days',
    tool: 'delete_kms_key',
    args: { key_uri: awsKeyArn(AWS_KEYS.unused), pending_window_days: 31 },
    says: /out of range/,
    offline: true,
  },
  {
    name: 'delete: the current key of a cluster',
    tool: 'delete_kms_key',
    args: { key_uri: awsKeyArn(AWS_KEYS.prodEastUsEast1) },
    says: /key is in use[\s\S]*prod-east/,
  },
  {
    name: 'disable: a past key still in key_infos',
    tool: 'delete_kms_key',
    args: { key_uri: awsKeyArn(AWS_KEYS.prodEastPast), action: 'disable' },
    says: /key is in use[\s\S]*past key/,
  },
  { name: 'delete: a path, not a key URI', tool: 'delete_kms_key', args: { key_uri: '../../etc/passwd' }, says: /Unrecognised key URI/, offline: true },
  {
    name: 'provision: a region outside the cluster',
    tool: 'provision_cmek_key',
    args: { cluster: 'prod-east', key_name: 'x', regions: ['eu-central-1'], auth_principal: AWS_CMEK_ROLE },
    says: /eu-central-1 not in cluster prod-east/,
  },
  { name: 'verify_audit_log: a relative path', tool: 'verify_audit_log', args: { path: '../audit.jsonl' }, says: /relative/, offline: true },
];

describe('well-formed but wrong input: refused, nothing mutated', () => {
  it.each(REFUSALS.map((refusal) => [refusal.name, refusal] as const))('%s', async (_name, refusal) => {
    const before = { all: upstreamCalls(sandbox), mutating: mutatingCalls(sandbox) };
    const result = await callTool(server.client, refusal.tool, refusal.args);
    expectActionableAnswer(result);
    expect(result.isError, result.text).toBe(true);
    expect(result.text).toMatch(refusal.says);
    expect(result.text).toMatch(/Next: /);
    expect(mutatingCalls(sandbox)).toBe(before.mutating);
    if (refusal.offline) expect(upstreamCalls(sandbox)).toBe(before.all);
  });
});

describe('properties', () => {
  it('delete_kms_key with any AWS window outside 7-30 days: refused before any request', async () => {
    const windows = fc.oneof(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 31, max: 365 }));
    await fc.assert(
      fc.asyncProperty(windows, fc.constantFrom('schedule_deletion' as const), async (days, action) => {
        const before = upstreamCalls(sandbox);
        const result = await callTool(server.client, 'delete_kms_key', { key_uri: awsKeyArn(AWS_KEYS.unused), pending_window_days: days, action });
        expect(result.isError).toBe(true);
        expect(result.text).toContain(`${days} days is out of range`);
        expect(upstreamCalls(sandbox)).toBe(before);
      }),
      { numRuns: 200 },
    );
  });

  it('delete_kms_key with hostile or odd key URIs: no mutating call, no internal error (refused unless a dry run of a real unused key)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...HOSTILE_STRINGS.filter((s) => s.length > 0), ...BAD_KEY_URIS), fc.boolean(), async (uri, dryRun) => {
        const before = mutatingCalls(sandbox);
        const result = await callTool(server.client, 'delete_kms_key', { key_uri: uri, dry_run: dryRun });
        expect(result.isError || dryRun).toBe(true);
        expect(result.text).not.toMatch(/Internal error/);
        expect(result.text).toMatch(/Next: /);
        expect(mutatingCalls(sandbox)).toBe(before);
      }),
      { numRuns: 100 },
    );
  });

  it('the server still answers tools/list', async () => {
    expect((await server.client.listTools()).tools.length).toBeGreaterThan(0);
  });
});

describe('unknown nested keys', () => {
  it('are refused by the full schema, not silently stripped by the listing schema', async () => {
    const before = sandbox.cloud.log.count();
    const result = await callTool(server.client, 'enable_cmek', {
      cluster: 'analytics-gcp',
      dry_run: true,
      region_specs: [
        {
          region: 'us-central1',
          key_spec: { uri: 'projects/p/locations/us-central1/keyRings/r/cryptoKeys/k', auth_principal: 'a@p.iam.gserviceaccount.com', dryRun: true },
        },
      ],
    });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/enable_cmek/);
    expect(result.text).toMatch(/dryRun/);
    expect(sandbox.cloud.log.count()).toBe(before);
  });
});
