import type { KeyManagementServiceClient } from '@google-cloud/kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGcpKmsProvider, type GcpKmsProvider } from '../../src/kms/providers/gcp/client.js';
import { KeyUriError } from '../../src/kms/key-uri.js';
import { KmsError, type ProvisionKeyRequest } from '../../src/kms/provider.js';
import { startGcpKmsEmulator, type GcpKmsEmulator } from '../../src/sandbox/gcp-kms.js';
import { CLUSTER_IDS, GCP_CMEK_SERVICE_ACCOUNT, GCP_KEYS, GCP_PROJECT, ORG_ID, gcpKeyName } from '../../src/sandbox/seed.js';
import { gcpKmsClient, uniqueId } from '../helpers/gcp.js';

const DAY = 86_400;
const LOCATION = `projects/${GCP_PROJECT}/locations/us-central1`;
const ROLE = 'roles/cloudkms.cryptoKeyEncrypterDecrypter';
const SA_MEMBER = `serviceAccount:${GCP_CMEK_SERVICE_ACCOUNT}`;
const CENTRAL = gcpKeyName(GCP_KEYS.usCentral1);

let emulator: GcpKmsEmulator;
let client: KeyManagementServiceClient;
let provider: GcpKmsProvider;

beforeAll(async () => {
  emulator = await startGcpKmsEmulator();
  client = gcpKmsClient(emulator.port);
  provider = await createGcpKmsProvider({
    sandboxPort: emulator.port,
    calls: { timeoutMs: 300, maxRetries: 2, initialDelayMs: 1, maxDelayMs: 5 },
    pollIntervalMs: 1,
  });
});

afterAll(async () => {
  await provider.close();
  await client.close();
  await emulator.close();
});

async function freshKey(options: { destroyDays?: number; grant?: boolean } = {}): Promise<string> {
  const ring = uniqueId('ring');
  await client.createKeyRing({ parent: LOCATION, keyRingId: ring, keyRing: {} });
  const [key] = await client.createCryptoKey({
    parent: `${LOCATION}/keyRings/${ring}`,
    cryptoKeyId: 'cmek',
    cryptoKey: { purpose: 'ENCRYPT_DECRYPT', ...(options.destroyDays ? { destroyScheduledDuration: { seconds: options.destroyDays * DAY } } : {}) },
  });
  if (options.grant) await client.setIamPolicy({ resource: key.name, policy: { bindings: [{ role: ROLE, members: [SA_MEMBER] }] } } as never);
  return key.name!;
}

function provisionRequest(overrides: Partial<ProvisionKeyRequest> = {}): ProvisionKeyRequest {
  return {
    location: 'us-central1',
    keyName: 'analytics-cmek',
    keyRing: uniqueId('ring'),
    authPrincipal: GCP_CMEK_SERVICE_ACCOUNT,
    container: GCP_PROJECT,
    organizationId: ORG_ID,
    clusterAccountId: 'crl-prod-7c2e9a41',
    clusterId: CLUSTER_IDS['analytics-gcp'],
    dryRun: false,
    ...overrides,
  };
}

const MUTATIONS = /^(Create|Update|Destroy|Restore|Set)/;

describe('describeKey', () => {
  it('describes a seeded key: primary ENABLED, rotation, destroy window', async () => {
    const description = await provider.describeKey(CENTRAL);
    expect(description).toMatchObject({
      uri: CENTRAL,
      type: 'GCP_CLOUD_KMS',
      location: 'us-central1',
      state: 'ENABLED',
      usable: true,
      createdAt: '2025-06-02T09:00:00.000Z',
      rotation: { automatic: true, periodDays: 90 },
      deletion: { scheduled: false, windowDays: 30 },
      currentVersion: '1',
    });
    expect(Date.parse(description.rotation.nextRotationAt!)).toBeGreaterThan(Date.now());
    expect((await provider.describeKey(gcpKeyName(GCP_KEYS.europeWest1))).rotation).toEqual({ automatic: false });
  });

  it('maps NOT_FOUND and PERMISSION_DENIED to KmsError kinds, keeping the code and request id', async () => {
    const missing = await provider.describeKey(`${LOCATION}/keyRings/crdb-analytics/cryptoKeys/none`).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(KmsError);
    expect(missing).toMatchObject({ kind: 'not_found', providerCode: 'NOT_FOUND', requestId: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect((missing as KmsError).message).toContain('gcloud kms keys list');
    await expect(provider.describeKey('projects/other-project/locations/us-central1/keyRings/r/cryptoKeys/k')).rejects.toMatchObject({
      kind: 'access_denied',
      providerCode: 'PERMISSION_DENIED',
    });
  });

  it('rejects a malformed name before any call', async () => {
    const before = emulator.log.entries.length;
    await expect(provider.describeKey('projects/x/keyRings/y')).rejects.toBeInstanceOf(KeyUriError);
    expect(emulator.log.entries.length).toBe(before);
  });

  it('retries a throttled read, and reports throttling when it persists', async () => {
    emulator.faults.inject({ kind: 'throttle', count: 1, match: { operation: 'GetCryptoKey' } });
    await expect(provider.describeKey(CENTRAL)).resolves.toMatchObject({ usable: true });
    emulator.faults.inject({ kind: 'throttle', count: 10, match: { operation: 'GetCryptoKey' } });
    await expect(provider.describeKey(CENTRAL)).rejects.toMatchObject({ kind: 'throttled' });
    emulator.faults.reset();
  });

  it('honours an aborted signal without calling', async () => {
    const before = emulator.log.entries.length;
    await expect(provider.describeKey(CENTRAL, AbortSignal.abort())).rejects.toMatchObject({ name: 'AbortError' });
    expect(emulator.log.entries.length).toBe(before);
  });
});

describe('checkAccess', () => {
  it('finds the seeded grant', async () => {
    const check = await provider.checkAccess(CENTRAL, GCP_CMEK_SERVICE_ACCOUNT);
    expect(check).toMatchObject({ granted: true, missing: [], broader: [], verified: true });
  });

  it('reports the missing role for another principal', async () => {
    const check = await provider.checkAccess(CENTRAL, `other@${GCP_PROJECT}.iam.gserviceaccount.com`);
    expect(check).toMatchObject({ granted: false, missing: [ROLE], verified: true });
  });

  it('flags broader grants: public members, owner/admin roles, key-ring-wide grants', async () => {
    const name = await freshKey();
    const ring = name.split('/').slice(0, 6).join('/');
    await client.setIamPolicy({
      resource: name,
      policy: {
        bindings: [
          { role: 'roles/cloudkms.viewer', members: ['allUsers'] },
          { role: 'roles/owner', members: [SA_MEMBER] },
        ],
      },
    } as never);
    await client.setIamPolicy({
      resource: ring,
      policy: {
        bindings: [
          { role: ROLE, members: [SA_MEMBER] },
          { role: 'roles/cloudkms.admin', members: [SA_MEMBER] },
        ],
      },
    } as never);
    const check = await provider.checkAccess(name, GCP_CMEK_SERVICE_ACCOUNT);
    expect(check.granted).toBe(true);
    expect(check.broader).toEqual([
      `allUsers has roles/cloudkms.viewer on key ${name}`,
      `${SA_MEMBER} has roles/owner on key ${name}`,
      `${SA_MEMBER} has roles/cloudkms.admin on key ring ${ring}`,
      expect.stringContaining(`${ROLE} on key ring ${ring}, which covers every key in the ring`),
    ]);
  });

  it('says when the policy cannot be read', async () => {
    const check = await provider.checkAccess('projects/other-project/locations/us-central1/keyRings/r/cryptoKeys/k', GCP_CMEK_SERVICE_ACCOUNT);
    expect(check).toMatchObject({ granted: false, verified: false });
  });
});

describe('provisionKey', () => {
  it('dry run sends no mutation and says what it would do', async () => {
    const request = provisionRequest({ dryRun: true });
    emulator.log.clear();
    const result = await provider.provisionKey(request);
    expect(result.actions.map((a) => a.action)).toEqual(['would_create', 'would_create', 'would_update', 'manual']);
    expect(result.actions[1]!.detail).toContain('"purpose":"ENCRYPT_DECRYPT"');
    expect(emulator.log.entries.filter((e) => MUTATIONS.test(e.operation))).toEqual([]);
    expect(result.uri).toBe(`${LOCATION}/keyRings/${request.keyRing}/cryptoKeys/analytics-cmek`);
  });

  it('creates ring, key and grant, then reuses them on a re-run', async () => {
    const request = provisionRequest({ rotationPeriodDays: 30, deletionWindowDays: 45 });
    const first = await provider.provisionKey(request);
    expect(first.actions.map((a) => a.action)).toEqual(['created', 'created', 'updated', 'manual']);
    expect(first.uri).not.toContain('cryptoKeyVersions');
    expect(first.authPrincipal).toBe(GCP_CMEK_SERVICE_ACCOUNT);
    expect(first.manualSteps).toContain(
      `Let CockroachDB Cloud's own service account impersonate it across tenants: gcloud iam service-accounts add-iam-policy-binding ${GCP_CMEK_SERVICE_ACCOUNT} --member="serviceAccount:crl-kms-user-0b1c2d3e4f5a@crl-prod-7c2e9a41.iam.gserviceaccount.com" --role="roles/iam.serviceAccountTokenCreator"`,
    );
    expect(first.manualSteps[0]).toMatch(
      /^If the cross-tenant service account does not exist yet, create it in your project: gcloud iam service-accounts create crdb-cmek /,
    );
    expect(await emulator.checkCmekAccess(first.uri, GCP_CMEK_SERVICE_ACCOUNT)).toEqual({ ok: true });
    expect(await provider.describeKey(first.uri)).toMatchObject({ usable: true, rotation: { automatic: true, periodDays: 30 }, deletion: { windowDays: 45 } });

    emulator.log.clear();
    const second = await provider.provisionKey(request);
    expect(second.actions.map((a) => a.action)).toEqual(['reused', 'reused', 'reused', 'manual']);
    expect(second.uri).toBe(first.uri);
    expect(emulator.log.entries.filter((e) => MUTATIONS.test(e.operation))).toEqual([]);
  });

  it('turns on rotation for an existing key and warns about a destroy window it cannot change', async () => {
    const name = await freshKey({ destroyDays: 10 });
    const [, , ring, , key] = name.split('/').slice(3);
    const result = await provider.provisionKey(provisionRequest({ keyRing: ring!, keyName: key! }));
    expect(result.actions.map((a) => a.action)).toEqual(['reused', 'updated', 'updated', 'manual']);
    expect(result.warnings).toEqual([expect.stringContaining('keeps its destroy window of 10 days')]);
    expect((await provider.describeKey(name)).rotation).toMatchObject({ automatic: true, periodDays: 90 });
  });

  it('after a lost SetIamPolicy response, re-reads the policy and reports the grant', async () => {
    emulator.faults.inject({ kind: 'reset', count: 1, match: { operation: 'SetIamPolicy' } });
    const result = await provider.provisionKey(provisionRequest());
    expect(result.actions[2]).toMatchObject({ action: 'updated' });
    expect(await emulator.checkCmekAccess(result.uri, GCP_CMEK_SERVICE_ACCOUNT)).toEqual({ ok: true });
  });

  it('rejects a bad principal or key name before any call', async () => {
    const before = emulator.log.entries.length;
    await expect(provider.provisionKey(provisionRequest({ authPrincipal: 'arn:aws:iam::1:role/x' }))).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringMatching(/cross-tenant service account in your project/),
    });
    await expect(provider.provisionKey(provisionRequest({ keyName: 'bad name' }))).rejects.toBeInstanceOf(KeyUriError);
    await expect(provider.provisionKey(provisionRequest({ deletionWindowDays: 200 }))).rejects.toMatchObject({ kind: 'invalid' });
    expect(emulator.log.entries.length).toBe(before);
  });
});

describe('rotateKey', () => {
  it('creates one version and makes it primary; the URI stays the same', async () => {
    const name = await freshKey({ grant: true });
    emulator.log.clear();
    const result = await provider.rotateKey(name);
    expect(result).toMatchObject({ uri: name, newVersion: '2' });
    expect(emulator.log.count({ operation: 'CreateCryptoKeyVersion' })).toBe(1);
    expect((await provider.describeKey(name)).currentVersion).toBe('2');
  });

  it('after an ambiguous create failure, finds the created version instead of creating a second', async () => {
    const name = await freshKey();
    emulator.log.clear();
    emulator.faults.inject({ kind: 'reset', count: 1, match: { operation: 'CreateCryptoKeyVersion' } });
    const result = await provider.rotateKey(name);
    expect(result.newVersion).toBe('2');
    expect(emulator.log.count({ operation: 'CreateCryptoKeyVersion' })).toBe(1);
    const [versions] = await client.listCryptoKeyVersions({ parent: name });
    expect(versions).toHaveLength(2);
    expect((await provider.describeKey(name)).currentVersion).toBe('2');
  });

  it('when the create timed out without effect, says so and does not retry it', async () => {
    const name = await freshKey();
    emulator.log.clear();
    emulator.faults.inject({ kind: 'hang', count: 1, match: { operation: 'CreateCryptoKeyVersion' } });
    const error = await provider.rotateKey(name).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'unavailable', message: expect.stringContaining('safe to run the rotation again') });
    expect(emulator.log.count({ operation: 'CreateCryptoKeyVersion' })).toBe(1);
    expect((await provider.describeKey(name)).currentVersion).toBe('1');
  });

  it('does not retry a throttled create; retries the idempotent primary switch', async () => {
    const name = await freshKey();
    emulator.log.clear();
    emulator.faults.inject({ kind: 'throttle', count: 1, match: { operation: 'CreateCryptoKeyVersion' } });
    await expect(provider.rotateKey(name)).rejects.toMatchObject({ kind: 'throttled', providerCode: 'RESOURCE_EXHAUSTED' });
    expect(emulator.log.count({ operation: 'CreateCryptoKeyVersion' })).toBe(1);
    emulator.faults.inject({ kind: 'server_error', count: 1, match: { operation: 'UpdateCryptoKeyPrimaryVersion' } });
    await expect(provider.rotateKey(name)).resolves.toMatchObject({ newVersion: '2' });
    expect(emulator.log.count({ operation: 'UpdateCryptoKeyPrimaryVersion' })).toBe(2);
  });

  it('when the primary switch keeps failing, says the version exists and how to finish', async () => {
    const name = await freshKey();
    emulator.faults.inject({ kind: 'throttle', count: 10, match: { operation: 'UpdateCryptoKeyPrimaryVersion' } });
    const error = await provider.rotateKey(name).catch((e: unknown) => e);
    emulator.faults.reset();
    expect(error).toMatchObject({ kind: 'throttled', message: expect.stringContaining('Version 2 of') });
    expect((error as Error).message).toContain('gcloud kms keys set-primary-version cmek --version=2');
  });
});

describe('disableKey', () => {
  it('disables the primary version; CMEK access then fails', async () => {
    const name = await freshKey({ grant: true });
    const description = await provider.disableKey(name);
    expect(description).toMatchObject({ state: 'DISABLED', usable: false, currentVersion: '1' });
    expect(await emulator.checkCmekAccess(name, GCP_CMEK_SERVICE_ACCOUNT)).toMatchObject({ ok: false });
    await expect(provider.disableKey(name)).resolves.toMatchObject({ state: 'DISABLED' });
  });
});

describe('scheduleDeletion', () => {
  it('has the GCP window limits', () => {
    expect(provider.deletionWindow).toEqual({ minDays: 1, defaultDays: 30, maxDays: 120 });
  });

  it('schedules every version for destruction and says how to undo', async () => {
    const name = await freshKey();
    await provider.rotateKey(name);
    const result = await provider.scheduleDeletion(name, 30);
    expect(result.state).toBe('DESTROY_SCHEDULED');
    expect(Date.parse(result.deletionDate)).toBeGreaterThan(Date.now() + 29 * DAY * 1000);
    const [, , , , ring] = name.split('/').slice(1);
    const flags = `--key=cmek --keyring=${ring} --location=us-central1 --project=${GCP_PROJECT}`;
    expect(result.undo).toContain(`gcloud kms keys versions restore 1 ${flags} && gcloud kms keys versions restore 2 ${flags}`);
    expect(result.undo).toContain(`gcloud kms keys versions enable 2 ${flags}`);
    expect(result.undo).toContain(result.deletionDate);
    expect(result.note).toBeUndefined();
    expect((await provider.describeKey(name)).deletion).toMatchObject({ scheduled: true, scheduledFor: result.deletionDate });
    await expect(provider.scheduleDeletion(name, 30)).resolves.toMatchObject({ deletionDate: result.deletionDate });
  });

  it('says when the requested window differs from the one fixed at creation', async () => {
    const name = await freshKey();
    const result = await provider.scheduleDeletion(name, 7);
    expect(result.note).toContain("fixed this key's destroy window at 30 days");
  });

  it('refuses a window longer than the key allows, destroying nothing', async () => {
    const name = await freshKey({ destroyDays: 10 });
    emulator.log.clear();
    await expect(provider.scheduleDeletion(name, 30)).rejects.toMatchObject({ kind: 'invalid', message: expect.stringContaining('at 10 days') });
    expect(emulator.log.count({ operation: 'DestroyCryptoKeyVersion' })).toBe(0);
    expect((await provider.describeKey(name)).deletion.scheduled).toBe(false);
  });

  it('accepts a version already scheduled by an attempt whose answer was lost', async () => {
    const name = await freshKey();
    emulator.faults.inject({ kind: 'reset', count: 1, match: { operation: 'DestroyCryptoKeyVersion' } });
    await expect(provider.scheduleDeletion(name, 30)).resolves.toMatchObject({ state: 'DESTROY_SCHEDULED' });
    expect((await provider.describeKey(name)).deletion.scheduled).toBe(true);
  });

  it('refuses a versioned name', async () => {
    await expect(provider.scheduleDeletion(`${CENTRAL}/cryptoKeyVersions/1`, 30)).rejects.toBeInstanceOf(KeyUriError);
  });
});
