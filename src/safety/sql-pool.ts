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

/** SQLSTATEs that mean "run the transaction again": serialization failure, deadlock, unique race. */
const RETRYABLE = new Set(['40001', '40P01', '23505', '42P07']);

/** Runs `attempt` again (a few times, with backoff) when the database asks for a retry. */
async function retrying<T>(attempt: () => Promise<T>, attempts = 8): Promise<T> {
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

/** Runs `work` in a transaction, retried as `retrying` does. */
export function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  return retrying(async () => {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
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
