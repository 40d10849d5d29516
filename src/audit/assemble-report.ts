/**
 * Turns what the audit gathered into the report: findings get ids and controls and are sorted
 * worst first; counts, the stop marker, completeness and the per-framework summary are derived.
 */
import { SEVERITY_RANK } from '../certs/thresholds.js';
import type { ClusterAudit } from './cluster-rules.js';
import { countBySeverity, finalizeFinding, summarizeFrameworks } from './controls.js';
import type { AuditScope } from './run-audit.js';
import type { TargetAudit } from './sql-targets.js';
import type { AuditReport, AuditStop, ClusterResult, Finding, Framework, RawFinding } from './types.js';

export interface Gathered {
  options: { scope: AuditScope; frameworks: readonly Framework[]; includeKms: boolean };
  generatedAt: number;
  /** Every cluster in scope, in listing order (not reached: status not_audited). */
  clusters: ClusterAudit[];
  targets: TargetAudit[];
  errors: AuditReport['errors'];
  /** False when the listing stopped early. */
  listed: boolean;
  /** Clusters finished (audited or failed). */
  done: number;
  stopReason?: AuditStop['reason'];
  kms?: { keys: number; unverified: number };
}

function describeScope(scope: AuditScope): string {
  switch (scope.kind) {
    case 'all':
      return 'all clusters';
    case 'clusters':
      return `clusters ${scope.refs.join(', ')}`;
    case 'labels':
      return `clusters labelled ${Object.entries(scope.labels)
        .map(([key, value]) => `${key}=${value}`)
        .join(', ')}`;
    case 'none':
      return `self-hosted SQL targets only (${scope.reason})`;
  }
}

/** Worst first; Cloud clusters before self-hosted targets; then by name, node, code and region. */
function sortFindings(findings: Finding[]): Finding[] {
  const subject = (finding: Finding) => finding.cluster?.name ?? finding.target ?? '';
  return findings.sort(
    (a, b) =>
      SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
      Number(!a.cluster) - Number(!b.cluster) ||
      subject(a).localeCompare(subject(b)) ||
      (a.node ?? '').localeCompare(b.node ?? '', 'en', { numeric: true }) ||
      a.code.localeCompare(b.code) ||
      (a.region ?? '').localeCompare(b.region ?? ''),
  );
}

const KMS_SKIPPED: RawFinding = {
  code: 'kms_checks_skipped',
  severity: 'info',
  title: 'KMS checks skipped',
  evidence: 'include_kms was false: key state, rotation, deletion protection and key policies were not checked; only what GET /cmek shows was audited.',
  fix: { tool: 'audit_encryption_posture', arguments: { include_kms: true }, description: 'Re-run with include_kms true (needs read access to the keys).' },
};

/** Builds the report. */
export function assembleReport(gathered: Gathered): AuditReport {
  const { options, listed } = gathered;
  const clusters: ClusterResult[] = gathered.clusters.map((audit) => audit.result);
  const sqlTargets = gathered.targets.map((target) => target.result);
  const raw = [...gathered.clusters.flatMap((audit) => audit.findings), ...gathered.targets.flatMap((target) => target.findings)];
  if (!options.includeKms) raw.push(KMS_SKIPPED);
  const findings = sortFindings(raw.map((finding) => finalizeFinding(finding, options.frameworks)));
  const count = (status: ClusterResult['status']) => clusters.filter((cluster) => cluster.status === status).length;
  const stopped: AuditStop | undefined = gathered.stopReason
    ? {
        reason: gathered.stopReason,
        message: `${gathered.stopReason === 'cancelled' ? 'Cancelled' : 'Stopped at the time limit'} after ${gathered.done} of ${listed ? clusters.length : `${clusters.length}+ (listing incomplete)`} clusters`,
      }
    : undefined;
  const complete = !stopped && listed && count('failed') === 0 && sqlTargets.every((target) => target.status === 'audited');
  return {
    generated_at: new Date(gathered.generatedAt).toISOString(),
    scope: describeScope(options.scope),
    frameworks: [...options.frameworks],
    complete,
    ...(stopped ? { stopped } : {}),
    summary: {
      clusters_in_scope: clusters.length,
      clusters_audited: count('audited'),
      clusters_failed: count('failed'),
      clusters_not_audited: count('not_audited'),
      sql_targets: sqlTargets.length,
      sql_targets_failed: sqlTargets.filter((target) => target.status === 'failed').length,
      findings: countBySeverity(findings),
      kms: options.includeKms ? 'checked' : 'skipped',
      kms_keys_checked: gathered.kms?.keys ?? 0,
      kms_keys_unverified: gathered.kms?.unverified ?? 0,
    },
    framework_summary: summarizeFrameworks(findings, options.frameworks, {
      complete,
      atRest: count('audited') > 0 || sqlTargets.some((target) => target.stores.length > 0),
      inTransit: sqlTargets.some((target) => target.certificates.length > 0),
    }),
    clusters,
    sql_targets: sqlTargets,
    findings,
    errors: gathered.errors,
  };
}
