/** SQL tools for self-hosted clusters: check_certificate_expiry and verify_encryption_sql. */
import { z } from 'zod';
import { OperatorError } from '../errors.js';
import { certTypeInfo, SQL_USER_NAME } from '../certs/cert-types.js';
import type { CertExpiryItem } from '../sql/cert-expiry.js';
import type { ResolvedConnection } from '../sql/connection.js';
import type { StoreEncryption } from '../sql/encryption.js';
import type { ProbeResult } from '../sql/probe.js';
import { defineTool } from './define-tool.js';
import { nextFields, nextLine, nextOutput, nextSteps, suggest, type NextSteps } from './next-actions.js';
import { connectionFields, connectionRequest, expandHome, sameConnection, serverData, serverLabel, serverOutput } from './sql-common.js';

const READ = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true } as const;
const STATUSES = ['expired', 'rotate_now', 'schedule_rotation', 'plan_rotation', 'ok', 'missing'] as const;
const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
const UNSAFE = ['set', 'not_needed', 'refused', 'not_attempted'] as const;

export const checkCertificateExpiryInput = () =>
  z.strictObject({
    ...connectionFields(),
    warn_days: z.number().int().min(1).max(3650).default(90).describe('Warning window for node/client certs, days'),
  });

function describeTarget(conn: ResolvedConnection | undefined, httpUrl: string | undefined): string {
  return conn?.display ?? (httpUrl ? new URL(httpUrl).origin : 'none');
}

function itemLine(item: CertExpiryItem): string {
  const when =
    item.days_left === null
      ? 'not present'
      : item.days_left < 0
        ? `expired ${-item.days_left} days ago`
        : `expires in ${item.days_left} days (${item.expires_at!.slice(0, 10)})`;
  return `- node ${item.node_id} ${item.certificate}: ${when} [${item.status}] ${item.next_action}`;
}

export const checkCertificateExpiryTool = defineTool({
  name: 'check_certificate_expiry',
  title: 'Check certificate expiry',
  description: 'Self-hosted: expiry of each TLS cert per node via SQL metrics or http_url, soonest first, with the action due. Not for Cloud.',
  toolset: 'sql',
  input: checkCertificateExpiryInput,
  output: () =>
    z.object({
      target: z.string(),
      server: serverOutput(),
      source: z.enum(['sql', 'http_vars', 'http_certificates', 'none']),
      unsafe_internals: z.enum(UNSAFE),
      certificates: z.array(
        z.object({
          node_id: z.string(),
          address: z.string().nullable(),
          type: z.string(),
          sql_user: z.string().nullable(),
          certificate: z.string(),
          expires_at: z.string().nullable(),
          days_left: z.number().int().nullable(),
          status: z.enum(STATUSES),
          severity: z.enum(SEVERITIES),
          next_action: z.string(),
        }),
      ),
      summary: z.object({
        certificates: z.number().int(),
        nodes: z.number().int(),
        worst: z.enum(SEVERITIES),
        ...Object.fromEntries(STATUSES.map((status) => [status, z.number().int()])),
      }),
      notes: z.array(z.string()),
      retries: z.number().int(),
      ...nextOutput(),
    }),
  annotations: READ,
  async run(args, ctx) {
    const { checkCertificateExpiry } = await import('../sql/cert-expiry.js');
    const connector = ctx.deps.sql;
    const conn = args.connection !== undefined || !args.http_url ? await connector.resolve(connectionRequest(args)) : undefined;
    await ctx.progress(0, 2, 'reading certificate metrics');
    const report = await checkCertificateExpiry(connector, {
      ...(conn ? { conn } : {}),
      warnDays: args.warn_days,
      ...(args.http_url ? { httpUrl: args.http_url } : {}),
      ...(args.sslrootcert ? { caPath: expandHome(args.sslrootcert) } : {}),
      signal: ctx.signal,
      now: ctx.deps.clock.now(),
    });
    await ctx.progress(2, 2, 'done');
    const due = report.certificates.filter((item) => item.status !== 'ok' && item.status !== 'missing');
    const missing = report.certificates.filter((item) => item.status === 'missing');
    const s = report.summary;
    const statusUrls = report.source === 'sql' && !args.http_url ? await ctx.deps.nodeStatusUrls(conn?.targetName) : [];
    const next = withPerUserRead(expiryNext(report.source, due, sameConnection(args)), report.source, args, statusUrls);
    const text = [
      `Certificates of ${describeTarget(conn, args.http_url)} — ${serverLabel(report.server)}, read via ${report.source}${report.unsafe_internals === 'set' ? ' (SET allow_unsafe_internals = true, logged on the SENSITIVE_ACCESS channel)' : ''}.`,
      `${s.nodes} node(s), ${s.certificates} certificate(s): ${s.expired} expired, ${s.rotate_now} rotate now, ${s.schedule_rotation} schedule, ${s.plan_rotation} plan (CA), ${s.ok} ok, ${s.missing} not present.`,
      ...due.slice(0, 12).map(itemLine),
      ...(due.length > 12 ? [`… and ${due.length - 12} more in structured output.`] : []),
      ...(missing.length ? [`Not present: ${[...new Set(missing.map((item) => item.type))].join(', ')} (0 in the metrics).`] : []),
      ...report.notes.map((note) => `Note: ${note}`),
      nextLine(next),
    ].join('\n');
    return {
      data: {
        target: describeTarget(conn, args.http_url),
        server: serverData(report.server),
        source: report.source,
        unsafe_internals: report.unsafe_internals,
        certificates: report.certificates,
        summary: report.summary,
        notes: report.notes,
        retries: report.retries,
        ...nextFields(next),
      },
      text,
    };
  },
});

/** Due certificates lead to a rotation plan of their kind; otherwise the encryption check of the same target. */
function expiryNext(source: string, due: readonly CertExpiryItem[], same: ReturnType<typeof sameConnection>): NextSteps {
  if (source === 'none') {
    return nextSteps(
      [
        suggest('check_certificate_expiry', { ...same.arguments }, 'read the certificates from a CockroachDB node instead', {
          ...same.needs,
          http_url: 'the DB Console URL of a node, e.g. https://node1:8080',
        }),
      ],
      'Or use a connection to CockroachDB (this one did not report certificate metrics).',
    );
  }
  const first = due[0];
  if (!first) {
    return nextSteps(
      [suggest('verify_encryption_sql', same.arguments, 'check encryption at rest of the same cluster', same.needs)],
      'No certificate is due; re-run monthly, or alert on the security_certificate_expiration_* metrics.',
    );
  }
  // One plan per rotation kind, and per SQL user for client certificates.
  const plans = new Map<string, { args: Record<string, string>; count: number }>();
  for (const item of due) {
    const kind = certTypeInfo(item.type).rotation;
    const user = kind === 'client' && item.sql_user !== null && SQL_USER_NAME.test(item.sql_user) ? item.sql_user : undefined;
    const key = `${kind}/${user ?? ''}`;
    const plan = plans.get(key) ?? { args: { kind, ...(user ? { user } : {}) }, count: 0 };
    plan.count += 1;
    plans.set(key, plan);
  }
  return nextSteps(
    [...plans.values()].map(({ args, count }) =>
      suggest('plan_certificate_rotation', args, `plan the ${args.kind} certificate rotation${args.user ? ` of SQL user ${args.user}` : ''} (${count} due)`),
    ),
    first.next_action,
  );
}

/**
 * After a SQL read without http_url, client certificates were not read per SQL user: add the call
 * that reads them from a node's /_status/vars (complete when the server knows the node URLs).
 */
function withPerUserRead(
  next: NextSteps,
  source: string,
  args: { connection?: string | undefined; sslrootcert?: string | undefined; http_url?: string | undefined },
  statusUrls: string[],
): NextSteps {
  if (source !== 'sql' || args.http_url || next.actions.length === 0) return next;
  const same = sameConnection(args);
  const [first] = statusUrls;
  const read = suggest(
    'check_certificate_expiry',
    { ...same.arguments, ...(first ? { http_url: first } : {}) },
    `read client certificates per SQL user from ${first ? "the first node's" : "a node's"} /_status/vars (SQL cannot)${statusUrls.length > 1 ? `; the other nodes: ${statusUrls.slice(1).join(', ')}` : ''}`,
    { ...same.needs, ...(first ? {} : { http_url: 'the DB Console URL of a node, e.g. https://node1:8080' }) },
  );
  return nextSteps([...next.actions, read], next.note);
}

export const verifyEncryptionSqlInput = () =>
  z.strictObject({
    ...connectionFields(),
    probe: z.boolean().default(false).describe('Also run a read/write probe'),
  });

const probeOutput = () =>
  z
    .object({
      table: z.string(),
      ok: z.boolean(),
      steps_done: z.array(z.enum(['create', 'insert', 'select'])),
      failed_step: z.enum(['create', 'insert', 'select']).nullable(),
      error: z.string().nullable(),
      read_back_matches: z.boolean().nullable(),
      cleanup: z.enum(['not_needed', 'same_connection', 'fresh_connection', 'failed']),
      left_behind: z.boolean(),
    })
    .nullable();

function storeLine(store: StoreEncryption): string {
  const where = `${store.node_id ? `node ${store.node_id} ` : ''}store ${store.store_id}`;
  if (store.encrypted === false)
    return `- ${where}: PLAINTEXT — create a key (cockroach gen encryption-key -s 256 --version 2 <key file>), restart that node with --enterprise-encryption=path=<store dir>,key=<key file>,old-key=plain, and give that flag on every later start.`;
  return `- ${where}: ${store.algorithm}${store.encrypted ? '' : ' (status unknown)'}`;
}

function probeLine(probe: ProbeResult): string {
  if (probe.left_behind)
    return `Probe: ${probe.ok ? 'passed' : `FAILED at ${probe.failed_step}`}, and table ${probe.table} could NOT be dropped — run DROP TABLE IF EXISTS "${probe.table}"; now.`;
  const cleanup = probe.cleanup === 'not_needed' ? 'nothing was created' : `table dropped (${probe.cleanup.replace('_', ' ')})`;
  return probe.ok ? `Probe: create/insert/select passed; ${cleanup}.` : `Probe: FAILED at ${probe.failed_step}: ${probe.error}; ${cleanup}.`;
}

export const verifyEncryptionSqlTool = defineTool({
  name: 'verify_encryption_sql',
  title: 'Verify encryption over SQL',
  description:
    'Version and encryption at rest per store (SQL store metrics or http_url); optional read/write probe table, always dropped. For Cloud CMEK use get_cmek_status.',
  toolset: 'sql',
  input: verifyEncryptionSqlInput,
  output: () =>
    z.object({
      target: z.string(),
      server: serverOutput(),
      source: z.enum(['sql', 'http', 'none']),
      unsafe_internals: z.enum(UNSAFE),
      stores: z.array(
        z.object({
          node_id: z.string().nullable(),
          store_id: z.number().int(),
          algorithm_code: z.number().int().nullable(),
          algorithm: z.string(),
          encrypted: z.boolean().nullable(),
        }),
      ),
      summary: z.object({ stores: z.number().int(), encrypted: z.number().int(), plaintext: z.number().int(), unknown: z.number().int() }),
      cmek_note: z.string().nullable(),
      probe: probeOutput(),
      notes: z.array(z.string()),
      retries: z.number().int(),
      ...nextOutput(),
    }),
  annotations: READ,
  // The probe creates and drops a table: audited, and refused under --read-only.
  writes: (args) => (args.probe ? { what: 'a probe table (created, then dropped)', option: 'probe' } : undefined),
  target: (args) => (args.connection === undefined ? 'default connection' : args.connection.includes('://') ? 'connection URL' : args.connection),
  async run(args, ctx) {
    const { verifyEncryption } = await import('../sql/encryption.js');
    const { runProbe } = await import('../sql/probe.js');
    const connector = ctx.deps.sql;
    const conn = args.connection !== undefined || args.probe || !args.http_url ? await connector.resolve(connectionRequest(args)) : undefined;
    const total = args.probe ? 2 : 1;
    await ctx.progress(0, total, 'reading store encryption status');
    const report = await verifyEncryption(connector, {
      ...(conn ? { conn } : {}),
      ...(args.http_url ? { httpUrl: args.http_url } : {}),
      ...(args.sslrootcert ? { caPath: expandHome(args.sslrootcert) } : {}),
      signal: ctx.signal,
    });
    let probe: ProbeResult | null = null;
    if (args.probe && conn) {
      await ctx.progress(1, total, 'running the read/write probe');
      probe = await runProbe(connector, conn, ctx.signal);
    }
    await ctx.progress(total, total, 'done');
    const s = report.summary;
    const plaintext = report.stores.filter((store) => store.encrypted === false);
    const same = sameConnection(args);
    const recheck = suggest('verify_encryption_sql', same.arguments, 'verify again after the change', same.needs);
    const next: NextSteps = probe?.left_behind
      ? nextSteps([], `drop the probe table by hand: DROP TABLE IF EXISTS "${probe.table}";`)
      : report.cmek_note
        ? nextSteps([suggest('list_clusters', {}, 'find this Cloud cluster, then read its CMEK status with get_cmek_status')])
        : plaintext.length
          ? nextSteps([recheck], 'Enable encryption at rest on the plaintext stores first (rolling restart, one node at a time, --enterprise-encryption).')
          : report.source === 'none'
            ? nextSteps(
                [
                  suggest('verify_encryption_sql', { ...same.arguments }, 'read store encryption status over HTTP', {
                    ...same.needs,
                    http_url: 'the DB Console URL of a node, e.g. https://node1:8080',
                  }),
                ],
                'Or connect as an admin user.',
              )
            : probe && !probe.ok
              ? nextSteps([recheck], 'Investigate the failed probe step (permissions, node health) before relying on this cluster.')
              : nextSteps(
                  [suggest('check_certificate_expiry', same.arguments, 'check the TLS certificates of the same cluster', same.needs)],
                  'Encryption at rest needs nothing; re-run this check after any node restart or key rotation.',
                );
    const text = [
      `Encryption at rest on ${describeTarget(conn, args.http_url)} — ${serverLabel(report.server)}${report.source === 'none' ? '' : `, read via ${report.source}`}.`,
      report.source === 'none'
        ? 'Store encryption status: not available (see notes).'
        : `${s.stores} store(s): ${s.encrypted} encrypted, ${s.plaintext} plaintext, ${s.unknown} unknown.`,
      ...report.stores.map(storeLine),
      ...(report.cmek_note ? [report.cmek_note] : []),
      ...(probe ? [probeLine(probe)] : []),
      ...report.notes.map((note) => `Note: ${note}`),
      nextLine(next),
    ].join('\n');
    return {
      data: {
        target: describeTarget(conn, args.http_url),
        server: serverData(report.server),
        source: report.source,
        unsafe_internals: report.unsafe_internals,
        stores: report.stores,
        summary: report.summary,
        cmek_note: report.cmek_note,
        probe,
        notes: report.notes,
        retries: report.retries,
        ...nextFields(next),
      },
      text,
    };
  },
});

export const SQL_TOOLS = [checkCertificateExpiryTool, verifyEncryptionSqlTool];
