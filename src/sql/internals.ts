/**
 * Reading crdb_internal. From v26.1 CockroachDB restricts it by default: the session must run
 * `SET allow_unsafe_internals = true` first, and CockroachDB logs each such access on the
 * SENSITIVE_ACCESS channel. We set it inside the same read-only transaction as the read, say so in
 * the answer, and tell the caller when the cluster refuses.
 */
import { errorMessage } from '../errors.js';
import type { ResolvedConnection } from './connection.js';
import type { RunOptions, SqlConnector } from './connector.js';
import { sqlState } from './errors.js';
import { atLeast, type ServerInfo } from './server-info.js';

/** How access to crdb_internal went. */
export type UnsafeInternalsOutcome = 'set' | 'not_needed' | 'refused' | 'not_attempted';

/** The cluster refused `SET allow_unsafe_internals = true`. */
export class UnsafeInternalsRefused extends Error {
  override name = 'UnsafeInternalsRefused';
  constructor(
    readonly sqlstate: string | undefined,
    readonly serverMessage: string,
  ) {
    super(`SET allow_unsafe_internals = true was refused: ${serverMessage}`);
  }
}

export const SET_UNSAFE_INTERNALS = 'SET allow_unsafe_internals = true';

/**
 * Runs one crdb_internal query in a read-only transaction, preceded by
 * SET allow_unsafe_internals. Releases without the setting (42704) read without it; so do
 * releases before v26.1 that refuse it, since the restriction is not on by default there.
 */
export async function readCrdbInternal<R>(
  connector: SqlConnector,
  conn: ResolvedConnection,
  info: ServerInfo,
  sql: string,
  options: RunOptions = {},
): Promise<{ rows: R[]; unsafeInternals: UnsafeInternalsOutcome; retries: number }> {
  try {
    const { value, retries } = await connector.readOnly(
      conn,
      async (session) => {
        try {
          await session.query(SET_UNSAFE_INTERNALS);
        } catch (error) {
          const state = sqlState(error);
          if (!state || state === '40001') throw error;
          throw new UnsafeInternalsRefused(state, errorMessage(error));
        }
        return session.query<R>(sql);
      },
      options,
    );
    return { rows: value, unsafeInternals: 'set', retries };
  } catch (error) {
    if (error instanceof UnsafeInternalsRefused && (error.sqlstate === '42704' || !atLeast(info, 26, 1))) {
      const { value, retries } = await connector.readOnly(conn, (session) => session.query<R>(sql), options);
      return { rows: value, unsafeInternals: 'not_needed', retries };
    }
    throw error;
  }
}

/** Said in every answer that set allow_unsafe_internals. */
export const SENSITIVE_ACCESS_NOTE =
  'This read ran SET allow_unsafe_internals = true: from v26.1 CockroachDB logs each such crdb_internal access on the SENSITIVE_ACCESS log channel (expect entries there). Reading over HTTP (http_url) avoids it.';

/** Where to read the same facts without crdb_internal. */
export const HTTP_ALTERNATIVES =
  'read the same metrics over HTTP instead: GET https://<node>:8080/_status/vars (Prometheus text, no login) or /_status/certificates/local and /_status/stores/local (DB Console admin login); pass http_url to let this tool do it';

/** A crdb_internal `metrics` column as an object (pg returns JSONB parsed, JSON text otherwise). */
export function metricsObject(value: unknown): Record<string, unknown> {
  if (typeof value === 'string') {
    try {
      return JSON.parse(value) as Record<string, unknown>;
    } catch {
      return {};
    }
  }
  return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
}
