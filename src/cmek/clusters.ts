/**
 * The cluster list with CMEK status for Advanced clusters. GET /cmek runs a few at a time (the
 * client also rate-limits); a failure marks that cluster's status unknown instead of failing the list.
 */
import type { CloudProvider, Cluster, CmekStatus, Plan } from '../cloud/schemas.js';
import { errorMessage } from '../errors.js';
import { callOptions, mapLimited, type CmekEnv } from './context.js';
import { overallStatus } from './key-infos.js';

export interface ClusterFilter {
  plan?: Plan;
  cloud?: CloudProvider;
  /** "key=value" */
  label?: string;
}

export type ClusterListEntry = {
  id: string;
  name: string;
  plan: Plan;
  cloud_provider: CloudProvider;
  state: string;
  regions: string[];
  labels: Record<string, string>;
  /** CMEK status; NOT_AVAILABLE below Advanced, UNKNOWN when GET /cmek failed. */
  cmek_status: CmekStatus | 'NOT_ENABLED' | 'NOT_AVAILABLE' | 'UNKNOWN';
  cmek_error?: string;
};

/** How many GET /cmek calls run at once. */
export const CMEK_FETCH_CONCURRENCY = 4;

function matches(cluster: Cluster, filter: ClusterFilter): boolean {
  if (filter.plan && cluster.plan !== filter.plan) return false;
  if (filter.cloud && cluster.cloud_provider !== filter.cloud) return false;
  if (filter.label) {
    const at = filter.label.indexOf('=');
    const key = filter.label.slice(0, at);
    const value = filter.label.slice(at + 1);
    if (cluster.labels[key] !== value) return false;
  }
  return true;
}

/** Lists clusters matching the filter, with CMEK status for the Advanced ones. */
export async function listClustersWithCmek(env: CmekEnv, filter: ClusterFilter): Promise<{ clusters: ClusterListEntry[]; total: number }> {
  const options = callOptions(env);
  const all = await env.cloud.listClusters(options);
  const chosen = all.filter((cluster) => matches(cluster, filter));
  let done = 0;
  const clusters = await mapLimited(chosen, CMEK_FETCH_CONCURRENCY, async (cluster): Promise<ClusterListEntry> => {
    const base = {
      id: cluster.id,
      name: cluster.name,
      plan: cluster.plan,
      cloud_provider: cluster.cloud_provider,
      state: cluster.state,
      regions: cluster.regions.map((region) => region.name),
      labels: cluster.labels,
    };
    if (cluster.plan !== 'ADVANCED') return { ...base, cmek_status: 'NOT_AVAILABLE' };
    try {
      const info = await env.cloud.getCmek(cluster.id, options);
      return { ...base, cmek_status: overallStatus(info) };
    } catch (error) {
      if (env.signal.aborted) throw error;
      return { ...base, cmek_status: 'UNKNOWN', cmek_error: errorMessage(error) };
    } finally {
      done += 1;
      await env.progress(done, chosen.length, `CMEK status of ${cluster.name}`);
    }
  });
  return { clusters, total: all.length };
}
