/**
 * KMS look-ups for the audit: each key is described once and each (key, principal) access checked
 * once per run, however many clusters or regions reference it, with a cap on calls in flight.
 * Failures become "could not verify" outcomes, never findings: our credentials seeing less than
 * CockroachDB's does not make a key unhealthy.
 */
import { errorMessage } from '../errors.js';
import { KmsError, type AccessCheck, type KeyDescription, type KmsKeyType, type KmsRegistry } from '../kms/provider.js';

export type Lookup<T> = { ok: true; value: T } | { ok: false; error: string; kind?: KmsError['kind'] };

export interface KmsLookup {
  describe(type: KmsKeyType, uri: string): Promise<Lookup<KeyDescription>>;
  /** Skipped (not called) when the key could not be described as not found or invalid. */
  access(type: KmsKeyType, uri: string, principal: string): Promise<Lookup<AccessCheck>>;
  /** Distinct keys asked about, and how many of them could not be described. */
  stats(): { keys: number; unverified: number };
}

/** A counting semaphore. */
function limiter(max: number) {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async <T>(work: () => Promise<T>): Promise<T> => {
    if (active >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    active += 1;
    try {
      return await work();
    } finally {
      active -= 1;
      waiting.shift()?.();
    }
  };
}

function failure(error: unknown): Lookup<never> {
  return error instanceof KmsError ? { ok: false, error: error.message, kind: error.kind } : { ok: false, error: errorMessage(error) };
}

/** Creates the per-run memo; `concurrency` caps KMS calls in flight across all providers. */
export function createKmsLookup(kms: KmsRegistry, signal: AbortSignal, concurrency: number): KmsLookup {
  const run = limiter(concurrency);
  const described = new Map<string, Promise<Lookup<KeyDescription>>>();
  const accessed = new Map<string, Promise<Lookup<AccessCheck>>>();
  let unverified = 0;

  const call = async <T>(type: KmsKeyType, work: (provider: Awaited<ReturnType<KmsRegistry['get']>>) => Promise<T>): Promise<Lookup<T>> => {
    try {
      const provider = await kms.get(type);
      return { ok: true, value: await run(() => work(provider)) };
    } catch (error) {
      if (signal.aborted) throw error;
      return failure(error);
    }
  };

  const describe = (type: KmsKeyType, uri: string) => {
    const key = `${type} ${uri}`;
    let pending = described.get(key);
    if (!pending) {
      pending = call(type, (provider) => provider.describeKey(uri, signal)).then((result) => {
        if (!result.ok) unverified += 1;
        return result;
      });
      described.set(key, pending);
    }
    return pending;
  };

  return {
    describe,
    async access(type, uri, principal) {
      const key = `${type} ${uri} ${principal}`;
      let pending = accessed.get(key);
      if (!pending) {
        pending = describe(type, uri).then((description) => {
          if (!description.ok && (description.kind === 'not_found' || description.kind === 'invalid')) {
            return { ok: false as const, error: 'not checked: the key itself could not be found', kind: description.kind };
          }
          return call(type, (provider) => provider.checkAccess(uri, principal, signal));
        });
        accessed.set(key, pending);
      }
      return pending;
    },
    stats: () => ({ keys: described.size, unverified }),
  };
}
