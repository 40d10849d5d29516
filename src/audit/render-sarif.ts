/**
 * The audit as a SARIF 2.1.0 log, for code-scanning dashboards and pipeline gates: one rule per
 * finding code, one result per finding. Findings concern cloud resources, not files, so results
 * carry logical locations (cluster / region / key, or SQL target / node) and the finding's stable
 * id as a partial fingerprint, which lets a dashboard track the same problem across runs.
 */
import type { Log, ReportingDescriptor, Result } from 'sarif';
import { nextStep } from './render-markdown.js';
import type { AuditReport, Finding, Severity } from './types.js';

export const SARIF_SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';

export interface SarifTool {
  name: string;
  version: string;
  informationUri: string;
}

const LEVEL: Record<Severity, Result.level> = { critical: 'error', high: 'error', medium: 'warning', low: 'note', info: 'none' };

/** GitHub code scanning reads properties["security-severity"] (0-10) to rank security results. */
const SECURITY_SEVERITY: Record<Severity, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '3.0', info: '0.0' };

function fixText(finding: Finding): string {
  const call =
    finding.fix.tool === 'manual' || finding.fix.tool === 'none'
      ? ''
      : ` (MCP tool ${finding.fix.tool}${finding.fix.arguments ? ` ${JSON.stringify(finding.fix.arguments)}` : ''})`;
  return `${finding.fix.description}${call}`;
}

function locationsOf(finding: Finding): Result['locations'] {
  const subject = finding.cluster
    ? { name: finding.cluster.name, fullyQualifiedName: `cluster/${finding.cluster.id}`, kind: 'resource' }
    : {
        name: finding.target ?? 'unknown',
        fullyQualifiedName: `sql-target/${finding.target ?? 'unknown'}${finding.node ? `/node/${finding.node}` : ''}`,
        kind: 'resource',
      };
  const parts = [
    subject,
    ...(finding.region ? [{ name: finding.region, fullyQualifiedName: `${subject.fullyQualifiedName}/region/${finding.region}`, kind: 'region' }] : []),
  ];
  return [{ logicalLocations: [...parts, ...(finding.key ? [{ name: finding.key, fullyQualifiedName: finding.key, kind: 'key' }] : [])] }];
}

function ruleFor(finding: Finding): ReportingDescriptor {
  return {
    id: finding.code,
    name: finding.code,
    shortDescription: { text: finding.title },
    help: { text: fixText(finding) },
    defaultConfiguration: { level: LEVEL[finding.severity] },
    properties: { tags: ['security', 'encryption', ...finding.controls], 'security-severity': SECURITY_SEVERITY[finding.severity] },
  };
}

/** The report as a SARIF 2.1.0 log with one run. */
export function renderSarif(report: AuditReport, tool: SarifTool): Log {
  const rules = new Map<string, ReportingDescriptor>();
  for (const finding of report.findings) if (!rules.has(finding.code)) rules.set(finding.code, ruleFor(finding));
  const ruleIndex = new Map([...rules.keys()].map((code, index) => [code, index]));
  const results: Result[] = report.findings.map((finding) => ({
    ruleId: finding.code,
    ruleIndex: ruleIndex.get(finding.code)!,
    level: LEVEL[finding.severity],
    message: { text: `${finding.title}. ${finding.evidence} Fix: ${fixText(finding)}` },
    locations: locationsOf(finding),
    partialFingerprints: { 'crdbEncryptionFindingId/v1': finding.id },
    properties: { severity: finding.severity, controls: finding.controls, ...(finding.key ? { key: finding.key } : {}) },
  }));
  return {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: { name: tool.name, version: tool.version, semanticVersion: tool.version, informationUri: tool.informationUri, rules: [...rules.values()] },
        },
        automationDetails: { id: 'crdb-encryption-audit/' },
        invocations: [
          {
            executionSuccessful: report.complete,
            endTimeUtc: report.generated_at,
            toolExecutionNotifications: report.errors.map((error) => ({ level: 'error' as const, message: { text: `${error.subject}: ${error.message}` } })),
          },
        ],
        results,
        properties: {
          summary: report.summary,
          frameworks: report.framework_summary.map(({ framework, status }) => ({ framework, status })),
          next: nextStep(report),
        },
      },
    ],
  };
}
