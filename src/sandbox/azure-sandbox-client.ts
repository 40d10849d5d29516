/**
 * How a real @azure/keyvault-keys KeyClient reaches the sandbox Key Vault emulator.
 *
 * Key ids keep their real vault host (https://acme-crdb-kv.vault.azure.net/keys/...), so every
 * layer of the SDK (URL parsing, the Bearer challenge, paging nextLinks) sees Azure-shaped URLs.
 * The last pipeline policy before the transport (`sandboxVaultRedirectPolicy`, position
 * "perRetry") rewrites `https://<vault host>/...` to the emulator's https://127.0.0.1:PORT/...,
 * passes the original host in the `x-crdb-sandbox-vault-host` header (the emulator picks the vault
 * from it), and restores the URL once the response is in. A host that is not a Key Vault or
 * Managed HSM host is refused, so nothing in sandbox mode can leave the machine.
 *
 * TLS: `tlsOptions` reaches core-rest-pipeline's tlsPolicy, which sets request.tlsSettings; the
 * Node HTTP client builds its https.Agent from them, so `ca` = the emulator's certificate is the
 * only trusted root for these clients (certificate checks stay on).
 *
 * Authentication: the emulator answers an unauthenticated request with 401 and a Bearer challenge
 * naming its tenant; the SDK then asks the credential for a token. `createSandboxAzureCredential`
 * issues unsigned JWT-shaped tokens (alg "none", signature "sandbox") carrying the audience and
 * tenant the challenge asked for; the emulator accepts exactly these and rejects anything else.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import type { KeyClientOptions } from '@azure/keyvault-keys';

type AdditionalPolicy = NonNullable<KeyClientOptions['additionalPolicies']>[number];
type PipelinePolicy = AdditionalPolicy['policy'];

/** Carries the vault host the SDK addressed (e.g. acme-crdb-kv.vault.azure.net). */
export const SANDBOX_VAULT_HOST_HEADER = 'x-crdb-sandbox-vault-host';

/** The audience Key Vault tokens are issued for. */
export const KEY_VAULT_AUDIENCE = 'https://vault.azure.net';

const TOKEN_SIGNATURE = 'sandbox';
const TOKEN_LIFETIME_MS = 60 * 60 * 1000;
const VAULT_HOST_SUFFIXES = ['.vault.azure.net', '.managedhsm.azure.net', '.vault.azure.cn', '.vault.usgovcloudapi.net'];

/** True for a Key Vault or Managed HSM data-plane host. */
export function isVaultHost(host: string): boolean {
  const lower = host.toLowerCase().replace(/:443$/, '');
  return VAULT_HOST_SUFFIXES.some((suffix) => lower.endsWith(suffix) && lower.length > suffix.length);
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Claims of a sandbox access token. */
export interface SandboxTokenClaims {
  aud: string;
  tid: string;
  iss: string;
  exp: number;
  iat: number;
}

/**
 * A TokenCredential for sandbox mode: issues tokens for the tenant the challenge names (the
 * emulator's tenant), or `tenantId` when no challenge has been seen.
 */
export function createSandboxAzureCredential(tenantId: string, now: () => number = Date.now): TokenCredential {
  return {
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
      const scope = (Array.isArray(scopes) ? scopes[0] : scopes) ?? `${KEY_VAULT_AUDIENCE}/.default`;
      const tid = options?.tenantId ?? tenantId;
      const issuedAt = now();
      const claims: SandboxTokenClaims = {
        aud: scope.replace(/\/\.default$/, ''),
        tid,
        iss: `https://sts.windows.net/${tid}/`,
        iat: Math.floor(issuedAt / 1000),
        exp: Math.floor((issuedAt + TOKEN_LIFETIME_MS) / 1000),
      };
      return { token: `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.${TOKEN_SIGNATURE}`, expiresOnTimestamp: issuedAt + TOKEN_LIFETIME_MS };
    },
  };
}

/** Why a bearer token was refused, in Key Vault's words; undefined when it is accepted. */
export function verifySandboxAzureToken(token: string, expected: { tenantId: string; nowMs: number }): string | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[2] !== TOKEN_SIGNATURE) return 'AKV10000: Request is missing a Bearer or PoP token.';
  const decode = (part: string): Record<string, unknown> | undefined => {
    try {
      const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  };
  const header = decode(parts[0]!);
  const claims = decode(parts[1]!) as Partial<SandboxTokenClaims> | undefined;
  if (header?.alg !== 'none' || !claims) return 'AKV10000: Request is missing a Bearer or PoP token.';
  if (claims.aud !== KEY_VAULT_AUDIENCE) return `AKV10022: Invalid audience. Expected ${KEY_VAULT_AUDIENCE}, found: ${String(claims.aud)}.`;
  if (claims.tid !== expected.tenantId) {
    return `AKV10032: Invalid issuer. Expected one of https://sts.windows.net/${expected.tenantId}/, found ${String(claims.iss)}.`;
  }
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= expected.nowMs) return 'AKV10013: Token is expired.';
  return undefined;
}

/**
 * Sends every Key Vault request to the emulator at `emulatorUrl`, keeping the vault host in
 * SANDBOX_VAULT_HOST_HEADER. Add it with position "perRetry" so it runs right before the transport.
 */
export function sandboxVaultRedirectPolicy(emulatorUrl: string): PipelinePolicy {
  const target = new URL(emulatorUrl);
  return {
    name: 'crdbSandboxVaultRedirect',
    async sendRequest(request, next) {
      const original = request.url;
      const url = new URL(original);
      if (!isVaultHost(url.host)) {
        throw new Error(
          `sandbox mode: refusing to send a request to ${url.host}; only Key Vault hosts (*.vault.azure.net, *.managedhsm.azure.net) are emulated`,
        );
      }
      request.headers.set(SANDBOX_VAULT_HOST_HEADER, url.hostname);
      url.protocol = target.protocol;
      url.host = target.host;
      request.url = url.toString();
      try {
        return await next(request);
      } finally {
        request.url = original;
      }
    },
  };
}

/** KeyClient options that point a real client at the emulator (trusting only its certificate). */
export function sandboxKeyClientOptions(emulator: { url: string; ca: string }): KeyClientOptions {
  return {
    disableChallengeResourceVerification: true,
    tlsOptions: { ca: emulator.ca },
    additionalPolicies: [{ policy: sandboxVaultRedirectPolicy(emulator.url), position: 'perRetry' }],
  };
}
