import type { KeyManagementServiceClient } from '@google-cloud/kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGcpKmsEmulator, type GcpKmsEmulator } from '../../src/sandbox/gcp-kms.js';
import { GCP_CMEK_SERVICE_ACCOUNT, GCP_KEYS, GCP_PROJECT, gcpKeyName } from '../../src/sandbox/seed.js';
import { FAST_RETRY, NO_RETRY, gcpKmsClient, uniqueId } from '../helpers/gcp.js';

const DAY = 86_400;
const LOCATION = `projects/${GCP_PROJECT}/locations/us-central1`;
const ROLE = 'roles/cloudkms.cryptoKeyEncrypterDecrypter';
const SA_MEMBER = `serviceAccount:${GCP_CMEK_SERVICE_ACCOUNT}`;

let emulator: GcpKmsEmulator;
let client: KeyManagementServiceClient;
let clockOffsetMs = 0;

beforeAll(async () => {
  emulator = await startGcpKmsEmulator({ now: () => Date.now() + clockOffsetMs });
  client = gcpKmsClient(emulator.port);
});

afterAll(async () => {
  await client.close();
  await emulator.close();
});

/** Creates a key ring and an ENCRYPT_DECRYPT key (version 1 primary); returns the key name. */
async function freshKey(options: { rotationDays?: number } = {}): Promise<string> {
  const ring = uniqueId('ring');
  await client.createKeyRing({ parent: LOCATION, keyRingId: ring, keyRing: {} });
  const rotation = options.rotationDays
    ? { rotationPeriod: { seconds: options.rotationDays * DAY }, nextRotationTime: { seconds: Math.floor(Date.now() / 1000) + options.rotationDays * DAY } }
    : {};
  const [key] = await client.createCryptoKey({
    parent: `${LOCATION}/keyRings/${ring}`,
    cryptoKeyId: 'cmek',
    cryptoKey: { purpose: 'ENCRYPT_DECRYPT', ...rotation },
  });
  return key.name!;
}

describe('seeded keys', () => {
  it('has version 1 ENABLED as primary, a 30-day destroy window and rotation only in us-central1', async () => {
    const [central] = await client.getCryptoKey({ name: gcpKeyName(GCP_KEYS.usCentral1) });
    expect(central.primary?.name).toBe(`${gcpKeyName(GCP_KEYS.usCentral1)}/cryptoKeyVersions/1`);
    expect(central.primary?.state).toBe('ENABLED');
    expect(central.purpose).toBe('ENCRYPT_DECRYPT');
    expect(central.rotationPeriod?.seconds).toBe(String(90 * DAY));
    expect(Number(central.nextRotationTime?.seconds)).toBeGreaterThan(Date.now() / 1000);
    expect(central.destroyScheduledDuration?.seconds).toBe(String(30 * DAY));
    const [europe] = await client.getCryptoKey({ name: gcpKeyName(GCP_KEYS.europeWest1) });
    expect(europe.rotationPeriod ?? null).toBeNull();
    const [wrong] = await client.getCryptoKey({ name: gcpKeyName(GCP_KEYS.wrongLocation) });
    expect(wrong.primary?.state).toBe('ENABLED');
  });

  it('binds the CMEK service account to the encrypter/decrypter role on each key', async () => {
    for (const key of Object.values(GCP_KEYS)) {
      const [policy] = await client.getIamPolicy({ resource: gcpKeyName(key) } as never);
      expect(policy.bindings).toEqual([expect.objectContaining({ role: ROLE, members: [SA_MEMBER] })]);
      expect(policy.etag?.length).toBeGreaterThan(0);
    }
  });

  it('lists the seeded key rings by location', async () => {
    const [rings] = await client.listKeyRings({ parent: `projects/${GCP_PROJECT}/locations/europe-west1` });
    expect(rings.map((r) => r.name)).toEqual([`projects/${GCP_PROJECT}/locations/europe-west1/keyRings/crdb-analytics`]);
  });
});

describe('key rings and keys', () => {
  it('creates, gets and refuses to re-create a key ring', async () => {
    const id = uniqueId('ring');
    const [ring] = await client.createKeyRing({ parent: LOCATION, keyRingId: id, keyRing: {} });
    expect(ring.name).toBe(`${LOCATION}/keyRings/${id}`);
    const [again] = await client.getKeyRing({ name: ring.name! });
    expect(again.createTime).toEqual(ring.createTime);
    await expect(client.createKeyRing({ parent: LOCATION, keyRingId: id, keyRing: {} }, NO_RETRY)).rejects.toMatchObject({
      code: 6,
      details: `KeyRing ${ring.name} already exists.`,
    });
  });

  it('answers NOT_FOUND, INVALID_ARGUMENT and PERMISSION_DENIED like Cloud KMS', async () => {
    await expect(client.getKeyRing({ name: `${LOCATION}/keyRings/missing` }, NO_RETRY)).rejects.toMatchObject({
      code: 5,
      details: expect.stringContaining('not found'),
    });
    await expect(client.getCryptoKey({ name: `${LOCATION}/keyRings/crdb-analytics` }, NO_RETRY)).rejects.toMatchObject({ code: 3 });
    await expect(client.createKeyRing({ parent: LOCATION, keyRingId: 'bad id!', keyRing: {} }, NO_RETRY)).rejects.toMatchObject({ code: 3 });
    await expect(client.getCryptoKey({ name: 'projects/someone-else/locations/us-central1/keyRings/r/cryptoKeys/k' }, NO_RETRY)).rejects.toMatchObject({
      code: 7,
      details: expect.stringContaining("Permission 'cloudkms.cryptoKeys.get' denied"),
      reason: 'IAM_PERMISSION_DENIED',
    });
  });

  it('sends a request id with every error', async () => {
    const error: unknown = await client.getKeyRing({ name: `${LOCATION}/keyRings/missing` }, NO_RETRY).catch((e: unknown) => e);
    expect((error as { statusDetails?: Array<{ requestId?: string }> }).statusDetails?.[0]?.requestId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('creates ENCRYPT_DECRYPT keys with defaults and validates rotation and destroy settings', async () => {
    const ring = uniqueId('ring');
    const parent = `${LOCATION}/keyRings/${ring}`;
    await client.createKeyRing({ parent: LOCATION, keyRingId: ring, keyRing: {} });
    const [key] = await client.createCryptoKey({ parent, cryptoKeyId: 'k1', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
    expect(key.primary?.state).toBe('ENABLED');
    expect(key.versionTemplate).toMatchObject({ algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', protectionLevel: 'SOFTWARE' });
    expect(key.destroyScheduledDuration?.seconds).toBe(String(30 * DAY));
    const bad = async (cryptoKey: object, message: RegExp) =>
      expect(client.createCryptoKey({ parent, cryptoKeyId: uniqueId('k'), cryptoKey }, NO_RETRY)).rejects.toMatchObject({
        code: 3,
        details: expect.stringMatching(message),
      });
    const next = { seconds: Math.floor(Date.now() / 1000) + DAY };
    await bad({ purpose: 'ENCRYPT_DECRYPT', rotationPeriod: { seconds: 3600 }, nextRotationTime: next }, /at least|between 24 hours/);
    await bad({ purpose: 'ENCRYPT_DECRYPT', rotationPeriod: { seconds: 2 * DAY } }, /next_rotation_time must be set/);
    await bad({ purpose: 'ENCRYPT_DECRYPT', destroyScheduledDuration: { seconds: 121 * DAY } }, /120 days/);
    await bad({}, /purpose must be specified/);
    await bad({ purpose: 'ENCRYPT_DECRYPT', versionTemplate: { algorithm: 'RSA_SIGN_PSS_2048_SHA256' } }, /not compatible/);
    await expect(client.createCryptoKey({ parent, cryptoKeyId: 'k1', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } }, NO_RETRY)).rejects.toMatchObject({ code: 6 });
  });

  it('skips the initial version when asked', async () => {
    const ring = uniqueId('ring');
    await client.createKeyRing({ parent: LOCATION, keyRingId: ring, keyRing: {} });
    const [key] = await client.createCryptoKey({
      parent: `${LOCATION}/keyRings/${ring}`,
      cryptoKeyId: 'empty',
      cryptoKey: { purpose: 'ENCRYPT_DECRYPT' },
      skipInitialVersionCreation: true,
    });
    expect(key.primary).toBeNull();
    const [versions] = await client.listCryptoKeyVersions({ parent: key.name! });
    expect(versions).toEqual([]);
  });

  it('pages through crypto keys', async () => {
    const ring = uniqueId('ring');
    const parent = `${LOCATION}/keyRings/${ring}`;
    await client.createKeyRing({ parent: LOCATION, keyRingId: ring, keyRing: {} });
    for (const id of ['a', 'b', 'c']) await client.createCryptoKey({ parent, cryptoKeyId: id, cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
    const [first, , response] = await client.listCryptoKeys({ parent, pageSize: 2 }, { autoPaginate: false });
    expect(first.map((k) => k.name!.split('/').pop())).toEqual(['a', 'b']);
    expect(response?.nextPageToken).toBeTruthy();
    const all: string[] = [];
    for await (const key of client.listCryptoKeysAsync({ parent, pageSize: 2 }, { autoPaginate: false })) all.push(key.name!);
    expect(all).toHaveLength(3);
  });

  it('updates rotation settings and refuses immutable fields', async () => {
    const name = await freshKey();
    const next = { seconds: Math.floor(Date.now() / 1000) + 7 * DAY };
    const [updated] = await client.updateCryptoKey({
      cryptoKey: { name, rotationPeriod: { seconds: 30 * DAY }, nextRotationTime: next },
      updateMask: { paths: ['rotation_period', 'next_rotation_time'] },
    });
    expect(updated.rotationPeriod?.seconds).toBe(String(30 * DAY));
    const [cleared] = await client.updateCryptoKey({ cryptoKey: { name }, updateMask: { paths: ['rotation_period', 'next_rotation_time'] } });
    expect(cleared.rotationPeriod ?? null).toBeNull();
    await expect(
      client.updateCryptoKey(
        { cryptoKey: { name, destroyScheduledDuration: { seconds: DAY } }, updateMask: { paths: ['destroy_scheduled_duration'] } },
        NO_RETRY,
      ),
    ).rejects.toMatchObject({ code: 3, details: expect.stringContaining('immutable') });
    await expect(client.updateCryptoKey({ cryptoKey: { name }, updateMask: { paths: [] } }, NO_RETRY)).rejects.toMatchObject({ code: 3 });
  });
});

describe('versions', () => {
  it('creates a new version on every call (not idempotent) without making it primary', async () => {
    const name = await freshKey();
    const [v2] = await client.createCryptoKeyVersion({ parent: name, cryptoKeyVersion: {} });
    const [v3] = await client.createCryptoKeyVersion({ parent: name, cryptoKeyVersion: {} });
    expect([v2.name, v3.name]).toEqual([`${name}/cryptoKeyVersions/2`, `${name}/cryptoKeyVersions/3`]);
    expect(v3.state).toBe('ENABLED');
    const [key] = await client.getCryptoKey({ name });
    expect(key.primary?.name).toBe(`${name}/cryptoKeyVersions/1`);
    const [primary] = await client.updateCryptoKeyPrimaryVersion({ name, cryptoKeyVersionId: '3' });
    expect(primary.primary?.name).toBe(v3.name);
  });

  it('enables and disables versions; only an ENABLED version can become primary', async () => {
    const name = await freshKey();
    const [v2] = await client.createCryptoKeyVersion({ parent: name, cryptoKeyVersion: {} });
    const [disabled] = await client.updateCryptoKeyVersion({ cryptoKeyVersion: { name: v2.name, state: 'DISABLED' }, updateMask: { paths: ['state'] } });
    expect(disabled.state).toBe('DISABLED');
    await expect(client.updateCryptoKeyPrimaryVersion({ name, cryptoKeyVersionId: '2' }, NO_RETRY)).rejects.toMatchObject({ code: 9 });
    await expect(client.updateCryptoKeyPrimaryVersion({ name, cryptoKeyVersionId: '9' }, NO_RETRY)).rejects.toMatchObject({ code: 5 });
    await expect(
      client.updateCryptoKeyVersion({ cryptoKeyVersion: { name: v2.name, state: 'DESTROYED' }, updateMask: { paths: ['state'] } }, NO_RETRY),
    ).rejects.toMatchObject({ code: 3 });
    const [enabled] = await client.updateCryptoKeyVersion({ cryptoKeyVersion: { name: v2.name, state: 'ENABLED' }, updateMask: { paths: ['state'] } });
    expect(enabled.state).toBe('ENABLED');
  });

  it('schedules destruction after the destroy window, restores to DISABLED, and destroys once the time passes', async () => {
    const name = await freshKey();
    const version = `${name}/cryptoKeyVersions/1`;
    const before = Date.now();
    const [scheduled] = await client.destroyCryptoKeyVersion({ name: version });
    expect(scheduled.state).toBe('DESTROY_SCHEDULED');
    const destroyAt = Number(scheduled.destroyTime?.seconds) * 1000;
    expect(destroyAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 30 * DAY * 1000);
    expect(destroyAt).toBeLessThanOrEqual(Date.now() + 30 * DAY * 1000);
    await expect(client.destroyCryptoKeyVersion({ name: version }, NO_RETRY)).rejects.toMatchObject({
      code: 9,
      details: expect.stringContaining('DESTROY_SCHEDULED'),
    });
    const [restored] = await client.restoreCryptoKeyVersion({ name: version });
    expect(restored.state).toBe('DISABLED');
    expect(restored.destroyTime).toBeNull();
    await expect(client.restoreCryptoKeyVersion({ name: version }, NO_RETRY)).rejects.toMatchObject({ code: 9 });

    await client.destroyCryptoKeyVersion({ name: version });
    clockOffsetMs = 31 * DAY * 1000;
    try {
      const [gone] = await client.getCryptoKeyVersion({ name: version });
      expect(gone.state).toBe('DESTROYED');
      expect(gone.destroyEventTime).not.toBeNull();
      await expect(client.restoreCryptoKeyVersion({ name: version }, NO_RETRY)).rejects.toMatchObject({ code: 9 });
    } finally {
      clockOffsetMs = 0;
    }
  });
});

describe('IAM policies', () => {
  it('guards read-modify-write with the etag', async () => {
    const name = await freshKey();
    const [policy] = await client.getIamPolicy({ resource: name } as never);
    expect(policy.bindings).toEqual([]);
    const bindings = [{ role: ROLE, members: [SA_MEMBER] }];
    const [updated] = await client.setIamPolicy({ resource: name, policy: { bindings, etag: policy.etag } } as never);
    expect(updated.bindings).toEqual([expect.objectContaining({ role: ROLE, members: [SA_MEMBER] })]);
    expect(Buffer.from(updated.etag as Uint8Array).equals(Buffer.from(policy.etag as Uint8Array))).toBe(false);
    await expect(client.setIamPolicy({ resource: name, policy: { bindings: [], etag: policy.etag } } as never, NO_RETRY)).rejects.toMatchObject({
      code: 10,
      details: expect.stringContaining('concurrent policy changes'),
    });
    await expect(
      client.setIamPolicy({ resource: name, policy: { bindings: [{ role: ROLE, members: ['crdb@x.com'] }] } } as never, NO_RETRY),
    ).rejects.toMatchObject({
      code: 3,
      details: expect.stringContaining('unknown type'),
    });
  });

  it('keeps policies on key rings too', async () => {
    const name = await freshKey();
    const ring = name.split('/').slice(0, 6).join('/');
    await client.setIamPolicy({ resource: ring, policy: { bindings: [{ role: ROLE, members: ['allAuthenticatedUsers'] }] } } as never);
    const [policy] = await client.getIamPolicy({ resource: ring } as never);
    expect(policy.bindings?.[0]?.members).toEqual(['allAuthenticatedUsers']);
    await expect(client.getIamPolicy({ resource: `${ring}/cryptoKeys/none` } as never, NO_RETRY)).rejects.toMatchObject({ code: 5 });
  });
});

describe('faults and request log', () => {
  it('logs every RPC with its operation and status code', async () => {
    emulator.log.clear();
    await client.getCryptoKey({ name: gcpKeyName(GCP_KEYS.usCentral1) });
    await client.getCryptoKey({ name: `${LOCATION}/keyRings/crdb-analytics/cryptoKeys/none` }, NO_RETRY).catch(() => undefined);
    expect(emulator.log.entries.map(({ method, operation, status }) => ({ method, operation, status }))).toEqual([
      { method: 'RPC', operation: 'GetCryptoKey', status: 0 },
      { method: 'RPC', operation: 'GetCryptoKey', status: 5 },
    ]);
  });

  it('throttles with RESOURCE_EXHAUSTED and fails with UNAVAILABLE, which gax retries', async () => {
    const name = gcpKeyName(GCP_KEYS.usCentral1);
    emulator.faults.inject({ kind: 'throttle', count: 1, match: { operation: 'GetCryptoKey' } });
    await expect(client.getCryptoKey({ name }, NO_RETRY)).rejects.toMatchObject({ code: 8, reason: 'RATE_LIMIT_EXCEEDED' });
    emulator.faults.inject({ kind: 'server_error', count: 1, match: { operation: 'GetCryptoKey' } });
    await expect(client.getCryptoKey({ name }, NO_RETRY)).rejects.toMatchObject({ code: 14 });
    emulator.faults.inject({ kind: 'server_error', count: 1, status: 500, match: { operation: 'GetCryptoKey' } });
    await expect(client.getCryptoKey({ name }, NO_RETRY)).rejects.toMatchObject({ code: 13 });
    emulator.log.clear();
    emulator.faults.inject({ kind: 'server_error', count: 2, match: { operation: 'GetCryptoKey' } });
    const [key] = await client.getCryptoKey({ name }, FAST_RETRY);
    expect(key.name).toBe(name);
    expect(emulator.log.count({ operation: 'GetCryptoKey' })).toBe(3);
  });

  it('hangs until the client deadline', async () => {
    emulator.faults.inject({ kind: 'hang', count: 1, match: { operation: 'ListKeyRings' } });
    await expect(client.listKeyRings({ parent: LOCATION }, { ...NO_RETRY, timeout: 100 })).rejects.toMatchObject({ code: 4 });
  });

  it('applies a reset request, then loses its response', async () => {
    const name = await freshKey();
    emulator.faults.inject({ kind: 'reset', count: 1, match: { operation: 'CreateCryptoKeyVersion' } });
    await expect(client.createCryptoKeyVersion({ parent: name, cryptoKeyVersion: {} }, NO_RETRY)).rejects.toMatchObject({ code: 14 });
    const [versions] = await client.listCryptoKeyVersions({ parent: name });
    expect(versions.map((v) => v.name!.split('/').pop())).toEqual(['1', '2']);
  });

  it('adds latency (a deadline shorter than the latency expires)', async () => {
    emulator.faults.latencyMs = 300;
    try {
      await expect(client.getKeyRing({ name: `${LOCATION}/keyRings/crdb-analytics` }, { ...NO_RETRY, timeout: 50 })).rejects.toMatchObject({ code: 4 });
    } finally {
      emulator.faults.latencyMs = 0;
    }
  });
});

describe('checkCmekAccess', () => {
  const central = gcpKeyName(GCP_KEYS.usCentral1);

  it('accepts the seeded keys for the CMEK service account', async () => {
    for (const key of Object.values(GCP_KEYS)) expect(await emulator.checkCmekAccess(gcpKeyName(key), GCP_CMEK_SERVICE_ACCOUNT)).toEqual({ ok: true });
  });

  it('refuses versioned names, missing keys and other principals', async () => {
    expect(await emulator.checkCmekAccess(`${central}/cryptoKeyVersions/1`, GCP_CMEK_SERVICE_ACCOUNT)).toMatchObject({
      ok: false,
      message: expect.stringContaining('WITHOUT'),
    });
    expect(await emulator.checkCmekAccess(`${LOCATION}/keyRings/crdb-analytics/cryptoKeys/none`, GCP_CMEK_SERVICE_ACCOUNT)).toMatchObject({
      ok: false,
      message: expect.stringContaining('does not exist'),
    });
    expect(await emulator.checkCmekAccess(central, `other@${GCP_PROJECT}.iam.gserviceaccount.com`)).toMatchObject({
      ok: false,
      message: expect.stringContaining(`lacks ${ROLE}`),
    });
  });

  it('needs the encrypter/decrypter role itself (owner or via-delegation is not enough), on the key or its ring', async () => {
    const name = await freshKey();
    const ring = name.split('/').slice(0, 6).join('/');
    await client.setIamPolicy({
      resource: name,
      policy: {
        bindings: [
          { role: 'roles/owner', members: [SA_MEMBER] },
          { role: 'roles/cloudkms.cryptoKeyEncrypterDecrypterViaDelegation', members: [SA_MEMBER] },
        ],
      },
    } as never);
    expect(await emulator.checkCmekAccess(name, GCP_CMEK_SERVICE_ACCOUNT)).toMatchObject({ ok: false });
    await client.setIamPolicy({ resource: ring, policy: { bindings: [{ role: ROLE, members: [SA_MEMBER] }] } } as never);
    expect(await emulator.checkCmekAccess(name, GCP_CMEK_SERVICE_ACCOUNT)).toEqual({ ok: true });
  });

  it('needs an ENABLED primary version', async () => {
    const name = await freshKey();
    await client.setIamPolicy({ resource: name, policy: { bindings: [{ role: ROLE, members: [SA_MEMBER] }] } } as never);
    await client.updateCryptoKeyVersion({ cryptoKeyVersion: { name: `${name}/cryptoKeyVersions/1`, state: 'DISABLED' }, updateMask: { paths: ['state'] } });
    expect(await emulator.checkCmekAccess(name, GCP_CMEK_SERVICE_ACCOUNT)).toMatchObject({ ok: false, message: expect.stringContaining('DISABLED') });
  });
});

describe('close', () => {
  it('shuts down even with a call hanging', async () => {
    const other = await startGcpKmsEmulator();
    const otherClient = gcpKmsClient(other.port);
    other.faults.inject({ kind: 'hang', count: 1 });
    const pending = otherClient.getKeyRing({ name: `${LOCATION}/keyRings/crdb-analytics` }, { ...NO_RETRY, timeout: 10_000 }).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await other.close();
    expect(await pending).toMatchObject({ code: expect.any(Number) });
    await otherClient.close();
  });
});
