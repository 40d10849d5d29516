/** Local certificate tools: inspect_certificates and plan_certificate_rotation. */
import { isIP } from 'node:net';
import { z } from 'zod';
import { K8S_MODES, ROTATION_KINDS, SQL_USER_NAME } from '../certs/cert-types.js';
import { defineTool, type ToolContext } from './define-tool.js';
import { nextFields, nextLine, nextOutput, nextSteps, suggest, type NextAction } from './next-actions.js';
import { filePath } from './sql-common.js';

const LOCAL = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;
const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;

const hostname = () =>
  z
    .string()
    .min(1)
    .max(253)
    .regex(/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$/, 'expected a DNS name');
const ip = () =>
  z
    .string()
    .max(45)
    .refine((value) => isIP(value) !== 0, 'expected an IPv4 or IPv6 address');
const sqlUser = () => z.string().regex(SQL_USER_NAME, 'expected a SQL user name');

export const inspectCertificatesInput = () =>
  z.strictObject({
    certs_dir: filePath().describe('Absolute path of the certs directory'),
    hostnames: z.array(hostname()).max(100).optional().describe('DNS names (incl. LBs) node.crt must cover'),
    ips: z.array(ip()).max(100).optional().describe('IPs node.crt must cover'),
    user: sqlUser().optional().describe('Expect client.<user>.crt'),
  });

export const inspectCertificatesTool = defineTool({
  name: 'inspect_certificates',
  title: 'Inspect a certs directory',
  description:
    'Inspect a local cockroach certs dir: type, subject, issuer, validity, SANs of each cert; checks chain, SAN coverage, key perms, CA key absent, client CN, expiry.',
  toolset: 'certs',
  input: inspectCertificatesInput,
  output: () =>
    z.object({
      certs_dir: z.string(),
      certificates: z.array(
        z.object({
          file: z.string(),
          index: z.number().int(),
          type: z.string(),
          subject: z.string(),
          issuer: z.string(),
          serial_number: z.string(),
          fingerprint256: z.string(),
          not_before: z.string(),
          not_after: z.string(),
          days_left: z.number().int().nullable(),
          status: z.string(),
          is_ca: z.boolean(),
          sans: z.object({ dns: z.array(z.string()), ip: z.array(z.string()) }),
          key_usage: z.array(z.string()),
          ext_key_usage: z.array(z.string()),
          signed_by: z.string().nullable(),
        }),
      ),
      key_files: z.array(
        z.object({
          file: z.string(),
          mode: z.string(),
          owner_uid: z.number().int(),
          owner_gid: z.number().int(),
          owned_by_current_user: z.boolean().nullable(),
        }),
      ),
      findings: z.array(z.object({ severity: z.enum(SEVERITIES), code: z.string(), file: z.string().nullable(), message: z.string(), fix: z.string() })),
      summary: z.object({
        certificates: z.number().int(),
        key_files: z.number().int(),
        findings: z.number().int(),
        worst: z.enum(SEVERITIES),
        by_severity: z.object(Object.fromEntries(SEVERITIES.map((s) => [s, z.number().int()]))),
      }),
      ...nextOutput(),
    }),
  annotations: LOCAL,
  async run(args, ctx) {
    const { inspectCertificates } = await import('../certs/inspect.js');
    const report = await inspectCertificates({
      certsDir: args.certs_dir,
      ...(args.hostnames ? { hostnames: args.hostnames } : {}),
      ...(args.ips ? { ips: args.ips } : {}),
      ...(args.user ? { user: args.user } : {}),
      now: ctx.deps.clock.now(),
    });
    const actionable = report.findings.filter((f) => f.severity !== 'info');
    const lines = report.certificates.map(
      (c) =>
        `- ${c.file}${c.index ? `[${c.index}]` : ''} ${c.type}: ${c.subject}; expires ${c.not_after.slice(0, 10)} (${c.days_left} d, ${c.status}); signed by ${c.signed_by ?? 'unverified'}`,
    );
    const text = [
      `${report.summary.certificates} certificate(s) and ${report.summary.key_files} key file(s) in ${report.certs_dir}; ${actionable.length} finding(s)${actionable.length ? `, worst ${report.summary.worst}` : ''}.`,
      ...lines,
      ...report.findings.map((f) => `[${f.severity}] ${f.message} Fix: ${f.fix}`),
    ];
    const expiry = expiryCheck(ctx);
    const reissue = actionable.some((f) => f.code.startsWith('node_') || f.code === 'san_missing' || f.code === 'key_mismatch');
    const next = actionable.length
      ? nextSteps(
          [
            ...(reissue
              ? [
                  suggest(
                    'plan_certificate_rotation',
                    { kind: 'node', ...(PLAN_PATH.test(report.certs_dir) && report.certs_dir.length <= 1024 ? { certs_dir: report.certs_dir } : {}) },
                    'get the exact commands to re-issue the node certificate',
                  ),
                ]
              : []),
            expiry,
          ],
          `First fix: ${actionable[0]!.fix}`,
        )
      : nextSteps([expiry], 'Nothing to fix in this directory.');
    return { data: { ...report, ...nextFields(next) }, text: [...text, nextLine(next)].join('\n') };
  },
});

const PLAN_PATH = /^[A-Za-z0-9_./~-]+$/;
const planPath = () => z.string().min(1).max(1024).regex(PLAN_PATH, 'expected a plain path (letters, digits, . _ - / ~)');

export const planCertificateRotationInput = () =>
  z.strictObject({
    kind: z.enum(ROTATION_KINDS).describe('Certificates to rotate'),
    certs_dir: planPath().default('certs').describe('Certs dir in the commands'),
    ca_key: planPath().default('my-safe-directory/ca.key').describe('CA key path (off the nodes)'),
    hosts: z
      .array(z.union([hostname(), ip()]))
      .max(100)
      .default([])
      .describe('All node hostnames, IPs, LBs'),
    user: sqlUser().default('root').describe('SQL user (client certs)'),
    k8s: z
      .enum(K8S_MODES)
      .default('none')
      .describe('Kubernetes: public-operator (CrdbCluster), cockroachdb-operator (Helm cockroachdb.tls), helm (StatefulSet chart), cert-manager'),
    namespace: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'expected a Kubernetes namespace')
      .default('default')
      .describe('Kubernetes namespace'),
    cluster: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'expected a Kubernetes name')
      .default('cockroachdb')
      .describe('StatefulSet, CrdbCluster or Helm release name'),
  });

export const planCertificateRotationTool = defineTool({
  name: 'plan_certificate_rotation',
  title: 'Plan a certificate rotation',
  description:
    'Plan a self-hosted node, client, CA or UI cert rotation: exact cockroach cert commands, combined CA, SIGHUP, checks, Kubernetes. Executes nothing.',
  toolset: 'certs',
  input: planCertificateRotationInput,
  output: () =>
    z.object({
      kind: z.enum(ROTATION_KINDS),
      k8s: z.enum(K8S_MODES),
      summary: z.string(),
      steps: z.array(z.object({ title: z.string(), commands: z.array(z.string()), notes: z.array(z.string()) })),
      verification: z.array(z.string()),
      warnings: z.array(z.string()),
      ...nextOutput(),
    }),
  annotations: LOCAL,
  async run(args, ctx) {
    const { planCertificateRotation } = await import('../certs/plan.js');
    const plan = planCertificateRotation({
      kind: args.kind,
      certsDir: args.certs_dir,
      caKey: args.ca_key,
      hosts: args.hosts,
      user: args.user,
      k8s: args.k8s,
      namespace: args.namespace,
      cluster: args.cluster,
    });
    const text = [
      plan.summary,
      ...plan.steps.flatMap((s, i) => [`${i + 1}. ${s.title}`, ...s.commands.map((c) => `   $ ${c}`), ...s.notes.map((n) => `   Note: ${n}`)]),
      'Verify:',
      ...plan.verification.map((v) => `   - ${v}`),
      ...plan.warnings.map((w) => `Warning: ${w}`),
    ];
    const next = nextSteps(
      [expiryCheck(ctx, 'after the last step, confirm every node serves the new certificates')],
      `Run steps 1 to ${plan.steps.length} above yourself, in order; this server executes none of them.`,
    );
    return { data: { ...plan, ...nextFields(next) }, text: [...text, nextLine(next)].join('\n') };
  },
});

/** check_certificate_expiry on the cluster: a configured target when there is one, else the operator's connection. */
function expiryCheck(ctx: ToolContext, why = "check the expiry of every node's certificates on the running cluster"): NextAction {
  const targets = ctx.deps.sqlTargetNames;
  if (targets.length === 1) return suggest('check_certificate_expiry', { connection: targets[0] }, why);
  if (ctx.config.sql.databaseUrl) return suggest('check_certificate_expiry', {}, why);
  return suggest('check_certificate_expiry', {}, why, {
    connection: targets.length ? `one of the configured targets: ${targets.join(', ')}` : 'a postgresql:// URL of the cluster (or set DATABASE_URL)',
  });
}

export const CERT_TOOLS = [inspectCertificatesTool, planCertificateRotationTool];
