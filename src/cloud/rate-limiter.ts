/**
 * Client-side rate limit shared by every call of one client. The server counts requests when
 * they arrive, which is somewhere between our send and its answer; so a slot is held from
 * acquire() until release() (the answer) and stays counted for `intervalMs` after it. No more
 * than `limit` requests can then ever land within one server window, whatever the network
 * latency. First come first served, per-call cancellation, and a pause every caller respects
 * after the server answered 429 + Retry-After.
 *
 * Written here rather than taken from p-throttle: that library counts at dispatch, cannot cancel
 * one queued call or hold every caller back after a 429, and its timers keep the process alive.
 */
import { abortError } from './errors.js';

/** Call when the exchange is over (response read, or failed). Idempotent. */
export type Release = () => void;

export interface RateLimiter {
  /** Resolves when a request may start; rejects with an AbortError if `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<Release>;
  /** Holds every caller until `ms` from now (Retry-After). */
  pauseFor(ms: number): void;
}

export interface RateLimiterOptions {
  limit: number;
  intervalMs: number;
  now?: () => number;
}

interface Waiter {
  resolve(release: Release): void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/** Creates a limiter; its timers are unref'd, so it never keeps the process alive. */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const now = options.now ?? Date.now;
  /** When each counted request was answered; Infinity while it is in flight. */
  const slots: Array<{ releasedAt: number }> = [];
  const queue: Waiter[] = [];
  let pausedUntil = 0;
  let timer: NodeJS.Timeout | undefined;

  const schedule = (at: number) => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(
      () => {
        timer = undefined;
        drain();
      },
      Math.max(0, at - now()),
    );
    timer.unref();
  };

  const drain = (): void => {
    while (queue.length > 0) {
      const t = now();
      for (let i = slots.length - 1; i >= 0; i--) if (t - slots[i]!.releasedAt >= options.intervalMs) slots.splice(i, 1);
      if (t < pausedUntil) return schedule(pausedUntil);
      if (slots.length >= options.limit) {
        const nextFree = Math.min(...slots.map((slot) => slot.releasedAt)) + options.intervalMs;
        // All in flight: the next release() drains again.
        if (Number.isFinite(nextFree)) schedule(nextFree);
        return;
      }
      const slot = { releasedAt: Infinity };
      slots.push(slot);
      const waiter = queue.shift()!;
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.resolve(() => {
        if (slot.releasedAt !== Infinity) return;
        slot.releasedAt = now();
        drain();
      });
    }
  };

  return {
    acquire(signal) {
      if (signal?.aborted) return Promise.reject(abortError());
      return new Promise<Release>((resolve, reject) => {
        const waiter: Waiter = {
          resolve,
          signal,
          onAbort: () => {
            const index = queue.indexOf(waiter);
            if (index >= 0) queue.splice(index, 1);
            reject(abortError());
          },
        };
        signal?.addEventListener('abort', waiter.onAbort, { once: true });
        queue.push(waiter);
        drain();
      });
    },
    pauseFor(ms) {
      pausedUntil = Math.max(pausedUntil, now() + ms);
    },
  };
}
