/**
 * Markdown renderings of an audit: the full report (for the file an auditor keeps) and a compact
 * one for the tool answer (summary, frameworks, top findings), which stays short for any fleet.
 */
import { MAX_MESSAGE, escapeMarkdown, untrusted } from '../safety/untrusted.js';
import type { AuditReport, Finding, FrameworkSummary, Severity } from './types.js';

/** First line of every report file; lets a re-run recognise (and replace) its own earlier report. */
export const REPORT_HEADING = '# CockroachDB encryption posture audit';

const DISCLAIMER = 'Automated technical evidence for an assessor, not an attestation of compliance.';

/** Text that may carry upstream strings, as literal Markdown: one line, escaped (never a heading, link or tag). */
function cell(text: string): string {
  return escapeMarkdown(untrusted(text, MAX_MESSAGE));
}

function where(finding: Finding): string {
  const subject = finding.cluster ? finding.cluster.name : `${finding.target ?? '?'}${finding.node ? ` node ${finding.node}` : ''}`;
  return `${subject}${finding.region ? ` ${finding.region}` : ''}`;
}

function severityLine(counts: Record<Severity, number>): string {
  return `${counts.critical} critical, ${counts.high} high, ${counts.medium} medium, ${counts.low} low, ${counts.info} info`;
}

function fixText(finding: Finding): string {
  const tool = finding.fix.tool === 'manual' || finding.fix.tool === 'none' ? '' : `\`${finding.fix.tool}\`${finding.fix.arguments ? ` ${JSON.stringify(finding.fix.arguments)}` : ''}: `;
  return `${tool}${finding.fix.description}`;
}

function frameworkLine(framework: FrameworkSummary): string {
  const failing = framework.controls.filter((control) => control.status === 'fail').map((control) => control.control.split(' ')[1]);
  return `${framework.framework} ${framework.status}${failing.length ? ` (${failing.join(', ')})` : ''}`;
}

/** What the operator should do first. */
export function nextStep(report: AuditReport): string {
  const first = report.findings.find((finding) => finding.severity === 'critical') ?? report.findings.find((finding) => finding.severity === 'high');
  const failed = report.clusters.filter((cluster) => cluster.status === 'failed').map((cluster) => cluster.name);
  if (first) return `fix ${first.code} on ${where(first)} first: ${fixText(first)}`;
  if (failed.length) return `re-run audit_encryption_posture with clusters ${JSON.stringify(failed.slice(0, 20))} once the Cloud API answers.`;
  if (report.stopped) return 're-run audit_encryption_posture (narrow the scope or raise time_limit_seconds) to cover the rest.';
  const medium = report.findings.find((finding) => finding.severity === 'medium' || finding.severity === 'low');
  if (medium) return `work through the medium/low findings, starting with ${medium.code} on ${where(medium)}: ${fixText(medium)}`;
  return 'nothing to fix; keep this report as evidence and re-run the audit on your review cadence.';
}

function headerLines(report: AuditReport): string[] {
  const s = report.summary;
  return [
    `Generated ${report.generated_at} · Scope: ${report.scope} · Frameworks: ${report.frameworks.join(', ')}`,
    ...(report.stopped ? [`**PARTIAL: ${report.stopped.message}.** Clusters not reached are listed as not_audited.`] : []),
    `Clusters: ${s.clusters_in_scope} in scope, ${s.clusters_audited} audited, ${s.clusters_failed} failed, ${s.clusters_not_audited} not audited. Self-hosted SQL targets: ${s.sql_targets} (${s.sql_targets_failed} failed).`,
    `Findings: ${severityLine(s.findings)}. KMS: ${s.kms === 'skipped' ? 'skipped (include_kms false)' : `${s.kms_keys_checked} keys checked, ${s.kms_keys_unverified} could not be read`}.`,
  ];
}

/** "cmek_not_enabled x79 (medium), ..." in the findings' order (worst first). */
function byKind(findings: readonly Finding[]): string {
  const kinds = new Map<string, { count: number; severity: Severity }>();
  for (const finding of findings) {
    const kind = kinds.get(finding.code) ?? { count: 0, severity: finding.severity };
    kind.count += 1;
    kinds.set(finding.code, kind);
  }
  return [...kinds].map(([code, kind]) => `${code} x${kind.count} (${kind.severity})`).join(', ');
}

/** The tool answer: summary, frameworks, up to `top` findings above info, where the rest is, next step. */
export function renderCompact(report: AuditReport, top = 15, files?: { markdown: string; html: string }): string {
  const notable = report.findings.filter((finding) => finding.severity !== 'info');
  const lines = [
    `Encryption posture audit${report.complete ? '' : ' (incomplete)'}:`,
    ...headerLines(report),
    `Frameworks: ${report.framework_summary.map(frameworkLine).join(' · ')}`,
    ...(notable.length > top ? [`By kind: ${byKind(notable)}`] : []),
    ...(notable.length ? ['Top findings:'] : []),
    ...notable.slice(0, top).map((finding) => `- [${finding.severity}] ${where(finding)}: ${finding.title} (${finding.code}) -> ${finding.fix.tool}`),
    ...(notable.length > top ? [`- ... ${notable.length - top} more above info (all findings are in the structured result${files ? ' and the report file' : ''}).`] : []),
    ...report.errors.slice(0, 5).map((error) => `- could not audit ${error.subject}: ${error.message.split('. Next:')[0]}`),
    ...(report.errors.length > 5 ? [`- ... ${report.errors.length - 5} more errors`] : []),
    ...(files ? [`Report written: ${files.markdown} and ${files.html}`] : []),
  ];
  return lines.join('\n');
}

function frameworkTable(report: AuditReport): string[] {
  const rows = report.framework_summary.flatMap((framework) =>
    framework.controls.map((control) => `| ${framework.framework} | ${cell(control.control.split(' ').slice(1).join(' '))} | ${cell(control.title)} | ${control.status} | ${control.findings.critical} | ${control.findings.high} | ${control.findings.medium} | ${control.findings.low} | ${control.findings.info} |`),
  );
  return ['| Framework | Control | Title | Status | Critical | High | Medium | Low | Info |', '|---|---|---|---|---|---|---|---|---|', ...rows];
}

function findingBlock(finding: Finding): string[] {
  return [
    `### ${finding.id} [${finding.severity}] ${cell(finding.title)}`,
    `- Where: ${cell(where(finding))}${finding.key ? ` · key ${cell(finding.key)}` : ''} · code \`${finding.code}\``,
    `- Evidence: ${cell(finding.evidence)}`,
    `- Controls: ${finding.controls.join(', ') || '(none in the selected frameworks)'}`,
    `- Fix: ${cell(fixText(finding))}`,
    '',
  ];
}

function clusterTable(report: AuditReport): string[] {
  const rows = report.clusters.map((cluster) => {
    const keys = cluster.regions
      .map((region) => {
        const current = region.keys.find((key) => key.role === 'current');
        const past = region.keys.length - (current ? 1 : 0);
        return `${region.region}: ${region.status}${current?.age_days !== undefined ? `, key ${current.age_days} d` : ''}${past ? `, ${past} past` : ''}`;
      })
      .join('; ');
    const status = cluster.status === 'audited' ? cluster.cmek_status ?? '' : `${cluster.status.toUpperCase()}${cluster.error ? `: ${cluster.error.split('. Next:')[0]}` : ''}`;
    return `| ${cell(cluster.name)} | ${cluster.plan} | ${cluster.cloud_provider} | ${cell(status)} | ${cell(keys)} |`;
  });
  return ['| Cluster | Plan | Cloud | CMEK | Regions (current key age, past keys) |', '|---|---|---|---|---|', ...rows];
}

function targetLines(report: AuditReport): string[] {
  return report.sql_targets.flatMap((target) => {
    if (target.status !== 'audited') return [`- ${cell(target.name)}: ${target.status.toUpperCase()}${target.error ? ` (${cell(target.error)})` : ''}`];
    const soonest = target.certificates.find((cert) => cert.expires_at !== null);
    const plaintext = target.stores.filter((store) => store.encrypted === false).length;
    return [
      `- ${cell(target.name)}${target.server ? ` (${cell(target.server.slice(0, 60))})` : ''}: ${target.certificates.length} certificates${soonest ? `, soonest expiry ${soonest.expires_at} (node ${soonest.node} ${soonest.type})` : ''}; ${target.stores.length} stores, ${plaintext} without encryption at rest.`,
    ];
  });
}

/** The full report for the file. */
export function renderFull(report: AuditReport): string {
  const lines = [
    REPORT_HEADING,
    '',
    ...headerLines(report).map((line) => `${line}  `),
    '',
    `> ${DISCLAIMER}`,
    '',
    '## Frameworks',
    '',
    ...frameworkTable(report),
    '',
    `## Findings (${report.findings.length})`,
    '',
    ...report.findings.flatMap(findingBlock),
    `## Clusters (${report.clusters.length})`,
    '',
    ...clusterTable(report),
    '',
    ...(report.sql_targets.length ? ['## Self-hosted SQL targets', '', ...targetLines(report), ''] : []),
    ...(report.errors.length ? ['## Could not audit', '', ...report.errors.map((error) => `- ${cell(error.subject)}: ${cell(error.message)}`), ''] : []),
    `**Next:** ${cell(nextStep(report))}`,
    '',
  ];
  return lines.join('\n');
}
