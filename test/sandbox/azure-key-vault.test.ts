/**
 * The Azure Key Vault emulator through the real @azure/keyvault-keys client over HTTPS: the
 * emulator's self-signed certificate is trusted through tlsOptions.ca only.
 */
import { request as httpsRequest } from 'node:https';
import { KeyClient, type KeyClientOptions } from '@azure/keyvault-keys';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzureKeyVaultEmulator, type AzureKeyVaultEmulator } from '../../src/sandbox/azure-key-vault.js';
import { createSandboxAzureCredential, sandboxKeyClientOptions, SANDBOX_VAULT_HOST_HEADER } from '../../src/sandbox/azure-sandbox-client.js';
import { AZURE_KEYS, AZURE_TENANT, azureKeyId } from '../../src/sandbox/seed.js';
import { rejection } from '../helpers/harness.js';

const VAULT = AZURE_KEYS.vault.name;
const PROTECTED = AZURE_KEYS.protectedVault.name;
const PAYMENTS_ID = azureKeyId(VAULT, AZURE_KEYS.payments.name, AZURE_KEYS.payments.version);
const DAY_MS = 86_400_000;

let emulator: AzureKeyVaultEmulator;

function keyClient(vault: string = VAULT, extra: KeyClientOptions = {}, target: AzureKeyVaultEmulator = emulator, now?: () => number): KeyClient {
  return new KeyClient(`https://${vault}.vault.azure.net`, createSandboxAzureCredential(target.tenantId, now), {
    ...sandboxKeyClientOptions(target),
    retryOptions: { maxRetries: 0 },
    ...extra,
  });
}

interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

function raw(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawReply> {
  const url = new URL(path, emulator.url);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, ca: emulator.ca, headers: { [SANDBOX_VAULT_HOST_HEADER]: `${VAULT}.vault.azure.net`, ...headers } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function bearer(tenantId = AZURE_TENANT, scope = 'https://vault.azure.net/.default'): Promise<string> {
  const token = await createSandboxAzureCredential(AZURE_TENANT).getToken(scope, { tenantId });
  return `Bearer ${token!.token}`;
}

beforeAll(async () => {
  emulator = await startAzureKeyVaultEmulator({
    vaults: [
      { name: 'acme-short-kv', location: 'westus2', tenantId: AZURE_TENANT, softDeleteRetentionDays: 7, purgeProtection: false },
      { name: 'acme-short-pp-kv', location: 'westus2', tenantId: AZURE_TENANT, softDeleteRetentionDays: 30, purgeProtection: true },
    ],
  });
});

afterAll(async () => {
  await emulator.close();
});

describe('authentication', () => {
  it('answers a request without a token with the Key Vault Bearer challenge', async () => {
    const reply = await raw('/keys/payments-cmek?api-version=7.5');
    expect(reply.status).toBe(401);
    expect(reply.headers['www-authenticate']).toBe(
      `Bearer authorization="https://login.microsoftonline.com/${AZURE_TENANT}", resource="https://vault.azure.net"`,
    );
    expect(reply.body.error).toEqual({ code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' });
  });

  it('rejects malformed tokens, other tenants and other audiences', async () => {
    expect((await raw('/keys?api-version=7.5', { authorization: 'Bearer not-a-token' })).body.error.message).toMatch(/^AKV10000/);
    const otherTenant = await raw('/keys?api-version=7.5', { authorization: await bearer('0badc0de-0000-4000-8000-000000000000') });
    expect(otherTenant.status).toBe(401);
    expect(otherTenant.body.error.message).toMatch(/^AKV10032: Invalid issuer/);
    const otherAudience = await raw('/keys?api-version=7.5', { authorization: await bearer(AZURE_TENANT, 'https://management.azure.com/.default') });
    expect(otherAudience.body.error.message).toMatch(/^AKV10022: Invalid audience/);
  });

  it('lets the SDK complete the challenge flow and then accepts its token', async () => {
    const before = emulator.log.entries.length;
    const client = keyClient();
    const key = await client.getKey(AZURE_KEYS.payments.name);
    expect(key.id).toBe(PAYMENTS_ID);
    const statuses = emulator.log.entries.slice(before).map((entry) => entry.status);
    expect(statuses).toEqual([401, 200]);
    await client.getKey(AZURE_KEYS.payments.name);
    expect(emulator.log.entries.slice(before).map((entry) => entry.status)).toEqual([401, 200, 200]);
  });

  it('requires a known api-version', async () => {
    const missing = await raw('/keys', { authorization: await bearer() });
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe('BadParameter');
    const unknown = await raw('/keys?api-version=2.0', { authorization: await bearer() });
    expect(unknown.body.error.message).toMatch(/version \(2\.0\) is not recognized/);
  });
});

describe('keys and versions', () => {
  it('serves the seeded key with the vault protection in its attributes', async () => {
    const key = await keyClient().getKey(AZURE_KEYS.payments.name);
    expect(key.keyType).toBe('RSA');
    expect(key.key?.n?.length).toBe(384);
    expect(key.properties).toMatchObject({ version: AZURE_KEYS.payments.version, enabled: true, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 });
    expect(key.properties.createdOn?.toISOString()).toBe('2025-06-02T09:30:00.000Z');
  });

  it('reports recovery levels as Key Vault derives them from retention and purge protection', async () => {
    const levels: Record<string, [string, number]> = {
      [PROTECTED]: ['Recoverable', 90],
      'acme-short-kv': ['CustomizedRecoverable+Purgeable', 7],
      'acme-short-pp-kv': ['CustomizedRecoverable', 30],
    };
    for (const [vault, [level, days]] of Object.entries(levels)) {
      const key = await keyClient(vault).createRsaKey(`level-${vault}`);
      expect(key.properties.recoveryLevel).toBe(level);
      expect(key.properties.recoverableDays).toBe(days);
    }
  });

  it('creates RSA, RSA-HSM and EC keys with the requested sizes and operations', async () => {
    const client = keyClient();
    for (const size of [2048, 3072, 4096]) {
      const key = await client.createRsaKey(`rsa-${size}`, { keySize: size, keyOps: ['wrapKey', 'unwrapKey'] });
      expect(key.key?.n?.length).toBe(size / 8);
      expect(key.keyOperations).toEqual(['wrapKey', 'unwrapKey']);
      expect(key.id).toMatch(new RegExp(`^https://${VAULT}\\.vault\\.azure\\.net/keys/rsa-${size}/[0-9a-f]{32}$`));
    }
    expect((await client.createRsaKey('rsa-hsm', { hsm: true, keySize: 3072 })).keyType).toBe('RSA-HSM');
    const ec = await client.createEcKey('ec-key', { curve: 'P-384' });
    expect(ec.key?.crv).toBe('P-384');
    const badSize = await rejection(client.createRsaKey('rsa-bad', { keySize: 1024 }));
    expect(badSize).toMatchObject({ statusCode: 400, code: 'BadParameter' });
    const badName = await rejection(client.createRsaKey('bad_name'));
    expect(badName).toMatchObject({ statusCode: 400, code: 'BadParameter' });
  });

  it('keeps versions: create again, rotate, list, get by version', async () => {
    const client = keyClient();
    const first = await client.createRsaKey('versioned', { keySize: 3072 });
    const second = await client.createRsaKey('versioned', { keySize: 3072 });
    const rotated = await client.rotateKey('versioned');
    expect(new Set([first.properties.version, second.properties.version, rotated.properties.version]).size).toBe(3);
    expect(rotated.key?.n?.length).toBe(384);
    expect((await client.getKey('versioned')).properties.version).toBe(rotated.properties.version);
    expect((await client.getKey('versioned', { version: first.properties.version! })).id).toBe(first.id);
    const versions = [];
    for await (const properties of client.listPropertiesOfKeyVersions('versioned')) versions.push(properties.version);
    expect(versions).toEqual([first.properties.version, second.properties.version, rotated.properties.version]);
    const missing = await rejection(client.getKey('versioned', { version: '0'.repeat(32) }));
    expect(missing).toMatchObject({ statusCode: 404, code: 'KeyNotFound' });
  });

  it('pages key lists with nextLinks on the vault host', async () => {
    const client = keyClient(PROTECTED);
    for (const name of ['page-a', 'page-b', 'page-c']) await client.createRsaKey(name);
    const pages: string[][] = [];
    for await (const page of client.listPropertiesOfKeys().byPage({ maxPageSize: 2 })) pages.push(page.map((properties) => properties.name));
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.flat()).toEqual(expect.arrayContaining(['page-a', 'page-b', 'page-c']));
    expect(pages.every((page) => page.length <= 2)).toBe(true);
  });

  it('disables and re-enables a version', async () => {
    const client = keyClient();
    const key = await client.createRsaKey('toggle');
    const disabled = await client.updateKeyProperties('toggle', key.properties.version!, { enabled: false });
    expect(disabled.properties.enabled).toBe(false);
    expect((await client.getKey('toggle')).properties.enabled).toBe(false);
    expect((await client.updateKeyProperties('toggle', key.properties.version!, { enabled: true })).properties.enabled).toBe(true);
  });
});

describe('rotation policy', () => {
  it('returns the default Notify policy until one is set', async () => {
    const client = keyClient();
    await client.createRsaKey('policy-default');
    const policy = await client.getKeyRotationPolicy('policy-default');
    expect(policy.lifetimeActions).toEqual([{ action: 'Notify', timeBeforeExpiry: 'P30D', timeAfterCreate: undefined }]);
    expect(policy.id).toBe(`https://${VAULT}.vault.azure.net/keys/policy-default/rotationpolicy`);
  });

  it('stores a valid policy and applies its expiry to rotated versions', async () => {
    const client = keyClient();
    await client.createRsaKey('policy-set');
    const policy = await client.updateKeyRotationPolicy('policy-set', {
      lifetimeActions: [
        { action: 'Rotate', timeAfterCreate: 'P90D' },
        { action: 'Notify', timeBeforeExpiry: 'P30D' },
      ],
      expiresIn: 'P1Y',
    });
    expect(policy).toMatchObject({
      expiresIn: 'P1Y',
      lifetimeActions: [
        { action: 'Rotate', timeAfterCreate: 'P90D' },
        { action: 'Notify', timeBeforeExpiry: 'P30D' },
      ],
    });
    expect((await client.getKeyRotationPolicy('policy-set')).expiresIn).toBe('P1Y');
    const rotated = await client.rotateKey('policy-set');
    expect(rotated.properties.expiresOn!.getTime() - rotated.properties.createdOn!.getTime()).toBe(365 * DAY_MS);
  });

  it('refuses policies Key Vault refuses', async () => {
    const client = keyClient();
    await client.createRsaKey('policy-bad');
    const cases = [
      { lifetimeActions: [{ action: 'Rotate' as const, timeAfterCreate: 'P30D' }], expiresIn: 'P27D' },
      { lifetimeActions: [{ action: 'Rotate' as const, timeAfterCreate: 'P6D' }] },
      { lifetimeActions: [{ action: 'Rotate' as const, timeBeforeExpiry: 'P30D' }] },
      { lifetimeActions: [{ action: 'Rotate' as const, timeAfterCreate: 'P60D' }], expiresIn: 'P60D' },
      { lifetimeActions: [{ action: 'Rotate' as const, timeAfterCreate: 'ninety days' }] },
    ];
    for (const policy of cases) {
      expect(await rejection(client.updateKeyRotationPolicy('policy-bad', policy))).toMatchObject({ statusCode: 400, code: 'BadParameter' });
    }
    expect((await rejection(client.updateKeyRotationPolicy('policy-bad', cases[0]!))).message).toMatch(/at least 28 days/);
    expect(await rejection(client.getKeyRotationPolicy('no-such-key'))).toMatchObject({ statusCode: 404, code: 'KeyNotFound' });
  });
});

describe('soft delete, recover, purge', () => {
  it('soft-deletes for the retention period and recovers every version', async () => {
    const client = keyClient();
    const first = await client.createRsaKey('doomed');
    await client.rotateKey('doomed');
    const poller = await client.beginDeleteKey('doomed', { intervalInMs: 5 });
    const deleted = await poller.pollUntilDone();
    expect(deleted.properties.recoveryId).toBe(`https://${VAULT}.vault.azure.net/deletedkeys/doomed`);
    expect(deleted.properties.scheduledPurgeDate!.getTime() - deleted.properties.deletedOn!.getTime()).toBe(90 * DAY_MS);
    expect(await rejection(client.getKey('doomed'))).toMatchObject({ statusCode: 404, code: 'KeyNotFound' });
    const conflict = await rejection(client.createRsaKey('doomed'));
    expect(conflict).toMatchObject({ statusCode: 409, code: 'Conflict' });
    expect(conflict.message).toMatch(/deleted but recoverable state/);
    const listed = [];
    for await (const item of client.listDeletedKeys()) listed.push(item.name);
    expect(listed).toContain('doomed');
    const recovered = await (await client.beginRecoverDeletedKey('doomed', { intervalInMs: 5 })).pollUntilDone();
    expect(recovered.name).toBe('doomed');
    const versions = [];
    for await (const properties of client.listPropertiesOfKeyVersions('doomed')) versions.push(properties.version);
    expect(versions).toHaveLength(2);
    expect(versions[0]).toBe(first.properties.version);
  });

  it('purges when purge protection is off', async () => {
    const client = keyClient('acme-short-kv');
    await client.createRsaKey('purge-me');
    const deleted = await (await client.beginDeleteKey('purge-me', { intervalInMs: 5 })).pollUntilDone();
    expect(deleted.properties.scheduledPurgeDate!.getTime() - deleted.properties.deletedOn!.getTime()).toBe(7 * DAY_MS);
    await client.purgeDeletedKey('purge-me');
    expect(await rejection(client.getDeletedKey('purge-me'))).toMatchObject({ statusCode: 404, code: 'KeyNotFound' });
    expect((await client.createRsaKey('purge-me')).name).toBe('purge-me');
  });

  it("refuses to purge under purge protection, with Key Vault's error", async () => {
    const client = keyClient(PROTECTED);
    await client.createRsaKey('protected-key');
    await (await client.beginDeleteKey('protected-key', { intervalInMs: 5 })).pollUntilDone();
    const refused = await rejection(client.purgeDeletedKey('protected-key'));
    expect(refused).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect(refused.message).toBe(
      'Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.',
    );
    expect((await client.getDeletedKey('protected-key')).name).toBe('protected-key');
  });

  it('purges a deleted key by itself once the retention has passed', async () => {
    let clock = Date.now();
    const timed = await startAzureKeyVaultEmulator({ now: () => clock });
    try {
      const client = keyClient(VAULT, {}, timed, () => clock);
      await (await client.beginDeleteKey(AZURE_KEYS.payments.name, { intervalInMs: 5 })).pollUntilDone();
      clock += 91 * DAY_MS;
      const later = keyClient(VAULT, {}, timed, () => clock);
      expect(await rejection(later.getDeletedKey(AZURE_KEYS.payments.name))).toMatchObject({ statusCode: 404 });
      expect((await later.createRsaKey(AZURE_KEYS.payments.name)).name).toBe(AZURE_KEYS.payments.name);
    } finally {
      await timed.close();
    }
  });
});

describe('errors and faults', () => {
  it("answers KeyNotFound and unknown vaults in Key Vault's error shape", async () => {
    const missing = await rejection(keyClient().getKey('no-such-key'));
    expect(missing).toMatchObject({ statusCode: 404, code: 'KeyNotFound' });
    expect(missing.message).toMatch(/^A key with \(name\/id\) no-such-key was not found in this key vault/);
    expect(missing.response.headers.get('x-ms-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await rejection(keyClient('nosuchvault').getKey('k'))).toMatchObject({ statusCode: 404, code: 'VaultNotFound' });
  });

  it('throttles with 429 + Retry-After, and the SDK retries when allowed', async () => {
    const noRetry = keyClient();
    await noRetry.getKey(AZURE_KEYS.payments.name);
    emulator.faults.inject({ kind: 'throttle', count: 1, retryAfterSeconds: 7, match: { operation: 'GetKey' } });
    const throttled = await rejection(noRetry.getKey(AZURE_KEYS.payments.name));
    expect(throttled).toMatchObject({ statusCode: 429, code: 'Throttled' });
    expect(throttled.response.headers.get('retry-after')).toBe('7');

    const retrying = keyClient(VAULT, { retryOptions: { maxRetries: 2, retryDelayInMs: 1 } });
    await retrying.getKey(AZURE_KEYS.payments.name);
    emulator.faults.inject({ kind: 'throttle', count: 1, retryAfterSeconds: 0, match: { operation: 'GetKey' } });
    const before = emulator.log.count({ operation: 'GetKey' });
    expect((await retrying.getKey(AZURE_KEYS.payments.name)).id).toBe(PAYMENTS_ID);
    expect(emulator.log.count({ operation: 'GetKey' }) - before).toBe(2);
  });

  it('fails with 503, resets connections and hangs', async () => {
    const client = keyClient();
    await client.getKey(AZURE_KEYS.payments.name);
    emulator.faults.inject({ kind: 'server_error', count: 1, match: { operation: 'RotateKey' } });
    expect(await rejection(client.rotateKey(AZURE_KEYS.payments.name))).toMatchObject({ statusCode: 503, code: 'ServiceUnavailable' });
    emulator.faults.inject({ kind: 'reset', count: 1, match: { operation: 'GetKey' } });
    expect((await rejection(client.getKey(AZURE_KEYS.payments.name))).statusCode).toBeUndefined();
    emulator.faults.inject({ kind: 'hang', count: 1, match: { operation: 'GetKey' } });
    const hung = await rejection(client.getKey(AZURE_KEYS.payments.name, { requestOptions: { timeout: 100 } }));
    expect(hung.name).toBe('AbortError');
    expect(emulator.faults.pending()).toHaveLength(0);
  });

  it('never lets a sandbox client reach a non-vault host', async () => {
    const client = new KeyClient('https://example.com', createSandboxAzureCredential(AZURE_TENANT), {
      ...sandboxKeyClientOptions(emulator),
      retryOptions: { maxRetries: 0 },
    });
    expect((await rejection(client.getKey('k'))).message).toMatch(/refusing to send a request to example\.com/);
  });
});

describe('malformed input', () => {
  it("answers any bearer token other than the sandbox credential's with 401", async () => {
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const tokens = fc.oneof(
      fc.stringMatching(/^[\x21-\x7e]{0,120}$/),
      fc.tuple(fc.jsonValue(), fc.jsonValue()).map(([header, claims]) => `${b64(header)}.${b64(claims)}.sandbox`),
      fc.record({ aud: fc.string(), tid: fc.string(), exp: fc.integer() }).map((claims) => `${b64({ alg: 'none' })}.${b64(claims)}.sandbox`),
    );
    await fc.assert(
      fc.asyncProperty(tokens, async (token) => {
        const reply = await raw('/keys?api-version=7.5', { authorization: `Bearer ${token}` });
        expect(reply.status).toBe(401);
        expect(reply.body.error.code).toBe('Unauthorized');
      }),
      { numRuns: 60 },
    );
  });

  it('answers any path with a Key Vault error, never a crash', async () => {
    const authorization = await bearer();
    const segment = fc.stringMatching(/^[A-Za-z0-9._~%-]{0,24}$/);
    const methods = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE');
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { maxLength: 5 }), methods, async (segments, method) => {
        const headers = { authorization, [SANDBOX_VAULT_HOST_HEADER]: 'acme-short-pp-kv.vault.azure.net' };
        const reply = await raw(`/keys/${segments.join('/')}?api-version=7.5`, headers, method);
        expect(reply.status).toBeLessThan(500);
        if (reply.status >= 400) expect(typeof reply.body.error.code).toBe('string');
      }),
      { numRuns: 80 },
    );
  });
});

describe('checkCmekAccess', () => {
  it('accepts the seeded versioned key for the vault tenant', async () => {
    expect(await emulator.checkCmekAccess(PAYMENTS_ID, AZURE_TENANT)).toEqual({ ok: true });
  });

  it('explains each refusal', async () => {
    const client = keyClient();
    const disabled = await client.createRsaKey('cmek-disabled', { keySize: 3072 });
    await client.updateKeyProperties('cmek-disabled', disabled.properties.version!, { enabled: false });
    const ec = await client.createEcKey('cmek-ec');
    const expectRefusal = async (uri: string, principal: string, pattern: RegExp) => {
      const result = await emulator.checkCmekAccess(uri, principal);
      expect(result.ok).toBe(false);
      expect(result.ok ? '' : result.message).toMatch(pattern);
    };
    await expectRefusal(azureKeyId(VAULT, AZURE_KEYS.payments.name), AZURE_TENANT, /has no version/);
    await expectRefusal(PAYMENTS_ID, '0badc0de-0000-4000-8000-000000000000', /not the tenant id/);
    await expectRefusal(disabled.id!, AZURE_TENANT, /disabled/);
    await expectRefusal(ec.id!, AZURE_TENANT, /RSA/);
    await expectRefusal(azureKeyId(VAULT, 'nope', '0'.repeat(32)), AZURE_TENANT, /not found/);
    await expectRefusal(azureKeyId('other-vault', 'k', '0'.repeat(32)), AZURE_TENANT, /no such vault/);
    await expectRefusal('https://evil.example.com/keys/k/0', AZURE_TENANT, /invalid Azure key identifier/);
  });
});
