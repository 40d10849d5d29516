/**
 * audit_encryption_posture: the fleet compliance audit. Thin: parse, pick the SQL targets and the
 * concurrency, run src/audit, optionally write the report files, format.
 */
import { z } from 'zod';
import type { ReportFiles } from '../audit/report-file.js';
import { FRAMEWORKS, SEVERITIES, type AuditReport } from '../audit/types.js';
import { CLOUD_PROVIDERS, PLANS } from '../cloud/constants.js';
import { errorMessage } from '../errors.js';
import { TARGET_NAME } from '../sql/target-name.js';
import { fixAction } from './cmek-read-next.js';
import { defineTool } from './define-tool.js';
import { MANUAL_STEP, nextFields, nextLine, nextOutput, nextSteps, suggest, type NextAction, type NextSteps } from './next-actions.js';

const labelPart = () =>
  z
    .string()
    .min(1)
    .max(63)
    .regex(/^[^=\s]+$/, 'no spaces or =');
const clusterRef = () =>
  z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9][A-Za-z0-9-]*$/, 'a cluster name or id');

export const auditEncryptionPostureInput = () =>
  z
    .strictObject({
      clusters: z.array(clusterRef()).min(1).max(500).optional().describe('Names or ids (default all)'),
      labels: z
        .record(labelPart(), labelPart())
        .refine((labels) => Object.keys(labels).length > 0, 'give at least one label')
        .optional()
        .describe('Clusters with all these labels'),
      frameworks: z.array(z.enum(FRAMEWORKS)).min(1).max(3).optional().describe('Default all'),
      include_kms: z.boolean().default(true).describe('Check keys in their KMS'),
      include_sql_targets: z
        .union([z.boolean(), z.array(z.string().regex(TARGET_NAME, 'a configured target name')).min(1).max(50)])
        .default(true)
        .describe('true (all configured), false, or names'),
      format: z.enum(['markdown', 'json']).default('markdown').describe('Text format'),
      report_path: z
        .string()
        .min(4)
        .max(1024)
        .regex(/^[^\0]*\.md$/i, 'a file name ending in .md')
        .optional()
        .describe('File name ending .md, written in the reports dir (.html beside it); not under --read-only'),
      time_limit_seconds: z.number().int().min(1).max(3600).optional().describe('Partial results after this long'),
    })
    .refine((args) => !(args.clusters && args.labels), { message: 'give clusters or labels, not both', path: ['labels'] });

/** The full output schema, built on first use. */
const auditOutput = () => {
  const count = z.number().int();
  const severityCounts = z.object({ critical: count, high: count, medium: count, low: count, info: count });
  const controlStatus = z.enum(['fail', 'incomplete', 'not_assessed', 'pass']);
  const keyOutput = z.object({
    uri: z.string(),
    type: z.string(),
    role: z.enum(['current', 'past']),
    cmek_status: z.string().optional(),
    created_at: z.string().optional(),
    last_wrapped_at: z.string().optional(),
    age_days: z.number().int().optional(),
    kms: z
      .object({
        state: z.string(),
        usable: z.boolean(),
        rotation_automatic: z.boolean(),
        rotation_period_days: z.number().optional(),
        deletion_scheduled: z.boolean(),
        deletion_scheduled_for: z.string().optional(),
        deletion_window_days: z.number().optional(),
        purge_protection: z.boolean().optional(),
      })
      .optional(),
    verified: z.boolean(),
  });
  const runStatus = z.enum(['audited', 'failed', 'not_audited']);
  return z.object({
    generated_at: z.string(),
    scope: z.string(),
    frameworks: z.array(z.enum(FRAMEWORKS)),
    complete: z.boolean(),
    stopped: z.object({ reason: z.enum(['cancelled', 'time_limit']), message: z.string() }).optional(),
    summary: z.object({
      clusters_in_scope: z.number().int(),
      clusters_audited: z.number().int(),
      clusters_failed: z.number().int(),
      clusters_not_audited: z.number().int(),
      sql_targets: z.number().int(),
      sql_targets_failed: z.number().int(),
      findings: severityCounts,
      kms: z.enum(['checked', 'skipped']),
      kms_keys_checked: z.number().int(),
      kms_keys_unverified: z.number().int(),
    }),
    framework_summary: z.array(
      z.object({
        framework: z.enum(FRAMEWORKS),
        name: z.string(),
        status: controlStatus,
        controls: z.array(z.object({ control: z.string(), title: z.string(), status: controlStatus, findings: severityCounts })),
      }),
    ),
    clusters: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        plan: z.enum(PLANS),
        cloud_provider: z.enum(CLOUD_PROVIDERS),
        state: z.string(),
        labels: z.record(z.string(), z.string()),
        status: runStatus,
        cmek_possible: z.union([z.boolean(), z.literal('cannot_verify')]),
        cmek_status: z.string().optional(),
        operation_status: z.string().optional(),
        regions: z.array(z.object({ region: z.string(), status: z.string(), keys: z.array(keyOutput) })),
        error: z.string().optional(),
      }),
    ),
    sql_targets: z.array(
      z.object({
        name: z.string(),
        status: runStatus,
        server: z.string().optional(),
        certificates: z.array(
          z.object({ node: z.string(), type: z.string(), expires_at: z.string().nullable(), days_left: z.number().int().nullable(), status: z.string() }),
        ),
        stores: z.array(z.object({ node: z.string().nullable(), store_id: z.number(), algorithm: z.string(), encrypted: z.boolean().nullable() })),
        notes: z.array(z.string()),
        error: z.string().optional(),
      }),
    ),
    findings: z.array(
      z.object({
        id: z.string(),
        code: z.string(),
        severity: z.enum(SEVERITIES),
        cluster: z.object({ id: z.string(), name: z.string() }).optional(),
        target: z.string().optional(),
        node: z.string().optional(),
        region: z.string().optional(),
        key: z.string().optional(),
        title: z.string(),
        evidence: z.string(),
        controls: z.array(z.string()),
        fix: z.object({ tool: z.string(), arguments: z.record(z.string(), z.unknown()).optional(), description: z.string() }),
      }),
    ),
    errors: z.array(z.object({ subject: z.string(), message: z.string() })),
    report_files: z.object({ markdown: z.string(), html: z.string() }).optional(),
    report_error: z.string().optional(),
    ...nextOutput(),
  });
};

/** The fixes of the findings, worst first, as calls (each once); a re-run for what could not be audited. */
function auditNext(report: AuditReport, note: string): NextSteps {
  const seen = new Set<string>();
  const actions: NextAction[] = [];
  for (const finding of report.findings) {
    const manual = finding.cluster && (finding.severity === 'critical' || finding.severity === 'high') && finding.fix.tool === 'manual';
    const action = manual
      ? suggest('get_cmek_status', { cluster: finding.cluster!.name }, 're-check the cluster once the manual fix is done', {
          [MANUAL_STEP]: finding.fix.description,
        })
      : fixAction(finding);
    if (!action) continue;
    const key = JSON.stringify([action.tool, action.arguments]);
    if (seen.has(key)) continue;
    seen.add(key);
    actions.push({ ...action, why: `${finding.code}${finding.cluster ? ` on ${finding.cluster.name}` : ''} (${finding.severity}): ${action.why}` });
  }
  const failed = report.clusters.filter((cluster) => cluster.status !== 'audited').map((cluster) => cluster.id);
  if (failed.length) actions.push(suggest('audit_encryption_posture', { clusters: failed.slice(0, 500) }, 'audit the clusters this run could not reach'));
  return nextSteps(actions.slice(0, 8), note);
}

function jsonText(report: AuditReport, files: ReportFiles | undefined, next: string): string {
  const top = report.findings.filter((finding) => finding.severity !== 'info').slice(0, 25);
  return JSON.stringify({
    summary: report.summary,
    complete: report.complete,
    ...(report.stopped ? { stopped: report.stopped } : {}),
    frameworks: report.framework_summary.map((framework) => ({ framework: framework.framework, status: framework.status })),
    top_findings: top.map(({ id, code, severity, cluster, target, node, region, key, fix }) => ({
      id,
      code,
      severity,
      cluster: cluster?.name,
      target,
      node,
      region,
      key,
      fix: fix.tool,
    })),
    errors: report.errors.length,
    ...(files ? { report_files: files } : {}),
    next,
  });
}

export const auditEncryptionPosture = defineTool({
  name: 'audit_encryption_posture',
  title: 'Audit encryption posture',
  description:
    'Fleet encryption audit: Cloud clusters (CMEK, key age, rotation, deletion protection, key policies, failures) and self-hosted SQL targets. Findings map to SOC 2/HIPAA/PCI DSS, each with its fix.',
  toolset: 'audit',
  input: auditEncryptionPostureInput,
  output: auditOutput,
  // Reads only, unless report_path asks for report files: that part is audited and refused under --read-only.
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  writes: (args) =>
    args.report_path ? { what: `report files (${args.report_path} and its .html) in the reports directory`, option: 'report_path' } : undefined,
  async run(args, ctx) {
    const { checkReportPath, writeReportFiles } = await import('../audit/report-file.js');
    const { renderCompact, nextStep } = await import('../audit/render-markdown.js');
    const { runFleetAudit } = await import('../audit/fleet-audit.js');
    if (args.report_path) await checkReportPath(ctx.config.reportsDir, args.report_path);
    const report = await runFleetAudit(
      {
        ...(args.clusters ? { clusters: args.clusters } : {}),
        ...(args.labels ? { labels: args.labels } : {}),
        ...(args.frameworks ? { frameworks: args.frameworks } : {}),
        includeKms: args.include_kms,
        includeSqlTargets: args.include_sql_targets,
        ...(args.time_limit_seconds ? { timeLimitMs: args.time_limit_seconds * 1000 } : {}),
      },
      {
        config: ctx.config,
        cloud: () => ctx.deps.cloud(),
        kms: ctx.deps.kms,
        sql: ctx.deps.sql,
        sqlTargetNames: ctx.deps.sqlTargetNames,
        now: () => ctx.deps.clock.now(),
        signal: ctx.signal,
        progress: (done, total, message) => ctx.progress(done, total, message),
        onRequestId: (id) => ctx.noteRequestId(id),
      },
    );
    let files: ReportFiles | undefined;
    let reportError: string | undefined;
    if (args.report_path) {
      try {
        files = await writeReportFiles(ctx.config.reportsDir, args.report_path, report, ctx.redactor);
      } catch (error) {
        reportError = errorMessage(error);
      }
    }
    const next = auditNext(report, nextStep(report));
    const fields = nextFields(next);
    const text = args.format === 'json' ? jsonText(report, files, fields.next_step) : `${renderCompact(report, 15, files)}\n${nextLine(next)}`;
    return {
      data: { ...report, ...(files ? { report_files: files } : {}), ...(reportError ? { report_error: reportError } : {}), ...fields },
      text: reportError ? `${text}\nReport file NOT written: ${reportError}` : text,
    };
  },
});

/** The audit toolset. */
export const AUDIT_TOOLS = [auditEncryptionPosture];
