/**
 * The CockroachDB Cloud API client (fetch, no SDK): typed responses, a client-side rate limit,
 * GET-only retries, and mutations that are never blindly re-sent. After an ambiguous mutation
 * failure (network error, time-out, 5xx) it re-reads GET /cmek and throws a CloudApiError marked
 * `ambiguous` carrying what it observed, so the operator learns what actually happened.
 */
import { OperatorError } from '../errors.js';
import type { CallOptions, CloudApi, EnableOptions, ListOptions, WaitOptions } from './api.js';
import { CloudApiError, describeCmek } from './errors.js';
import { waitUntilSettled } from './poll.js';
import { createRateLimiter } from './rate-limiter.js';
import { sleep } from '../abort.js';
import {
  clusterSchema,
  cmekClusterInfoSchema,
  listClustersResponseSchema,
  organizationSchema,
  type Cluster,
  type CmekClusterInfo,
  type CmekRegionSpec,
} from './schemas.js';
import { createTransport, type HttpMethod } from './transport.js';

export interface CloudClientOptions {
  apiKey: string;
  baseUrl: string;
  ccVersion: string;
  /** How long enableCmek retries 400/401/403 while IAM grants propagate. */
  iamPropagationMs: number;
  operationDeadlineMs: number;
  pollIntervalMs: number;
  /** Requests per second this client starts at most (default 10, the API's limit per key). */
  rateLimitPerSecond?: number;
  /** Per-attempt time-out (default 30 s). */
  requestTimeoutMs?: number;
  /** Attempts for a GET on network errors, time-outs and 5xx (default 4). */
  maxAttempts?: number;
  /** Backoff base and cap between GET attempts (defaults 500 ms, 8 s). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** 429 answers one call waits out (default 5), each for at most maxRetryAfterMs (default 60 s). */
  maxThrottleRetries?: number;
  maxRetryAfterMs?: number;
  /** Pause between enable attempts during IAM propagation (default 10 s). */
  iamRetryIntervalMs?: number;
  /** Clusters per page when listing (default 100). */
  pageSize?: number;
}

/** Slack on the one-second window for timer and clock granularity (slots are held until the answer). */
const WINDOW_MARGIN_MS = 10;

/** Enable failures worth retrying while IAM propagates; FAILED_PRECONDITION/ALREADY_EXISTS are permanent. */
const IAM_STATUSES = new Set([400, 401, 403]);
const PERMANENT_CODES = new Set([6, 9]);

function withNote(error: CloudApiError, note: string): CloudApiError {
  return new CloudApiError(error.init, { what: error.what, why: `${error.why} ${note}`, next: error.next });
}

function requireId(clusterId: string): string {
  if (!clusterId.trim()) {
    throw new OperatorError('No cluster given', 'An empty cluster id was passed.', 'pass a cluster name or id (list_clusters shows them).');
  }
  return encodeURIComponent(clusterId.trim());
}

/** True for a 404 that says the cluster itself is unknown (rather than "CMEK not enabled"). */
function isMissingCluster(error: CloudApiError): boolean {
  const message = error.serverMessage ?? '';
  return /cluster/i.test(message) && /not found/i.test(message) && !/cmek/i.test(message);
}

/** Creates the client; one instance shares one rate limit across all concurrent calls. */
export function createCloudClient(options: CloudClientOptions): CloudApi {
  const limiter = createRateLimiter({ limit: options.rateLimitPerSecond ?? 10, intervalMs: 1000 + WINDOW_MARGIN_MS });
  const transport = createTransport({
    apiKey: options.apiKey,
    baseUrl: options.baseUrl,
    ccVersion: options.ccVersion,
    limiter,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    maxAttempts: options.maxAttempts ?? 4,
    retryBaseMs: options.retryBaseMs ?? 500,
    retryMaxMs: options.retryMaxMs ?? 8_000,
    maxThrottleRetries: options.maxThrottleRetries ?? 5,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
  });
  const pageSize = options.pageSize ?? 100;
  const iamRetryIntervalMs = options.iamRetryIntervalMs ?? 10_000;
  const cmekPath = (clusterId: string) => `/api/v1/clusters/${requireId(clusterId)}/cmek`;

  async function getCmek(clusterId: string, call: CallOptions = {}): Promise<CmekClusterInfo | null> {
    try {
      return await transport.send({
        method: 'GET',
        path: cmekPath(clusterId),
        schema: cmekClusterInfoSchema,
        operation: `GET /cmek on cluster ${clusterId}`,
        call,
      });
    } catch (error) {
      // GET /cmek answers 404 when CMEK was never enabled (the Terraform provider reads it the same way).
      if (error instanceof CloudApiError && error.kind === 'http' && error.status === 404 && !isMissingCluster(error)) return null;
      throw error;
    }
  }

  /** Sends a CMEK mutation once; on an ambiguous failure, reads the state back and reports it. */
  function mutate(method: HttpMethod, clusterId: string, body: unknown, label: string, call: CallOptions = {}): Promise<CmekClusterInfo> {
    const operation = `${method} /cmek (${label}) on cluster ${clusterId}`;
    return sendOnce(
      clusterId,
      operation,
      () => transport.send({ method, path: cmekPath(clusterId), body, schema: cmekClusterInfoSchema, operation, call }),
      call,
    );
  }

  /** Sends a mutation of the cluster's CMEK state once, never re-sent: an ambiguous failure reads GET /cmek back and reports it. */
  async function sendOnce<T>(clusterId: string, operation: string, send: () => Promise<T>, call: CallOptions): Promise<T> {
    try {
      return await send();
    } catch (error) {
      const ambiguous =
        error instanceof CloudApiError && (error.kind === 'network' || error.kind === 'timeout' || (error.kind === 'http' && error.status >= 500));
      if (!ambiguous) throw error;
      let observed: CmekClusterInfo | null | undefined;
      try {
        observed = await getCmek(clusterId, call);
      } catch (readError) {
        if (!(readError instanceof CloudApiError)) throw readError;
      }
      const inProgress = observed?.status !== undefined && ['ENABLING', 'ROTATING', 'REVOKING', 'DISABLING'].includes(observed.status);
      throw new CloudApiError(
        error.init,
        {
          what: `Outcome unknown: ${operation}`,
          why: `${error.why} The request may or may not have been applied, so it was not re-sent. CMEK status read back: ${describeCmek(observed)}.`,
          next: inProgress
            ? 'the change was accepted and is in progress: wait for it with get_cmek_status instead of re-sending.'
            : 'run get_cmek_status and compare it with the intended change before retrying; retry only if the change is not there.',
        },
        { ambiguous: true, ...(observed !== undefined ? { observed } : {}) },
      );
    }
  }

  return {
    getOrganization(call) {
      return transport.send({
        method: 'GET',
        path: '/api/v1/organization',
        schema: organizationSchema,
        operation: 'GET /organization',
        ...(call ? { call } : {}),
      });
    },

    async listClusters(call?: ListOptions) {
      const clusters: Cluster[] = [];
      const seen = new Set<string>();
      let page: string | undefined;
      do {
        const response = await transport.send({
          method: 'GET',
          path: '/api/v1/clusters',
          query: { 'pagination.limit': pageSize, 'pagination.page': page },
          schema: listClustersResponseSchema,
          operation: 'GET /clusters',
          ...(call ? { call } : {}),
        });
        clusters.push(...response.clusters);
        call?.onPage?.(response.clusters);
        page = response.pagination?.next_page || undefined;
        if (page !== undefined) {
          if (seen.has(page)) {
            throw new CloudApiError({
              kind: 'invalid_response',
              operation: 'GET /clusters',
              status: 200,
              message: 'pagination returned the same next_page twice',
            });
          }
          seen.add(page);
        }
      } while (page !== undefined);
      return clusters;
    },

    async getCluster(clusterId, call) {
      try {
        return await transport.send({
          method: 'GET',
          path: `/api/v1/clusters/${requireId(clusterId)}`,
          schema: clusterSchema,
          operation: `GET /clusters/${clusterId}`,
          ...(call ? { call } : {}),
        });
      } catch (error) {
        if (error instanceof CloudApiError && error.kind === 'http' && error.status === 404) {
          throw new CloudApiError(error.init, {
            what: `Cluster '${clusterId}' not found`,
            why: `No cluster with this id is visible to the API key (HTTP 404${error.serverMessage ? `: ${error.serverMessage}` : ''}).`,
            next: 'check the id, or run list_clusters to see every cluster this key can see.',
          });
        }
        throw error;
      }
    },

    getCmek,

    async enableCmek(clusterId, regionSpecs, call: EnableOptions = {}) {
      const budget = call.iamPropagationMs ?? options.iamPropagationMs;
      const started = Date.now();
      for (let attempt = 1; ; attempt++) {
        try {
          return await mutate('POST', clusterId, { region_specs: regionSpecs }, 'enable', call);
        } catch (error) {
          const retryable = error instanceof CloudApiError && !error.ambiguous && IAM_STATUSES.has(error.status) && !PERMANENT_CODES.has(error.code ?? -1);
          if (!retryable) throw error;
          const elapsed = Date.now() - started;
          if (elapsed + iamRetryIntervalMs > budget) {
            throw attempt > 1
              ? withNote(error, `Retried ${attempt} times over ${Math.round(elapsed / 1000)} s in case IAM grants were still propagating.`)
              : error;
          }
          await call.onRetry?.({ attempt, elapsedMs: elapsed, error });
          await sleep(iamRetryIntervalMs, call.signal);
        }
      }
    },

    updateCmek(clusterId, regionSpecs, call) {
      return mutate('PUT', clusterId, { region_specs: regionSpecs }, 'rotate', call);
    },

    revokeCmek(clusterId, call) {
      return mutate('PATCH', clusterId, { action: 'REVOKE' }, 'revoke', call);
    },

    addCmekRegions(clusterId, regionNodes, cmekRegionSpecs, call = {}) {
      const added = cmekRegionSpecs.map((spec) => spec.region).join(', ');
      const operation = `PATCH /clusters (add ${added}) on cluster ${clusterId}`;
      const body = { dedicated: { region_nodes: regionNodes, cmek_region_specs: cmekRegionSpecs } };
      return sendOnce(
        clusterId,
        operation,
        () => transport.send({ method: 'PATCH', path: `/api/v1/clusters/${requireId(clusterId)}`, body, schema: clusterSchema, operation, call }),
        call,
      );
    },

    waitForCmek(clusterId, wait?: WaitOptions) {
      return waitUntilSettled(
        (call) => getCmek(clusterId, call),
        clusterId,
        { pollIntervalMs: options.pollIntervalMs, deadlineMs: options.operationDeadlineMs },
        wait,
      );
    },
  };
}
