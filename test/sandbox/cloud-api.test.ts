import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CmekClusterInfo, CmekKeySpec } from '../../src/cloud/schemas.js';
import { SANDBOX_VIEWER_API_KEY, startCloudApiEmulator, type CloudApiEmulator } from '../../src/sandbox/cloud-api.js';
import { fleetClusterName, generateFleet } from '../../src/sandbox/fleet.js';
import {
  AWS_ACCOUNT,
  AWS_CMEK_ROLE,
  AWS_KEYS,
  CLUSTER_IDS,
  CLUSTERS,
  GCP_CMEK_SERVICE_ACCOUNT,
  GCP_KEYS,
  ORGANIZATION,
  SANDBOX_API_KEY,
  awsKeyArn,
  gcpKeyName,
} from '../../src/sandbox/seed.js';

/** Keys the stand-in KMS refuses, with the message it gives. */
const refused = new Map<string, string>();
let emulator: CloudApiEmulator;

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${emulator.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${SANDBOX_API_KEY}`,
      'cc-version': '2024-09-16',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

/** Completes pending transitions (the emulator runs them on demand: no timing in these tests). */
async function settled(clusterId: string): Promise<CmekClusterInfo> {
  await emulator.settle();
  return emulator.cmek(clusterId)!;
}

const aws = (key: { id: string; region: string }, role = AWS_CMEK_ROLE): CmekKeySpec => ({ type: 'AWS_KMS', uri: awsKeyArn(key), auth_principal: role });
const gcp = (key: { location: string; keyRing: string; key: string }): CmekKeySpec => ({
  type: 'GCP_CLOUD_KMS',
  uri: gcpKeyName(key),
  auth_principal: GCP_CMEK_SERVICE_ACCOUNT,
});
const gcpEnable = {
  region_specs: [
    { region: 'us-central1', key_spec: gcp(GCP_KEYS.usCentral1) },
    { region: 'europe-west1', key_spec: gcp(GCP_KEYS.europeWest1) },
  ],
};
const PROD = CLUSTER_IDS['prod-east'];
const GCP_CLUSTER = CLUSTER_IDS['analytics-gcp'];

beforeAll(async () => {
  emulator = await startCloudApiEmulator({
    checkKeyAccess: async (spec) => (refused.has(spec.uri) ? { ok: false, message: refused.get(spec.uri)! } : { ok: true }),
    cmekTransitionMs: 60_000,
    rateLimitPerSecond: 1000,
    fleetSize: 0,
  });
});
afterAll(async () => emulator.close());
beforeEach(() => {
  emulator.reset();
  refused.clear();
});

describe('auth, versions and errors', () => {
  it('answers 401 Status without a key or with a wrong key', async () => {
    const missing = await api('GET', '/api/v1/clusters', undefined, { authorization: '' });
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ code: 16, details: [] });
    const wrong = await api('GET', '/api/v1/clusters', undefined, { authorization: 'Bearer CCDB1_wrong' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.message).toMatch(/invalid API key/);
  });

  it('lets a read-only role list clusters but not touch /cmek (403)', async () => {
    const viewer = { authorization: `Bearer ${SANDBOX_VIEWER_API_KEY}` };
    expect((await api('GET', '/api/v1/clusters', undefined, viewer)).status).toBe(200);
    const denied = await api('GET', `/api/v1/clusters/${PROD}/cmek`, undefined, viewer);
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ code: 7, message: expect.stringMatching(/CLUSTER_ADMIN or CLUSTER_OPERATOR_WRITER/) });
  });

  it('echoes Cc-Version (default 2022-03-31), rejects a malformed one, and sends x-request-id', async () => {
    const given = await api('GET', '/api/v1/organization');
    expect(given.headers.get('cc-version')).toBe('2024-09-16');
    expect(given.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(given.body).toEqual(ORGANIZATION);
    const response = await fetch(`${emulator.url}/api/v1/organization`, { headers: { authorization: `Bearer ${SANDBOX_API_KEY}` } });
    expect(response.headers.get('cc-version')).toBe('2022-03-31');
    const bad = await api('GET', '/api/v1/organization', undefined, { 'cc-version': 'latest' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 3, message: expect.stringMatching(/Cc-Version/) });
  });

  it('answers 404 code 5 for an unknown cluster and rejects bad JSON', async () => {
    const missing = await api('GET', '/api/v1/clusters/00000000-0000-4000-8000-000000000000');
    expect(missing).toMatchObject({ status: 404, body: { code: 5, message: expect.stringMatching(/not found/) } });
    const badJson = await api('POST', `/api/v1/clusters/${GCP_CLUSTER}/cmek`, '{nope');
    expect(badJson).toMatchObject({ status: 400, body: { code: 3 } });
  });
});

describe('clusters', () => {
  it('pages through every cluster in name order with keyset tokens', async () => {
    const names: string[] = [];
    let page: string | undefined;
    let pages = 0;
    do {
      const query = new URLSearchParams({ 'pagination.limit': '3', ...(page ? { 'pagination.page': page } : {}) });
      const response = await api('GET', `/api/v1/clusters?${query}`);
      expect(response.status).toBe(200);
      names.push(...response.body.clusters.map((cluster: { name: string }) => cluster.name));
      page = response.body.pagination?.next_page;
      pages += 1;
    } while (page);
    expect(pages).toBe(3);
    expect(names).toEqual(CLUSTERS.map((cluster) => cluster.name).sort());
    const desc = await api('GET', '/api/v1/clusters?pagination.sort_order=DESC&pagination.limit=1');
    expect(desc.body.clusters[0].name).toBe('web-standard');
  });

  it('rejects a forged page token and a bad limit', async () => {
    expect((await api('GET', '/api/v1/clusters?pagination.page=garbage')).body).toMatchObject({ code: 3, message: expect.stringMatching(/page token/) });
    expect((await api('GET', '/api/v1/clusters?pagination.limit=0')).status).toBe(400);
  });

  it('generates a deterministic fleet with a realistic CMEK mix', () => {
    const fleet = generateFleet(1000);
    expect(generateFleet(1000)).toEqual(fleet);
    expect(fleet.clusters[0]!.name).toBe(fleetClusterName(1));
    expect(new Set(fleet.clusters.map((cluster) => cluster.id)).size).toBe(1000);
    const advanced = fleet.clusters.filter((cluster) => cluster.plan === 'ADVANCED').length;
    const statuses = Object.values(fleet.cmek).map((info) => info.status);
    expect(advanced).toBeGreaterThan(500);
    expect(statuses.filter((status) => status === 'ENABLED').length).toBeGreaterThan(250);
    expect(statuses.filter((status) => status?.endsWith('_FAILED')).length).toBeGreaterThan(10);
    expect(new Set(fleet.clusters.map((cluster) => cluster.cloud_provider))).toEqual(new Set(['AWS', 'GCP', 'AZURE']));
  });
});

describe('GET /cmek', () => {
  it('answers 404 "CMEK is not enabled" for a cluster that never had it', async () => {
    const response = await api('GET', `/api/v1/clusters/${GCP_CLUSTER}/cmek`);
    expect(response).toMatchObject({ status: 404, body: { code: 5, message: expect.stringMatching(/CMEK is not enabled/) } });
  });

  it('lists current and past keys', async () => {
    const response = await api('GET', `/api/v1/clusters/${PROD}/cmek`);
    expect(response.body.status).toBe('ENABLED');
    expect(response.body.region_infos[0].key_infos.map((key: { status: string }) => key.status)).toEqual(['DISABLED', 'ENABLED']);
  });
});

describe('POST /cmek (enable)', () => {
  it.each([
    ['web-standard (STANDARD plan)', CLUSTER_IDS['web-standard'], { region_specs: [{ region: 'us-east-1', key_spec: aws(AWS_KEYS.unused) }] }, /ADVANCED plan/],
    ['a missing region', GCP_CLUSTER, { region_specs: [gcpEnable.region_specs[0]] }, /every region of the cluster; missing: europe-west1/],
    [
      'an unknown region',
      GCP_CLUSTER,
      { region_specs: [...gcpEnable.region_specs, { region: 'us-east1', key_spec: gcp(GCP_KEYS.wrongLocation) }] },
      /us-east1, which is not a region of cluster analytics-gcp/,
    ],
    [
      'a key of the wrong cloud',
      GCP_CLUSTER,
      { region_specs: [{ region: 'us-central1', key_spec: aws(AWS_KEYS.unused) }, gcpEnable.region_specs[1]] },
      /AWS_KMS does not match the cluster's cloud provider GCP \(expected GCP_CLOUD_KMS\)/,
    ],
    ['a duplicated region', GCP_CLUSTER, { region_specs: [...gcpEnable.region_specs, gcpEnable.region_specs[0]] }, /more than once/],
    ['a malformed spec', GCP_CLUSTER, { region_specs: [{ region: 'us-central1', key_spec: { type: 'GCP_CLOUD_KMS' } }] }, /region_specs\[0\]\.key_spec\.uri/],
    [
      'CMEK already on',
      PROD,
      {
        region_specs: [
          { region: 'us-east-1', key_spec: aws(AWS_KEYS.prodEastUsEast1) },
          { region: 'us-west-2', key_spec: aws(AWS_KEYS.prodEastUsWest2) },
        ],
      },
      /already enabled/,
    ],
  ])('rejects %s with 400', async (_name, clusterId, body, message) => {
    const response = await api('POST', `/api/v1/clusters/${clusterId}/cmek`, body);
    expect(response.status).toBe(400);
    expect(response.body.message).toMatch(message);
    expect(emulator.cmekMutations()).toBe(0);
  });

  it('moves ENABLING -> ENABLED, refuses a concurrent operation with 409', async () => {
    const started = await api('POST', `/api/v1/clusters/${GCP_CLUSTER}/cmek`, gcpEnable);
    expect(started.status).toBe(200);
    expect(started.body.status).toBe('ENABLING');
    expect(started.body.region_infos.map((region: { status: string }) => region.status)).toEqual(['ENABLING', 'ENABLING']);
    expect(emulator.cluster(GCP_CLUSTER)!.operation_status).toBe('CRDB_CMEK_OPERATION_RUNNING');
    const again = await api('POST', `/api/v1/clusters/${GCP_CLUSTER}/cmek`, gcpEnable);
    expect(again).toMatchObject({ status: 409, body: { code: 10 } });
    const info = await settled(GCP_CLUSTER);
    expect(info.status).toBe('ENABLED');
    expect(info.region_infos!.every((region) => region.status === 'ENABLED' && region.key_infos![0]!.status === 'ENABLED')).toBe(true);
    expect(emulator.cluster(GCP_CLUSTER)!.operation_status).toBe('UNSPECIFIED');
    expect(emulator.cmekMutations(GCP_CLUSTER)).toBe(1);
  });

  it('ends in ENABLE_FAILED with the KMS message for a key CockroachDB cannot use', async () => {
    refused.set(gcpKeyName(GCP_KEYS.europeWest1), 'Permission cloudkms.cryptoKeyVersions.useToEncrypt denied');
    await api('POST', `/api/v1/clusters/${GCP_CLUSTER}/cmek`, gcpEnable);
    const info = await settled(GCP_CLUSTER);
    expect(info.status).toBe('ENABLE_FAILED');
    const europe = info.region_infos!.find((region) => region.region === 'europe-west1')!;
    expect(europe.status).toBe('ENABLE_FAILED');
    expect(europe.key_infos![0]!.user_message).toMatch(/useToEncrypt denied/);
    expect(info.region_infos!.find((region) => region.region === 'us-central1')!.status).toBe('ENABLED');
    expect(emulator.cluster(GCP_CLUSTER)!.operation_status).toBe('CRDB_CMEK_OPERATION_FAILED');
    refused.clear();
    expect((await api('POST', `/api/v1/clusters/${GCP_CLUSTER}/cmek`, gcpEnable)).status).toBe(200);
    expect((await settled(GCP_CLUSTER)).status).toBe('ENABLED');
  });
});

describe('PUT /cmek (rotate)', () => {
  const useEast1 = (key: { id: string; region: string }) => ({ region: 'us-east-1', key_spec: aws(key) });
  const usWest2 = (key: { id: string; region: string }) => ({ region: 'us-west-2', key_spec: aws(key) });

  it('re-wraps with the same URI: the current key goes ROTATING -> ENABLED with updated_at refreshed', async () => {
    const before = emulator.cmek(PROD)!.region_infos![1]!.key_infos![0]!;
    const started = await api('PUT', `/api/v1/clusters/${PROD}/cmek`, { region_specs: [usWest2(AWS_KEYS.prodEastUsWest2)] });
    expect(started.body.status).toBe('ROTATING');
    expect(started.body.region_infos[1].key_infos[0].status).toBe('ROTATING');
    expect(started.body.region_infos[0].status).toBe('ENABLED');
    const after = (await settled(PROD)).region_infos![1]!.key_infos!;
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ status: 'ENABLED', created_at: before.created_at });
    expect(after[0]!.updated_at! > before.updated_at!).toBe(true);
  });

  it('switches to a new URI and keeps every past key listed as DISABLED', async () => {
    await api('PUT', `/api/v1/clusters/${PROD}/cmek`, { region_specs: [useEast1(AWS_KEYS.prodEastNext)] });
    const keys = (await settled(PROD)).region_infos![0]!.key_infos!;
    expect(keys.map((key) => [key.spec!.uri, key.status])).toEqual([
      [awsKeyArn(AWS_KEYS.prodEastPast), 'DISABLED'],
      [awsKeyArn(AWS_KEYS.prodEastUsEast1), 'DISABLED'],
      [awsKeyArn(AWS_KEYS.prodEastNext), 'ENABLED'],
    ]);
  });

  it('fails only the region named by failRegionOnNextRotate, keeps its old key current, and resumes', async () => {
    emulator.failRegionOnNextRotate('us-west-2');
    await api('PUT', `/api/v1/clusters/${PROD}/cmek`, { region_specs: [useEast1(AWS_KEYS.prodEastNext), usWest2(AWS_KEYS.prodEastNextWest)] });
    const failed = await settled(PROD);
    expect(failed.status).toBe('ROTATE_FAILED');
    const [east, west] = failed.region_infos!;
    expect(east!.status).toBe('ENABLED');
    expect(west!.status).toBe('ROTATE_FAILED');
    expect(west!.key_infos!.map((key) => key.status)).toEqual(['ENABLED', 'ROTATE_FAILED']);
    expect(west!.key_infos![1]!.user_message).toMatch(/KMS refused/);
    expect(emulator.cluster(PROD)!.operation_status).toBe('CRDB_CMEK_OPERATION_FAILED');

    const resumed = await api('PUT', `/api/v1/clusters/${PROD}/cmek`, { region_specs: [usWest2(AWS_KEYS.prodEastNextWest)] });
    expect(resumed.status).toBe(200);
    const done = await settled(PROD);
    expect(done.status).toBe('ENABLED');
    expect(done.region_infos![1]!.key_infos!.map((key) => key.status)).toEqual(['DISABLED', 'ENABLED']);
    expect(emulator.cluster(PROD)!.operation_status).toBe('UNSPECIFIED');
  });

  it('rejects rotation when CMEK is off, for an unknown region, or with no region', async () => {
    expect((await api('PUT', `/api/v1/clusters/${GCP_CLUSTER}/cmek`, gcpEnable)).body.message).toMatch(/not enabled/);
    expect(
      (await api('PUT', `/api/v1/clusters/${PROD}/cmek`, { region_specs: [{ region: 'eu-central-1', key_spec: aws(AWS_KEYS.wrongRegion) }] })).body.message,
    ).toMatch(/eu-central-1 has no CMEK configuration/);
    expect((await api('PUT', `/api/v1/clusters/${PROD}/cmek`, { region_specs: [] })).status).toBe(400);
  });
});

describe('PATCH /cmek (revoke) and PATCH /clusters/{id}', () => {
  it('revokes from ENABLED only: REVOKING -> REVOKED everywhere; enable is then refused', async () => {
    expect((await api('PATCH', `/api/v1/clusters/${PROD}/cmek`, { action: 'DISABLE' })).body.message).toMatch(/action must be "REVOKE"/);
    expect((await api('PATCH', `/api/v1/clusters/${CLUSTER_IDS['reports-aws']}/cmek`, { action: 'REVOKE' })).body.message).toMatch(/only when ENABLED/);
    const started = await api('PATCH', `/api/v1/clusters/${PROD}/cmek`, { action: 'REVOKE' });
    expect(started.body.status).toBe('REVOKING');
    const info = await settled(PROD);
    expect(info.status).toBe('REVOKED');
    expect(info.region_infos!.every((region) => region.status === 'REVOKED')).toBe(true);
    expect(info.region_infos![0]!.key_infos!.map((key) => key.status)).toEqual(['DISABLED', 'REVOKED']);
    const enable = await api('POST', `/api/v1/clusters/${PROD}/cmek`, {
      region_specs: [
        { region: 'us-east-1', key_spec: aws(AWS_KEYS.prodEastNext) },
        { region: 'us-west-2', key_spec: aws(AWS_KEYS.prodEastNextWest) },
      ],
    });
    expect(enable.body.message).toMatch(/revoked; restoring it needs Cockroach Labs support/);
  });

  it('adds a new region with its key, and refuses a CMEK spec for an existing region', async () => {
    const nodes = { 'us-east-1': 3, 'us-west-2': 3, 'eu-west-1': 3 };
    const existing = await api('PATCH', `/api/v1/clusters/${PROD}`, {
      dedicated: { region_nodes: nodes, cmek_region_specs: [{ region: 'us-east-1', key_spec: aws(AWS_KEYS.prodEastNext) }] },
    });
    expect(existing.body.message).toMatch(/only newly added regions; us-east-1 already exists/);
    const uncovered = await api('PATCH', `/api/v1/clusters/${PROD}`, { dedicated: { region_nodes: nodes } });
    expect(uncovered.body.message).toMatch(/must include a key for each new region; missing: eu-west-1/);
    const euKey = { region: 'eu-west-1', key_spec: { type: 'AWS_KMS', uri: `arn:aws:kms:eu-west-1:${AWS_ACCOUNT}:key/new`, auth_principal: AWS_CMEK_ROLE } };
    const specsOnly = await api('PATCH', `/api/v1/clusters/${PROD}`, { dedicated: { cmek_region_specs: [euKey] } });
    expect(specsOnly.body.message).toMatch(/names eu-west-1, which is not being added in dedicated.region_nodes/);
    const dropping = await api('PATCH', `/api/v1/clusters/${PROD}`, { dedicated: { region_nodes: { 'eu-west-1': 3 }, cmek_region_specs: [euKey] } });
    expect(dropping.body.message).toMatch(/leaves out us-east-1, us-west-2, which would remove them/);
    const added = await api('PATCH', `/api/v1/clusters/${PROD}`, { dedicated: { region_nodes: nodes, cmek_region_specs: [euKey] } });
    expect(added.status).toBe(200);
    expect(added.body.regions.map((region: { name: string }) => region.name)).toContain('eu-west-1');
    const info = await settled(PROD);
    expect(info.region_infos!.map((region) => [region.region, region.status])).toEqual([
      ['eu-west-1', 'ENABLED'],
      ['us-east-1', 'ENABLED'],
      ['us-west-2', 'ENABLED'],
    ]);
  });
});

describe('client CA certificate', () => {
  const PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUSANDBOX\n-----END CERTIFICATE-----\n';
  const path = `/api/v1/clusters/${PROD}/client-ca-cert`;

  it('sets, reads, updates and deletes it; DELETE takes no body and refuses one', async () => {
    expect((await api('GET', path)).body).toEqual({ status: 'NOT_SET' });
    expect((await api('PATCH', path, { x509_pem_cert: PEM })).body.message).toMatch(/set one with POST/);
    expect((await api('POST', path, { x509_pem_cert: 'not a pem' })).body.message).toMatch(/PEM-encoded certificate/);
    expect((await api('POST', path, { x509_pem_cert: PEM })).body).toEqual({ status: 'IS_SET', x509_pem_cert: PEM });
    expect((await api('POST', path, { x509_pem_cert: PEM })).status).toBe(409);
    expect((await api('PATCH', path, { x509_pem_cert: PEM })).body.status).toBe('IS_SET');

    // The common mistake: DELETE with the certificate in the body. A strict server refuses it and keeps the CA.
    const withBody = await api('DELETE', path, { x509_pem_cert: PEM });
    expect(withBody.status).toBe(400);
    expect(withBody.body.message).toBe('DELETE /client-ca-cert takes no request body');
    expect((await api('GET', path)).body.status).toBe('IS_SET');

    const deleted = await api('DELETE', path);
    expect(deleted).toMatchObject({ status: 200, body: { status: 'NOT_SET' } });
    expect((await api('GET', path)).body).toEqual({ status: 'NOT_SET' });
    expect((await api('DELETE', path)).status).toBe(400);
  });

  it('needs a cluster admin or operator role, like /cmek', async () => {
    const denied = await api('GET', path, undefined, { authorization: `Bearer ${SANDBOX_VIEWER_API_KEY}` });
    expect(denied.status).toBe(403);
  });
});

describe('rate limit and faults', () => {
  it('answers 429 + Retry-After with code 8 past the per-key limit, and the log proves the limit held', async () => {
    const limited = await startCloudApiEmulator({ checkKeyAccess: async () => ({ ok: true }), cmekTransitionMs: 10, rateLimitPerSecond: 5, fleetSize: 0 });
    try {
      const responses = await Promise.all(
        Array.from({ length: 8 }, () => fetch(`${limited.url}/api/v1/organization`, { headers: { authorization: `Bearer ${SANDBOX_API_KEY}` } })),
      );
      const throttled = responses.filter((response) => response.status === 429);
      expect(throttled).toHaveLength(3);
      expect(Number(throttled[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await throttled[0]!.json()).toMatchObject({ code: 8, details: [] });
      expect(limited.log.entries.filter((entry) => entry.status === 200)).toHaveLength(5);
    } finally {
      await limited.close();
    }
  });

  it('applies a commit fault after the change: the client sees 503 but the rotation is running', async () => {
    emulator.commitFaults.inject({ kind: 'server_error', count: 1, match: { operation: 'PUT /cmek' } });
    const response = await api('PUT', `/api/v1/clusters/${PROD}/cmek`, { region_specs: [{ region: 'us-west-2', key_spec: aws(AWS_KEYS.prodEastUsWest2) }] });
    expect(response.status).toBe(503);
    expect(emulator.cmek(PROD)!.status).toBe('ROTATING');
    expect(emulator.cmekMutations(PROD)).toBe(1);
  });

  it('reset() restores the seeded world', async () => {
    await api('PATCH', `/api/v1/clusters/${PROD}/cmek`, { action: 'REVOKE' });
    emulator.reset();
    expect(emulator.cmek(PROD)!.status).toBe('ENABLED');
    expect(emulator.log.entries).toHaveLength(0);
  });
});
