/**
 * Findings about one CockroachDB Cloud cluster from its plan, operation_status and GET /cmek, and
 * (through key-rules) from the KMS behind each region's current and past keys.
 */
import type { Cluster, CmekClusterInfo, CmekKeyInfo } from '../cloud/schemas.js';
import { currentKey, failureMessages, isFailed, isInProgress, overallStatus, pastKeys } from '../cmek/key-infos.js';
import type { KmsKeyType } from '../kms/provider.js';
import { keyTypeForCloud } from '../kms/providers/index.js';
import { auditKey } from './key-rules.js';
import type { KmsLookup } from './kms-lookup.js';
import type { AuditedRegion, ClusterResult, RawFinding } from './types.js';

export interface ClusterAudit {
  result: ClusterResult;
  findings: RawFinding[];
  /** Keys the KMS could not tell us about, with why. */
  unverified: string[];
}

const CMEK_ON = new Set(['ENABLED', 'ROTATING', 'ROTATE_FAILED', 'REVOKING', 'REVOKE_FAILED']);

function finding(cluster: Cluster, fields: Omit<RawFinding, 'cluster'>): RawFinding {
  return { cluster: { id: cluster.id, name: cluster.name }, ...fields };
}

/** The cluster's entry before any CMEK reading (also used for clusters that failed or were not reached). */
export function baseResult(cluster: Cluster, status: ClusterResult['status']): ClusterResult {
  return {
    id: cluster.id,
    name: cluster.name,
    plan: cluster.plan,
    cloud_provider: cluster.cloud_provider,
    state: cluster.state,
    labels: cluster.labels,
    status,
    cmek_possible: cluster.plan === 'ADVANCED' ? 'cannot_verify' : false,
    ...(cluster.operation_status && cluster.operation_status !== 'UNSPECIFIED' ? { operation_status: cluster.operation_status } : {}),
    regions: [],
  };
}

/** A cluster below Advanced: CMEK is not offered on its plan. */
export function planFindings(cluster: Cluster): RawFinding[] {
  return [
    finding(cluster, {
      code: 'cmek_not_available_on_plan',
      severity: 'low',
      title: `CMEK is not available on the ${cluster.plan} plan`,
      evidence: `Plan ${cluster.plan}. Data is encrypted at rest with keys CockroachDB Cloud manages; customer-managed keys need an Advanced cluster with advanced security features.`,
      fix: {
        tool: 'check_cmek_eligibility',
        arguments: { cluster: cluster.name },
        description: 'If this cluster holds regulated data, plan a move to an Advanced cluster created with advanced security features, then enable CMEK.',
      },
    }),
  ];
}

function operationFindings(cluster: Cluster, info: CmekClusterInfo | null): RawFinding[] {
  const status = overallStatus(info);
  const regions = info?.region_infos ?? [];
  const operation = cluster.operation_status ?? '';
  const cmekOperation = /CMEK/i.test(operation);
  const failedRegions = regions.filter((region) => isFailed(region.status) || (region.key_infos ?? []).some((key) => isFailed(key.status)));
  if (isFailed(status) || failedRegions.length > 0 || (cmekOperation && /FAILED/i.test(operation))) {
    const messages = regions.flatMap((region) => failureMessages(region).map((message) => `${region.region ?? '?'}: ${message}`));
    const statuses = regions.map((region) => `${region.region ?? '?'} ${region.status ?? '?'}`).join(', ');
    const next =
      status === 'ENABLE_FAILED'
        ? 'fix the key or grant it names, then run enable_cmek again'
        : status === 'REVOKE_FAILED' || status === 'DISABLE_FAILED'
          ? 'contact Cockroach Labs support with the cluster id and this message'
          : 'fix the key or grant it names, then re-run rotate_cmek (it resumes only the failed regions)';
    return [
      finding(cluster, {
        code: 'cmek_operation_failed',
        severity: 'high',
        title: 'CMEK operation failed',
        evidence: `CMEK status ${status}${statuses ? ` (${statuses})` : ''}${operation ? `; operation_status ${operation}` : ''}. ${messages.length ? `user_message: ${messages.join(' | ')}` : 'No user_message was given.'}`,
        fix: { tool: 'get_cmek_status', arguments: { cluster: cluster.name }, description: `Read the failure, ${next}.` },
      }),
    ];
  }
  if (isInProgress(status) || regions.some((region) => isInProgress(region.status)) || (cmekOperation && /RUNNING|PROGRESS/i.test(operation))) {
    return [
      finding(cluster, {
        code: 'cmek_operation_in_progress',
        severity: 'info',
        title: 'CMEK operation in progress',
        evidence: `CMEK status ${status}${operation ? `; operation_status ${operation}` : ''}.`,
        fix: { tool: 'get_cmek_status', arguments: { cluster: cluster.name }, description: 'Wait for it to finish; start no other CMEK change meanwhile.' },
      }),
    ];
  }
  return [];
}

/**
 * ENABLED is not coverage of older data: CMEK does not re-encrypt what was written before it was
 * enabled, and managed backups from before then cannot be restored.
 */
function newWritesOnly(cluster: Cluster, info: CmekClusterInfo | null): RawFinding {
  const since = (info?.region_infos ?? [])
    .flatMap((region) => region.key_infos ?? [])
    .map((key) => key.created_at)
    .filter((at): at is string => Boolean(at))
    .sort()[0];
  return finding(cluster, {
    code: 'cmek_covers_new_writes_only',
    severity: 'info',
    title: 'CMEK protects data written since it was enabled',
    evidence: `CMEK is on${since ? ` (first key configured ${since})` : ''}. Enabling CMEK does not re-encrypt data written before it, and managed backups taken before it cannot be restored: do not count data older than that date as covered by the organization's keys.`,
    fix: {
      tool: 'manual',
      description:
        'If older data must be under your keys, rewrite it (e.g. re-create the tables from a backup restored into a new CMEK-enabled cluster) and record the CMEK enable date as the coverage start.',
    },
  });
}

function stateFindings(cluster: Cluster, info: CmekClusterInfo | null): RawFinding[] {
  const status = overallStatus(info);
  if (status === 'NOT_ENABLED' || status === 'DISABLED') {
    return [
      finding(cluster, {
        code: 'cmek_not_enabled',
        severity: 'medium',
        title: 'CMEK is not enabled',
        evidence: `Advanced cluster; GET /cmek: ${info ? `status ${status}` : 'CMEK was never enabled'}. Without CMEK, the cluster's disks are encrypted with keys owned and managed by the cloud provider, not with the organization's own keys.`,
        fix: {
          tool: 'check_cmek_eligibility',
          arguments: { cluster: cluster.name },
          description: 'Check eligibility, then provision_cmek_key and enable_cmek.',
        },
      }),
    ];
  }
  if (status === 'REVOKED') {
    return [
      finding(cluster, {
        code: 'cmek_revoked',
        severity: 'high',
        title: 'CMEK is revoked',
        evidence:
          'CMEK status REVOKED: REVOKE restarted the cluster, which cannot read its keys and stopped serving; nodes do not recover on their own and backups fail.',
        fix: { tool: 'manual', description: 'If unintended, contact Cockroach Labs support (restoring access after revocation needs them).' },
      }),
    ];
  }
  if (!CMEK_ON.has(status)) return [];
  const covered = new Set((info?.region_infos ?? []).map((region) => region.region));
  const missing = cluster.regions
    .filter((region) => !covered.has(region.name))
    .map((region) =>
      finding(cluster, {
        code: 'region_without_cmek',
        severity: 'high',
        region: region.name,
        title: 'Cluster region without a CMEK key',
        evidence: `CMEK is ${status}, but GET /cmek lists no key for region ${region.name}.`,
        fix: {
          tool: 'get_cmek_status',
          arguments: { cluster: cluster.name },
          description:
            'Re-check with get_cmek_status; dedicated.cmek_region_specs takes only regions being added (enable_cmek add_regions), so a region the cluster already has needs Cockroach Labs support to get its key.',
        },
      }),
    );
  return missing;
}

function keyType(cluster: Cluster, info: CmekKeyInfo): KmsKeyType | undefined {
  const type = info.spec?.type;
  if (type === 'NULL_KMS') return undefined;
  return type ?? keyTypeForCloud(cluster.cloud_provider);
}

/** Audits an Advanced cluster from its CMEK info (null: never enabled). `lookup` absent: KMS skipped. */
export async function auditAdvancedCluster(cluster: Cluster, info: CmekClusterInfo | null, lookup: KmsLookup | undefined, now: number): Promise<ClusterAudit> {
  const status = overallStatus(info);
  const result: ClusterResult = { ...baseResult(cluster, 'audited'), cmek_status: status, ...(CMEK_ON.has(status) ? { cmek_possible: true } : {}) };
  const findings = [...stateFindings(cluster, info), ...operationFindings(cluster, info), ...(CMEK_ON.has(status) ? [newWritesOnly(cluster, info)] : [])];
  const unverified: string[] = [];
  const ref = { id: cluster.id, name: cluster.name };
  result.regions = await Promise.all(
    (info?.region_infos ?? []).map(async (region): Promise<AuditedRegion> => {
      const name = region.region ?? 'unknown';
      const current = currentKey(region);
      const keys = [...(current ? [{ info: current, role: 'current' as const }] : []), ...pastKeys(region).map((info) => ({ info, role: 'past' as const }))];
      const audits = await Promise.all(
        keys.map(async ({ info: keyInfo, role }) => {
          const type = keyType(cluster, keyInfo);
          if (!type) return undefined;
          return auditKey({ cluster: ref, region: name, role, type, info: keyInfo, now }, lookup);
        }),
      );
      const audited = audits.filter((audit) => audit !== undefined);
      for (const audit of audited) {
        findings.push(...audit.findings);
        unverified.push(...audit.unverified);
      }
      return { region: name, status: region.status ?? status, keys: audited.map((audit) => audit.key) };
    }),
  );
  if (unverified.length > 0) {
    findings.push(
      finding(cluster, {
        code: 'kms_check_unverified',
        severity: 'info',
        title: 'Some KMS checks could not be verified',
        evidence: `This server's credentials could not check ${unverified.length} item(s), so no finding was made about them: ${unverified.slice(0, 5).join(' | ')}${unverified.length > 5 ? ` | ... ${unverified.length - 5} more` : ''}`,
        fix: {
          tool: 'manual',
          description:
            "Give this server's credentials read access to the keys (AWS kms:DescribeKey, kms:GetKeyPolicy, kms:GetKeyRotationStatus; GCP cloudkms viewer; Azure keys get + rotation policy read), then re-run audit_encryption_posture for this cluster.",
        },
      }),
    );
  }
  return { result, findings, unverified };
}
