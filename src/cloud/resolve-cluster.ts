/**
 * Turns what an operator typed ("prod-east", a cluster id) into exactly one cluster, or an error
 * that lists the close matches. Nothing is guessed: near misses are suggested, never chosen.
 */
import { OperatorError } from '../errors.js';
import type { CallOptions, CloudApi } from './api.js';
import { CloudApiError } from './errors.js';
import type { Cluster } from './schemas.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_SUGGESTIONS = 5;

export interface ResolveOptions extends CallOptions {
  /** Clusters already listed (saves a list call). */
  clusters?: readonly Cluster[];
}

/** Levenshtein distance, two rows. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

const label = (cluster: Cluster) => `${cluster.name} (${cluster.id})`;

/** Clusters whose name or id is close to `query`, closest first. */
export function closeMatches(query: string, clusters: readonly Cluster[]): Cluster[] {
  const q = query.toLowerCase();
  const tolerance = Math.max(2, Math.floor(q.length / 3));
  const scored: Array<{ cluster: Cluster; score: number }> = [];
  for (const cluster of clusters) {
    const name = cluster.name.toLowerCase();
    const id = cluster.id.toLowerCase();
    let score = editDistance(q, name);
    if (name.startsWith(q) || q.startsWith(name) || id.startsWith(q)) score = Math.min(score, 1);
    else if (name.includes(q)) score = Math.min(score, 2);
    if (score <= tolerance) scored.push({ cluster, score });
  }
  return scored
    .sort((a, b) => a.score - b.score || a.cluster.name.localeCompare(b.cluster.name))
    .slice(0, MAX_SUGGESTIONS)
    .map((entry) => entry.cluster);
}

/**
 * Resolves a cluster by exact id, else by exact name (case-insensitive). Unknown or ambiguous
 * names throw an OperatorError naming the candidates and pointing to list_clusters.
 */
export async function resolveCluster(cloud: CloudApi, nameOrId: string, options: ResolveOptions = {}): Promise<Cluster> {
  const query = nameOrId.trim();
  if (!query) throw new OperatorError('No cluster given', 'The cluster name or id is empty.', 'pass a cluster name or id; list_clusters shows them.');
  const { clusters: known, ...call } = options;
  if (!known && UUID.test(query)) {
    try {
      return await cloud.getCluster(query, call);
    } catch (error) {
      if (!(error instanceof CloudApiError && error.status === 404)) throw error;
    }
  }
  const clusters = known ?? (await cloud.listClusters(call));
  const byId = clusters.find((cluster) => cluster.id.toLowerCase() === query.toLowerCase());
  if (byId) return byId;
  const byName = clusters.filter((cluster) => cluster.name.toLowerCase() === query.toLowerCase());
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1) {
    throw new OperatorError(
      `Cluster name '${query}' is ambiguous`,
      `${byName.length} clusters have this name: ${byName.map(label).join(', ')}.`,
      'pass the cluster id instead of the name.',
      { candidates: byName.map((cluster) => ({ name: cluster.name, id: cluster.id })) },
    );
  }
  const matches = closeMatches(query, clusters);
  throw new OperatorError(
    `Cluster '${query}' not found`,
    matches.length
      ? `No cluster visible to this API key has that name or id. Close matches: ${matches.map(label).join(', ')}.`
      : `No cluster visible to this API key (${clusters.length} clusters) has that name or id, and none is close.`,
    matches.length
      ? 'use one of the names or ids above, or run list_clusters to see every cluster.'
      : 'run list_clusters to see every cluster this API key can see.',
    { candidates: matches.map((cluster) => ({ name: cluster.name, id: cluster.id })) },
  );
}
