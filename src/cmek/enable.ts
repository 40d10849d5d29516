/**
 * Enabling CMEK: validate everything first (offline, then in the KMS), refuse when CMEK is
 * already on, then POST /cmek once, wait and report each region. dry_run stops before the POST.
 */
import type { Cluster, CmekClusterInfo, CmekStatus } from '../cloud/schemas.js';
import { resolveCluster } from '../cloud/resolve-cluster.js';
import { OperatorError } from '../errors.js';
import { serialized } from './cluster-mutations.js';
import { callOptions, type Check, type ClusterRef, type CmekEnv } from './context.js';
import { failureMessages, isInProgress, overallStatus } from './key-infos.js';
import { existingKeySpecs, keyAccountChecks } from './key-accounts.js';
import { keyTypeForCloud } from '../kms/providers/index.js';
import { checkKeysInKms } from './kms-checks.js';
import { refuseOnFailures, validateRegionSpecs, type KeySpecInput } from './key-specs.js';
import { regionOutcomes, sendOnce, waitForCmek, type RegionOutcome, refuseWhileOperationRuns } from './operation.js';

export interface EnableCmekOptions {
  wait: boolean;
  dryRun: boolean;
}

/**
 * What enabling CMEK does not do, said before enabling (dry run included) and in the result
 * (docs: cockroachcloud/cmek.md and managing-cmek.md).
 */
export const ENABLE_CAVEATS: readonly Check[] = [
  {
    check: 'existing_data',
    result: 'warn',
    detail:
      'Enabling CMEK does not re-encrypt data already written: only data written afterwards is protected by your keys (the docs advise enabling CMEK before creating databases or inserting data).',
  },
  {
    check: 'pre_cmek_backups',
    result: 'warn',
    detail:
      'Managed backups taken before CMEK is enabled can no longer be restored once it is on: take any restore you may need first, or keep a self-managed backup.',
  },
];

export type CmekRequest = {
  method: 'POST' | 'PUT' | 'PATCH';
  path: string;
  body: Record<string, unknown>;
};

export type EnableResult = {
  cluster: ClusterRef;
  outcome: 'dry_run' | 'enabled' | 'failed' | 'in_progress';
  status: CmekStatus | 'NOT_ENABLED';
  request: CmekRequest;
  checks: Check[];
  regions: RegionOutcome[];
  next_step: string;
  /** An identical request was already running in this server: this is its result, and nothing was sent twice. */
  joined?: boolean;
};

function refuseWhenOn(cluster: ClusterRef, info: CmekClusterInfo | null): void {
  const status = overallStatus(info);
  if (status === 'NOT_ENABLED' || status === 'DISABLED' || status === 'ENABLE_FAILED') return;
  const next =
    status === 'REVOKED' || status === 'REVOKING' || status === 'REVOKE_FAILED'
      ? 'contact Cockroach Labs support: re-enabling after revocation is done with them.'
      : isInProgress(status)
        ? `wait for it to finish (get_cmek_status ${cluster.name}).`
        : `to change keys use rotate_cmek ${cluster.name} (mode new_key or new_version).`;
  throw new OperatorError(
    `CMEK is already set up on ${cluster.name}`,
    `Its CMEK status is ${status}, so enabling again would be rejected; nothing was sent.`,
    next,
    {
      auditOutcome: 'refused',
    },
  );
}

/** Validates, then (unless dry_run) enables CMEK and waits for every region. */
export async function enableCmek(env: CmekEnv, clusterRef: string, inputs: readonly KeySpecInput[], options: EnableCmekOptions): Promise<EnableResult> {
  const cluster = await resolveCluster(env.cloud, clusterRef, callOptions(env));
  return serialized(env, cluster, ['enable_cmek', inputs, options], options.dryRun, () => enableResolved(env, cluster, inputs, options));
}

async function enableResolved(env: CmekEnv, cluster: Cluster, inputs: readonly KeySpecInput[], options: EnableCmekOptions): Promise<EnableResult> {
  const call = callOptions(env);
  const ref = { id: cluster.id, name: cluster.name };
  if (cluster.plan !== 'ADVANCED') {
    throw new OperatorError(
      `enable_cmek refused for ${cluster.name}`,
      `CMEK exists only on the Advanced plan; ${cluster.name} is on ${cluster.plan}. Nothing was sent.`,
      `run check_cmek_eligibility ${cluster.name} for the migration path to an Advanced cluster.`,
      {
        auditOutcome: 'refused',
      },
    );
  }
  const current = await env.cloud.getCmek(cluster.id, call);
  refuseWhenOn(ref, current);
  refuseWhileOperationRuns(cluster, 'enable_cmek');

  const { specs, checks: specChecks } = validateRegionSpecs(cluster, inputs, true);
  const checks = [...ENABLE_CAVEATS, ...specChecks];
  const type = keyTypeForCloud(cluster.cloud_provider);
  checks.push(...keyAccountChecks(type, existingKeySpecs(current, type), specs));
  const fix = 'fix the region specs (provision_cmek_key emits correct ones) and run enable_cmek again.';
  refuseOnFailures(checks, `enable_cmek refused for ${cluster.name}`, fix);
  checks.push(...(await checkKeysInKms(env, specs)));
  refuseOnFailures(checks, `enable_cmek refused for ${cluster.name}`, fix);

  const request: CmekRequest = { method: 'POST', path: `/api/v1/clusters/${cluster.id}/cmek`, body: { region_specs: specs } };
  const regions = specs.map((spec) => spec.region);
  if (options.dryRun) {
    return {
      cluster: ref,
      outcome: 'dry_run',
      status: overallStatus(current),
      request,
      checks,
      regions: regionOutcomes(current, regions),
      next_step: `Every check passed. Tell the operator the two caveats above (existing data is not re-encrypted; pre-CMEK managed backups become unrestorable), then run enable_cmek again without dry_run to send this request.`,
    };
  }

  const accepted = await sendOnce(
    ref,
    'enable',
    regions,
    () =>
      env.cloud.enableCmek(cluster.id, specs, {
        ...call,
        onRetry: ({ attempt, elapsedMs }) =>
          env.progress(
            0,
            undefined,
            `enable rejected (attempt ${attempt}, ${Math.round(elapsedMs / 1000)} s): waiting for IAM grants to propagate, then retrying`,
          ),
      }),
    (observed) => ['ENABLING', 'ENABLED'].includes(overallStatus(observed)),
  );
  const final = options.wait ? await waitForCmek(env, ref, 'enable') : accepted;
  return report(ref, request, checks, final, regions);
}

function report(cluster: ClusterRef, request: CmekRequest, checks: Check[], info: CmekClusterInfo, regions: string[]): EnableResult {
  const status = overallStatus(info);
  const outcomes = regionOutcomes(info, regions);
  const failed = outcomes.filter((outcome) => outcome.status === 'ENABLE_FAILED');
  if (status === 'ENABLED' && failed.length === 0) {
    return {
      cluster,
      outcome: 'enabled',
      status,
      request,
      checks,
      regions: outcomes,
      next_step: `CMEK is enabled in every region. Verify with get_cmek_status; keep every key enabled and never schedule it for deletion while ${cluster.name} uses it.`,
    };
  }
  if (failed.length || status === 'ENABLE_FAILED') {
    const messages = (info.region_infos ?? []).flatMap(failureMessages);
    return {
      cluster,
      outcome: 'failed',
      status,
      request,
      checks,
      regions: outcomes,
      next_step: `Enabling failed${failed.length ? ` in ${failed.map((outcome) => outcome.region).join(', ')}` : ''}${
        messages.length ? `: ${messages.join(' | ')}` : ''
      }. Fix the key or grant named there (IAM grants can take minutes to propagate), then run enable_cmek again.`,
    };
  }
  return {
    cluster,
    outcome: 'in_progress',
    status,
    request,
    checks,
    regions: outcomes,
    next_step: `The enable request was accepted (${status}). Follow it with get_cmek_status ${cluster.name}; do not send it again.`,
  };
}
