/** Seeded clusters and CMEK states, by name, for the CMEK domain unit tests. */
import type { Cluster, CmekClusterInfo } from '../../src/cloud/schemas.js';
import { CLUSTER_IDS, CLUSTERS, CMEK } from '../../src/sandbox/seed.js';

export type SeededName = keyof typeof CLUSTER_IDS;

/** A deep copy of a seeded cluster, with optional overrides. */
export function seededCluster(name: SeededName, overrides: Partial<Cluster> = {}): Cluster {
  const cluster = CLUSTERS.find((candidate) => candidate.name === name);
  if (!cluster) throw new Error(`no seeded cluster ${name}`);
  return { ...structuredClone(cluster), ...overrides };
}

/** A deep copy of a seeded cluster's CMEK info (null when never enabled). */
export function seededCmek(name: SeededName): CmekClusterInfo | null {
  const info = CMEK[CLUSTER_IDS[name]];
  return info ? structuredClone(info) : null;
}
