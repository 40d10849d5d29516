/**
 * The sandbox's self-hosted CockroachDB stand-in: PGlite served over the Postgres wire by
 * pglite-socket on 127.0.0.1 (ephemeral port), seeded like a v26.1 cluster (see sql-seed.ts).
 * It starts on the first connectionString() call (tests); the server's --sandbox starts it at
 * launch in a worker thread instead (sql-worker.ts).
 *
 * PGlite is one backend shared by every connection (queries are serialised; session settings
 * are shared). An interceptor in front of PGlite rewrites CockroachDB-only statements and
 * applies fault knobs:
 * - `SET allow_unsafe_internals = true|false` becomes `SET LOCAL crdb.allow_unsafe_internals`
 *   inside a transaction (transaction scope stands in for CockroachDB's session scope, which one
 *   shared backend cannot give per connection) and a session-wide SET outside one;
 *   `SHOW allow_unsafe_internals` reads that setting.
 * - faults replace a statement with one that raises the chosen SQLSTATE, so clients see a real
 *   ErrorResponse through the real protocol.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { PGlite } from '@electric-sql/pglite';
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { PROBE_TABLE_PREFIX } from '../sql/probe.js';
import { RequestLog, sleep } from './faults.js';
import { seedSql } from './sql-seed.js';
import { raisingStatement, readSqlMessage, sqlLiteral, writeSqlMessage, type SqlMessage } from './sql-wire.js';

/** Fails the next `count` statements whose text matches. */
export interface SqlStatementFault {
  match: RegExp;
  count: number;
  sqlstate: string;
  message: string;
}

/** Fault knobs of the SQL emulator; tests flip them between calls. */
export class SqlFaultPlan {
  /** A locked-down cluster: `SET allow_unsafe_internals` is refused (42501). */
  refuseUnsafeInternals = false;
  /** The user lacks the privilege to read crdb_internal (42501 on any statement naming it). */
  permissionDenied = false;
  /** Delay before each statement runs (all, or those matching latencyMatch): slow queries. */
  latencyMs = 0;
  latencyMatch: RegExp | undefined;
  /** Behave like plain PostgreSQL: PGlite's own version(), no crdb_internal. */
  plainPostgres = false;
  private rules: SqlStatementFault[] = [];

  /** Queues a statement failure. */
  inject(rule: SqlStatementFault): this {
    this.rules.push({ ...rule });
    return this;
  }

  /** Fails the probe's read-back (after its insert, before its drop) `count` times. */
  failProbeAfterInsert(count = 1): this {
    return this.inject({
      match: new RegExp(`^\\s*SELECT\\b[\\s\\S]*${PROBE_TABLE_PREFIX}`, 'i'),
      count,
      sqlstate: 'XX000',
      message: 'injected failure between insert and drop',
    });
  }

  /** Fails the probe's DROP `count` times (the cleanup must then use a fresh connection). */
  failProbeDrop(count = 1): this {
    return this.inject({
      match: new RegExp(`^\\s*DROP\\s+TABLE\\b[\\s\\S]*${PROBE_TABLE_PREFIX}`, 'i'),
      count,
      sqlstate: '08006',
      message: 'injected connection failure during drop',
    });
  }

  /** Raises 40001 (restart transaction) on the next `count` statements reading crdb_internal. */
  retryErrors(count: number, match = /crdb_internal/i): this {
    return this.inject({ match, count, sqlstate: '40001', message: 'restart transaction: TransactionRetryWithProtoRefreshError: injected by the sandbox' });
  }

  /** Consumes the fault for this statement, if any. */
  take(text: string): SqlStatementFault | undefined {
    const index = this.rules.findIndex((rule) => rule.count > 0 && rule.match.test(text));
    if (index < 0) return undefined;
    const rule = this.rules[index]!;
    rule.count -= 1;
    if (rule.count === 0) this.rules.splice(index, 1);
    return rule;
  }

  pending(): readonly SqlStatementFault[] {
    return this.rules;
  }

  reset(): void {
    this.rules = [];
    this.refuseUnsafeInternals = false;
    this.permissionDenied = false;
    this.latencyMs = 0;
    this.latencyMatch = undefined;
    this.plainPostgres = false;
  }
}

/** A running (or starting) SQL stand-in, as the server's SQL tools reach it. */
export interface SqlServer {
  /** Resolves to a postgresql:// URL once the server listens. */
  connectionString(): Promise<string>;
  /** Whether the server has been started. */
  readonly started: boolean;
  close(): Promise<void>;
}

/** The in-process emulator, with the fault knobs and statement log tests use. */
export interface SqlEmulator extends SqlServer {
  /** Starts the server on first call. */
  connectionString(): Promise<string>;
  faults: SqlFaultPlan;
  /** Every SQL statement received (simple and extended protocol), operation = its text. */
  statements: RequestLog;
}

const SET_UNSAFE = /^\s*SET\s+(?:SESSION\s+|LOCAL\s+)?allow_unsafe_internals\s*(?:=|\bTO\b)\s*'?(\w+)'?\s*;?\s*$/i;
const SHOW_UNSAFE = /^\s*SHOW\s+allow_unsafe_internals\s*;?\s*$/i;
const TRUE_VALUES = new Set(['true', 'on', '1', 'yes']);

/** Decides what PGlite actually runs for one statement. */
async function rewrite(message: SqlMessage, faults: SqlFaultPlan, inTransaction: boolean): Promise<string | undefined> {
  const text = message.text;
  if (faults.latencyMs > 0 && (!faults.latencyMatch || faults.latencyMatch.test(text))) await sleep(faults.latencyMs);
  const fault = faults.take(text);
  if (fault) return raisingStatement(message, fault.sqlstate, fault.message);
  if (faults.plainPostgres) {
    if (/crdb_internal|allow_unsafe_internals/i.test(text)) {
      return raisingStatement(message, '42P01', 'relation or setting of crdb_internal does not exist on this server');
    }
    return /\bversion\s*\(\s*\)/i.test(text) ? text.replace(/\bversion\s*\(\s*\)/gi, 'pg_catalog.version()') : undefined;
  }
  const set = SET_UNSAFE.exec(text);
  if (set) {
    if (faults.refuseUnsafeInternals) {
      return raisingStatement(message, '42501', 'permission denied to set allow_unsafe_internals: unsafe internals are locked down on this cluster');
    }
    const value = TRUE_VALUES.has(set[1]!.toLowerCase()) ? 'on' : 'off';
    return `SET ${inTransaction ? 'LOCAL ' : ''}crdb.allow_unsafe_internals = ${sqlLiteral(value)}`;
  }
  if (SHOW_UNSAFE.test(text)) {
    return "SELECT coalesce(nullif(current_setting('crdb.allow_unsafe_internals', true), ''), 'off') AS allow_unsafe_internals";
  }
  if (faults.permissionDenied && /crdb_internal/i.test(text)) {
    return raisingStatement(message, '42501', 'user root does not have VIEWCLUSTERMETADATA privilege to read crdb_internal');
  }
  return undefined;
}

interface Running {
  db: PGlite;
  server: PGLiteSocketServer;
  url: string;
}

export interface SqlEmulatorOptions {
  /**
   * A dump of a freshly initialised PGlite data directory (gzip tar, written by the build):
   * loading it skips initdb, most of PGlite's start. Absent or unreadable: a fresh initdb.
   */
  template?: URL;
}

/** File name of the data directory template the build writes next to the bundled chunks. */
export const SQL_TEMPLATE_FILE = 'sql-template.tar.gz';

async function openDatabase(PGliteClass: typeof PGlite, template: URL | undefined): Promise<PGlite> {
  if (template && existsSync(template)) {
    try {
      return await PGliteClass.create({ loadDataDir: new Blob([await readFile(template)]) });
    } catch {
      // A template from another PGlite version: initialise afresh below.
    }
  }
  return PGliteClass.create();
}

/** Creates the (not yet started) SQL emulator. */
export function createSqlEmulator(options: SqlEmulatorOptions = {}): SqlEmulator {
  const faults = new SqlFaultPlan();
  const statements = new RequestLog();
  let running: Promise<Running> | undefined;

  const start = async (): Promise<Running> => {
    const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-socket')]);
    const db = await openDatabase(PGlite, options.template);
    await db.exec(seedSql(Math.floor(Date.now() / 1000)));
    const execute = db.execProtocolRawStream.bind(db);
    db.execProtocolRawStream = async (message, options) => {
      const sql = readSqlMessage(message);
      if (!sql) return execute(message, options);
      statements.record({ at: Date.now(), method: 'SQL', operation: sql.text, status: 0 });
      const replacement = await rewrite(sql, faults, db.isInTransaction());
      return execute(replacement === undefined ? message : writeSqlMessage(sql, replacement), options);
    };
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 64 });
    await server.start();
    const port = Number(server.getServerConn().split(':').pop());
    return { db, server, url: `postgresql://root@127.0.0.1:${port}/defaultdb?sslmode=disable` };
  };

  return {
    faults,
    statements,
    get started() {
      return running !== undefined;
    },
    async connectionString() {
      running ??= start();
      return (await running).url;
    },
    async close() {
      if (!running) return;
      const current = running;
      running = undefined;
      let instance: Running;
      try {
        instance = await current;
      } catch {
        return;
      }
      await instance.server.stop();
      // Detached handlers may still roll back an open transaction; let them finish first.
      await new Promise((resolve) => setImmediate(resolve));
      await instance.db.close();
    },
  };
}
