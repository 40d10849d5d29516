/** Retry with capped, jittered exponential backoff for CockroachDB's SQLSTATE 40001. */
import { sleep } from '../abort.js';
import { abortError, isRetryable } from './errors.js';

export interface RetryPolicy {
  /** Total attempts, including the first. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 25, maxDelayMs: 1000 };

/** Delay before attempt `attempt + 1` (attempt >= 1): half fixed, half random, capped. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * Runs `operation`, retrying it while it fails with 40001, up to the policy's cap.
 * `onRetry` sees each retry (for counting); the last error is rethrown unchanged.
 */
export async function withRetry<T>(operation: (attempt: number) => Promise<T>, policy: RetryPolicy, signal?: AbortSignal, onRetry?: () => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (!isRetryable(error) || attempt >= policy.maxAttempts) throw error;
      onRetry?.();
      await sleep(backoffDelay(attempt, policy), signal);
    }
  }
}
