/**
 * Planning a guided rotation: which regions, to which key, and whether the KMS must make a new
 * version first. The resume rule makes a re-run safe and cheap:
 *
 * - A region whose status is ROTATE_FAILED is resumed: the PUT is sent again with the key its
 *   failed rotation targeted (the newest key_info), or with the new key given in new_keys. No new
 *   KMS version is made for it (that happened in the run that failed).
 * - Without `regions`, if any region is ROTATE_FAILED, only the failed regions are chosen; else
 *   every cluster region (new_version) or every region in new_keys (new_key).
 * - new_key: a region already ENABLED on its new key is skipped.
 * - Any region still in progress (ROTATING, ENABLING, ...) refuses the whole call: wait first.
 */
import type { Cluster, CmekClusterInfo, CmekStatus } from '../cloud/schemas.js';
import { OperatorError } from '../errors.js';
import { keyTypeForCloud, kmsProvider } from '../kms/providers/index.js';
import { type Check } from './context.js';
import { checkUriAndPrincipal } from './key-specs.js';
import { currentKey, isInProgress, overallStatus, regionInfo } from './key-infos.js';

export type RotationMode = 'new_version' | 'new_key';

export interface RotationRequest {
  mode: RotationMode;
  regions?: string[];
  /** region -> new key URI (mode new_key). */
  newKeys?: Record<string, string>;
  /** Overrides the principal of the current key. */
  authPrincipal?: string;
}

export type RegionPlan = {
  region: string;
  action: 'rotate' | 'resume' | 'skip';
  reason: string;
  status_before: CmekStatus | 'NOT_ENABLED';
  from_uri?: string;
  /** The key the PUT will name; unknown until the KMS rotation for Azure new_version. */
  target_uri?: string;
  auth_principal?: string;
  /** Whether the KMS makes a new key version for this region first. */
  kms_rotation: boolean;
};

export interface RotationPlan {
  regions: RegionPlan[];
  checks: Check[];
}

function refuseState(cluster: Cluster, info: CmekClusterInfo | null): void {
  const status = overallStatus(info);
  const inProgress = isInProgress(status) || (info?.region_infos ?? []).some((region) => isInProgress(region.status));
  const refuse = (why: string, next: string) => {
    throw new OperatorError(`rotate_cmek refused for ${cluster.name}`, `${why} Nothing was changed.`, next, { auditOutcome: 'refused' });
  };
  if (inProgress)
    refuse(`A CMEK operation is in progress (${status}).`, `wait for it to finish (get_cmek_status ${cluster.name}), then run rotate_cmek again.`);
  if (status === 'NOT_ENABLED' || status === 'DISABLED')
    refuse('CMEK is not enabled on this cluster.', `enable it first with enable_cmek (check_cmek_eligibility ${cluster.name} tells whether it can be).`);
  if (status === 'ENABLE_FAILED')
    refuse('Enabling CMEK failed earlier, so there is nothing to rotate.', `read get_cmek_status ${cluster.name}, fix the cause, and run enable_cmek again.`);
  if (status === 'REVOKED' || status === 'REVOKE_FAILED' || status === 'DISABLE_FAILED') refuse(`CMEK is ${status}.`, 'contact Cockroach Labs support.');
}

/** Decides the regions, targets and KMS work of a rotation; refuses impossible requests. */
export function planRotation(cluster: Cluster, info: CmekClusterInfo | null, request: RotationRequest): RotationPlan {
  refuseState(cluster, info);
  const type = keyTypeForCloud(cluster.cloud_provider);
  const { rotation } = kmsProvider(type);
  const clusterRegions = cluster.regions.map((region) => region.name);
  const failedRegions = clusterRegions.filter((region) => regionInfo(info, region)?.status === 'ROTATE_FAILED');
  const checks: Check[] = [];
  const chosen = request.regions ?? (request.mode === 'new_key' ? Object.keys(request.newKeys ?? {}) : failedRegions.length ? failedRegions : clusterRegions);
  for (const region of new Set([...chosen, ...Object.keys(request.newKeys ?? {})])) {
    if (!clusterRegions.includes(region)) {
      checks.push({
        check: 'region_known',
        result: 'fail',
        region,
        detail: `${cluster.name} has no region ${region} (its regions: ${clusterRegions.join(', ')}).`,
      });
    }
  }
  if (request.mode === 'new_key') {
    for (const region of Object.keys(request.newKeys ?? {})) {
      if (!chosen.includes(region))
        checks.push({
          check: 'new_keys',
          result: 'fail',
          region,
          detail: `new_keys names ${region}, which is not among the chosen regions (${chosen.join(', ')}).`,
        });
    }
  }
  const regions: RegionPlan[] = [];
  for (const region of chosen.filter((name) => clusterRegions.includes(name))) {
    const found = regionInfo(info, region);
    const status: CmekStatus | 'NOT_ENABLED' = found?.status ?? 'NOT_ENABLED';
    const current = found ? currentKey(found) : undefined;
    const fromUri = current?.spec?.uri;
    const principal = request.authPrincipal ?? current?.spec?.auth_principal;
    const base = { region, status_before: status, ...(fromUri ? { from_uri: fromUri } : {}), ...(principal ? { auth_principal: principal } : {}) };
    if (status !== 'ENABLED' && status !== 'ROTATE_FAILED') {
      checks.push({
        check: 'region_state',
        result: 'fail',
        region,
        detail: `Region ${region} is ${status}; only ENABLED or ROTATE_FAILED regions can be rotated.`,
      });
      continue;
    }
    if (!principal) {
      checks.push({ check: 'auth_principal', result: 'fail', region, detail: 'The current key has no auth_principal on record; pass auth_principal.' });
      continue;
    }
    if (request.mode === 'new_key') {
      const target = request.newKeys?.[region];
      if (!target) {
        checks.push({ check: 'new_keys', result: 'fail', region, detail: `Mode new_key needs a new key URI for ${region} in new_keys.` });
        continue;
      }
      checks.push(...checkUriAndPrincipal(type, region, target, principal));
      if (status === 'ENABLED' && fromUri === target) {
        regions.push({ ...base, action: 'skip', reason: 'Already ENABLED on this key (a previous run finished it).', target_uri: target, kms_rotation: false });
      } else if (status === 'ROTATE_FAILED') {
        regions.push({ ...base, action: 'resume', reason: 'Resuming a failed rotation with the given new key.', target_uri: target, kms_rotation: false });
      } else {
        regions.push({ ...base, action: 'rotate', reason: 'Rotate to the given new key.', target_uri: target, kms_rotation: false });
      }
      continue;
    }
    if (!fromUri) {
      checks.push({ check: 'current_key', result: 'fail', region, detail: `Region ${region} reports no current key to rotate.` });
      continue;
    }
    checks.push(...checkUriAndPrincipal(type, region, fromUri, principal).filter((check) => check.result === 'fail' || check.check === 'auth_principal'));
    if (status === 'ROTATE_FAILED') {
      regions.push({
        ...base,
        action: 'resume',
        reason: 'Resuming the failed rotation with the key it targeted; no new KMS version is made.',
        target_uri: fromUri,
        kms_rotation: false,
      });
    } else {
      regions.push({
        ...base,
        action: 'rotate',
        reason: rotation.reason,
        ...(rotation.changesUri ? {} : { target_uri: fromUri }),
        kms_rotation: true,
      });
    }
  }
  if (regions.length === 0 && !checks.some((check) => check.result === 'fail')) {
    checks.push({ check: 'regions', result: 'fail', detail: 'No region selected for rotation.' });
  }
  return { regions, checks };
}
