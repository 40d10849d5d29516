/**
 * Revoking CMEK: destructive and recoverable only through Cockroach Labs support. The plan
 * explains the two steps (remove CockroachDB's KMS access first, then REVOKE), checks whether
 * step 1 looks done, and nothing is sent without a human's confirmation bound to the current
 * CMEK state.
 */
import type { Cluster, CmekClusterInfo, CmekStatus } from '../cloud/schemas.js';
import { resolveCluster } from '../cloud/resolve-cluster.js';
import { OperatorError, errorMessage } from '../errors.js';
import type { KmsKeyType } from '../kms/provider.js';
import { canonicalJson } from '../safety/canonical.js';
import type { ConfirmationRequest } from '../safety/types.js';
import { callOptions, mapLimited, type Check, type ClusterRef, type CmekEnv } from './context.js';
import { serialized } from './cluster-mutations.js';
import type { CmekRequest } from './enable.js';
import { currentKey, overallStatus } from './key-infos.js';
import { regionOutcomes, sendOnce, waitForCmek, type RegionOutcome, refuseWhileOperationRuns } from './operation.js';

export interface RevokeOptions {
  wait: boolean;
  dryRun: boolean;
  /** Tool parameters the confirmation is bound to (without the token). */
  params: Record<string, unknown>;
  token?: string;
  /** Resolves only when a human approved; throws an OperatorError otherwise. */
  confirm(request: ConfirmationRequest): Promise<void>;
}

export type RevokeResult = {
  cluster: ClusterRef;
  outcome: 'dry_run' | 'revoked' | 'failed' | 'in_progress';
  status: CmekStatus | 'NOT_ENABLED';
  steps: string[];
  consequences: string[];
  checks: Check[];
  request: CmekRequest;
  regions: RegionOutcome[];
  next_step: string;
  /** An identical approved revocation was already running in this server: this is its result. */
  joined?: boolean;
};

/** The two steps of a revocation, in order. */
export const REVOCATION_STEPS = [
  "1. Remove CockroachDB's access to each key in your KMS (IAM / key policy / role assignment). The cluster keeps running on the data keys it already holds.",
  '2. PATCH /cmek {"action":"REVOKE"} (this tool), then confirm the status is REVOKED.',
];

/** What stops working after revocation. */
export const REVOCATION_CONSEQUENCES = [
  'REVOKE triggers a cluster restart that fails because the key is unavailable: the cluster stops serving AT ONCE and all access to its data is prevented (not "at the next node restart").',
  'Nodes do not recover on their own, and managed backups fail.',
  'Restoring access needs Cockroach Labs support; you cannot undo this yourself.',
];

const REVERSIBILITY =
  'Not reversible by you: the cluster is down from the moment REVOKE is sent, and only Cockroach Labs support can restore it (after you give CockroachDB access to the keys again).';

async function checkAccessRemoved(env: CmekEnv, info: CmekClusterInfo): Promise<Check[]> {
  const keys = (info.region_infos ?? []).flatMap((region) => {
    const key = currentKey(region);
    return key?.spec?.uri && key.spec.type && key.spec.auth_principal ? [{ region: region.region ?? '', spec: key.spec }] : [];
  });
  return mapLimited(keys, 3, async ({ region, spec }): Promise<Check> => {
    try {
      const provider = await env.kms.get(spec.type as KmsKeyType);
      const access = await provider.checkAccess(spec.uri!, spec.auth_principal!, env.signal);
      if (!access.verified)
        return {
          check: 'kms_access_removed',
          result: 'unknown',
          region,
          detail: `Could not read the key's grants${access.detail ? `: ${access.detail}` : ''}; make sure step 1 is done.`,
        };
      return access.granted
        ? {
            check: 'kms_access_removed',
            result: 'warn',
            region,
            detail: `Step 1 not done: ${spec.auth_principal} still has access to ${spec.uri}. Remove it in the KMS first.`,
          }
        : { check: 'kms_access_removed', result: 'pass', region, detail: `${spec.auth_principal} no longer has the access CockroachDB needs on ${spec.uri}.` };
    } catch (error) {
      if (env.signal.aborted) throw error;
      return { check: 'kms_access_removed', result: 'unknown', region, detail: `Could not check the KMS: ${errorMessage(error)}; make sure step 1 is done.` };
    }
  });
}

function confirmation(cluster: Cluster, info: CmekClusterInfo, checks: Check[], options: RevokeOptions): ConfirmationRequest {
  const notDone = checks.filter((check) => check.result !== 'pass').map((check) => check.region);
  return {
    tool: 'revoke_cmek',
    targetName: cluster.name,
    targetDescription: `cluster ${cluster.name} (${cluster.id}), ${cluster.cloud_provider} ${cluster.regions.map((region) => region.name).join(', ')}`,
    action: `Revoke CMEK on cluster ${cluster.name}: the cluster restarts, cannot read its keys, and stops serving immediately.`,
    consequences: [...REVOCATION_CONSEQUENCES, ...(notDone.length ? [`Step 1 (remove KMS access) is not confirmed for: ${notDone.join(', ')}.`] : [])],
    reversibility: REVERSIBILITY,
    params: options.params,
    targetState: info,
    ...(options.token ? { token: options.token } : {}),
  };
}

/**
 * Immediately before the REVOKE, after the human approved: re-reads the cluster and its CMEK
 * state. The status must still be ENABLED with no operation running, and the CMEK state must be
 * the one the human approved (a rotation or another revocation meanwhile refuses).
 */
async function recheckBeforeRevoke(env: CmekEnv, approvedCluster: Cluster, approved: CmekClusterInfo): Promise<void> {
  const call = callOptions(env);
  const cluster = await env.cloud.getCluster(approvedCluster.id, call);
  refuseWhileOperationRuns(cluster, 'revoke_cmek');
  const info = await env.cloud.getCmek(cluster.id, call);
  const status = overallStatus(info);
  if (status === 'ENABLED' && canonicalJson(info) === canonicalJson(approved)) return;
  throw new OperatorError(
    `revoke_cmek refused for ${cluster.name}: the CMEK state changed after approval`,
    `Checked again immediately before sending REVOKE: the status is now ${status}${status === 'ENABLED' ? ' but the keys or regions differ from what was approved' : ''}. Nothing was sent.`,
    `check get_cmek_status ${cluster.name}; if revocation is still needed, run revoke_cmek again and confirm the new plan.`,
    { auditOutcome: 'refused' },
  );
}

/** Plans, confirms and (unless dry_run) revokes CMEK, waiting for REVOKED. */
export async function revokeCmek(env: CmekEnv, clusterRef: string, options: RevokeOptions): Promise<RevokeResult> {
  const call = callOptions(env);
  const cluster = await resolveCluster(env.cloud, clusterRef, call);
  const ref = { id: cluster.id, name: cluster.name };
  const info = await env.cloud.getCmek(cluster.id, call);
  const status = overallStatus(info);
  if (!info || status !== 'ENABLED') {
    throw new OperatorError(
      `revoke_cmek refused for ${cluster.name}`,
      `Revocation needs CMEK status ENABLED; it is ${status}. Nothing was sent.`,
      status === 'NOT_ENABLED' || status === 'DISABLED'
        ? 'there is nothing to revoke.'
        : `check get_cmek_status ${cluster.name}; if this is an emergency with a failed or running operation, contact Cockroach Labs support.`,
      { auditOutcome: 'refused' },
    );
  }
  refuseWhileOperationRuns(cluster, 'revoke_cmek');
  const regions = cluster.regions.map((region) => region.name);
  const checks = await checkAccessRemoved(env, info);
  const request: CmekRequest = { method: 'PATCH', path: `/api/v1/clusters/${cluster.id}/cmek`, body: { action: 'REVOKE' } };
  const base = { cluster: ref, steps: REVOCATION_STEPS, consequences: REVOCATION_CONSEQUENCES, checks, request };
  if (options.dryRun) {
    return {
      ...base,
      outcome: 'dry_run',
      status,
      regions: regionOutcomes(info, regions),
      next_step: `Nothing was sent. Do step 1 in the KMS first; then run revoke_cmek ${cluster.name} without dry_run and confirm when asked.`,
    };
  }
  await options.confirm(confirmation(cluster, info, checks, options));
  // After approval, under the cluster's mutation lock: a rotation or enable running now finishes first, and the re-check sees its result.
  return serialized(env, cluster, ['revoke_cmek', options.params], false, () => sendRevoke(env, cluster, info, base, regions, options));
}

async function sendRevoke(
  env: CmekEnv,
  cluster: Cluster,
  approved: CmekClusterInfo,
  base: Omit<RevokeResult, 'outcome' | 'status' | 'regions' | 'next_step'>,
  regions: string[],
  options: RevokeOptions,
): Promise<RevokeResult> {
  const ref = base.cluster;
  await recheckBeforeRevoke(env, cluster, approved);
  const accepted = await sendOnce(
    ref,
    'revocation',
    regions,
    () => env.cloud.revokeCmek(cluster.id, callOptions(env)),
    (observed) => ['REVOKING', 'REVOKED'].includes(overallStatus(observed)),
  );
  const final = options.wait ? await waitForCmek(env, ref, 'revocation') : accepted;
  const finalStatus = overallStatus(final);
  const outcomes = regionOutcomes(final, regions);
  if (finalStatus === 'REVOKED') {
    return {
      ...base,
      outcome: 'revoked',
      status: finalStatus,
      regions: outcomes,
      next_step:
        'CMEK is REVOKED: the cluster has stopped serving. To restore it, give CockroachDB access to the keys again and contact Cockroach Labs support.',
    };
  }
  if (finalStatus === 'REVOKE_FAILED') {
    return {
      ...base,
      outcome: 'failed',
      status: finalStatus,
      regions: outcomes,
      next_step: 'Revocation failed: read each user_message and contact Cockroach Labs support.',
    };
  }
  return {
    ...base,
    outcome: 'in_progress',
    status: finalStatus,
    regions: outcomes,
    next_step: `Revocation accepted (${finalStatus}); follow it with get_cmek_status ${cluster.name}.`,
  };
}
