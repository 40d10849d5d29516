import { describe, expect, it } from 'vitest';
import { createRateLimiter } from '../../src/cloud/rate-limiter.js';
import { backoffDelay, parseRetryAfter } from '../../src/cloud/retry.js';

/** Largest number of starts within any window of `windowMs`. */
function maxStartsWithin(starts: number[], windowMs: number): number {
  const sorted = [...starts].sort((a, b) => a - b);
  let max = 0;
  for (let i = 0; i < sorted.length; i++) max = Math.max(max, sorted.filter((t) => t >= sorted[i]! && t - sorted[i]! < windowMs).length);
  return max;
}

describe('createRateLimiter', () => {
  it('never lets more than `limit` requests start within a window after earlier answers', async () => {
    const limiter = createRateLimiter({ limit: 3, intervalMs: 60 });
    const starts: number[] = [];
    await Promise.all(
      Array.from({ length: 9 }, async () => {
        const release = await limiter.acquire();
        starts.push(Date.now());
        await new Promise((resolve) => setTimeout(resolve, 5));
        release();
      }),
    );
    expect(starts).toHaveLength(9);
    expect(maxStartsWithin(starts, 60)).toBeLessThanOrEqual(3);
  });

  it('holds a slot while the request is in flight', async () => {
    const limiter = createRateLimiter({ limit: 1, intervalMs: 1 });
    const release = await limiter.acquire();
    let second = false;
    const next = limiter.acquire().then((r) => {
      second = true;
      return r;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(second).toBe(false);
    release();
    (await next)();
    expect(second).toBe(true);
  });

  it('drops a cancelled waiter and keeps serving the others', async () => {
    const limiter = createRateLimiter({ limit: 1, intervalMs: 20 });
    const first = await limiter.acquire();
    const controller = new AbortController();
    const cancelled = limiter.acquire(controller.signal);
    const served = limiter.acquire();
    controller.abort();
    await expect(cancelled).rejects.toMatchObject({ name: 'AbortError' });
    first();
    (await served)();
    await expect(limiter.acquire(AbortSignal.abort())).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('holds every caller during a Retry-After pause', async () => {
    const limiter = createRateLimiter({ limit: 100, intervalMs: 1000 });
    const before = Date.now();
    limiter.pauseFor(40);
    (await limiter.acquire())();
    expect(Date.now() - before).toBeGreaterThanOrEqual(35);
  });
});

describe('retry helpers', () => {
  it('parses Retry-After seconds and dates', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter('0.5')).toBe(500);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });

  it('backs off exponentially with bounded jitter', () => {
    expect(backoffDelay(1, 100, 1000, () => 0)).toBe(50);
    expect(backoffDelay(3, 100, 1000, () => 1)).toBe(400);
    expect(backoffDelay(10, 100, 1000, () => 1)).toBe(1000);
  });
});
