/**
 * The SQL connector: resolves connection references, keeps one pg pool per connection (closed
 * with the server), runs read-only transactions with 40001 retries, and maps failures to
 * OperatorErrors. `pg` is imported on first use so start-up never pays for it.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { Client, ClientConfig, Pool, PoolClient } from 'pg';
import { OperatorError } from '../errors.js';
import type { Redactor } from '../safety/types.js';
import { parseConnectionUrl, resolveConnection, type ResolvedConnection, type SqlConnectionRequest, type TargetSource } from './connection.js';
import { abortError, sqlState, toSqlError } from './errors.js';
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from './retry.js';

/** One connection's statements, as a domain function sees them. */
export interface SqlSession {
  /** Runs one statement and returns its rows. Raw pg errors are thrown as they are. */
  query<R = Record<string, unknown>>(text: string): Promise<R[]>;
}

export interface RunOptions {
  signal?: AbortSignal;
}

export interface SqlConnector {
  /** Resolves a connection reference (no network I/O, except starting a lazy sandbox target). */
  resolve(request: SqlConnectionRequest): Promise<ResolvedConnection>;
  /**
   * Runs `fn` in `BEGIN TRANSACTION READ ONLY ... ROLLBACK`, retrying the whole transaction on
   * 40001 with jittered backoff. Cancellation interrupts the running statement.
   */
  readOnly<T>(conn: ResolvedConnection, fn: (session: SqlSession) => Promise<T>, options?: RunOptions): Promise<{ value: T; retries: number }>;
  /** A pooled connection in autocommit mode; statements are not interrupted mid-flight. */
  session<T>(conn: ResolvedConnection, fn: (session: SqlSession) => Promise<T>, options?: RunOptions): Promise<T>;
  /** A new, unpooled connection (for cleanup after a connection went bad), closed afterwards. */
  fresh<T>(conn: ResolvedConnection, fn: (session: SqlSession) => Promise<T>): Promise<T>;
  /** How many connection pools are open (at most MAX_POOLS, whatever the number of distinct connections used). */
  openPools(): Promise<number>;
  close(): Promise<void>;
}

/** Pools kept open at once; a fleet audit's configured targets fit, per-call URLs rotate out. */
export const MAX_POOLS = 32;

export interface SqlConnectorOptions {
  /** Named targets: name -> postgresql:// URL. */
  targets: Record<string, string>;
  databaseUrl?: string;
  /** The sandbox's self-hosted target, started lazily; also the default when no DATABASE_URL. */
  sandboxTarget?: { name: string; url: () => Promise<string> };
  statementTimeoutMs: number;
  connectTimeoutMs?: number;
  redactor: Redactor;
  retry?: RetryPolicy;
  poolSize?: number;
}

type PgModule = typeof import('pg')['default'];
let pgModule: Promise<PgModule> | undefined;
const loadPg = () => (pgModule ??= import('pg').then((module) => module.default));

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? homedir() + path.slice(1) : path;
}

async function readTlsFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(expandHome(path), 'utf8');
  } catch (error) {
    throw new OperatorError(
      `Cannot read ${what} ${path}`,
      `${(error as NodeJS.ErrnoException).code ?? 'read failed'}: the file is missing or not readable by this server.`,
      'pass the right path (a cockroach certs directory holds ca.crt and client.<user>.crt / client.<user>.key) and check its permissions.',
      { kind: 'tls_file' },
    );
  }
}

async function tlsOptions(conn: ResolvedConnection): Promise<false | ConnectionOptions> {
  if (conn.sslmode === 'disable') return false;
  const ca = conn.sslrootcert ? await readTlsFile(conn.sslrootcert, 'sslrootcert') : undefined;
  const cert = conn.sslcert ? await readTlsFile(conn.sslcert, 'sslcert') : undefined;
  const key = conn.sslkey ? await readTlsFile(conn.sslkey, 'sslkey') : undefined;
  const base: ConnectionOptions = { ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}) };
  if (conn.sslmode === 'require') return { ...base, rejectUnauthorized: false };
  if (conn.sslmode === 'verify-ca') return { ...base, rejectUnauthorized: true, checkServerIdentity: () => undefined };
  return { ...base, rejectUnauthorized: true, ...(isIP(conn.host) ? {} : { servername: conn.host }) };
}

function raceAbort<T>(pending: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      pending.catch(() => {});
      reject(abortError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Wraps a pg client; remembers whether the connection must be discarded. */
function wrapClient(client: PoolClient | Client, signal: AbortSignal | undefined, interruptible: boolean) {
  const state = { broken: false };
  const session: SqlSession = {
    async query<R>(text: string): Promise<R[]> {
      if (signal?.aborted) throw abortError();
      const pending = client.query(text);
      try {
        const result = interruptible && signal ? await raceAbort(pending, signal) : await pending;
        return result.rows as R[];
      } catch (error) {
        // Without a SQLSTATE the failure is the connection's (network, timeout, cancellation).
        if (!sqlState(error)) state.broken = true;
        throw error;
      }
    },
  };
  return { session, state };
}

/** Builds the connector. Registers every configured password (never a per-call URL's) with the redactor. */
export function createSqlConnector(options: SqlConnectorOptions): SqlConnector {
  const retry = options.retry ?? DEFAULT_RETRY;
  const pools = new Map<string, Promise<Pool>>();
  const registerPassword = (url: string | undefined) => {
    if (!url) return;
    try {
      options.redactor.addSecret(parseConnectionUrl(url).password);
    } catch {
      // A malformed configured URL is reported when it is used.
    }
  };
  registerPassword(options.databaseUrl);
  Object.values(options.targets).forEach(registerPassword);

  const source: TargetSource = {
    targets: { ...options.targets, ...(options.sandboxTarget ? { [options.sandboxTarget.name]: options.sandboxTarget.url } : {}) },
    ...(options.databaseUrl
      ? { defaultTarget: options.databaseUrl }
      : options.sandboxTarget
        ? { defaultTarget: options.sandboxTarget.url, defaultName: options.sandboxTarget.name }
        : {}),
  };

  const clientConfig = async (conn: ResolvedConnection): Promise<ClientConfig> => ({
    host: conn.host,
    port: conn.port,
    user: conn.user,
    database: conn.database,
    ...(conn.password ? { password: conn.password } : {}),
    ssl: await tlsOptions(conn),
    connectionTimeoutMillis: conn.connectTimeoutMs ?? options.connectTimeoutMs ?? 10_000,
    statement_timeout: options.statementTimeoutMs,
    // Client-side backstop in case the server does not enforce statement_timeout.
    query_timeout: options.statementTimeoutMs + Math.min(5_000, options.statementTimeoutMs),
    application_name: conn.applicationName ?? 'crdb-encryption-mcp',
    ...(conn.options ? { options: conn.options } : {}),
  });

  /** Per-call URLs each get a pool: the oldest are closed (once their clients are released) beyond `max`. */
  const evictBeyond = (max: number) => {
    for (const [key, pool] of pools) {
      if (pools.size <= max) break;
      pools.delete(key);
      pool.then((evicted) => evicted.end()).catch(() => {});
    }
  };

  const poolFor = (conn: ResolvedConnection): Promise<Pool> => {
    const key = JSON.stringify([
      conn.host,
      conn.port,
      conn.user,
      conn.password,
      conn.database,
      conn.sslmode,
      conn.sslrootcert,
      conn.sslcert,
      conn.sslkey,
      conn.options,
      conn.applicationName,
    ]);
    let pool = pools.get(key);
    if (!pool) {
      pool = (async () => {
        const [pg, config] = await Promise.all([loadPg(), clientConfig(conn)]);
        const created = new pg.Pool({ ...config, max: options.poolSize ?? 4, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
        created.on('error', () => {}); // an idle client's connection died; the pool replaces it
        return created;
      })();
      pools.set(key, pool);
      pool.catch(() => pools.delete(key));
      evictBeyond(MAX_POOLS);
    }
    return pool;
  };

  const withPooledClient = async <T>(
    conn: ResolvedConnection,
    signal: AbortSignal | undefined,
    interruptible: boolean,
    fn: (session: SqlSession) => Promise<T>,
  ): Promise<T> => {
    if (signal?.aborted) throw abortError();
    const pool = await poolFor(conn);
    const client = await pool.connect();
    const { session, state } = wrapClient(client, signal, interruptible);
    try {
      return await fn(session);
    } finally {
      client.release(state.broken);
    }
  };

  return {
    async resolve(request) {
      const conn = await resolveConnection(request, source);
      // A configured target's password is a configured secret; a URL's is the call's own (tool-call.ts masks it per call).
      if (conn.source !== 'url') options.redactor.addSecret(conn.password);
      return conn;
    },
    async readOnly(conn, fn, { signal } = {}) {
      let retries = 0;
      const attempt = () =>
        withPooledClient(conn, signal, true, async (session) => {
          await session.query('BEGIN TRANSACTION READ ONLY');
          try {
            const value = await fn(session);
            await session.query('ROLLBACK');
            return value;
          } catch (error) {
            await session.query('ROLLBACK').catch(() => {});
            throw error;
          }
        });
      try {
        const value = await withRetry(attempt, retry, signal, () => (retries += 1));
        return { value, retries };
      } catch (error) {
        throw toSqlError(error, conn);
      }
    },
    async session(conn, fn, { signal } = {}) {
      try {
        return await withPooledClient(conn, signal, false, fn);
      } catch (error) {
        throw toSqlError(error, conn);
      }
    },
    async fresh(conn, fn) {
      const [pg, config] = await Promise.all([loadPg(), clientConfig(conn)]);
      const client = new pg.Client(config);
      client.on('error', () => {});
      try {
        await client.connect();
        return await fn(wrapClient(client, undefined, false).session);
      } catch (error) {
        throw toSqlError(error, conn);
      } finally {
        await client.end().catch(() => {});
      }
    },
    async openPools() {
      return pools.size;
    },
    async close() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.allSettled(all.map(async (pool) => (await pool).end()));
    },
  };
}
