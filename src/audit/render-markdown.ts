/**
 * Markdown renderings of an audit: the full report (for the file an auditor keeps) and a compact
 * one for the tool answer (summary, frameworks, top findings), which stays short for any fleet.
 */
import { MAX_MESSAGE, escapeMarkdown, untrusted } from '../safety/untrusted.js';
import {
  DISCLAIMER,
  REPORT_TITLE,
  clusterTable,
  controlsText,
  fixCall,
  frameworkTable,
  summaryLines,
  targetLine,
  where,
  type Table,
} from './report-content.js';
import type { AuditReport, Finding, FrameworkSummary, Severity } from './types.js';

/** First line of every report file; lets a re-run recognise (and replace) its own earlier report. */
export const REPORT_HEADING = `# ${REPORT_TITLE}`;

/** Text that may carry upstream strings, as literal Markdown: one line, escaped (never a heading, link or tag). */
function cell(text: string): string {
  return escapeMarkdown(untrusted(text, MAX_MESSAGE));
}

function fixText(finding: Finding): string {
  const call = fixCall(finding);
  return `${call ? `\`${call}\`: ` : ''}${finding.fix.description}`;
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
  const lines = summaryLines(report);
  return [lines.generated, ...(lines.partial ? [`**${lines.partial.emphasis}** ${lines.partial.rest}`] : []), ...lines.counts];
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
    ...(notable.length > top
      ? [`- ... ${notable.length - top} more above info (all findings are in the structured result${files ? ' and the report file' : ''}).`]
      : []),
    ...report.errors.slice(0, 5).map((error) => `- could not audit ${error.subject}: ${error.message.split('. Next:')[0]}`),
    ...(report.errors.length > 5 ? [`- ... ${report.errors.length - 5} more errors`] : []),
    ...(files ? [`Report written: ${files.markdown} and ${files.html}`] : []),
  ];
  return lines.join('\n');
}

function markdownTable(table: Table): string[] {
  const row = (cells: readonly string[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [row(table.columns), `|${'---|'.repeat(table.columns.length)}`, ...table.rows.map(row)];
}

function findingBlock(finding: Finding): string[] {
  return [
    `### ${finding.id} [${finding.severity}] ${cell(finding.title)}`,
    `- Where: ${cell(where(finding))}${finding.key ? ` · key ${cell(finding.key)}` : ''} · code \`${finding.code}\``,
    `- Evidence: ${cell(finding.evidence)}`,
    `- Controls: ${controlsText(finding)}`,
    `- Fix: ${cell(fixText(finding))}`,
    '',
  ];
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
    ...markdownTable(frameworkTable(report)),
    '',
    `## Findings (${report.findings.length})`,
    '',
    ...report.findings.flatMap(findingBlock),
    `## Clusters (${report.clusters.length})`,
    '',
    ...markdownTable(clusterTable(report)),
    '',
    ...(report.sql_targets.length ? ['## Self-hosted SQL targets', '', ...report.sql_targets.map((target) => `- ${cell(targetLine(target))}`), ''] : []),
    ...(report.errors.length ? ['## Could not audit', '', ...report.errors.map((error) => `- ${cell(error.subject)}: ${cell(error.message)}`), ''] : []),
    `**Next:** ${cell(nextStep(report))}`,
    '',
  ];
  return lines.join('\n');
}
