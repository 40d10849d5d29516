/**
 * A readable CMEK status: per region the current key and the past keys (still needed for data
 * written under them), their age, every failure's user_message, and what to do next.
 */
import type { Cluster, CmekClusterInfo, CmekKeyInfo, CmekStatus } from '../cloud/schemas.js';
import { resolveCluster } from '../cloud/resolve-cluster.js';
import { ageInDays, callOptions, type CmekEnv } from './context.js';
import { currentKey, failureMessages, isFailed, isInProgress, lastWrappedAt, overallStatus, pastKeys, regionInfo } from './key-infos.js';

export type KeyView = {
  type?: string;
  uri?: string;
  auth_principal?: string;
  status?: CmekStatus;
  created_at?: string;
  updated_at?: string;
  /** When CockroachDB last wrapped with this key (see lastWrappedAt). */
  last_wrapped_at?: string;
  /** Days since last_wrapped_at. */
  age_days?: number;
  user_message?: string;
};

export type RegionStatusView = {
  region: string;
  status: CmekStatus | 'NOT_ENABLED';
  current_key: KeyView | null;
  past_keys: KeyView[];
  failures: string[];
};

export type CmekStatusView = {
  status: CmekStatus | 'NOT_ENABLED';
  cmek_enabled: boolean;
  regions: RegionStatusView[];
  /** Things the operator must know (failures, regions without CMEK). */
  problems: string[];
  next_step: string;
};

/** A key_info as the operator reads it. */
export function keyView(info: CmekKeyInfo, now: number): KeyView {
  const wrapped = lastWrappedAt(info);
  const age = ageInDays(wrapped, now);
  return {
    ...(info.spec?.type ? { type: info.spec.type } : {}),
    ...(info.spec?.uri ? { uri: info.spec.uri } : {}),
    ...(info.spec?.auth_principal ? { auth_principal: info.spec.auth_principal } : {}),
    ...(info.status ? { status: info.status } : {}),
    ...(info.created_at ? { created_at: info.created_at } : {}),
    ...(info.updated_at ? { updated_at: info.updated_at } : {}),
    ...(wrapped ? { last_wrapped_at: wrapped } : {}),
    ...(age === undefined ? {} : { age_days: age }),
    ...(info.user_message ? { user_message: info.user_message } : {}),
  };
}

/** Statuses in which the cluster's data is under the customer's keys. */
const CMEK_ON: readonly string[] = ['ENABLED', 'ROTATING', 'ROTATE_FAILED', 'REVOKING', 'REVOKE_FAILED'];

const KEEP_PAST_KEYS = 'Never disable or delete a past key: data written under it still needs it.';

/** Builds the status view of one cluster from GET /cmek (null when never enabled). */
export function summarizeCmek(cluster: Cluster, info: CmekClusterInfo | null, now: number): CmekStatusView {
  const status = overallStatus(info);
  const names = new Set<string>(cluster.regions.map((region) => region.name));
  for (const region of info?.region_infos ?? []) if (region.region) names.add(region.region);
  const regions: RegionStatusView[] = [...names].map((name) => {
    const region = regionInfo(info, name);
    if (!region) return { region: name, status: 'NOT_ENABLED', current_key: null, past_keys: [], failures: [] };
    const current = currentKey(region);
    return {
      region: name,
      status: region.status ?? status,
      current_key: current ? keyView(current, now) : null,
      past_keys: pastKeys(region).map((key) => keyView(key, now)),
      failures: failureMessages(region),
    };
  });
  const problems: string[] = [];
  for (const region of regions) {
    if (isFailed(region.status)) {
      problems.push(`${region.region}: ${region.status}${region.failures.length ? ` - ${region.failures.join(' | ')}` : ' (no user_message given)'}`);
    }
    if (info && region.status === 'NOT_ENABLED') problems.push(`${region.region}: no CMEK key for this cluster region.`);
  }
  const next =
    cluster.plan === 'ADVANCED'
      ? nextStep(status, regions)
      : `CMEK is available only on Advanced clusters; ${cluster.name} is ${cluster.plan}. See check_cmek_eligibility for the way forward.`;
  return { status, cmek_enabled: CMEK_ON.includes(status), regions, problems, next_step: next };
}

function nextStep(status: CmekStatus | 'NOT_ENABLED', regions: RegionStatusView[]): string {
  const failed = regions.filter((region) => isFailed(region.status)).map((region) => region.region);
  const rotateFailed = regions.some((region) => region.status === 'ROTATE_FAILED');
  if (rotateFailed || status === 'ROTATE_FAILED') {
    return `Rotation failed in ${failed.join(', ')}: read each user_message, fix the KMS key or IAM grant it names, then re-run rotate_cmek (it resumes only the failed regions). ${KEEP_PAST_KEYS}`;
  }
  if (status === 'ENABLE_FAILED' || regions.some((region) => region.status === 'ENABLE_FAILED')) {
    return 'Enabling failed: read each user_message, fix the key or its grant (provision_cmek_key can re-apply grants), then run enable_cmek again.';
  }
  if (status === 'REVOKE_FAILED' || status === 'DISABLE_FAILED') {
    return `${status}: contact Cockroach Labs support with the cluster id and the user_message shown.`;
  }
  if (isInProgress(status) || regions.some((region) => isInProgress(region.status))) {
    return 'A CMEK operation is in progress: run get_cmek_status again in a minute; do not start another change meanwhile.';
  }
  switch (status) {
    case 'NOT_ENABLED':
    case 'DISABLED':
      return 'CMEK is not enabled: run check_cmek_eligibility, then provision_cmek_key and enable_cmek.';
    case 'REVOKED':
      return 'CMEK is revoked: CockroachDB can no longer use the keys; restoring access needs Cockroach Labs support.';
    default:
      if (regions.some((region) => region.status === 'NOT_ENABLED')) {
        return 'Some cluster regions have no CMEK key. dedicated.cmek_region_specs (PATCH /clusters) takes only regions being added, so it cannot key a region the cluster already has: re-check with get_cmek_status, and if the region still has no key contact Cockroach Labs support. To add NEW regions with their keys use enable_cmek with add_regions.';
      }
      return `CMEK is healthy. Rotate with rotate_cmek per your key policy. ${KEEP_PAST_KEYS}`;
  }
}

/** Resolves the cluster and summarises its CMEK state. */
export async function getCmekStatus(env: CmekEnv, clusterRef: string): Promise<{ cluster: Cluster; info: CmekClusterInfo | null; view: CmekStatusView }> {
  const options = callOptions(env);
  const cluster = await resolveCluster(env.cloud, clusterRef, options);
  const info = cluster.plan === 'ADVANCED' ? await env.cloud.getCmek(cluster.id, options) : null;
  return { cluster, info, view: summarizeCmek(cluster, info, env.now()) };
}
