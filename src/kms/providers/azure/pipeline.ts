/**
 * Pipeline policies the Azure provider adds to every KeyClient:
 * - `cautiousRetryPolicy` (perCall, replacing the SDK's retry, which re-sends any method):
 *   429 is retried for every request (Key Vault did not process it), honouring Retry-After;
 *   5xx/408, network errors and time-outs only for idempotent methods. A POST (create, rotate,
 *   recover) or DELETE that may have happened is never re-sent; the provider re-reads instead.
 *   It also gives each request a time-out.
 * - `vaultFactsPolicy` (perRetry, so it sees the Bearer challenge): records what the data plane
 *   tells about a vault as a side effect: its tenant (from the challenge's authorization URL)
 *   and its region (`x-ms-keyvault-region`).
 */
import type { KeyClientOptions } from '@azure/keyvault-keys';

type PipelinePolicy = NonNullable<KeyClientOptions['additionalPolicies']>[number]['policy'];
type PipelineResponse = Awaited<ReturnType<PipelinePolicy['sendRequest']>>;

/** What calls to a vault revealed about it. */
export interface VaultFacts {
  tenantId?: string;
  region?: string;
}

export interface CautiousRetryOptions {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Per-request time-out; 0 disables it. */
  timeoutMs: number;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH']);

function retryAfterMs(response: PipelineResponse): number | undefined {
  const ms = Number(response.headers.get('retry-after-ms') ?? response.headers.get('x-ms-retry-after-ms') ?? NaN);
  if (Number.isFinite(ms)) return ms;
  const seconds = Number(response.headers.get('retry-after') ?? NaN);
  return Number.isFinite(seconds) ? seconds * 1000 : undefined;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** True when the request never got an answer (network error or our time-out), not a caller abort. */
function isTransportFailure(error: unknown, signal: AbortSignal | undefined): boolean {
  if (signal?.aborted) return false;
  const { statusCode } = error as { statusCode?: number };
  return statusCode === undefined;
}

/** See the module comment. */
export function cautiousRetryPolicy(options: CautiousRetryOptions): PipelinePolicy {
  return {
    name: 'crdbCautiousRetry',
    async sendRequest(request, next) {
      if (options.timeoutMs > 0 && !(request.timeout > 0)) request.timeout = options.timeoutMs;
      const signal = request.abortSignal as AbortSignal | undefined;
      for (let attempt = 0; ; attempt++) {
        let response: PipelineResponse | undefined;
        let failure: unknown;
        try {
          response = await next(request);
        } catch (error) {
          failure = error;
        }
        const status = response?.status ?? 0;
        const throttled = status === 429;
        const transient = response ? (status >= 500 && status !== 501 && status !== 505) || status === 408 : isTransportFailure(failure, signal);
        const wait = throttled ? (retryAfterMs(response!) ?? options.baseDelayMs) : Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** attempt);
        const retry = attempt < options.maxRetries && wait <= options.maxDelayMs && (throttled || (transient && IDEMPOTENT.has(request.method)));
        if (!retry) {
          if (response) return response;
          throw failure;
        }
        await sleep(wait, signal);
      }
    },
  };
}

/** See the module comment. */
export function vaultFactsPolicy(facts: VaultFacts): PipelinePolicy {
  return {
    name: 'crdbVaultFacts',
    async sendRequest(request, next) {
      const response = await next(request);
      const region = response.headers.get('x-ms-keyvault-region');
      if (region) facts.region = region;
      const challenge = response.status === 401 ? response.headers.get('www-authenticate') : undefined;
      const tenant = challenge ? /authorization(?:_uri)?="https:\/\/[^/"]+\/([^/"]+)"/i.exec(challenge)?.[1] : undefined;
      if (tenant) facts.tenantId = tenant;
      return response;
    },
  };
}
