/**
 * What the full report says, as plain unescaped text, shared by the Markdown and the HTML
 * renderings so that the two cannot drift apart: the summary lines, the framework and cluster
 * tables, each finding's fields and the self-hosted targets. Each renderer escapes and formats.
 */
import type { AuditReport, Finding, Severity, SqlTargetResult } from './types.js';

export const REPORT_TITLE = 'CockroachDB encryption posture audit';

export const DISCLAIMER = 'Automated technical evidence for an assessor, not an attestation of compliance.';

/** A table as plain cells. */
export interface Table {
  columns: readonly string[];
  rows: string[][];
}

/** The lines under the title; `partial` (set when the audit stopped early) is the one to emphasise. */
export interface SummaryLines {
  generated: string;
  partial?: { emphasis: string; rest: string };
  counts: string[];
}

export function where(finding: Finding): string {
  const subject = finding.cluster ? finding.cluster.name : `${finding.target ?? '?'}${finding.node ? ` node ${finding.node}` : ''}`;
  return `${subject}${finding.region ? ` ${finding.region}` : ''}`;
}

export function severityLine(counts: Record<Severity, number>): string {
  return `${counts.critical} critical, ${counts.high} high, ${counts.medium} medium, ${counts.low} low, ${counts.info} info`;
}

/** The call to make (tool and arguments), or undefined when no tool of this server does it. */
export function fixCall(finding: Finding): string | undefined {
  if (finding.fix.tool === 'manual' || finding.fix.tool === 'none') return undefined;
  return `${finding.fix.tool}${finding.fix.arguments ? ` ${JSON.stringify(finding.fix.arguments)}` : ''}`;
}

export function controlsText(finding: Finding): string {
  return finding.controls.join(', ') || '(none in the selected frameworks)';
}

export function summaryLines(report: AuditReport): SummaryLines {
  const s = report.summary;
  return {
    generated: `Generated ${report.generated_at} · Scope: ${report.scope} · Frameworks: ${report.frameworks.join(', ')}`,
    ...(report.stopped ? { partial: { emphasis: `PARTIAL: ${report.stopped.message}.`, rest: 'Clusters not reached are listed as not_audited.' } } : {}),
    counts: [
      `Clusters: ${s.clusters_in_scope} in scope, ${s.clusters_audited} audited, ${s.clusters_failed} failed, ${s.clusters_not_audited} not audited. Self-hosted SQL targets: ${s.sql_targets} (${s.sql_targets_failed} failed).`,
      `Findings: ${severityLine(s.findings)}. KMS: ${s.kms === 'skipped' ? 'skipped (include_kms false)' : `${s.kms_keys_checked} keys checked, ${s.kms_keys_unverified} could not be read`}.`,
    ],
  };
}

/** One row per control of each selected framework, with its findings by severity. */
export function frameworkTable(report: AuditReport): Table {
  return {
    columns: ['Framework', 'Control', 'Title', 'Status', 'Critical', 'High', 'Medium', 'Low', 'Info'],
    rows: report.framework_summary.flatMap((framework) =>
      framework.controls.map((control) => [
        framework.framework,
        control.control.split(' ').slice(1).join(' '),
        control.title,
        control.status,
        ...(['critical', 'high', 'medium', 'low', 'info'] as const).map((severity) => String(control.findings[severity])),
      ]),
    ),
  };
}

/** The cluster inventory: one row per cluster in scope. */
export function clusterTable(report: AuditReport): Table {
  return {
    columns: ['Cluster', 'Plan', 'Cloud', 'CMEK', 'Regions (current key age, past keys)'],
    rows: report.clusters.map((cluster) => {
      const keys = cluster.regions
        .map((region) => {
          const current = region.keys.find((key) => key.role === 'current');
          const past = region.keys.length - (current ? 1 : 0);
          return `${region.region}: ${region.status}${current?.age_days !== undefined ? `, key ${current.age_days} d` : ''}${past ? `, ${past} past` : ''}`;
        })
        .join('; ');
      const status =
        cluster.status === 'audited'
          ? (cluster.cmek_status ?? '')
          : `${cluster.status.toUpperCase()}${cluster.error ? `: ${cluster.error.split('. Next:')[0]}` : ''}`;
      return [cluster.name, cluster.plan, cluster.cloud_provider, status, keys];
    }),
  };
}

/** One line per self-hosted SQL target: certificates, soonest expiry, stores without encryption. */
export function targetLine(target: SqlTargetResult): string {
  if (target.status !== 'audited') return `${target.name}: ${target.status.toUpperCase()}${target.error ? ` (${target.error})` : ''}`;
  const soonest = target.certificates.find((cert) => cert.expires_at !== null);
  const plaintext = target.stores.filter((store) => store.encrypted === false).length;
  return (
    `${target.name}${target.server ? ` (${target.server.slice(0, 60)})` : ''}: ${target.certificates.length} certificates` +
    `${soonest ? `, soonest expiry ${soonest.expires_at} (node ${soonest.node} ${soonest.type})` : ''}; ${target.stores.length} stores, ${plaintext} without encryption at rest.`
  );
}
