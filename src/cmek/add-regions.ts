/**
 * Adding regions to a cluster whose CMEK is on: one PATCH /api/v1/clusters/{id} with
 * `dedicated.region_nodes` listing every region (existing ones at their current node counts, so
 * none is removed, plus the new ones) and `dedicated.cmek_region_specs` with the keys of the NEW
 * regions only. A spec for an existing region makes the API refuse the request; a new region
 * without a spec does too. Validated like enable (offline, then in the KMS), sent once, then the
 * new regions are followed until ENABLED.
 */
import type { Cluster } from '../cloud/schemas.js';
import { resolveCluster } from '../cloud/resolve-cluster.js';
import { OperatorError } from '../errors.js';
import { keyTypeForCloud } from '../kms/providers/index.js';
import { callOptions, type Check, type CmekEnv } from './context.js';
import { serialized } from './cluster-mutations.js';
import type { CmekRequest, EnableCmekOptions, EnableResult } from './enable.js';
import { existingKeySpecs, keyAccountChecks } from './key-accounts.js';
import { failureMessages, isInProgress, overallStatus, regionInfo } from './key-infos.js';
import { refuseOnFailures, validateRegionSpecs, type KeySpecInput } from './key-specs.js';
import { checkKeysInKms } from './kms-checks.js';
import { refuseWhileOperationRuns, regionOutcomes, sendOnce, waitForCmek } from './operation.js';

/** New regions and their node counts. */
export type RegionNodes = Record<string, number>;

/** Validates, then (unless dry_run) adds the regions with their keys and waits for them. */
export async function addCmekRegions(
  env: CmekEnv,
  clusterRef: string,
  added: RegionNodes,
  inputs: readonly KeySpecInput[],
  options: EnableCmekOptions,
): Promise<EnableResult> {
  const cluster = await resolveCluster(env.cloud, clusterRef, callOptions(env));
  return serialized(env, cluster, ['add_regions', added, inputs, options], options.dryRun, () => addResolved(env, cluster, added, inputs, options));
}

function refuse(cluster: Cluster, why: string, next: string): never {
  throw new OperatorError(`Adding regions to ${cluster.name} refused`, `${why} Nothing was sent.`, next, { auditOutcome: 'refused' });
}

async function addResolved(
  env: CmekEnv,
  cluster: Cluster,
  added: RegionNodes,
  inputs: readonly KeySpecInput[],
  options: EnableCmekOptions,
): Promise<EnableResult> {
  const call = callOptions(env);
  const ref = { id: cluster.id, name: cluster.name };
  if (cluster.plan !== 'ADVANCED')
    refuse(cluster, `CMEK exists only on the Advanced plan; ${cluster.name} is on ${cluster.plan}.`, `run check_cmek_eligibility ${cluster.name}.`);
  const current = await env.cloud.getCmek(cluster.id, call);
  const status = overallStatus(current);
  if (isInProgress(status))
    refuse(
      cluster,
      `A CMEK operation is in progress (${status}).`,
      `wait for it (get_cmek_status ${cluster.name}), then run enable_cmek with add_regions again.`,
    );
  if (status !== 'ENABLED') {
    refuse(
      cluster,
      `add_regions is for clusters whose CMEK is ENABLED; ${cluster.name} is ${status}.`,
      status === 'NOT_ENABLED' || status === 'DISABLED'
        ? 'add the region without CMEK keys in the Cloud Console, then enable CMEK for every region with enable_cmek (without add_regions).'
        : `read get_cmek_status ${cluster.name} and resolve that state first.`,
    );
  }
  refuseWhileOperationRuns(cluster, 'enable_cmek');

  const existing = cluster.regions.map((region) => region.name);
  const newRegions = Object.keys(added);
  const already = newRegions.filter((region) => existing.includes(region));
  if (already.length) {
    refuse(
      cluster,
      `${already.join(', ')} already belong to ${cluster.name} (its regions: ${existing.join(', ')}); the API refuses a CMEK spec for an existing region.`,
      `list only new regions in add_regions; rotate an existing region's key with rotate_cmek ${cluster.name}.`,
    );
  }
  const specForExisting = inputs.map((input) => input.region).filter((region) => existing.includes(region));
  if (specForExisting.length) {
    refuse(
      cluster,
      `Keys were given for ${specForExisting.join(', ')}, which already belong to ${cluster.name}; dedicated.cmek_region_specs may name only the new regions (${newRegions.join(', ')}), and the API refuses the request otherwise.`,
      `drop those keys from the call; to change an existing region's key use rotate_cmek ${cluster.name} mode new_key.`,
    );
  }
  // Validate the specs against the cluster as it will be: the new regions, each needing a key.
  const future: Cluster = { ...cluster, regions: newRegions.map((name) => ({ name, node_count: added[name]! })) as Cluster['regions'] };
  const { specs, checks: specChecks } = validateRegionSpecs(future, inputs, true);
  const type = keyTypeForCloud(cluster.cloud_provider);
  const checks: Check[] = [...specChecks, ...keyAccountChecks(type, existingKeySpecs(current, type), specs)];
  const fix = 'give one key per new region (provision_cmek_key emits the region_specs) and run enable_cmek with add_regions again.';
  refuseOnFailures(checks, `Adding regions to ${cluster.name} refused`, fix);
  checks.push(...(await checkKeysInKms(env, specs)));
  refuseOnFailures(checks, `Adding regions to ${cluster.name} refused`, fix);

  const unknown = cluster.regions.filter((region) => !region.node_count).map((region) => region.name);
  // region_nodes is the cluster's region map: an existing region left out would be removed, so every one must keep its count.
  if (unknown.length)
    refuse(
      cluster,
      `The API did not report the node count of ${unknown.join(', ')}, so the region map cannot be sent without risking removing a region.`,
      `check the cluster in the Cloud Console (or list_clusters) and retry when the API reports node counts.`,
    );
  const regionNodes: RegionNodes = { ...Object.fromEntries(cluster.regions.map((region) => [region.name, region.node_count!])), ...added };
  const request: CmekRequest = {
    method: 'PATCH',
    path: `/api/v1/clusters/${cluster.id}`,
    body: { dedicated: { region_nodes: regionNodes, cmek_region_specs: specs } },
  };
  const result = { cluster: ref, request, checks };
  if (options.dryRun) {
    return {
      ...result,
      outcome: 'dry_run',
      status,
      regions: regionOutcomes(current, newRegions),
      next_step: `Every check passed. region_nodes keeps ${existing.join(', ')} at their current node counts and adds ${newRegions.join(', ')}; cmek_region_specs names only the new regions. Run enable_cmek again without dry_run to send this request.`,
    };
  }

  const accepted = await sendOnce(
    ref,
    'region addition',
    newRegions,
    async () => {
      await env.cloud.addCmekRegions(cluster.id, regionNodes, specs, call);
      return (await env.cloud.getCmek(cluster.id, call)) ?? {};
    },
    (observed) => newRegions.every((region) => regionInfo(observed, region) !== undefined),
  );
  const final = options.wait ? await waitForCmek(env, ref, 'region addition') : accepted;
  const outcomes = regionOutcomes(final, newRegions);
  const failed = outcomes.filter((outcome) => outcome.status === 'ENABLE_FAILED');
  if (outcomes.every((outcome) => outcome.status === 'ENABLED')) {
    return {
      ...result,
      outcome: 'enabled',
      status: overallStatus(final),
      regions: outcomes,
      next_step: `${newRegions.join(', ')} joined ${cluster.name} with CMEK ENABLED on their keys. Verify with get_cmek_status; keep every key enabled while the cluster uses it.`,
    };
  }
  if (failed.length) {
    const messages = failed.flatMap((outcome) => failureMessages(regionInfo(final, outcome.region)!));
    return {
      ...result,
      outcome: 'failed',
      status: overallStatus(final),
      regions: outcomes,
      next_step: `CMEK failed in ${failed.map((outcome) => outcome.region).join(', ')}${messages.length ? `: ${messages.join(' | ')}` : ''}. Fix the key or grant named there, then rotate that region to a working key with rotate_cmek ${cluster.name} mode new_key.`,
    };
  }
  return {
    ...result,
    outcome: 'in_progress',
    status: overallStatus(final),
    regions: outcomes,
    next_step: `The region addition was accepted; follow it with get_cmek_status ${cluster.name} and do not send it again.`,
  };
}
