/**
 * One HTTP exchange with the Cloud API, done right: Bearer auth and Cc-Version, the shared rate
 * limiter, a per-attempt timeout, 429 + Retry-After for any method (a 429 was not processed),
 * GET-only retries with jittered backoff on network errors, time-outs and 5xx, and a zod parse of
 * every successful body. Mutations are never re-sent here; the client reconciles them.
 */
import type { z } from 'zod';
import { SERVER_INFO } from '../version.js';
import type { CallOptions } from './api.js';
import { CloudApiError, abortError, statusFromBody } from './errors.js';
import type { RateLimiter } from './rate-limiter.js';
import { sleep } from '../abort.js';
import { backoffDelay, parseRetryAfter } from './retry.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH';

export interface TransportOptions {
  apiKey: string;
  baseUrl: string;
  ccVersion: string;
  limiter: RateLimiter;
  requestTimeoutMs: number;
  /** Attempts for a GET (1 = no retry). */
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** How many 429 answers one call waits out before giving up. */
  maxThrottleRetries: number;
  /** A Retry-After longer than this is not waited out: the call fails with the 429. */
  maxRetryAfterMs: number;
}

export interface ApiRequest<T> {
  method: HttpMethod;
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  schema: z.ZodType<T>;
  /** Names the call in errors, e.g. "PUT /cmek (rotate) on cluster 3b1f...". */
  operation: string;
  call?: CallOptions;
}

interface Exchange {
  status: number;
  text: string;
  requestId: string | undefined;
  retryAfterMs: number | undefined;
}

/** Header carrying the upstream request id. */
export const REQUEST_ID_HEADER = 'x-request-id';

function describeFetchFailure(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

function summariseIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

/** Sends Cloud API requests under the shared limiter; see the module comment for the rules. */
export function createTransport(options: TransportOptions) {
  const base = options.baseUrl.replace(/\/+$/, '');

  async function exchange(request: ApiRequest<unknown>): Promise<Exchange> {
    const url = new URL(`${base}${request.path}`);
    for (const [name, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const signal = request.call?.signal;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, options.requestTimeoutMs);
    timer.unref();
    const onAbort = () => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const failure = (kind: 'network' | 'timeout', message: string) => new CloudApiError({ kind, operation: request.operation, status: 0, message });
    try {
      const response = await fetch(url, {
        method: request.method,
        headers: {
          authorization: `Bearer ${options.apiKey}`,
          'cc-version': options.ccVersion,
          accept: 'application/json',
          'user-agent': `${SERVER_INFO.name}/${SERVER_INFO.version}`,
          ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
        // Never follow a redirect: the request (and its API key) goes to COCKROACH_API_URL only.
        redirect: 'manual',
        signal: controller.signal,
      });
      if (response.status >= 300 && response.status < 400) {
        await response.body?.cancel();
        throw redirectRefused(request, response);
      }
      const requestId = response.headers.get(REQUEST_ID_HEADER) ?? undefined;
      if (requestId) request.call?.onRequestId?.(requestId);
      const text = await response.text();
      return { status: response.status, text, requestId, retryAfterMs: parseRetryAfter(response.headers.get('retry-after')) };
    } catch (error) {
      if (error instanceof CloudApiError) throw error;
      if (signal?.aborted) throw abortError();
      if (timedOut) throw failure('timeout', `no answer within ${options.requestTimeoutMs} ms`);
      throw failure('network', describeFetchFailure(error));
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  function redirectRefused(request: ApiRequest<unknown>, response: Response): CloudApiError {
    const location = response.headers.get('location');
    let where = 'elsewhere';
    try {
      if (location) where = new URL(location, base).origin;
    } catch {
      // an unparsable Location is still refused
    }
    return new CloudApiError({
      kind: 'redirect',
      operation: request.operation,
      status: response.status,
      message: `HTTP ${response.status} to ${where}`,
    });
  }

  function parseSuccess<T>(request: ApiRequest<T>, reply: Exchange): T {
    const invalid = (message: string) =>
      new CloudApiError({ kind: 'invalid_response', operation: request.operation, status: reply.status, message, requestId: reply.requestId });
    let json: unknown;
    try {
      json = reply.text === '' ? {} : JSON.parse(reply.text);
    } catch {
      throw invalid('the body is not JSON');
    }
    const parsed = request.schema.safeParse(json);
    if (!parsed.success) throw invalid(summariseIssues(parsed.error));
    return parsed.data;
  }

  function httpFailure(request: ApiRequest<unknown>, reply: Exchange): CloudApiError {
    const status = statusFromBody(reply.text);
    return new CloudApiError({
      kind: 'http',
      operation: request.operation,
      status: reply.status,
      ...status,
      ...(reply.requestId ? { requestId: reply.requestId } : {}),
      ...(reply.retryAfterMs !== undefined ? { retryAfterMs: reply.retryAfterMs } : {}),
    });
  }

  /** Sends `request`, retrying only what is safe to retry; throws CloudApiError or AbortError. */
  async function send<T>(request: ApiRequest<T>): Promise<T> {
    const signal = request.call?.signal;
    let attempt = 0;
    let throttled = 0;
    for (;;) {
      const release = await options.limiter.acquire(signal);
      let failure: CloudApiError;
      try {
        const reply = await exchange(request).finally(release);
        if (reply.status >= 200 && reply.status < 300) return parseSuccess(request, reply);
        failure = httpFailure(request, reply);
        if (reply.status === 429) {
          const wait = reply.retryAfterMs ?? 1000;
          if (throttled >= options.maxThrottleRetries || wait > options.maxRetryAfterMs) throw failure;
          throttled += 1;
          options.limiter.pauseFor(wait);
          continue;
        }
        if (reply.status < 500) throw failure;
      } catch (error) {
        const transient = error instanceof CloudApiError && (error.kind === 'network' || error.kind === 'timeout');
        if (!transient) throw error;
        failure = error;
      }
      attempt += 1;
      if (request.method !== 'GET' || attempt >= options.maxAttempts) throw failure;
      await sleep(backoffDelay(attempt, options.retryBaseMs, options.retryMaxMs), signal);
    }
  }

  return { send };
}

export type Transport = ReturnType<typeof createTransport>;
