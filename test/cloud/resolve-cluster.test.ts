import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudApi } from '../../src/cloud/api.js';
import { createCloudClient } from '../../src/cloud/client.js';
import { closeMatches, editDistance, resolveCluster } from '../../src/cloud/resolve-cluster.js';
import { OperatorError } from '../../src/errors.js';
import { startCloudApiEmulator, type CloudApiEmulator } from '../../src/sandbox/cloud-api.js';
import { CLUSTER_IDS, CLUSTERS, SANDBOX_API_KEY } from '../../src/sandbox/seed.js';

let emulator: CloudApiEmulator;
let cloud: CloudApi;

async function refusal(promise: Promise<unknown>): Promise<OperatorError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(OperatorError);
  return error as OperatorError;
}

beforeAll(async () => {
  emulator = await startCloudApiEmulator({ checkKeyAccess: async () => ({ ok: true }), cmekTransitionMs: 20, rateLimitPerSecond: 1000, fleetSize: 0 });
  cloud = createCloudClient({
    apiKey: SANDBOX_API_KEY,
    baseUrl: emulator.url,
    ccVersion: '2024-09-16',
    iamPropagationMs: 0,
    operationDeadlineMs: 1000,
    pollIntervalMs: 10,
    rateLimitPerSecond: 1000,
  });
});
afterAll(async () => emulator.close());

describe('resolveCluster', () => {
  it('finds a cluster by exact id with one GET, and by name case-insensitively', async () => {
    emulator.log.clear();
    expect((await resolveCluster(cloud, CLUSTER_IDS['prod-east'])).name).toBe('prod-east');
    expect(emulator.log.entries.map((entry) => entry.operation)).toEqual(['GET /cluster']);
    expect((await resolveCluster(cloud, '  Analytics-GCP ')).id).toBe(CLUSTER_IDS['analytics-gcp']);
  });

  it('lists close matches for a typo and points to list_clusters', async () => {
    const error = await refusal(resolveCluster(cloud, 'prod-eats'));
    expect(error.what).toBe("Cluster 'prod-eats' not found");
    expect(error.why).toContain(`prod-east (${CLUSTER_IDS['prod-east']})`);
    expect(error.next).toMatch(/list_clusters/);
    expect(error.details.candidates).toEqual([{ name: 'prod-east', id: CLUSTER_IDS['prod-east'] }]);
  });

  it('suggests by prefix and id prefix, and says so when nothing is close', async () => {
    expect((await refusal(resolveCluster(cloud, 'payments'))).why).toContain('payments-azure');
    expect((await refusal(resolveCluster(cloud, '3b1f5c7e'))).why).toContain('prod-east');
    const none = await refusal(resolveCluster(cloud, 'zzzzzzzzzzzz'));
    expect(none.why).toMatch(/none is close/);
    expect(none.next).toMatch(/list_clusters/);
  });

  it('reports an unknown id as not found instead of guessing', async () => {
    const error = await refusal(resolveCluster(cloud, '00000000-0000-4000-8000-000000000000'));
    expect(error.what).toMatch(/not found/);
  });

  it('lists every cluster sharing an ambiguous name with its id', async () => {
    const twin = { ...CLUSTERS[0]!, id: '11111111-2222-4333-8444-555555555555' };
    const error = await refusal(resolveCluster(cloud, CLUSTERS[0]!.name, { clusters: [...CLUSTERS, twin] }));
    expect(error.what).toMatch(/ambiguous/);
    expect(error.why).toContain(twin.id);
    expect(error.why).toContain(CLUSTERS[0]!.id);
    expect(error.next).toMatch(/cluster id/);
  });

  it('rejects an empty name', async () => {
    expect((await refusal(resolveCluster(cloud, '   '))).what).toBe('No cluster given');
  });
});

describe('closeMatches', () => {
  it('ranks by edit distance and caps the list', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(closeMatches('web-standrd', CLUSTERS).map((cluster) => cluster.name)).toEqual(['web-standard']);
    expect(closeMatches('a', CLUSTERS).length).toBeLessThanOrEqual(5);
  });
});
