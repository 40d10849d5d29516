import { beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import { SANDBOX_IDENTITIES } from '../../src/sandbox/identities.js';
import { AWS_ACCOUNT, AZURE_TENANT, AZURE_VAULT, CLUSTER_IDS, GCP_PROJECT } from '../../src/sandbox/seed.js';
import { callTool, startTestServer, type TestServer } from '../helpers/harness.js';
import { cloudCalls, useFastSandboxServer } from './cmek-helpers.js';

let sandbox: Sandbox;
let server: TestServer;

useFastSandboxServer((ready, readyServer) => {
  sandbox = ready;
  server = readyServer;
});
beforeEach(() => sandbox.cloud.reset());

describe('list_clusters', () => {
  it('lists every seeded cluster with CMEK status for the Advanced ones', async () => {
    const result = await callTool(server.client, 'list_clusters');
    expect(result.isError).toBe(false);
    const byName = Object.fromEntries(result.structured!.clusters.map((c: any) => [c.name, c.cmek_status]));
    expect(byName).toEqual({
      'analytics-gcp': 'NOT_ENABLED',
      'byoc-ledger': 'NOT_ENABLED',
      'dev-basic': 'NOT_AVAILABLE',
      'payments-azure': 'NOT_ENABLED',
      'prod-east': 'ENABLED',
      'reports-aws': 'ROTATE_FAILED',
      'web-standard': 'NOT_AVAILABLE',
    });
    expect(result.text).toMatch(/^7 of 7 clusters/);
    expect(result.text).toMatch(/Next: /);
  });

  it('names the sandbox identities (AWS account, GCP project, Azure tenant and vaults) in data and text', async () => {
    const result = await callTool(server.client, 'list_clusters');
    expect(result.structured!.sandbox).toEqual(SANDBOX_IDENTITIES);
    expect(result.structured!.sandbox.gcp.project).toBe(GCP_PROJECT);
    expect(result.structured!.sandbox.azure).toMatchObject({
      tenant_id: AZURE_TENANT,
      vaults: expect.arrayContaining([expect.objectContaining({ name: AZURE_VAULT })]),
    });
    for (const value of [AWS_ACCOUNT, GCP_PROJECT, AZURE_TENANT, AZURE_VAULT]) expect(result.text).toContain(value);
  });

  it('shows no sandbox identities on a real organization', async () => {
    const real = await startTestServer({ deps: { cloud: () => server.deps.cloud() } });
    try {
      const result = await callTool(real.client, 'list_clusters');
      expect(result.isError, result.text).toBe(false);
      expect(result.structured).not.toHaveProperty('sandbox');
      expect(result.text).not.toContain('Sandbox');
    } finally {
      await real.close();
    }
  });

  it('filters by plan, cloud and label', async () => {
    const aws = await callTool(server.client, 'list_clusters', { cloud: 'AWS', plan: 'ADVANCED' });
    expect(aws.structured!.clusters.map((c: any) => c.name)).toEqual(['byoc-ledger', 'prod-east', 'reports-aws']);
    const pci = await callTool(server.client, 'list_clusters', { label: 'compliance=pci' });
    expect(pci.structured!.clusters.map((c: any) => c.name)).toEqual(['prod-east']);
    expect(pci.structured!.total).toBe(7);
  });

  it('marks a CMEK status it cannot read as UNKNOWN instead of failing', async () => {
    sandbox.cloud.faults.inject({ kind: 'server_error', status: 500, count: 20, match: { method: 'GET', operation: 'GET /cmek' } });
    const result = await callTool(server.client, 'list_clusters', { plan: 'ADVANCED' });
    expect(result.isError).toBe(false);
    expect(result.structured!.clusters.every((c: any) => c.cmek_status === 'UNKNOWN' && c.cmek_error)).toBe(true);
  });
});

describe('check_cmek_eligibility', () => {
  it.each([
    ['prod-east', 'eligible', /already enabled.*rotate_cmek/],
    ['reports-aws', 'eligible', /rotation failed.*re-run rotate_cmek/],
    ['analytics-gcp', 'cannot_verify', /advanced security features.*provision_cmek_key.*enable_cmek/],
    ['payments-azure', 'cannot_verify', /provision_cmek_key/],
    ['byoc-ledger', 'cannot_verify', /BYOC/],
    ['web-standard', 'not_eligible', /create such a cluster/],
    ['dev-basic', 'not_eligible', /create such a cluster/],
  ] as const)('%s -> %s', async (cluster, verdict, next) => {
    const result = await callTool(server.client, 'check_cmek_eligibility', { cluster });
    expect(result.isError).toBe(false);
    expect(result.structured!.verdict).toBe(verdict);
    expect(result.structured!.next_step).toMatch(next);
    expect(result.text).toMatch(/\nNext: /);
  });

  it('says plainly that the add-on cannot be verified through the API', async () => {
    const result = await callTool(server.client, 'check_cmek_eligibility', { cluster: CLUSTER_IDS['analytics-gcp'] });
    expect(result.structured!.reasons).toEqual([expect.stringMatching(/cannot be verified through the API/)]);
  });

  it('Azure: a public cluster is eligible as far as the API shows; CMEK on Azure is in Preview', async () => {
    const result = await callTool(server.client, 'check_cmek_eligibility', { cluster: 'payments-azure' });
    expect(result.text).toMatch(/Preview/);
    expect(result.structured!.verdict).not.toBe('not_eligible');
    expect(result.structured!.checks.find((c: { check: string }) => c.check === 'network_visibility')).toMatchObject({ result: 'pass' });
  });

  it('names close matches for a misspelt cluster', async () => {
    const result = await callTool(server.client, 'check_cmek_eligibility', { cluster: 'prod-eats' });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/not found.*prod-east/s);
  });
});

describe('get_cmek_status', () => {
  it('shows current and past keys with age', async () => {
    const result = await callTool(server.client, 'get_cmek_status', { cluster: 'prod-east' });
    expect(result.isError).toBe(false);
    const east = result.structured!.regions.find((r: any) => r.region === 'us-east-1');
    expect(east.current_key.status).toBe('ENABLED');
    expect(east.current_key.age_days).toBeGreaterThan(0);
    expect(east.past_keys).toHaveLength(1);
    expect(result.text).toMatch(/Never disable or delete a past key/);
  });

  it('reports a failure with its user_message and how to resume', async () => {
    const result = await callTool(server.client, 'get_cmek_status', { cluster: 'reports-aws' });
    expect(result.structured!.status).toBe('ROTATE_FAILED');
    expect(result.structured!.problems[0]).toMatch(/is disabled; re-enable it/);
    expect(result.text).toMatch(/Next: rotate_cmek \{"cluster":"reports-aws","mode":"new_version"\} - resume the failed rotation/);
    expect(result.structured!.next_actions[0]).toMatchObject({ tool: 'rotate_cmek', needs: { manual_step: expect.stringContaining('is disabled') } });
  });

  it('works by id and for clusters without CMEK', async () => {
    const result = await callTool(server.client, 'get_cmek_status', { cluster: CLUSTER_IDS['dev-basic'] });
    expect(result.structured!.status).toBe('NOT_ENABLED');
    expect(cloudCalls(sandbox, 'GET', 'GET /cmek')).toBe(0);
  });
});
