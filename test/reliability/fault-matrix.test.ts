/**
 * Reliability: the fault matrix. Each row injects one fault through the sandbox knobs, calls a
 * mutating tool through a real MCP client, and asserts (1) the expected outcome, (2) no duplicate
 * mutation, counted at the emulator (requests sent, and mutations the emulator applied), and
 * (3) nothing lost from the audit log (every attempt has one outcome entry; the chain verifies).
 * Each row gets its own sandbox (~50 ms) and server, so KMS state and AWS clients are never shared.
 *
 * Already covered elsewhere, so not repeated here: 429 on reads, 5xx on GET and on PUT before and
 * after it applied, GET and PUT time-outs, the polling deadline and cancellation while a rotation
 * polls (test/tools/cmek-faults.test.ts); each KMS provider's own retry rules (test/kms/*.test.ts).
 */
import type { ElicitResult } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { AWS_KEYS, CLUSTER_IDS, GCP_CMEK_SERVICE_ACCOUNT, GCP_KEYS, GCP_PROJECT, awsKeyArn, gcpKeyName } from '../../src/sandbox/seed.js';
import { expectActionableAnswer } from '../helpers/next-actions.js';
import { auditEntries, callTool, type TestServer } from '../helpers/harness.js';
import { startCmekServer, type CmekServerOptions } from '../tools/cmek-helpers.js';
import { awsApplied, cloudRequests, expectCompleteAudit, upstreamCalls } from './upstream.js';

const PROD = CLUSTER_IDS['prod-east'];
const GCP = CLUSTER_IDS['analytics-gcp'];
const ENABLE_GCP = {
  cluster: 'analytics-gcp',
  keys: { 'us-central1': gcpKeyName(GCP_KEYS.usCentral1), 'europe-west1': gcpKeyName(GCP_KEYS.europeWest1) },
  auth_principal: GCP_CMEK_SERVICE_ACCOUNT,
};
const ROTATE_EAST = { cluster: 'prod-east', mode: 'new_version', regions: ['us-east-1'] };
const ROTATE_ALL = { cluster: 'prod-east', mode: 'new_version' };
const REVOKE = { cluster: 'prod-east' };
const DELETE_UNUSED = { key_uri: awsKeyArn(AWS_KEYS.unused), pending_window_days: 7 };
const approve = (name: string) => (): ElicitResult => ({ action: 'accept', content: { confirm_name: name, decision: 'approve' } });

async function enableGcp(server: TestServer): Promise<void> {
  const enabled = await callTool(server.client, 'enable_cmek', ENABLE_GCP);
  expect(enabled.structured?.outcome, enabled.text).toBe('enabled');
}

interface Row {
  fault: string;
  tool: 'enable_cmek' | 'rotate_cmek' | 'revoke_cmek' | 'delete_kms_key' | 'provision_cmek_key';
  args: Record<string, unknown>;
  inject(sandbox: Sandbox): void;
  server?: CmekServerOptions;
  /** Expected answer: isError, text, and the structured outcome (or key state) when it succeeded. */
  expect: { isError: boolean; text: RegExp; outcome?: string };
  /** Requests sent to the Cloud API by method, and CMEK mutations the emulator applied. */
  cloud?: { POST?: number; PUT?: number; PATCH?: number; applied: number; cluster: string };
  /** KMS mutations: requests sent, and (AWS) applied. */
  kms?: { at: 'aws' | 'gcp'; operation: string; sent: number; applied?: number };
  /** Runs before the fault is injected (e.g. enable CMEK so there is something to rotate). */
  prepare?: (server: TestServer) => Promise<void>;
  /** The audit outcome of the call. */
  audit: 'succeeded' | 'failed' | 'refused';
}

const MATRIX: Row[] = [
  // 429 + Retry-After on each mutation: the request was not processed, so it is waited out and sent again, applied once.
  {
    fault: '429 + Retry-After on POST /cmek',
    tool: 'enable_cmek',
    args: ENABLE_GCP,
    inject: (s) => s.cloud.faults.inject({ kind: 'throttle', count: 1, retryAfterSeconds: 1, match: { method: 'POST' } }),
    expect: { isError: false, text: /ENABLED/i, outcome: 'enabled' },
    cloud: { POST: 2, applied: 1, cluster: GCP },
    audit: 'succeeded',
  },
  {
    fault: '429 + Retry-After on PUT /cmek',
    tool: 'rotate_cmek',
    args: ROTATE_EAST,
    inject: (s) => s.cloud.faults.inject({ kind: 'throttle', count: 1, retryAfterSeconds: 1, match: { method: 'PUT' } }),
    expect: { isError: false, text: /ROTATED/i, outcome: 'rotated' },
    cloud: { PUT: 2, applied: 1, cluster: PROD },
    kms: { at: 'aws', operation: 'RotateKeyOnDemand', sent: 1, applied: 1 },
    audit: 'succeeded',
  },
  {
    fault: '429 + Retry-After on PATCH /cmek (revoke, confirmed)',
    tool: 'revoke_cmek',
    args: REVOKE,
    server: { onElicit: approve('prod-east') },
    inject: (s) => s.cloud.faults.inject({ kind: 'throttle', count: 1, retryAfterSeconds: 1, match: { method: 'PATCH' } }),
    expect: { isError: false, text: /REVOKED/i, outcome: 'revoked' },
    cloud: { PATCH: 2, applied: 1, cluster: PROD },
    audit: 'succeeded',
  },
  // 5xx: never re-sent; after an ambiguous failure the state is re-read and reported.
  {
    fault: '5xx on POST /cmek before it applied',
    tool: 'enable_cmek',
    args: ENABLE_GCP,
    inject: (s) => s.cloud.faults.inject({ kind: 'server_error', status: 503, count: 5, match: { method: 'POST' } }),
    expect: { isError: true, text: /may or may not have been applied[\s\S]*get_cmek_status/ },
    cloud: { POST: 1, applied: 0, cluster: GCP },
    audit: 'failed',
  },
  {
    fault: '5xx on POST /cmek after it applied',
    tool: 'enable_cmek',
    args: ENABLE_GCP,
    inject: (s) => s.cloud.commitFaults.inject({ kind: 'server_error', status: 502, count: 1, match: { method: 'POST' } }),
    expect: { isError: false, text: /ENABLED/i, outcome: 'enabled' },
    cloud: { POST: 1, applied: 1, cluster: GCP },
    audit: 'succeeded',
  },
  {
    fault: '5xx on PATCH /cmek after it applied (revoke, confirmed)',
    tool: 'revoke_cmek',
    args: REVOKE,
    server: { onElicit: approve('prod-east') },
    inject: (s) => s.cloud.commitFaults.inject({ kind: 'server_error', status: 500, count: 1, match: { method: 'PATCH' } }),
    expect: { isError: false, text: /REVOKED/i, outcome: 'revoked' },
    cloud: { PATCH: 1, applied: 1, cluster: PROD },
    audit: 'succeeded',
  },
  // Time-outs (the emulator never answers).
  {
    fault: 'timeout on POST /cmek before it applied',
    tool: 'enable_cmek',
    args: ENABLE_GCP,
    server: { cloud: { requestTimeoutMs: 150 } },
    inject: (s) => s.cloud.faults.inject({ kind: 'hang', count: 1, match: { method: 'POST' } }),
    expect: { isError: true, text: /may or may not have been applied/ },
    cloud: { POST: 1, applied: 0, cluster: GCP },
    audit: 'failed',
  },
  {
    fault: 'timeout on PUT /cmek after it applied',
    tool: 'rotate_cmek',
    args: ROTATE_EAST,
    server: { cloud: { requestTimeoutMs: 150 } },
    inject: (s) => s.cloud.commitFaults.inject({ kind: 'hang', count: 1, match: { method: 'PUT' } }),
    expect: { isError: false, text: /ROTATED/i, outcome: 'rotated' },
    cloud: { PUT: 1, applied: 1, cluster: PROD },
    audit: 'succeeded',
  },
  // Connection resets.
  {
    fault: 'connection reset on PUT /cmek before it applied',
    tool: 'rotate_cmek',
    args: ROTATE_EAST,
    inject: (s) => s.cloud.faults.inject({ kind: 'reset', count: 1, match: { method: 'PUT' } }),
    expect: { isError: true, text: /may or may not have been applied/ },
    cloud: { PUT: 1, applied: 0, cluster: PROD },
    audit: 'failed',
  },
  {
    fault: 'connection reset on POST /cmek after it applied',
    tool: 'enable_cmek',
    args: ENABLE_GCP,
    inject: (s) => s.cloud.commitFaults.inject({ kind: 'reset', count: 1, match: { method: 'POST' } }),
    expect: { isError: false, text: /ENABLED/i, outcome: 'enabled' },
    cloud: { POST: 1, applied: 1, cluster: GCP },
    audit: 'succeeded',
  },
  // Region failure mid-rotation: reported precisely, the other region not hidden.
  {
    fault: 'region failure mid-rotation',
    tool: 'rotate_cmek',
    args: ROTATE_ALL,
    inject: (s) => s.cloud.failRegionOnNextRotate('us-west-2'),
    expect: { isError: false, text: /PARTIAL[\s\S]*us-west-2: FAILED/, outcome: 'partial' },
    cloud: { PUT: 1, applied: 1, cluster: PROD },
    audit: 'failed',
  },
  // IAM propagation on enable: 400/401/403 retried within the budget, then given up.
  {
    fault: 'IAM propagation delay (403 twice) on enable',
    tool: 'enable_cmek',
    args: ENABLE_GCP,
    server: { cloud: { iamPropagationMs: 5_000 } },
    inject: (s) => s.cloud.faults.inject({ kind: 'server_error', status: 403, count: 2, match: { method: 'POST' } }),
    expect: { isError: false, text: /ENABLED/i, outcome: 'enabled' },
    cloud: { POST: 3, applied: 1, cluster: GCP },
    audit: 'succeeded',
  },
  {
    fault: 'IAM never propagates within the budget',
    tool: 'enable_cmek',
    args: ENABLE_GCP,
    server: { cloud: { iamPropagationMs: 100 } },
    inject: (s) => s.cloud.faults.inject({ kind: 'server_error', status: 403, count: 1000, match: { method: 'POST' } }),
    expect: { isError: true, text: /403[\s\S]*Next: / },
    cloud: { applied: 0, cluster: GCP },
    audit: 'failed',
  },
  // KMS side.
  {
    // This server's own credentials may lack kms:DescribeKey; CockroachDB Cloud checks its access itself, so the rotation goes ahead, with a warning.
    fault: "AWS KMS denies this server's DescribeKey while rotating to a new key",
    tool: 'rotate_cmek',
    args: { cluster: 'prod-east', mode: 'new_key', new_keys: { 'us-east-1': awsKeyArn(AWS_KEYS.prodEastNext) } },
    inject: (s) => s.aws.deny.add('DescribeKey'),
    expect: { isError: false, text: /Could not verify in the KMS[\s\S]*kms:DescribeKey/, outcome: 'rotated' },
    cloud: { PUT: 1, applied: 1, cluster: PROD },
    audit: 'succeeded',
  },
  {
    fault: 'AWS KMS 5xx on RotateKeyOnDemand',
    tool: 'rotate_cmek',
    args: ROTATE_EAST,
    inject: (s) => s.aws.faults.inject({ kind: 'server_error', count: 1, match: { operation: 'RotateKeyOnDemand' } }),
    expect: { isError: true, text: /may have started anyway[\s\S]*get-key-rotation-status/ },
    cloud: { PUT: 0, applied: 0, cluster: PROD },
    kms: { at: 'aws', operation: 'RotateKeyOnDemand', sent: 1, applied: 0 },
    audit: 'failed',
  },
  {
    fault: 'AWS KMS throttles RotateKeyOnDemand',
    tool: 'rotate_cmek',
    args: ROTATE_EAST,
    inject: (s) => s.aws.faults.inject({ kind: 'throttle', count: 1, match: { operation: 'RotateKeyOnDemand' } }),
    expect: { isError: true, text: /throttl/i },
    cloud: { PUT: 0, applied: 0, cluster: PROD },
    kms: { at: 'aws', operation: 'RotateKeyOnDemand', sent: 1, applied: 0 },
    audit: 'failed',
  },
  {
    // The emulator faulted before applying, so the SDK's retry is safe: sent twice, applied once.
    fault: 'AWS KMS 5xx on ScheduleKeyDeletion (confirmed)',
    tool: 'delete_kms_key',
    args: DELETE_UNUSED,
    server: { onElicit: approve(AWS_KEYS.unused.id) },
    inject: (s) => s.aws.faults.inject({ kind: 'server_error', count: 1, match: { operation: 'ScheduleKeyDeletion' } }),
    expect: { isError: false, text: /Scheduled for deletion[\s\S]*cancel-key-deletion/, outcome: 'PendingDeletion' },
    kms: { at: 'aws', operation: 'ScheduleKeyDeletion', sent: 2, applied: 1 },
    audit: 'succeeded',
  },
  {
    fault: 'connection reset on ScheduleKeyDeletion (confirmed)',
    tool: 'delete_kms_key',
    args: DELETE_UNUSED,
    server: { onElicit: approve(AWS_KEYS.unused.id) },
    inject: (s) => s.aws.faults.inject({ kind: 'reset', count: 1, match: { operation: 'ScheduleKeyDeletion' } }),
    expect: { isError: false, text: /Scheduled for deletion/, outcome: 'PendingDeletion' },
    kms: { at: 'aws', operation: 'ScheduleKeyDeletion', sent: 2, applied: 1 },
    audit: 'succeeded',
  },
  {
    fault: 'AWS KMS keeps failing ScheduleKeyDeletion (confirmed)',
    tool: 'delete_kms_key',
    args: DELETE_UNUSED,
    server: { onElicit: approve(AWS_KEYS.unused.id) },
    inject: (s) => s.aws.faults.inject({ kind: 'server_error', count: 10, match: { operation: 'ScheduleKeyDeletion' } }),
    expect: { isError: true, text: /ScheduleKeyDeletion/ },
    kms: { at: 'aws', operation: 'ScheduleKeyDeletion', sent: 3, applied: 0 },
    audit: 'failed',
  },
  // GCP: the gRPC emulator's 'reset' drops the answer AFTER the call applied (the ambiguous case).
  {
    fault: 'GCP: answer lost after CreateCryptoKeyVersion applied (rotate new_version)',
    tool: 'rotate_cmek',
    args: { cluster: 'analytics-gcp', mode: 'new_version', regions: ['us-central1'] },
    prepare: enableGcp,
    inject: (s) => s.gcp.faults.inject({ kind: 'reset', count: 1, match: { operation: 'CreateCryptoKeyVersion' } }),
    expect: { isError: false, text: /ROTATED/, outcome: 'rotated' },
    cloud: { PUT: 1, applied: 1, cluster: GCP },
    kms: { at: 'gcp', operation: 'CreateCryptoKeyVersion', sent: 1 },
    audit: 'succeeded',
  },
  {
    fault: 'GCP: answer lost after CreateCryptoKey applied (provision)',
    tool: 'provision_cmek_key',
    args: { cluster: 'analytics-gcp', key_name: 'lost-answer', gcp_project: GCP_PROJECT, auth_principal: GCP_CMEK_SERVICE_ACCOUNT },
    inject: (s) => s.gcp.faults.inject({ kind: 'reset', count: 1, match: { operation: 'CreateCryptoKey' } }),
    expect: { isError: false, text: /Provisioned 2 GCP_CLOUD_KMS key/ },
    kms: { at: 'gcp', operation: 'CreateCryptoKey', sent: 3 },
    audit: 'succeeded',
  },
];

let sandbox: Sandbox | undefined;
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  await sandbox?.stop();
  server = undefined;
  sandbox = undefined;
});

async function setUp(options: CmekServerOptions = {}, transitionMs = 30): Promise<{ sandbox: Sandbox; server: TestServer }> {
  sandbox = await startSandbox({ cmekTransitionMs: transitionMs, rateLimitPerSecond: 1000 });
  server = await startCmekServer(sandbox, { ...options, cloud: { rateLimitPerSecond: 1000, ...options.cloud } });
  return { sandbox, server };
}

describe('fault matrix', () => {
  it.each(MATRIX.map((row) => [row.fault, row.tool, row] as const))('%s (%s)', async (_fault, _tool, row) => {
    const { sandbox, server } = await setUp(row.server);
    await row.prepare?.(server);
    const kmsLog = row.kms ? sandbox[row.kms.at].log : undefined;
    const before = {
      requests: Object.fromEntries((['POST', 'PUT', 'PATCH'] as const).map((method) => [method, cloudRequests(sandbox, method)])),
      applied: row.cloud ? sandbox.cloud.cmekMutations(row.cloud.cluster) : 0,
      kmsSent: row.kms ? kmsLog!.count({ operation: row.kms.operation }) : 0,
      kmsApplied: row.kms?.at === 'aws' ? awsApplied(sandbox, row.kms.operation) : 0,
    };
    row.inject(sandbox);
    const result = await callTool(server.client, row.tool, row.args);
    expectActionableAnswer(result);

    expect(result.isError, result.text).toBe(row.expect.isError);
    expect(result.text).toMatch(row.expect.text);
    expect(result.text).toMatch(/Next: /);
    if (row.expect.outcome) expect(result.structured?.outcome ?? result.structured?.state).toBe(row.expect.outcome);

    if (row.cloud) {
      for (const method of ['POST', 'PUT', 'PATCH'] as const) {
        const sent = row.cloud[method];
        if (sent !== undefined) expect(cloudRequests(sandbox, method) - before.requests[method]!, `${method} requests`).toBe(sent);
      }
      expect(sandbox.cloud.cmekMutations(row.cloud.cluster) - before.applied, 'CMEK mutations applied').toBe(row.cloud.applied);
    }
    if (row.kms) {
      expect(kmsLog!.count({ operation: row.kms.operation }) - before.kmsSent, `${row.kms.operation} sent`).toBe(row.kms.sent);
      if (row.kms.applied !== undefined)
        expect(awsApplied(sandbox, row.kms.operation) - before.kmsApplied, `${row.kms.operation} applied`).toBe(row.kms.applied);
    }
    const [outcome] = await expectCompleteAudit(server, row.tool, 1);
    expect(outcome!.outcome).toBe(row.audit);
  });

  it('a region failure is reported with its user_message, and the region that rotated is not hidden', async () => {
    const { sandbox, server } = await setUp();
    sandbox.cloud.failRegionOnNextRotate('us-west-2');
    const result = await callTool(server.client, 'rotate_cmek', ROTATE_ALL);
    const regions = result.structured!.regions as Array<{ region: string; result: string; user_message?: string }>;
    expect(regions.find((r) => r.region === 'us-east-1')?.result).toBe('rotated');
    expect(regions.find((r) => r.region === 'us-west-2')).toMatchObject({ result: 'failed', user_message: expect.stringMatching(/us-west-2/) });
    expect(result.text).toMatch(/us-west-2[\s\S]*Next: /);
  });
});

/** Resolves once `check` holds (polled), or fails after `ms`. */
async function eventually(check: () => boolean, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Waits until no emulator request completes for `windowMs` (longer than any injected latency), or fails after 10 s. */
async function quiescent(sandbox: Sandbox, windowMs = 200): Promise<void> {
  const until = Date.now() + 10_000;
  let last = -1;
  let since = Date.now();
  while (Date.now() - since < windowMs) {
    if (Date.now() > until) throw new Error('upstream requests kept coming after the call was cancelled');
    const now = upstreamCalls(sandbox);
    if (now !== last) [last, since] = [now, Date.now()];
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('slow upstream with client cancellation (notifications/cancelled)', () => {
  it('a read: the tool stops sending requests', async () => {
    const { sandbox, server } = await setUp();
    await callTool(server.client, 'list_clusters', {});
    const uncancelled = sandbox.cloud.log.entries.length;
    expect(uncancelled).toBeGreaterThan(1);
    sandbox.cloud.log.clear();
    sandbox.setLatency(200);
    const controller = new AbortController();
    const call = callTool(server.client, 'list_clusters', {}, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(call).rejects.toThrow();
    await quiescent(sandbox, 500);
    expect(sandbox.cloud.log.entries.length).toBeLessThan(uncancelled);
  });

  it('enable while waiting: POST sent once, polling stops, the audit log says the enable was sent and waiting cancelled', async () => {
    const { sandbox, server } = await setUp({ cloud: { pollIntervalMs: 20 } }, 5_000);
    const controller = new AbortController();
    const call = callTool(server.client, 'enable_cmek', ENABLE_GCP, { signal: controller.signal, onprogress: () => controller.abort() });
    await expect(call).rejects.toThrow();
    await eventually(() => auditEntries(server.config.auditLog).filter((entry) => entry.tool === 'enable_cmek').length === 2);
    await quiescent(sandbox);
    expect(cloudRequests(sandbox, 'POST')).toBe(1);
    expect(sandbox.cloud.cmekMutations(GCP)).toBe(1);
    const [outcome] = await expectCompleteAudit(server, 'enable_cmek', 1);
    expect(outcome!.detail).toMatch(/cancel/i);
  });

  it('rotate while the KMS is slow: stopped before the PUT, and the audit log records how it ended', async () => {
    const { sandbox, server } = await setUp();
    sandbox.aws.faults.latencyMs = 300;
    const controller = new AbortController();
    const call = callTool(server.client, 'rotate_cmek', ROTATE_EAST, { signal: controller.signal });
    await eventually(() => sandbox.aws.log.entries.length > 0 || sandbox.cloud.log.count({ operation: 'GET /cmek' }) > 0);
    setTimeout(() => controller.abort(), 100);
    await expect(call).rejects.toThrow();
    await eventually(() => auditEntries(server.config.auditLog).filter((entry) => entry.tool === 'rotate_cmek').length === 2);
    await quiescent(sandbox, 500);
    expect(cloudRequests(sandbox, 'PUT')).toBe(0);
    expect(awsApplied(sandbox, 'RotateKeyOnDemand')).toBeLessThanOrEqual(1);
    const [outcome] = await expectCompleteAudit(server, 'rotate_cmek', 1);
    expect(outcome!.outcome).toBe('failed');
    expect(outcome!.detail).toMatch(/cancel/i);
  });
});
