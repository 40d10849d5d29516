/**
 * Connection handling for the SQL-backed safety stores (audit table, token table): `pg` is
 * imported on first use, pools let the process exit when idle, and transactions are retried on
 * the errors PostgreSQL and CockroachDB use to ask for a retry.
 */
import type { Pool, PoolClient } from 'pg';

/** A pg pool created on first use. */
export interface LazyPool {
  get(): Promise<Pool>;
  end(): Promise<void>;
}

/** Creates the pool on the first `get()`; `onIdleError` sees errors of idle connections. Idle connections close after `idleTimeoutMillis`. */
export function lazyPool(url: string, max: number, onIdleError: (error: Error) => void, idleTimeoutMillis = 5_000): LazyPool {
  let pool: Promise<Pool> | undefined;
  return {
    get() {
      pool ??= import('pg').then(({ Pool: PgPool }) => {
        const created = new PgPool({ connectionString: url, max, allowExitOnIdle: true, idleTimeoutMillis, connectionTimeoutMillis: 10_000 });
        created.on('error', onIdleError);
        return created;
      });
      return pool;
    },
    async end() {
      const current = pool;
      pool = undefined;
      if (current) await (await current).end();
    },
  };
}

/** Names a PostgreSQL/CockroachDB URL without credentials or query: postgres://host:port/db. */
export function describeSqlUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `postgres://${parsed.host}${parsed.pathname}`;
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/**
 * SQLSTATEs that mean "run the transaction again": serialization failure, deadlock, unique race,
 * and a table or its row type created by a concurrent replica meanwhile (42P07, 42710).
 */
const RETRYABLE = new Set(['40001', '40P01', '23505', '42P07', '42710']);

/** Runs `attempt` again (a few times, with backoff) when the database asks for a retry. */
async function retrying<T>(attempt: () => Promise<T>, attempts = 20): Promise<T> {
  for (let n = 1; ; n += 1) {
    try {
      return await attempt();
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (n >= attempts || !code || !RETRYABLE.has(code)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(5 * 2 ** n, 500) * (0.5 + Math.random())));
    }
  }
}

/**
 * Runs `work` in a transaction, retried as `retrying` does. REPEATABLE READ: every statement of
 * `work` sees one snapshot (PostgreSQL's default READ COMMITTED takes a new one per statement, so
 * a replica could read "no header row" and then "entries exist" while another replica creates the
 * log); a concurrent writer then surfaces as 40001 or 23505 and the whole transaction is retried.
 * CockroachDB runs it as SERIALIZABLE unless REPEATABLE READ is enabled there.
 */
export function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  return retrying(async () => {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      client.release(broken);
    }
  });
}
