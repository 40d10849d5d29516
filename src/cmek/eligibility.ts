/**
 * Whether a cluster can use CMEK, from what the Cloud API shows. The "advanced security
 * features" add-on is chosen at creation and no API field reveals it, so a cluster that passes
 * every visible check is "cannot_verify" until CMEK is actually in use; that is said plainly.
 */
import type { CallOptions, CloudApi } from '../cloud/api.js';
import type { Cluster, CmekClusterInfo } from '../cloud/schemas.js';
import { resolveCluster } from '../cloud/resolve-cluster.js';
import { errorMessage } from '../errors.js';
import { kmsProviderForCloud } from '../kms/providers/index.js';
import { callOptions, type Check, type CmekEnv } from './context.js';
import { failureMessages, isInProgress, overallStatus } from './key-infos.js';

export type EligibilityVerdict = 'eligible' | 'not_eligible' | 'cannot_verify';

/** CMEK info as far as it could be read. */
export type CmekReading = { known: true; info: CmekClusterInfo | null } | { known: false; error: string };

export interface EligibilityReport {
  verdict: EligibilityVerdict;
  /** True when CMEK is already on (ENABLED, rotating or a failed rotation). */
  cmekEnabled: boolean;
  checks: Check[];
  /** Why the verdict is not simply "eligible". */
  reasons: string[];
  nextStep: string;
}

const ADDON_UNVERIFIABLE =
  'The advanced security add-on is chosen when the cluster is created and no Cloud API field shows it (network_visibility is evidence, not proof), so this cannot be verified through the API.';
const NEW_CLUSTER =
  'CMEK needs an Advanced cluster created with advanced security features (private network). There is no in-place upgrade: create such a cluster (Cloud Console or API), move the data (BACKUP/RESTORE or a changefeed), then run check_cmek_eligibility on it.';

/** Reads GET /cmek for an Advanced cluster; other plans never have CMEK. */
export async function readCmek(cloud: CloudApi, cluster: Cluster, options: CallOptions): Promise<CmekReading> {
  if (cluster.plan !== 'ADVANCED') return { known: true, info: null };
  try {
    return { known: true, info: await cloud.getCmek(cluster.id, options) };
  } catch (error) {
    if (options.signal?.aborted) throw error;
    return { known: false, error: errorMessage(error) };
  }
}

function cmekCheck(reading: CmekReading): Check {
  if (!reading.known) {
    return { check: 'cmek_state', result: 'unknown', detail: `Could not read CMEK status: ${reading.error}` };
  }
  const status = overallStatus(reading.info);
  if (status === 'NOT_ENABLED' || status === 'DISABLED') return { check: 'cmek_state', result: 'pass', detail: 'CMEK is not enabled yet.' };
  if (status === 'ENABLE_FAILED') {
    const messages = (reading.info?.region_infos ?? []).flatMap(failureMessages);
    return {
      check: 'cmek_state',
      result: 'warn',
      detail: `A previous enable attempt failed${messages.length ? `: ${messages.join(' | ')}` : ''}. Fix that, then run enable_cmek again.`,
    };
  }
  if (status === 'REVOKED' || status === 'REVOKING' || status === 'REVOKE_FAILED') {
    return { check: 'cmek_state', result: 'fail', detail: `CMEK is ${status}; restoring access needs Cockroach Labs support.` };
  }
  if (isInProgress(status))
    return { check: 'cmek_state', result: 'fail', detail: `A CMEK operation is in progress (${status}); wait for it to finish (get_cmek_status).` };
  return { check: 'cmek_state', result: 'pass', detail: `CMEK is already on (${status}).` };
}

function cmekOn(reading: CmekReading): boolean {
  if (!reading.known || !reading.info) return false;
  const status = overallStatus(reading.info);
  return status === 'ENABLED' || status === 'ROTATING' || status === 'ROTATE_FAILED';
}

/** Runs every eligibility check and picks the verdict and the exact next step. */
export function assessEligibility(cluster: Cluster, reading: CmekReading): EligibilityReport {
  const checks: Check[] = [];
  const advanced = cluster.plan === 'ADVANCED';
  checks.push(
    advanced
      ? { check: 'plan', result: 'pass', detail: 'Plan ADVANCED supports CMEK.' }
      : { check: 'plan', result: 'fail', detail: `Plan ${cluster.plan} does not support CMEK (Advanced only).` },
  );
  checks.push(
    cluster.state === 'CREATED'
      ? { check: 'state', result: 'pass', detail: 'Cluster is CREATED.' }
      : { check: 'state', result: 'fail', detail: `Cluster state is ${cluster.state}; CMEK needs a running (CREATED) cluster.` },
  );
  const provider = kmsProviderForCloud(cluster.cloud_provider);
  checks.push(
    provider.availability
      ? { check: 'cloud_provider', result: 'warn', detail: provider.availability }
      : { check: 'cloud_provider', result: 'pass', detail: `${cluster.cloud_provider} is supported (${provider.label}).` },
  );
  checks.push(
    cluster.regions.length > 0
      ? { check: 'regions', result: 'pass', detail: `Regions: ${cluster.regions.map((region) => region.name).join(', ')} (each needs its own key).` }
      : { check: 'regions', result: 'unknown', detail: 'The API lists no regions for this cluster.' },
  );
  if (advanced) {
    const visibility = cluster.network_visibility;
    checks.push(
      !provider.privateClusters
        ? {
            check: 'network_visibility',
            result: 'pass',
            detail: `${cluster.cloud_provider} has no private Advanced clusters, so being ${visibility ?? 'public'} does not block CMEK there.`,
          }
        : visibility === 'PRIVATE'
          ? {
              check: 'network_visibility',
              result: 'pass',
              detail:
                'Private cluster: evidence for the advanced security add-on (the Terraform provider documents private network visibility as required for CMEK; clusters created with it have advanced security features).',
            }
          : visibility === 'PUBLIC'
            ? {
                check: 'network_visibility',
                result: 'fail',
                detail: `Public cluster: on ${cluster.cloud_provider}, advanced security features (and so CMEK) need a private cluster chosen at creation.`,
              }
            : { check: 'network_visibility', result: 'unknown', detail: 'The API did not report network visibility.' },
    );
    checks.push(
      cluster.customer_cloud_account
        ? {
            check: 'byoc',
            result: 'unknown',
            detail:
              'BYOC deployment (customer_cloud_account is set): BYOC is in preview and CMEK support on it is not documented; confirm with your Cockroach Labs account team.',
          }
        : { check: 'byoc', result: 'pass', detail: 'Not a BYOC deployment.' },
    );
  }
  const operation = cluster.operation_status ?? 'UNSPECIFIED';
  checks.push(
    operation.endsWith('_RUNNING')
      ? { check: 'operation_in_progress', result: 'fail', detail: `Operation ${operation} is running; CMEK changes must wait until it finishes.` }
      : operation.endsWith('_FAILED')
        ? {
            check: 'operation_in_progress',
            result: 'warn',
            detail: `Last operation ended ${operation}; check get_cmek_status (and the Cloud Console) before changing CMEK.`,
          }
        : { check: 'operation_in_progress', result: 'pass', detail: 'No operation in progress.' },
  );
  if (advanced) checks.push(cmekCheck(reading));
  const enabled = cmekOn(reading);
  if (advanced && !enabled) checks.push({ check: 'advanced_security_addon', result: 'unknown', detail: ADDON_UNVERIFIABLE });
  if (enabled) checks.push({ check: 'advanced_security_addon', result: 'pass', detail: 'CMEK is in use, which proves the add-on is present.' });

  const failed = checks.filter((check) => check.result === 'fail');
  const unknown = checks.filter((check) => check.result === 'unknown');
  const verdict: EligibilityVerdict = failed.length ? 'not_eligible' : unknown.length ? 'cannot_verify' : 'eligible';
  const reasons = [...failed, ...unknown].map((check) => check.detail);
  return { verdict, cmekEnabled: enabled, checks, reasons, nextStep: nextStep(cluster, verdict, enabled, checks, reading) };
}

function nextStep(cluster: Cluster, verdict: EligibilityVerdict, enabled: boolean, checks: Check[], reading: CmekReading): string {
  const failed = (name: string) => checks.some((check) => check.check === name && check.result === 'fail');
  if (failed('plan') || failed('network_visibility')) return NEW_CLUSTER;
  if (enabled) {
    const rotateFailed = reading.known && overallStatus(reading.info) === 'ROTATE_FAILED';
    return rotateFailed
      ? 'CMEK is on but a rotation failed: run get_cmek_status for the per-region user_message, fix it, then re-run rotate_cmek (it resumes the failed regions).'
      : 'CMEK is already enabled: use get_cmek_status to inspect keys and rotate_cmek to rotate (enable_cmek would be refused).';
  }
  if (failed('cmek_state')) {
    const detail = checks.find((check) => check.check === 'cmek_state')?.detail ?? '';
    return detail.includes('support')
      ? 'Contact Cockroach Labs support about the revoked CMEK state.'
      : 'Wait for the CMEK operation to finish, then run check_cmek_eligibility again.';
  }
  if (failed('operation_in_progress') || failed('state'))
    return 'Wait until the cluster is CREATED with no operation running, then run check_cmek_eligibility again.';
  const provision = `provision keys in ${cluster.regions.map((region) => region.name).join(', ') || 'every cluster region'} with provision_cmek_key, then run enable_cmek with its region_specs (try dry_run first)`;
  if (verdict === 'cannot_verify') {
    return `Confirm in the Cloud Console that ${cluster.name} was created with advanced security features${
      checks.some((check) => check.check === 'byoc' && check.result === 'unknown') ? ' and that CMEK is supported for your BYOC deployment' : ''
    }; then ${provision}. A cluster without the add-on rejects enable_cmek.`;
  }
  return `${provision.charAt(0).toUpperCase()}${provision.slice(1)}.`;
}

/** Resolves the cluster, reads its CMEK state and assesses it. */
export async function checkEligibility(env: CmekEnv, clusterRef: string): Promise<{ cluster: Cluster; report: EligibilityReport }> {
  const options = callOptions(env);
  const cluster = await resolveCluster(env.cloud, clusterRef, options);
  return { cluster, report: assessEligibility(cluster, await readCmek(env.cloud, cluster, options)) };
}
