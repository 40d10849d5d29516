/**
 * Azure Key Vault emulator: the keys data plane over HTTPS (self-signed certificate generated at
 * start) in the Key Vault REST shapes the real @azure/keyvault-keys client sends and expects.
 *
 * Reaching it: clients keep real vault URLs and add `sandboxKeyClientOptions()` (see
 * azure-sandbox-client.ts), whose last pipeline policy sends each request here with the vault host
 * in `x-crdb-sandbox-vault-host`; that header picks the vault. Authentication follows Key Vault's
 * challenge flow: no Bearer token -> 401 with `WWW-Authenticate: Bearer authorization=
 * "https://login.microsoftonline.com/<tenant>", resource="https://vault.azure.net"`; then only
 * tokens from the sandbox credential for the vault's tenant are accepted. `api-version` is required.
 *
 * Seeded (seed.ts AZURE_KEYS): vault acme-crdb-kv (purge protection OFF, retention 90 days) with
 * key payments-cmek (RSA 3072, one version), and acme-crdb-kv-protected (purge protection ON, empty).
 */
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { parseAzureKeyId } from '../kms/providers/azure/key-uri.js';
import { FaultPlan, RequestLog, type FaultRule } from './faults.js';
import { startHttpEmulator, type HttpReply } from './http-server.js';
import type { KeyAccessResult } from './index.js';
import { KEY_VAULT_AUDIENCE, SANDBOX_VAULT_HOST_HEADER, verifySandboxAzureToken } from './azure-sandbox-client.js';
import { Vault, type VaultSeed } from './azure-vault-model.js';
import { VaultError } from './azure-vault-rules.js';
import { createSelfSignedCert } from './self-signed-cert.js';
import { AZURE_KEYS, AZURE_TENANT } from './seed.js';

export interface AzureKeyVaultEmulator {
  /** https://127.0.0.1:PORT; vault hosts are rewritten to it by the sandbox pipeline policy. */
  url: string;
  /** PEM of the emulator's self-signed certificate, for tlsOptions.ca. */
  ca: string;
  tenantId: string;
  faults: FaultPlan;
  log: RequestLog;
  /** Whether CockroachDB (as principal) could use the key at uri now. */
  checkCmekAccess(uri: string, principal: string): Promise<KeyAccessResult>;
  close(): Promise<void>;
}

export interface AzureKeyVaultEmulatorOptions {
  /** Vaults added to the seeded ones (e.g. one with a short soft-delete retention). */
  vaults?: VaultSeed[];
  /** Clock for created/deleted dates and retention expiry. */
  now?: () => number;
}

/** The seeded vaults. */
export function seededVaults(): VaultSeed[] {
  const { vault, payments, protectedVault } = AZURE_KEYS;
  return [
    {
      ...vault,
      tenantId: AZURE_TENANT,
      keys: [{ name: payments.name, kty: payments.keyType, keySize: payments.keySize, versions: [{ version: payments.version, created: payments.createdAt }] }],
    },
    { ...protectedVault, tenantId: AZURE_TENANT },
  ];
}

const API_VERSIONS = new Set(['7.0', '7.1', '7.2', '7.3', '7.4', '7.5', '7.6-preview.1', '7.6-preview.2', '7.6', '2025-07-01']);
const NAME = /^[0-9a-zA-Z-]{1,127}$/;
const MAX_RESULTS = 25;

interface Route {
  operation: string;
  name?: string;
  version?: string;
}

/** Names the Key Vault operation for a method and path (also the fault-matching name). */
function route(method: string, path: string): Route {
  let segments: string[];
  try {
    segments = path.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return { operation: 'Unknown' };
  }
  const [collection, name, sub] = segments;
  if (segments.length > 3) return { operation: 'Unknown' };
  if (collection === 'keys') {
    if (name === undefined) return method === 'GET' ? { operation: 'GetKeys' } : { operation: 'Unknown' };
    if (sub === undefined) {
      if (method === 'GET') return { operation: 'GetKey', name };
      if (method === 'DELETE') return { operation: 'DeleteKey', name };
      if (method === 'PATCH') return { operation: 'UpdateKey', name };
    } else if (sub === 'create' && method === 'POST') return { operation: 'CreateKey', name };
    else if (sub === 'rotate' && method === 'POST') return { operation: 'RotateKey', name };
    else if (sub === 'versions' && method === 'GET') return { operation: 'GetKeyVersions', name };
    else if (sub === 'rotationpolicy' && method === 'GET') return { operation: 'GetKeyRotationPolicy', name };
    else if (sub === 'rotationpolicy' && method === 'PUT') return { operation: 'UpdateKeyRotationPolicy', name };
    else if (method === 'GET') return { operation: 'GetKey', name, version: sub };
    else if (method === 'PATCH') return { operation: 'UpdateKey', name, version: sub };
  }
  if (collection === 'deletedkeys') {
    if (name === undefined) return method === 'GET' ? { operation: 'GetDeletedKeys' } : { operation: 'Unknown' };
    if (sub === undefined && method === 'GET') return { operation: 'GetDeletedKey', name };
    if (sub === undefined && method === 'DELETE') return { operation: 'PurgeDeletedKey', name };
    if (sub === 'recover' && method === 'POST') return { operation: 'RecoverDeletedKey', name };
  }
  return { operation: 'Unknown' };
}

function errorReply(status: number, code: string, message: string, innerCode?: string, headers: Record<string, string> = {}): HttpReply {
  return { status, headers, body: { error: { code, message, ...(innerCode ? { innererror: { code: innerCode } } : {}) } } };
}

/** One page of a list, with a nextLink on the real vault host that the SDK follows. */
function page(items: unknown[], url: URL, vaultHost: string): unknown {
  const maxParam = url.searchParams.get('maxresults');
  const max = maxParam === null ? MAX_RESULTS : Number(maxParam);
  if (!Number.isInteger(max) || max < 1 || max > MAX_RESULTS)
    throw new VaultError(400, 'BadParameter', `maxresults must be an integer between 1 and ${MAX_RESULTS}`);
  const skip = Number(Buffer.from(url.searchParams.get('$skiptoken') ?? '', 'base64url').toString() || 0);
  if (!Number.isInteger(skip) || skip < 0) throw new VaultError(400, 'BadParameter', 'The $skiptoken is not valid.');
  const value = items.slice(skip, skip + max);
  if (skip + max >= items.length) return { value, nextLink: null };
  const next = new URL(`https://${vaultHost}:443${url.pathname}`);
  next.searchParams.set('api-version', url.searchParams.get('api-version')!);
  next.searchParams.set('$skiptoken', Buffer.from(String(skip + max)).toString('base64url'));
  next.searchParams.set('maxresults', String(max));
  return { value, nextLink: next.toString() };
}

function parseBody(body: string): Record<string, unknown> {
  if (!body) return {};
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // falls through to the error below
  }
  throw new VaultError(400, 'BadParameter', 'The request body is not a valid JSON object.');
}

function dispatch(vault: Vault, target: Route, url: URL, body: string): HttpReply {
  const { operation, name, version } = target;
  if (name !== undefined && !NAME.test(name)) throw new VaultError(400, 'BadParameter', `The request URI contains an invalid name: ${name}`);
  const ok = (json: unknown): HttpReply => ({ status: 200, body: json });
  switch (operation) {
    case 'CreateKey':
      return ok(vault.createKey(name!, parseBody(body)));
    case 'GetKey':
      return ok(vault.getKey(name!, version));
    case 'GetKeys':
      return ok(page(vault.listKeys(), url, vault.host));
    case 'GetKeyVersions':
      return ok(page(vault.listVersions(name!), url, vault.host));
    case 'UpdateKey':
      return ok(vault.updateKey(name!, version, parseBody(body)));
    case 'RotateKey':
      return ok(vault.rotateKey(name!));
    case 'GetKeyRotationPolicy':
      return ok(vault.getRotationPolicy(name!));
    case 'UpdateKeyRotationPolicy':
      return ok(vault.setRotationPolicy(name!, parseBody(body)));
    case 'DeleteKey':
      return ok(vault.deleteKey(name!));
    case 'GetDeletedKey':
      return ok(vault.getDeletedKey(name!));
    case 'GetDeletedKeys':
      return ok(page(vault.listDeletedKeys(), url, vault.host));
    case 'RecoverDeletedKey':
      return ok(vault.recoverDeletedKey(name!));
    case 'PurgeDeletedKey':
      vault.purgeDeletedKey(name!);
      return { status: 204 };
    default:
      throw new VaultError(400, 'BadParameter', `The operation ${url.pathname} is not supported by this vault (sandbox emulates the keys data plane only).`);
  }
}

function faultReply(rule: FaultRule): HttpReply {
  if (rule.kind === 'throttle') {
    return errorReply(429, 'Throttled', 'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached', undefined, {
      'retry-after': String(rule.retryAfterSeconds ?? 1),
    });
  }
  const status = rule.status ?? 503;
  return errorReply(
    status,
    status === 503 ? 'ServiceUnavailable' : 'InternalServerError',
    rule.message ?? 'The service is temporarily unavailable. Please retry the request.',
  );
}

/** Starts the emulator on 127.0.0.1 with an ephemeral port and a fresh self-signed certificate. */
export async function startAzureKeyVaultEmulator(options: AzureKeyVaultEmulatorOptions = {}): Promise<AzureKeyVaultEmulator> {
  const now = options.now ?? Date.now;
  const vaults = new Map<string, Vault>();
  for (const seed of [...seededVaults(), ...(options.vaults ?? [])]) {
    const vault = new Vault(seed, now);
    vaults.set(vault.host, vault);
  }
  const tls = await createSelfSignedCert('crdb-sandbox-azure-key-vault');
  const challenge = (tenantId: string) => `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="${KEY_VAULT_AUDIENCE}"`;

  const handle = (request: IncomingMessage, body: string, operation: string): HttpReply => {
    const url = new URL(request.url ?? '/', 'https://127.0.0.1');
    const hostHeader = request.headers[SANDBOX_VAULT_HOST_HEADER];
    if (typeof hostHeader !== 'string') {
      return errorReply(
        400,
        'BadParameter',
        `Missing ${SANDBOX_VAULT_HOST_HEADER} header: build the KeyClient with sandboxKeyClientOptions() so requests keep their vault host.`,
      );
    }
    const vault = vaults.get(hostHeader.toLowerCase());
    if (!vault) {
      return errorReply(
        404,
        'VaultNotFound',
        `No key vault answers at ${hostHeader} (in Azure this host would not resolve: getaddrinfo ENOTFOUND ${hostHeader}).`,
      );
    }
    const headers = { 'x-ms-keyvault-region': vault.location, 'x-ms-keyvault-service-version': '1.9.2418.1' };
    const authorization = request.headers.authorization ?? '';
    const token = /^Bearer (\S+)$/i.exec(authorization)?.[1];
    const refusal = token ? verifySandboxAzureToken(token, { tenantId: vault.tenantId, nowMs: now() }) : 'AKV10000: Request is missing a Bearer or PoP token.';
    if (refusal) return errorReply(401, 'Unauthorized', refusal, undefined, { ...headers, 'www-authenticate': challenge(vault.tenantId) });
    const apiVersion = url.searchParams.get('api-version');
    if (!apiVersion) return errorReply(400, 'BadParameter', 'The api-version query parameter is missing.', undefined, headers);
    if (!API_VERSIONS.has(apiVersion)) {
      return errorReply(
        400,
        'BadParameter',
        `The specified version (${apiVersion}) is not recognized. Consider using the latest supported version (7.5).`,
        undefined,
        headers,
      );
    }
    try {
      const reply = dispatch(vault, { ...route(request.method ?? 'GET', url.pathname), operation }, url, body);
      return { ...reply, headers: { ...headers, ...reply.headers } };
    } catch (error) {
      if (error instanceof VaultError) return errorReply(error.status, error.code, error.message, error.innerCode, headers);
      throw error;
    }
  };

  const server = await startHttpEmulator({
    name: 'Azure Key Vault',
    tls: { key: tls.key, cert: tls.cert },
    faults: new FaultPlan(),
    log: new RequestLog(),
    operationOf: (request) => route(request.method ?? 'GET', new URL(request.url ?? '/', 'https://127.0.0.1').pathname).operation,
    handle: (request, body, operation) => {
      const reply = handle(request, body, operation);
      return { ...reply, headers: { 'x-ms-request-id': randomUUID(), ...reply.headers } };
    },
    faultReply: (rule) => {
      const reply = faultReply(rule);
      return { ...reply, headers: { 'x-ms-request-id': randomUUID(), ...reply.headers } };
    },
  });

  return {
    url: server.url,
    ca: tls.cert,
    tenantId: AZURE_TENANT,
    faults: server.faults,
    log: server.log,
    async checkCmekAccess(uri, principal) {
      let parsed;
      try {
        parsed = parseAzureKeyId(uri);
      } catch (error) {
        return { ok: false, message: `invalid Azure key identifier ${JSON.stringify(uri)}: ${error instanceof Error ? error.message : String(error)}` };
      }
      if (!parsed.version) return { ok: false, message: `the Azure key identifier ${uri} has no version; CMEK needs the versioned key identifier` };
      const vault = vaults.get(parsed.vaultHost.toLowerCase());
      if (!vault) return { ok: false, message: `could not reach key vault ${parsed.vaultHost}: no such vault` };
      if (principal !== vault.tenantId) {
        return {
          ok: false,
          message: `auth_principal ${principal} is not the tenant id of key vault ${vault.name}'s directory; CockroachDB could not authenticate to the vault`,
        };
      }
      const problem = vault.cmekProblem(parsed.keyName, parsed.version);
      return problem ? { ok: false, message: `failed to use key ${uri}: ${problem}` } : { ok: true };
    },
    close: () => server.close(),
  };
}
