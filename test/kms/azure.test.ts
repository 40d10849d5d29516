/**
 * The Azure Key Vault provider, with the real @azure/keyvault-keys client talking HTTPS to the
 * sandbox emulator.
 */
import { KeyClient } from '@azure/keyvault-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OperatorError } from '../../src/errors.js';
import { toKmsError } from '../../src/kms/providers/azure/errors.js';
import { createAzureKmsProvider } from '../../src/kms/providers/azure/client.js';
import { KmsError, type KmsProvider, type ProvisionKeyRequest } from '../../src/kms/provider.js';
import { startAzureKeyVaultEmulator, type AzureKeyVaultEmulator } from '../../src/sandbox/azure-key-vault.js';
import { createSandboxAzureCredential, sandboxKeyClientOptions } from '../../src/sandbox/azure-sandbox-client.js';
import { AZURE_KEYS, AZURE_TENANT, azureKeyId, CLUSTER_IDS, ORG_ID } from '../../src/sandbox/seed.js';
import { rejection } from '../helpers/harness.js';

const VAULT = AZURE_KEYS.vault.name;
const PROTECTED = AZURE_KEYS.protectedVault.name;
const PAYMENTS_ID = azureKeyId(VAULT, AZURE_KEYS.payments.name, AZURE_KEYS.payments.version);
const CLUSTER_ID = CLUSTER_IDS['payments-azure'];
const CLIENT_ID = 'c0ffee00-1234-4abc-9def-00000000c0de';
const DAY_MS = 86_400_000;

let emulator: AzureKeyVaultEmulator;
let provider: KmsProvider;

function keyClient(vault: string): KeyClient {
  return new KeyClient(`https://${vault}.vault.azure.net`, createSandboxAzureCredential(AZURE_TENANT), {
    ...sandboxKeyClientOptions(emulator),
    retryOptions: { maxRetries: 0 },
  });
}

function request(overrides: Partial<ProvisionKeyRequest>): ProvisionKeyRequest {
  return {
    location: 'eastus',
    keyName: 'crdb-cmek',
    authPrincipal: AZURE_TENANT,
    container: PROTECTED,
    organizationId: ORG_ID,
    clusterAccountId: '',
    clusterId: CLUSTER_ID,
    azureClusterIdentityClientId: CLIENT_ID,
    dryRun: false,
    ...overrides,
  };
}

beforeAll(async () => {
  emulator = await startAzureKeyVaultEmulator({
    vaults: [
      { name: 'acme-short-kv', location: 'eastus', tenantId: AZURE_TENANT, softDeleteRetentionDays: 7, purgeProtection: true },
      { name: 'acme-empty-kv', location: 'eastus', tenantId: AZURE_TENANT, softDeleteRetentionDays: 90, purgeProtection: true },
    ],
  });
  provider = await createAzureKmsProvider({
    credential: createSandboxAzureCredential(emulator.tenantId),
    clientOptions: sandboxKeyClientOptions(emulator),
    retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 50 },
    pollIntervalMs: 5,
  });
});

afterAll(async () => {
  await emulator.close();
});

describe('describeKey', () => {
  it('describes the seeded key, reading protection and region from the data plane', async () => {
    const description = await provider.describeKey(PAYMENTS_ID);
    expect(description).toEqual({
      uri: PAYMENTS_ID,
      type: 'AZURE_KEY_VAULT',
      location: 'eastus',
      state: 'Enabled',
      usable: true,
      createdAt: '2025-06-02T09:30:00.000Z',
      rotation: { automatic: false },
      deletion: { scheduled: false, windowDays: 90, purgeProtection: false },
      currentVersion: AZURE_KEYS.payments.version,
    });
  });

  it('detects purge protection and short retention', async () => {
    const protectedKey = await keyClient(PROTECTED).createRsaKey('describe-protected', { keySize: 3072 });
    expect((await provider.describeKey(protectedKey.id!)).deletion).toEqual({ scheduled: false, windowDays: 90, purgeProtection: true });
    const shortKey = await keyClient('acme-short-kv').createRsaKey('describe-short', { keySize: 3072 });
    expect((await provider.describeKey(shortKey.id!)).deletion).toEqual({ scheduled: false, windowDays: 7, purgeProtection: true });
  });

  it('reports automatic rotation and the current version of an older version', async () => {
    const client = keyClient(VAULT);
    const first = await client.createRsaKey('describe-rotating', { keySize: 3072 });
    await client.updateKeyRotationPolicy('describe-rotating', { lifetimeActions: [{ action: 'Rotate', timeAfterCreate: 'P90D' }] });
    const second = await client.rotateKey('describe-rotating');
    const description = await provider.describeKey(first.id!);
    expect(description.currentVersion).toBe(second.properties.version);
    expect(description.rotation).toEqual({
      automatic: true,
      periodDays: 90,
      nextRotationAt: new Date(second.properties.createdOn!.getTime() + 90 * DAY_MS).toISOString(),
    });
  });

  it('names missing keys and malformed ids precisely', async () => {
    const missing = await rejection(provider.describeKey(azureKeyId(VAULT, 'no-such-key', '0'.repeat(32))));
    expect(missing).toBeInstanceOf(KmsError);
    expect(missing).toMatchObject({ kind: 'not_found', providerCode: 'KeyNotFound' });
    const malformed = await rejection(provider.describeKey('https://acme-crdb-kv.vault.azure.net/secrets/x'));
    expect(malformed).toBeInstanceOf(OperatorError);
    expect(malformed.message).toMatch(/\/keys\//);
  });
});

describe('checkAccess', () => {
  it('says role assignments cannot be verified from the data plane', async () => {
    const access = await provider.checkAccess(PAYMENTS_ID, AZURE_TENANT);
    expect(access).toMatchObject({ granted: false, verified: false, missing: [], broader: [] });
    expect(access.detail).toContain('"Key Vault Crypto Officer"');
    expect(access.detail).toContain('"CockroachDB Cloud - <cluster id>"');
  });

  it('catches a principal that is not the vault tenant, or not a tenant id at all', async () => {
    const other = await provider.checkAccess(PAYMENTS_ID, '0badc0de-0000-4000-8000-000000000000');
    expect(other).toMatchObject({ granted: false, verified: true });
    expect(other.detail).toContain(AZURE_TENANT);
    const notGuid = await rejection(provider.checkAccess(PAYMENTS_ID, 'arn:aws:iam::111122223333:role/x'));
    expect(notGuid).toMatchObject({ kind: 'invalid' });
    expect(notGuid.message).toMatch(/az account show --query tenantId/);
  });
});

describe('provisionKey', () => {
  it('dry run reads but changes nothing', async () => {
    const writes = () => emulator.log.count({ method: 'POST' }) + emulator.log.count({ method: 'PUT' });
    const before = writes();
    const result = await provider.provisionKey(request({ keyName: 'dry-run-key', dryRun: true }));
    expect(writes()).toBe(before);
    expect(result.uri).toBe(azureKeyId(PROTECTED, 'dry-run-key'));
    expect(result.actions.map((action) => action.action)).toEqual(['would_create', 'would_create', 'manual']);
    await expect(keyClient(PROTECTED).getKey('dry-run-key')).rejects.toMatchObject({ statusCode: 404 });
  });

  it('creates an RSA 3072 key with a rotation policy, then reuses both', async () => {
    const result = await provider.provisionKey(request({ keyName: 'provisioned' }));
    expect(result.uri).toMatch(new RegExp(`^https://${PROTECTED}\\.vault\\.azure\\.net/keys/provisioned/[0-9a-f]{32}$`));
    expect(result.authPrincipal).toBe(AZURE_TENANT);
    expect(result.actions.map((action) => action.action)).toEqual(['created', 'updated', 'manual']);
    expect(result.warnings).toEqual([]);
    const key = await keyClient(PROTECTED).getKey('provisioned');
    expect(key.key?.n?.length).toBe(384);
    expect(key.keyOperations).toEqual(['wrapKey', 'unwrapKey', 'encrypt', 'decrypt']);
    const policy = await keyClient(PROTECTED).getKeyRotationPolicy('provisioned');
    expect(policy.lifetimeActions).toContainEqual({ action: 'Rotate', timeAfterCreate: 'P365D', timeBeforeExpiry: undefined });
    expect(policy.expiresIn).toBeUndefined();
    expect(result.manualSteps[0]).toContain(`https://login.microsoftonline.com/${AZURE_TENANT}/adminconsent?client_id=${CLIENT_ID}`);
    expect(result.manualSteps[0]).toContain(`"CockroachDB Cloud - ${CLUSTER_ID}"`);
    expect(result.manualSteps[1]).toContain('az role assignment create --role "Key Vault Crypto Officer"');
    expect(result.manualSteps[1]).toContain(`--scope "$(az keyvault show --name ${PROTECTED} --query id -o tsv)/keys/provisioned"`);
    expect(result.manualSteps.at(-1)).toMatch(/limited access/);
    expect(await emulator.checkCmekAccess(result.uri, AZURE_TENANT)).toEqual({ ok: true });

    const creates = emulator.log.count({ operation: 'CreateKey' });
    const again = await provider.provisionKey(request({ keyName: 'provisioned' }));
    expect(again.uri).toBe(result.uri);
    expect(again.actions.map((action) => action.action)).toEqual(['reused', 'reused', 'manual']);
    expect(emulator.log.count({ operation: 'CreateKey' })).toBe(creates);

    const changed = await provider.provisionKey(request({ keyName: 'provisioned', rotationPeriodDays: 90 }));
    expect(changed.actions[1]).toMatchObject({ action: 'updated' });
    expect((await provider.describeKey(changed.uri)).rotation).toMatchObject({ automatic: true, periodDays: 90 });
  });

  it('warns loudly about a vault without purge protection, short retention or another region', async () => {
    const unprotected = await provider.provisionKey(request({ container: VAULT, keyName: 'unprotected', location: 'westus' }));
    expect(unprotected.warnings.join('\n')).toMatch(/PURGE PROTECTION IS OFF on vault acme-crdb-kv/);
    expect(unprotected.warnings.join('\n')).toMatch(/az keyvault update --name acme-crdb-kv --enable-purge-protection true/);
    expect(unprotected.warnings.join('\n')).toMatch(/is in eastus, but the cluster region is westus/);
    expect(unprotected.manualSteps.join('\n')).toMatch(/enable-purge-protection/);
    const short = await provider.provisionKey(request({ container: 'acme-short-kv', keyName: 'short' }));
    expect(short.warnings).toEqual([expect.stringMatching(/only 7 days/)]);
    const unknown = await provider.provisionKey(request({ container: 'acme-empty-kv', keyName: 'first', dryRun: true }));
    expect(unknown.warnings).toEqual([expect.stringMatching(/Could not read vault acme-empty-kv's deletion protection/)]);
  });

  it('creates RSA-HSM keys when asked and refuses unusable requests', async () => {
    await provider.provisionKey(request({ keyName: 'hsm-key', hsm: true }));
    expect((await keyClient(PROTECTED).getKey('hsm-key')).keyType).toBe('RSA-HSM');
    expect(await rejection(provider.provisionKey(request({ authPrincipal: 'crdb-cmek@acme.iam.gserviceaccount.com' })))).toMatchObject({ kind: 'invalid' });
    expect(await rejection(provider.provisionKey(request({ authPrincipal: '0badc0de-0000-4000-8000-000000000000' })))).toMatchObject({
      kind: 'invalid',
      providerCode: 'TenantMismatch',
    });
    expect(await rejection(provider.provisionKey(request({ rotationPeriodDays: 3 })))).toMatchObject({ kind: 'invalid' });
    expect(await rejection(provider.provisionKey(request({ container: 'Bad_Vault' })))).toBeInstanceOf(OperatorError);
    await keyClient(PROTECTED).createEcKey('ec-taken');
    expect(await rejection(provider.provisionKey(request({ keyName: 'ec-taken' })))).toMatchObject({ kind: 'conflict' });
    await keyClient(PROTECTED).createRsaKey('deleted-name');
    await (await keyClient(PROTECTED).beginDeleteKey('deleted-name', { intervalInMs: 5 })).pollUntilDone();
    const deleted = await rejection(provider.provisionKey(request({ keyName: 'deleted-name' })));
    expect(deleted).toMatchObject({ kind: 'conflict' });
    expect(deleted.message).toMatch(/az keyvault key recover/);
  });
});

describe('rotateKey', () => {
  it('returns the new versioned id', async () => {
    const { uri } = await provider.provisionKey(request({ keyName: 'rotate-me' }));
    const rotated = await provider.rotateKey(uri);
    expect(rotated.uri).not.toBe(uri);
    expect(rotated.uri).toBe(azureKeyId(PROTECTED, 'rotate-me', rotated.newVersion));
    expect(rotated.detail).toMatch(/PUT \/cmek/);
    expect((await provider.describeKey(uri)).currentVersion).toBe(rotated.newVersion);
  });

  it('never re-sends a rotate that may have happened, but retries reads', async () => {
    const { uri } = await provider.provisionKey(request({ keyName: 'rotate-flaky' }));
    const rotates = emulator.log.count({ operation: 'RotateKey' });
    emulator.faults.inject({ kind: 'server_error', count: 1, match: { operation: 'RotateKey' } });
    expect(await rejection(provider.rotateKey(uri))).toMatchObject({ kind: 'unavailable' });
    expect(emulator.log.count({ operation: 'RotateKey' })).toBe(rotates + 1);
    emulator.faults.inject({ kind: 'server_error', count: 1, match: { operation: 'GetKey' } });
    expect((await provider.describeKey(uri)).state).toBe('Enabled');
  });
});

describe('errors', () => {
  it('maps throttling with retries exhausted, keeping the request id', async () => {
    const strict = await createAzureKmsProvider({
      credential: createSandboxAzureCredential(emulator.tenantId),
      clientOptions: sandboxKeyClientOptions(emulator),
      retry: { maxRetries: 0 },
    });
    await strict.describeKey(PAYMENTS_ID);
    emulator.faults.inject({ kind: 'throttle', count: 1, retryAfterSeconds: 1, match: { operation: 'GetKey' } });
    const throttled = await rejection(strict.describeKey(PAYMENTS_ID));
    expect(throttled).toMatchObject({ kind: 'throttled', providerCode: 'Throttled' });
    expect(throttled.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(throttled.message).toMatch(/request id/);
  });

  it("maps Key Vault's purge-protection refusal to access_denied", async () => {
    const client = keyClient(PROTECTED);
    await client.createRsaKey('purge-refused');
    await (await client.beginDeleteKey('purge-refused', { intervalInMs: 5 })).pollUntilDone();
    const mapped = toKmsError(await rejection(client.purgeDeletedKey('purge-refused')), 'Purging key purge-refused');
    expect(mapped).toMatchObject({ kind: 'access_denied', providerCode: 'PurgeProtectionEnabled' });
  });
});

describe('disableKey and scheduleDeletion', () => {
  it('disables one version, or every version of an unversioned key', async () => {
    const { uri } = await provider.provisionKey(request({ keyName: 'disable-me' }));
    const described = await provider.disableKey(uri);
    expect(described).toMatchObject({ state: 'Disabled', usable: false });
    const other = await provider.rotateKey(uri);
    await provider.disableKey(azureKeyId(PROTECTED, 'disable-me'));
    expect((await provider.describeKey(other.uri)).state).toBe('Disabled');
  });

  it('soft-deletes for the vault retention and says how to undo it', async () => {
    const { uri } = await provider.provisionKey(request({ container: VAULT, keyName: 'delete-me' }));
    const result = await provider.scheduleDeletion(uri, 30);
    expect(result.state).toBe('SoftDeleted');
    expect(Date.parse(result.deletionDate) - Date.now()).toBeGreaterThan(89 * DAY_MS);
    expect(result.undo).toContain(`Recoverable until ${result.deletionDate}: az keyvault key recover --vault-name ${VAULT} --name delete-me`);
    expect(result.undo).toMatch(/retention \(90 days\) applies, not the 30 days requested/);
    expect(result.undo).toMatch(/Purge protection is OFF/);
    const described = await provider.describeKey(uri);
    expect(described).toMatchObject({
      state: 'SoftDeleted',
      usable: false,
      deletion: { scheduled: true, scheduledFor: result.deletionDate, purgeProtection: false },
    });
    const again = await provider.scheduleDeletion(uri, 90);
    expect(again.deletionDate).toBe(result.deletionDate);
  });

  it('refuses a window the vault cannot honour, deleting nothing', async () => {
    const { uri } = await provider.provisionKey(request({ container: 'acme-short-kv', keyName: 'keep-me' }));
    const deletes = emulator.log.count({ operation: 'DeleteKey' });
    expect(await rejection(provider.scheduleDeletion(uri, 30))).toMatchObject({ kind: 'invalid', providerCode: 'RetentionShorterThanRequested' });
    expect(await rejection(provider.scheduleDeletion(uri, 5))).toMatchObject({ kind: 'invalid' });
    expect(emulator.log.count({ operation: 'DeleteKey' })).toBe(deletes);
    const result = await provider.scheduleDeletion(uri, 7);
    expect(result.undo).toMatch(/Purge protection is on/);
    expect(provider.deletionWindow).toEqual({ minDays: 7, defaultDays: 90, maxDays: 90 });
  });
});
