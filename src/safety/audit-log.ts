/**
 * The audit log: every mutating attempt, before and after, as a chain of entries sealed with
 * HMAC-SHA-256 under a key kept outside the log (audit-chain.ts, audit-key.ts). Stored in a JSONL
 * file by default (audit-file.ts), or in a PostgreSQL / CockroachDB table shared by replicas with
 * --audit-db (audit-sql.ts), which then replaces the file.
 */
import type { Config } from '../config.js';
import { errorMessage } from '../errors.js';
import { AuditLogError, BROKEN_LOG_NEXT_STEP } from './audit-log-error.js';
import { openFileAuditLog, verifyAuditFile } from './audit-file.js';
import { auditKeySource } from './audit-key.js';
import { createRedactor, registerConfigSecrets } from './redact.js';
import { describeSqlUrl } from './sql-pool.js';
import type { AuditLog, Redactor } from './types.js';

export { AuditLogError, BROKEN_LOG_NEXT_STEP } from './audit-log-error.js';
export { auditFileKind, isAuditLogFile } from './audit-file.js';

/**
 * Opens the configured audit log. Nothing is read, created or connected until the first append
 * or verify, so start-up stays fast. Registers the configuration's secrets with the redactor,
 * which is applied to every entry before it is hashed. On the sandbox every entry is marked
 * `sandbox: true` (its default file is also a separate one, see defaultAuditLogPath).
 */
export async function openAuditLog(config: Config, redactor: Redactor): Promise<AuditLog> {
  registerConfigSecrets(redactor, config);
  const keys = auditKeySource(config);
  const log = config.auditDb
    ? await (await import('./audit-sql.js')).openSqlAuditLog(config.auditDb, redactor, keys)
    : openFileAuditLog(config.auditLog, redactor, keys);
  if (!config.sandbox) return log;
  return { ...log, append: (event) => log.append({ ...event, sandbox: true }) };
}

/** Checks the audit log file at `path` (not necessarily the configured one) with the configured key. */
export function verifyAuditLogFile(config: Config, path: string) {
  return verifyAuditFile(path, { allowMissing: false, keys: auditKeySource(config) });
}

/** What `crdb-encryption-mcp verify-audit-log` prints (the verify_audit_log tool's fields, plus the next step). */
export interface AuditLogReport {
  ok: boolean;
  entries: number;
  first_bad_entry?: number;
  problem?: string;
  store: string;
  next: string;
}

/** Verifies the configured store (the --audit-db table, else the --audit-log file) for the CLI. */
export async function verifyConfiguredAuditLog(config: Config): Promise<AuditLogReport> {
  const redactor = createRedactor();
  const log = await openAuditLog(config, redactor);
  const store = config.auditDb ? describeSqlUrl(config.auditDb) : `file:${config.auditLog}`;
  try {
    const result = await log.verify();
    return {
      ok: result.ok,
      entries: result.entries,
      ...(result.firstBadEntry === undefined ? {} : { first_bad_entry: result.firstBadEntry }),
      ...(result.problem === undefined ? {} : { problem: result.problem }),
      store: result.store ?? store,
      next: result.ok ? 'nothing to do.' : BROKEN_LOG_NEXT_STEP,
    };
  } catch (error) {
    const next = error instanceof AuditLogError ? error.next : 'check that the audit log can be read, then run this again.';
    return { ok: false, entries: 0, problem: `not checked: ${redactor.redactText(errorMessage(error))}`, store, next };
  } finally {
    await log.close();
  }
}
