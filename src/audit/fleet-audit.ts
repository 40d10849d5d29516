/**
 * One audit request -> one report, shared by the audit_encryption_posture tool and the `audit`
 * command: picks the SQL targets the configuration names, falls back to self-hosted targets only
 * when no Cloud API key is set, sizes the concurrency to the Cloud API rate limit, runs runAudit.
 */
import type { CloudApi } from '../cloud/api.js';
import type { Config } from '../config.js';
import { OperatorError } from '../errors.js';
import type { KmsRegistry } from '../kms/provider.js';
import type { SqlConnector } from '../sql/connector.js';
import { runAudit, type AuditScope } from './run-audit.js';
import { FRAMEWORKS, type AuditReport, type Framework } from './types.js';

export interface FleetAuditRequest {
  /** Cluster names or ids (default all); not together with labels. */
  clusters?: readonly string[];
  /** Clusters carrying all these labels. */
  labels?: Record<string, string>;
  /** Default: all frameworks. */
  frameworks?: readonly Framework[];
  includeKms: boolean;
  /** true: every configured target; false: none; or these names. */
  includeSqlTargets: boolean | readonly string[];
  timeLimitMs?: number;
}

export interface FleetAuditContext {
  config: Config;
  /** The Cloud API client; throws an OperatorError when no API key is configured. */
  cloud(): CloudApi;
  kms: KmsRegistry;
  sql: SqlConnector;
  /** Names of the configured SQL targets (with the sandbox's self-hosted cluster on the sandbox). */
  sqlTargetNames: readonly string[];
  now(): number;
  signal: AbortSignal;
  progress(done: number, total: number | undefined, message: string): Promise<void>;
  onRequestId(id: string): void;
}

function scopeOf(request: FleetAuditRequest): AuditScope {
  if (request.clusters) return { kind: 'clusters', refs: [...new Set(request.clusters)] };
  if (request.labels) return { kind: 'labels', labels: request.labels };
  return { kind: 'all' };
}

/** The Cloud client, or none when no API key is set and only self-hosted targets can be audited. */
function cloudFor(request: FleetAuditRequest, targets: readonly string[], ctx: FleetAuditContext): { cloud?: CloudApi; scope: AuditScope } {
  try {
    return { cloud: ctx.cloud(), scope: scopeOf(request) };
  } catch (error) {
    if (!(error instanceof OperatorError) || targets.length === 0 || request.clusters || request.labels) throw error;
    return { scope: { kind: 'none', reason: 'no CockroachDB Cloud API key is configured' } };
  }
}

/** The SQL targets to audit; throws an OperatorError naming unknown ones. */
export function selectSqlTargets(requested: FleetAuditRequest['includeSqlTargets'], configured: readonly string[]): string[] {
  if (requested === true) return [...configured];
  if (requested === false) return [];
  const unknown = requested.filter((name) => !configured.includes(name));
  if (unknown.length > 0) {
    throw new OperatorError(
      `Unknown SQL target ${unknown.map((name) => `'${name}'`).join(', ')}`,
      configured.length ? `Configured targets: ${configured.join(', ')}.` : 'No SQL targets are configured.',
      'use configured names, or add targets with --sql-target NAME=postgresql://... (or CRDB_SQL_TARGETS) and restart.',
    );
  }
  return [...new Set(requested)];
}

/** Runs the fleet audit the request describes. Throws an OperatorError when it cannot start. */
export async function runFleetAudit(request: FleetAuditRequest, ctx: FleetAuditContext): Promise<AuditReport> {
  const targets = selectSqlTargets(request.includeSqlTargets, ctx.sqlTargetNames);
  const rate = ctx.config.sandbox ? ctx.config.sandboxOptions.rateLimitPerSecond : ctx.config.cloud.rateLimitPerSecond;
  const { cloud, scope } = cloudFor(request, targets, ctx);
  return runAudit(
    {
      ...(cloud ? { cloud } : {}),
      kms: ctx.kms,
      sql: ctx.sql,
      now: () => ctx.now(),
      signal: ctx.signal,
      progress: (done, total, message) => ctx.progress(done, total, message),
      onRequestId: (id) => ctx.onRequestId(id),
      concurrency: Math.min(64, Math.max(8, Math.ceil(rate / 4))),
      kmsConcurrency: 32,
    },
    {
      scope,
      frameworks: request.frameworks ? [...new Set(request.frameworks)] : [...FRAMEWORKS],
      includeKms: request.includeKms,
      sqlTargets: targets,
      ...(request.timeLimitMs ? { timeLimitMs: request.timeLimitMs } : {}),
    },
  );
}
