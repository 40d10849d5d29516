/**
 * The read/write probe: create a uniquely named table, insert a random token, read it back, and
 * drop the table. The drop always runs: in `finally` on the same connection, then on a fresh
 * connection if that failed. Cancellation is honoured between statements, never mid-statement,
 * so the cleanup cannot race a CREATE still in flight.
 */
import { randomBytes } from 'node:crypto';
import { OperatorError, errorMessage } from '../errors.js';
import type { ResolvedConnection } from './connection.js';
import type { SqlConnector, SqlSession } from './connector.js';
import { abortError, sqlState, toSqlError } from './errors.js';
import { DEFAULT_RETRY, withRetry } from './retry.js';

/** Every probe table starts with this (the sandbox's fault knobs match on it). */
export const PROBE_TABLE_PREFIX = 'crdb_mcp_probe_';

export type ProbeStep = 'create' | 'insert' | 'select';

export interface ProbeResult {
  table: string;
  ok: boolean;
  steps_done: ProbeStep[];
  failed_step: ProbeStep | null;
  error: string | null;
  read_back_matches: boolean | null;
  /** How the table was removed: not needed (never created), same or fresh connection, or failed. */
  cleanup: 'not_needed' | 'same_connection' | 'fresh_connection' | 'failed';
  left_behind: boolean;
}

/** A fresh probe table name: prefix, time, random suffix. */
export function probeTableName(now = Date.now()): string {
  return `${PROBE_TABLE_PREFIX}${now.toString(36)}_${randomBytes(4).toString('hex')}`;
}

function describe(error: unknown, conn: ResolvedConnection): string {
  const mapped = toSqlError(error, conn);
  return mapped instanceof OperatorError ? `${mapped.what}: ${mapped.why}` : errorMessage(error);
}

/** Runs the probe. Throws only when nothing could run (connection failure) or on cancellation. */
export async function runProbe(connector: SqlConnector, conn: ResolvedConnection, signal?: AbortSignal): Promise<ProbeResult> {
  const table = probeTableName();
  const ident = `"${table}"`;
  const token = randomBytes(8).toString('hex');
  const drop = `DROP TABLE IF EXISTS ${ident}`;
  const result: ProbeResult = {
    table,
    ok: false,
    steps_done: [],
    failed_step: null,
    error: null,
    read_back_matches: null,
    cleanup: 'not_needed',
    left_behind: false,
  };
  let mayExist = false;
  let cancelled = false;

  const step = async (session: SqlSession, name: ProbeStep, sql: string) => {
    if (signal?.aborted) {
      cancelled = true;
      throw abortError();
    }
    try {
      const rows = await withRetry(() => session.query<{ token?: string }>(sql), DEFAULT_RETRY);
      result.steps_done.push(name);
      return rows;
    } catch (error) {
      // A CREATE that failed without a server answer may still have happened.
      if (name === 'create' && !sqlState(error)) mayExist = true;
      result.failed_step = name;
      result.error = describe(error, conn);
      throw error;
    }
  };

  try {
    await connector.session(conn, async (session) => {
      try {
        await step(session, 'create', `CREATE TABLE ${ident} (id INT8 PRIMARY KEY, token TEXT NOT NULL, written_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
        mayExist = true;
        await step(session, 'insert', `INSERT INTO ${ident} (id, token) VALUES (1, '${token}')`);
        const rows = await step(session, 'select', `SELECT token FROM ${ident} WHERE id = 1`);
        result.read_back_matches = rows[0]?.token === token;
      } catch {
        // Recorded in result; the cleanup below still runs.
      } finally {
        if (mayExist) {
          try {
            await session.query(drop);
            result.cleanup = 'same_connection';
          } catch {
            // Retried on a fresh connection below.
          }
        }
      }
    });
  } catch (error) {
    if (!mayExist && result.failed_step === null && !cancelled) throw error;
  }
  if (mayExist && result.cleanup === 'not_needed') {
    try {
      await connector.fresh(conn, (session) => session.query(drop));
      result.cleanup = 'fresh_connection';
    } catch {
      result.cleanup = 'failed';
      result.left_behind = true;
    }
  }
  if (cancelled) {
    throw new OperatorError(
      'Probe cancelled',
      `Cancelled after ${result.steps_done.length ? result.steps_done.join(', ') : 'no step'}; ${result.left_behind ? `table ${table} could NOT be dropped` : mayExist ? `table ${table} was dropped` : 'no table was created'}.`,
      result.left_behind ? `run DROP TABLE IF EXISTS ${ident}; on the cluster.` : 'run verify_encryption_sql with probe: true again when ready.',
      { kind: 'cancelled', probe: result },
    );
  }
  result.ok = result.failed_step === null && result.read_back_matches === true;
  return result;
}
