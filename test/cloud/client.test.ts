import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CmekProgress } from '../../src/cloud/api.js';
import { createCloudClient, type CloudClientOptions } from '../../src/cloud/client.js';
import { CloudApiError } from '../../src/cloud/errors.js';
import type { CmekKeySpec } from '../../src/cloud/schemas.js';
import { startCloudApiEmulator, type CloudApiEmulator } from '../../src/sandbox/cloud-api.js';
import {
  AWS_CMEK_ROLE,
  AWS_KEYS,
  CLUSTER_IDS,
  CLUSTERS,
  GCP_CMEK_SERVICE_ACCOUNT,
  GCP_KEYS,
  SANDBOX_API_KEY,
  awsKeyArn,
  gcpKeyName,
} from '../../src/sandbox/seed.js';

let emulator: CloudApiEmulator;
const refused = new Set<string>();

const PROD = CLUSTER_IDS['prod-east'];
const GCP_CLUSTER = CLUSTER_IDS['analytics-gcp'];
const aws = (key: { id: string; region: string }): CmekKeySpec => ({ type: 'AWS_KMS', uri: awsKeyArn(key), auth_principal: AWS_CMEK_ROLE });
const gcp = (key: { location: string; keyRing: string; key: string }): CmekKeySpec => ({
  type: 'GCP_CLOUD_KMS',
  uri: gcpKeyName(key),
  auth_principal: GCP_CMEK_SERVICE_ACCOUNT,
});
const gcpSpecs = [
  { region: 'us-central1', key_spec: gcp(GCP_KEYS.usCentral1) },
  { region: 'europe-west1', key_spec: gcp(GCP_KEYS.europeWest1) },
];
const westRewrap = [{ region: 'us-west-2', key_spec: aws(AWS_KEYS.prodEastUsWest2) }];

function client(overrides: Partial<CloudClientOptions> = {}) {
  return createCloudClient({
    apiKey: SANDBOX_API_KEY,
    baseUrl: emulator.url,
    ccVersion: '2024-09-16',
    iamPropagationMs: 500,
    iamRetryIntervalMs: 10,
    operationDeadlineMs: 5_000,
    pollIntervalMs: 10,
    requestTimeoutMs: 5_000,
    maxAttempts: 3,
    retryBaseMs: 5,
    retryMaxMs: 20,
    rateLimitPerSecond: 1000,
    ...overrides,
  });
}

async function failure(promise: Promise<unknown>): Promise<CloudApiError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(CloudApiError);
  return error as CloudApiError;
}

beforeAll(async () => {
  emulator = await startCloudApiEmulator({
    checkKeyAccess: async (spec) => (refused.has(spec.uri) ? { ok: false, message: `key ${spec.uri} is disabled` } : { ok: true }),
    cmekTransitionMs: 30,
    rateLimitPerSecond: 10,
    fleetSize: 0,
  });
});
afterAll(async () => emulator.close());
beforeEach(() => {
  emulator.reset();
  refused.clear();
});

describe('reads', () => {
  it('follows pagination across pages and parses every cluster', async () => {
    const pages: number[] = [];
    const clusters = await client({ pageSize: 2 }).listClusters({ onPage: (page) => void pages.push(page.length) });
    expect(clusters.map((cluster) => cluster.name)).toEqual(CLUSTERS.map((cluster) => cluster.name).sort());
    expect(pages).toEqual([2, 2, 2, 1]);
    expect(emulator.log.count({ operation: 'GET /clusters' })).toBe(4);
  });

  it('maps "CMEK not enabled" to null and reports an unknown cluster with a next step', async () => {
    const api = client();
    expect(await api.getCmek(GCP_CLUSTER)).toBeNull();
    expect((await api.getCmek(PROD))?.status).toBe('ENABLED');
    const missing = await failure(api.getCluster('00000000-0000-4000-8000-000000000000'));
    expect(missing.status).toBe(404);
    expect(missing.next).toMatch(/list_clusters/);
    expect((await failure(api.getCmek('00000000-0000-4000-8000-000000000000'))).status).toBe(404);
  });

  it('explains a rejected key without leaking it', async () => {
    const error = await failure(client({ apiKey: 'CCDB1_not_a_real_key' }).getOrganization());
    expect(error).toMatchObject({ status: 401, code: 16 });
    expect(error.next).toMatch(/COCKROACH_API_KEY/);
    expect(error.next).toMatch(/CLUSTER_ADMIN or CLUSTER_OPERATOR_WRITER/);
    expect(error.message).not.toContain('CCDB1_not_a_real_key');
  });

  it('sends the configured Cc-Version and surfaces the server message when it is rejected', async () => {
    const error = await failure(client({ ccVersion: 'v2' }).getOrganization());
    expect(error).toMatchObject({ status: 400, code: 3 });
    expect(error.why).toMatch(/invalid Cc-Version header "v2"/);
  });

  it('reports each exchange request id, retries included', async () => {
    emulator.faults.inject({ kind: 'server_error', count: 1, match: { operation: 'GET /organization' } });
    const ids: string[] = [];
    await client().getOrganization({ onRequestId: (id) => ids.push(id) });
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
  });
});

describe('rate limit and throttling', () => {
  it('never exceeds the limit with many concurrent calls', async () => {
    const api = client({ rateLimitPerSecond: 10 });
    const results = await Promise.all(Array.from({ length: 20 }, () => api.getCmek(PROD)));
    expect(results.every((info) => info?.status === 'ENABLED')).toBe(true);
    expect(emulator.log.count()).toBe(20);
    expect(emulator.log.entries.every((entry) => entry.status === 200)).toBe(true);
    expect(emulator.log.maxInWindow(1000)).toBeLessThanOrEqual(10);
  });

  it('waits out real 429s from the server (Retry-After) when it runs ahead of the limit', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, () => client({ rateLimitPerSecond: 50 }).getOrganization()));
    expect(results).toHaveLength(12);
    const throttled = emulator.log.entries.filter((entry) => entry.status === 429);
    expect(throttled.length).toBeGreaterThan(0);
    const firstThrottle = throttled[0]!.at;
    const laterSuccesses = emulator.log.entries.filter((entry) => entry.status === 200 && entry.at > firstThrottle);
    expect(laterSuccesses.every((entry) => entry.at - firstThrottle >= 900)).toBe(true);
  });

  it('retries a POST after 429 (not processed) and gives up after the cap or a too-long Retry-After', async () => {
    emulator.faults.inject({ kind: 'throttle', count: 2, retryAfterSeconds: 0, match: { operation: 'POST /cmek' } });
    expect((await client().enableCmek(GCP_CLUSTER, gcpSpecs)).status).toBe('ENABLING');
    expect(emulator.log.count({ operation: 'POST /cmek' })).toBe(3);
    expect(emulator.cmekMutations()).toBe(1);

    emulator.faults.inject({ kind: 'throttle', count: 10, retryAfterSeconds: 0 });
    const capped = await failure(client({ maxThrottleRetries: 2 }).getOrganization());
    expect(capped.status).toBe(429);
    expect(capped.next).toMatch(/wait/);
    emulator.faults.reset();
    emulator.faults.inject({ kind: 'throttle', count: 1, retryAfterSeconds: 3600 });
    const tooLong = await failure(client().getOrganization());
    expect(tooLong).toMatchObject({ status: 429, retryAfterMs: 3_600_000 });
  });
});

describe('retries and ambiguous mutations', () => {
  it('retries a GET on 5xx and a connection reset, within bounded attempts', async () => {
    const api = client();
    emulator.faults.inject({ kind: 'server_error', count: 1, match: { operation: 'GET /cmek' } });
    emulator.faults.inject({ kind: 'reset', count: 1, match: { operation: 'GET /cmek' } });
    expect((await api.getCmek(PROD))?.status).toBe('ENABLED');
    expect(emulator.log.count({ operation: 'GET /cmek' })).toBe(3);

    emulator.faults.inject({ kind: 'server_error', count: 5, status: 502, match: { operation: 'GET /cluster' } });
    const exhausted = await failure(api.getCluster(PROD));
    expect(exhausted.status).toBe(502);
    expect(exhausted.next).toMatch(/retry later/);
    expect(emulator.log.count({ operation: 'GET /cluster' })).toBe(3);
  });

  it('times out a hung GET and retries it, bounded', async () => {
    const api = client({ requestTimeoutMs: 300, maxAttempts: 2 });
    emulator.faults.inject({ kind: 'hang', count: 1, match: { operation: 'GET /organization' } });
    expect((await api.getOrganization()).id).toBeTruthy();
    emulator.faults.inject({ kind: 'hang', count: 2, match: { operation: 'GET /organization' } });
    const error = await failure(api.getOrganization());
    expect(error.kind).toBe('timeout');
    expect(error.why).toMatch(/did not answer in time/);
  });

  it('never re-sends a PUT after a 5xx: reports the reconciled state (not applied)', async () => {
    emulator.faults.inject({ kind: 'server_error', count: 1, match: { operation: 'PUT /cmek' } });
    const error = await failure(client().updateCmek(PROD, westRewrap));
    expect(error.ambiguous).toBe(true);
    expect(error.observed?.status).toBe('ENABLED');
    expect(error.what).toMatch(/Outcome unknown/);
    expect(error.why).toMatch(/not re-sent/);
    expect(emulator.log.count({ method: 'PUT' })).toBe(1);
    expect(emulator.cmekMutations()).toBe(0);
  });

  it('never re-sends a PUT whose response was lost after it applied: reports it in progress', async () => {
    emulator.setCmekTransitionMs(60_000);
    emulator.commitFaults.inject({ kind: 'server_error', count: 1, match: { operation: 'PUT /cmek' } });
    const error = await failure(client().updateCmek(PROD, westRewrap));
    expect(error).toMatchObject({ ambiguous: true, status: 503 });
    expect(error.observed?.status).toBe('ROTATING');
    expect(error.next).toMatch(/in progress: wait/);
    expect(emulator.log.count({ method: 'PUT' })).toBe(1);
    expect(emulator.cmekMutations()).toBe(1);
  });

  it('treats a reset POST and a hung PATCH as ambiguous, sent once each', async () => {
    emulator.setCmekTransitionMs(60_000);
    emulator.commitFaults.inject({ kind: 'reset', count: 1, match: { operation: 'POST /cmek' } });
    const enable = await failure(client().enableCmek(GCP_CLUSTER, gcpSpecs));
    expect(enable).toMatchObject({ ambiguous: true, kind: 'network' });
    expect(enable.observed?.status).toBe('ENABLING');
    expect(emulator.log.count({ method: 'POST' })).toBe(1);

    emulator.commitFaults.inject({ kind: 'hang', count: 1, match: { operation: 'PATCH /cmek' } });
    const revoke = await failure(client({ requestTimeoutMs: 300 }).revokeCmek(PROD));
    expect(revoke).toMatchObject({ ambiguous: true, kind: 'timeout' });
    expect(revoke.observed?.status).toBe('REVOKING');
    expect(emulator.log.count({ method: 'PATCH' })).toBe(1);
  });

  it('retries enable through IAM propagation (403 then success), bounded, and not for permanent errors', async () => {
    emulator.faults.inject({ kind: 'server_error', status: 403, count: 2, match: { operation: 'POST /cmek' } });
    const retries: number[] = [];
    const info = await client().enableCmek(GCP_CLUSTER, gcpSpecs, { onRetry: ({ attempt }) => void retries.push(attempt) });
    expect(info.status).toBe('ENABLING');
    expect(retries).toEqual([1, 2]);
    expect(emulator.log.count({ method: 'POST' })).toBe(3);

    emulator.reset();
    emulator.faults.inject({ kind: 'server_error', status: 403, count: 1000, match: { operation: 'POST /cmek' } });
    const bounded = await failure(client({ iamPropagationMs: 400, iamRetryIntervalMs: 50 }).enableCmek(GCP_CLUSTER, gcpSpecs));
    expect(bounded.status).toBe(403);
    expect(bounded.why).toMatch(/IAM grants were still propagating/);
    expect(emulator.log.count({ method: 'POST' })).toBeGreaterThanOrEqual(2);
    expect(emulator.log.count({ method: 'POST' })).toBeLessThanOrEqual(9);
  });

  it('does not retry enable past FAILED_PRECONDITION', async () => {
    const error = await failure(client().enableCmek(PROD, westRewrap));
    expect(error).toMatchObject({ status: 400, code: 9 });
    expect(emulator.log.count({ method: 'POST' })).toBe(1);
  });
});

describe('waitForCmek', () => {
  it('reports progress until every region is terminal', async () => {
    emulator.setCmekTransitionMs(60_000);
    const api = client();
    await api.enableCmek(GCP_CLUSTER, gcpSpecs);
    const progress: CmekProgress[] = [];
    const onProgress = (step: CmekProgress) => {
      if (progress.push(step) === 2) void emulator.settle();
    };
    const info = await api.waitForCmek(GCP_CLUSTER, { onProgress });
    expect(info.status).toBe('ENABLED');
    expect(progress[0]).toMatchObject({ done: 0, total: 2 });
    expect(progress.at(-1)).toMatchObject({ done: 2, total: 2, message: expect.stringMatching(/ENABLED/) });
  });

  it('returns a failed state as terminal, with the user_message to report', async () => {
    refused.add(gcpKeyName(GCP_KEYS.europeWest1));
    const api = client();
    await api.enableCmek(GCP_CLUSTER, gcpSpecs);
    const info = await api.waitForCmek(GCP_CLUSTER);
    expect(info.status).toBe('ENABLE_FAILED');
    expect(info.region_infos!.find((region) => region.region === 'europe-west1')!.key_infos![0]!.user_message).toMatch(/disabled/);
  });

  it('honours cancellation with an AbortError', async () => {
    emulator.setCmekTransitionMs(60_000);
    const api = client();
    await api.enableCmek(GCP_CLUSTER, gcpSpecs);
    const controller = new AbortController();
    const waiting = api.waitForCmek(GCP_CLUSTER, { signal: controller.signal, onProgress: () => controller.abort() });
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('stops at the deadline saying the operation is still running', async () => {
    emulator.setCmekTransitionMs(60_000);
    const api = client();
    await api.updateCmek(PROD, westRewrap);
    const error = await failure(api.waitForCmek(PROD, { deadlineMs: 5 }));
    expect(error.kind).toBe('deadline');
    expect(error.why).toMatch(/still running/);
    expect(error.next).toMatch(/get_cmek_status/);
    expect(error.observed?.status).toBe('ROTATING');
  });

  it('refuses to wait on a cluster without CMEK', async () => {
    const error = await failure(client().waitForCmek(GCP_CLUSTER));
    expect(error.why).toMatch(/CMEK is not enabled/);
  });
});

describe('unexpected bodies', () => {
  let odd: Server;
  let oddUrl: string;
  beforeAll(async () => {
    odd = createServer((request, response) => {
      if (request.url?.startsWith('/api/v1/clusters')) {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ clusters: 'not-a-list' }));
      } else {
        response.writeHead(400, { 'content-type': 'text/plain' }).end('cmek spec rejected: key not found');
      }
    });
    await new Promise<void>((resolve) => odd.listen(0, '127.0.0.1', resolve));
    oddUrl = `http://127.0.0.1:${(odd.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    odd.closeAllConnections();
    await new Promise((resolve) => odd.close(resolve));
  });

  it('fails clearly on an unexpected shape and falls back to the raw message of an untyped error', async () => {
    const shape = await failure(client({ baseUrl: oddUrl }).listClusters());
    expect(shape.kind).toBe('invalid_response');
    expect(shape.why).toMatch(/clusters/);
    const untyped = await failure(client({ baseUrl: oddUrl }).getOrganization());
    expect(untyped.status).toBe(400);
    expect(untyped.why).toMatch(/cmek spec rejected: key not found/);
  });
});
