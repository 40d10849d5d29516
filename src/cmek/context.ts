/**
 * What the CMEK lifecycle modules need from the outside world, free of MCP types: the Cloud API,
 * the KMS providers, a clock, cancellation, progress and request-id sinks.
 */
import type { CallOptions, CloudApi } from '../cloud/api.js';
import type { KmsRegistry } from '../kms/provider.js';

export interface CmekEnv {
  cloud: CloudApi;
  kms: KmsRegistry;
  now(): number;
  signal: AbortSignal;
  /** Receives each upstream request id (audit log). */
  onRequestId(id: string): void;
  /** Progress while waiting; a no-op when the client did not ask for it. */
  progress(done: number, total: number | undefined, message: string): Promise<void>;
}

/** Per-call options for the Cloud API, bound to this environment. */
export function callOptions(env: CmekEnv): CallOptions {
  return { signal: env.signal, onRequestId: (id) => env.onRequestId(id) };
}

/** Outcome of one preflight or eligibility check. */
export type CheckResult = 'pass' | 'fail' | 'warn' | 'unknown';

/** One check a tool ran, reported to the operator. */
export type Check = {
  check: string;
  result: CheckResult;
  detail: string;
  region?: string;
};

/** A cluster reference for outputs and the audit log. */
export type ClusterRef = {
  id: string;
  name: string;
};

/** Whole days between an ISO time and now (undefined when the time is missing or invalid). */
export function ageInDays(iso: string | undefined, now: number): number | undefined {
  if (!iso) return undefined;
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.floor((now - at) / 86_400_000));
}

/** Runs `work` over `items` with at most `limit` in flight, keeping order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
