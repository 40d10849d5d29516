import { describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { CLUSTER_IDS, GCP_CMEK_SERVICE_ACCOUNT, GCP_KEYS, gcpKeyName } from '../../src/sandbox/seed.js';
import { auditEntries, callTool, type TestServer } from '../helpers/harness.js';
import { cloudCalls, startCmekServer, type CmekServerOptions, useSandboxPerFile } from './cmek-helpers.js';

let sandbox: Sandbox;
const servers = useSandboxPerFile((ready) => (sandbox = ready));
const PROD = CLUSTER_IDS['prod-east'];
const GCP_KEYS_BY_REGION = { 'us-central1': gcpKeyName(GCP_KEYS.usCentral1), 'europe-west1': gcpKeyName(GCP_KEYS.europeWest1) };

async function server(options: CmekServerOptions = {}): Promise<TestServer> {
  const started = await startCmekServer(sandbox, { ...options, cloud: { rateLimitPerSecond: 1000, ...options.cloud } });
  servers.push(started);
  return started;
}

const puts = () => cloudCalls(sandbox, 'PUT', 'PUT /cmek');

describe('Cloud API faults', () => {
  it('waits out a 429 burst (Retry-After) and answers', async () => {
    const { client } = await server();
    sandbox.cloud.faults.inject({ kind: 'throttle', count: 2, retryAfterSeconds: 1, match: { operation: 'GET /clusters' } });
    const result = await callTool(client, 'check_cmek_eligibility', { cluster: 'analytics-gcp' });
    expect(result.isError).toBe(false);
    expect(sandbox.cloud.log.entries.filter((e) => e.status === 429)).toHaveLength(2);
  });

  it('retries 5xx on GET', async () => {
    const { client } = await server();
    sandbox.cloud.faults.inject({ kind: 'server_error', status: 503, count: 2, match: { method: 'GET', operation: 'GET /cmek' } });
    const result = await callTool(client, 'get_cmek_status', { cluster: PROD });
    expect(result.isError).toBe(false);
    expect(cloudCalls(sandbox, 'GET', 'GET /cmek')).toBe(3);
  });

  it('a 5xx on PUT before it was applied: one PUT, not re-sent, observed state reported', async () => {
    const { client } = await server();
    sandbox.cloud.faults.inject({ kind: 'server_error', status: 503, count: 5, match: { method: 'PUT' } });
    const result = await callTool(client, 'rotate_cmek', { cluster: 'prod-east', mode: 'new_version' });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/may or may not have been applied/);
    expect(result.text).toMatch(/CMEK status read back: ENABLED \(us-east-1 ENABLED, us-west-2 ENABLED\)/);
    expect(result.text).toMatch(/Per region now:\n- us-east-1: ENABLED\n- us-west-2: ENABLED/);
    expect(result.text).toMatch(/get_cmek_status/);
    expect(puts()).toBe(1);
    expect(sandbox.cloud.cmekMutations(PROD)).toBe(0);
  });

  it('a 5xx on PUT after it was applied: one PUT, reconciled from GET /cmek, then waited and verified', async () => {
    const { client } = await server();
    sandbox.cloud.commitFaults.inject({ kind: 'server_error', status: 502, count: 1, match: { method: 'PUT' } });
    const result = await callTool(client, 'rotate_cmek', { cluster: 'prod-east', mode: 'new_version', regions: ['us-east-1'] });
    expect(result.isError).toBe(false);
    expect(result.structured!.outcome).toBe('rotated');
    expect(puts()).toBe(1);
    expect(sandbox.cloud.cmekMutations(PROD)).toBe(1);
  });

  it('retries enable while IAM grants propagate (403), with a progress note', async () => {
    const { client } = await server({ cloud: { iamPropagationMs: 5_000 } });
    sandbox.cloud.faults.inject({ kind: 'server_error', status: 403, count: 2, match: { method: 'POST' } });
    const messages: string[] = [];
    const result = await callTool(
      client,
      'enable_cmek',
      { cluster: 'analytics-gcp', keys: GCP_KEYS_BY_REGION, auth_principal: GCP_CMEK_SERVICE_ACCOUNT },
      { onprogress: (p) => messages.push(p.message ?? '') },
    );
    expect(result.isError).toBe(false);
    expect(result.structured!.outcome).toBe('enabled');
    expect(cloudCalls(sandbox, 'POST', 'POST /cmek')).toBe(3);
    expect(messages.some((m) => /IAM grants to propagate/.test(m))).toBe(true);
  });

  it('a GET that times out is retried', async () => {
    const { client } = await server({ cloud: { requestTimeoutMs: 150 } });
    sandbox.cloud.faults.inject({ kind: 'hang', count: 1, match: { operation: 'GET /cmek' } });
    const result = await callTool(client, 'get_cmek_status', { cluster: PROD });
    expect(result.isError).toBe(false);
    expect(cloudCalls(sandbox, 'GET', 'GET /cmek')).toBe(2);
  });

  it('a PUT that times out is not re-sent', async () => {
    const { client } = await server({ cloud: { requestTimeoutMs: 150 } });
    sandbox.cloud.faults.inject({ kind: 'hang', count: 1, match: { method: 'PUT' } });
    const result = await callTool(client, 'rotate_cmek', { cluster: 'prod-east', mode: 'new_version' });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/may or may not have been applied/);
    expect(puts()).toBe(1);
  });

  it('stops waiting at the deadline and says the rotation continues', async () => {
    const { client } = await server({ cloud: { operationDeadlineMs: 1 } });
    const result = await callTool(client, 'rotate_cmek', { cluster: 'prod-east', mode: 'new_version', regions: ['us-east-1'] });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/Stopped waiting for the rotation of prod-east/);
    expect(result.text).toMatch(/do not send the rotation again/);
    expect(puts()).toBe(1);
  });

  it('wait: false returns after the PUT with the operation in progress', async () => {
    const { client } = await server();
    const result = await callTool(client, 'rotate_cmek', { cluster: 'prod-east', mode: 'new_version', wait: false });
    expect(result.structured!.outcome).toBe('in_progress');
    expect(result.text).toMatch(/get_cmek_status/);
  });
});

describe('cancellation', () => {
  it('cancelling while waiting stops polling; the PUT was sent once and the audit log says so', async () => {
    const slow = await startSandbox({ cmekTransitionMs: 5_000, rateLimitPerSecond: 1000 });
    try {
      const started = await startCmekServer(slow, { cloud: { rateLimitPerSecond: 1000, pollIntervalMs: 20 } });
      servers.push(started);
      const controller = new AbortController();
      const call = callTool(
        started.client,
        'rotate_cmek',
        { cluster: 'prod-east', mode: 'new_key', new_keys: { 'us-east-1': `arn:aws:kms:us-east-1:111122223333:key/1a2b3c4d-0007-4e5f-8a9b-000000000007` } },
        {
          signal: controller.signal,
          onprogress: () => controller.abort(),
        },
      );
      await expect(call).rejects.toThrow();
      await new Promise((resolve) => setTimeout(resolve, 150));
      const polls = slow.cloud.log.count({ operation: 'GET /cmek' });
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(slow.cloud.log.count({ operation: 'GET /cmek' })).toBe(polls);
      expect(slow.cloud.log.count({ method: 'PUT' })).toBe(1);
      const entries = auditEntries(started.config.auditLog);
      expect(entries.at(-1)).toMatchObject({
        tool: 'rotate_cmek',
        target: 'prod-east',
        outcome: 'succeeded',
        detail: expect.stringMatching(/Waiting was cancelled/),
      });
    } finally {
      await slow.stop();
    }
  });
});
