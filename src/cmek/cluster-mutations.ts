/**
 * CMEK mutations of one cluster serialise within this process: each waits for the one before it
 * and then reads fresh state. An identical request (same cluster, same canonical request) that
 * arrives while one runs does not start a second change: it gets the first one's result. Replicas
 * do not share this lock; the Cloud API refuses a second CMEK operation while one runs.
 */
import type { CmekEnv } from './context.js';

/** What `run` returned, and whether it was another identical call's result. */
export interface Serialized<T> {
  value: T;
  /** True when an identical request was already running and this is its result. */
  joined: boolean;
}

/** Per-cluster serialisation of CMEK mutations. */
export interface ClusterMutations {
  run<T>(clusterId: string, request: string, mutate: () => Promise<T>): Promise<Serialized<T>>;
}

/** A fresh lock table (one per server process; see Deps). */
export function createClusterMutations(): ClusterMutations {
  const tails = new Map<string, Promise<unknown>>();
  const running = new Map<string, Promise<unknown>>();
  return {
    async run<T>(clusterId: string, request: string, mutate: () => Promise<T>): Promise<Serialized<T>> {
      const key = JSON.stringify([clusterId, request]);
      const same = running.get(key) as Promise<T> | undefined;
      if (same) return { value: await same, joined: true };
      const mine = (tails.get(clusterId) ?? Promise.resolve()).catch(() => {}).then(mutate);
      const tail = mine.catch(() => {});
      running.set(key, mine);
      tails.set(clusterId, tail);
      try {
        return { value: await mine, joined: false };
      } finally {
        if (running.get(key) === mine) running.delete(key);
        if (tails.get(clusterId) === tail) tails.delete(clusterId);
      }
    },
  };
}

/**
 * Runs a CMEK mutation of `cluster` under the per-cluster lock (dry runs change nothing and skip
 * it): mutations of one cluster run one after the other, each reading fresh state, and an
 * identical concurrent request gets the running one's result.
 */
export async function serialized<T extends object>(
  env: Pick<CmekEnv, 'mutations'>,
  cluster: { id: string },
  request: unknown,
  dryRun: boolean,
  mutate: () => Promise<T>,
): Promise<T & { joined?: boolean }> {
  if (dryRun) return mutate();
  const { value, joined } = await env.mutations.run(cluster.id, JSON.stringify(request), mutate);
  return joined ? { ...value, joined: true } : value;
}
