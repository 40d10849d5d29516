/**
 * Turns @azure/keyvault-keys failures (RestError with Key Vault's `{error:{code,message}}`) into
 * KmsError with a next step, keeping Key Vault's error code and the x-ms-request-id.
 */
import { OperatorError } from '../../../errors.js';
import { KmsError, providerSaid, type KmsErrorKind } from '../../provider.js';

interface RestErrorLike {
  name?: string;
  message?: string;
  statusCode?: number;
  code?: string;
  response?: { headers: { get(name: string): string | undefined } };
  details?: { error?: { innerError?: { code?: string } } };
}

/** True for a 404 KeyNotFound (the key, not the vault, is missing). */
export function isKeyNotFound(error: unknown): boolean {
  const { statusCode, code } = error as RestErrorLike;
  return statusCode === 404 && code === 'KeyNotFound';
}

/** True when the request may or may not have been carried out (no answer, or a 5xx). */
export function isOutcomeUnknown(error: unknown): boolean {
  return error instanceof KmsError && (error.kind === 'unavailable' || error.kind === 'unknown');
}

function classify(status: number | undefined, code: string | undefined): KmsErrorKind {
  if (status === 401 || status === 403) return 'access_denied';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 400) return 'invalid';
  if (status === 429) return 'throttled';
  if (status !== undefined && (status >= 500 || status === 408)) return 'unavailable';
  if (status === undefined && code === 'ENOTFOUND') return 'not_found';
  if (status === undefined) return 'unavailable';
  return 'unknown';
}

const NEXT: Record<KmsErrorKind, string> = {
  access_denied:
    'sign in as an identity DefaultAzureCredential picks up (az login, managed identity or AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET) in the vault\'s tenant, with a data-plane role on the vault such as "Key Vault Crypto Officer" (RBAC vaults) or matching key permissions in an access policy.',
  not_found:
    'check the vault name and key name (az keyvault key list --vault-name <vault>); a recently deleted key can be recovered with az keyvault key recover.',
  conflict: "read the key's current state (describe it) and resolve the conflict before retrying.",
  invalid: 'correct the request as the message says.',
  limit_reached: 'a Key Vault limit for this resource is reached; see the message for which one.',
  throttled: 'Key Vault is throttling this vault; wait a minute and retry.',
  unavailable: 'retry shortly; if it persists, check https://status.azure.com and network access to the vault (firewall, private endpoint).',
  unknown: "retry; if it persists, look up the request id in the vault's diagnostic logs.",
};

/**
 * Maps an SDK failure during `context` (e.g. "Reading key https://...") to a KmsError.
 * OperatorErrors, KmsErrors and caller aborts pass through unchanged.
 */
export function toKmsError(error: unknown, context: string, signal?: AbortSignal): unknown {
  if (error instanceof KmsError || error instanceof OperatorError) return error;
  if (signal?.aborted) return error;
  const rest = error as RestErrorLike;
  const status = rest.statusCode;
  const code = rest.details?.error?.innerError?.code ?? rest.code ?? (rest.name === 'AbortError' ? 'Timeout' : undefined);
  const kind = classify(status, rest.code);
  const requestId = rest.response?.headers.get('x-ms-request-id');
  let message = (rest.name === 'AbortError' ? 'the request timed out' : rest.message) ?? String(error);
  if (status === undefined && rest.code === 'ENOTFOUND')
    message = `the vault host does not resolve (${message}); the vault may not exist, or DNS/private endpoint setup hides it`;
  const suffix = [status ? `HTTP ${status}` : undefined, code, requestId ? `request id ${requestId}` : undefined].filter(Boolean).join(', ');
  return new KmsError(kind, `${context} failed: ${providerSaid(message)}${suffix ? ` (${suffix})` : ''}. Next: ${NEXT[kind]}`, code, requestId);
}
