/**
 * Where used confirmation-token nonces are remembered, so each token works once: in memory for
 * one process, or in a table of the `--audit-db` database so every replica sees every use.
 */
import { inTransaction, lazyPool } from './sql-pool.js';
import type { TokenStore } from './types.js';

/** Single-use bookkeeping for one process. Expired nonces are dropped (their tokens fail on expiry first). */
export function createMemoryTokenStore(): TokenStore {
  const used = new Map<string, number>();
  return {
    async consume(nonce, expiresAt, now) {
      for (const [key, expiry] of used) if (expiry < now) used.delete(key);
      if (used.has(nonce)) return false;
      used.set(nonce, expiresAt);
      return true;
    },
    async close() {},
  };
}

const TABLE = 'crdb_encryption_mcp_confirm_tokens';

/**
 * Single-use bookkeeping shared through PostgreSQL/CockroachDB: table
 * crdb_encryption_mcp_confirm_tokens (nonce TEXT PRIMARY KEY, expires_at INT8 epoch ms), created
 * if missing. Consuming is one `INSERT ... ON CONFLICT DO NOTHING RETURNING`, atomic on both
 * (run in an explicit transaction, as every statement here, for servers that multiplex connections).
 */
export function createSqlTokenStore(url: string, onIdleError: (error: Error) => void = () => {}): TokenStore {
  // Nothing closes the gate's store: idle connections go quickly instead (tokens are rare).
  const pool = lazyPool(url, 2, onIdleError, 500);
  let schema: Promise<unknown> | undefined;
  return {
    async consume(nonce, expiresAt, now) {
      const db = await pool.get();
      schema ??= inTransaction(db, (client) => client.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (nonce TEXT PRIMARY KEY, expires_at INT8 NOT NULL)`)).catch((error: unknown) => {
        schema = undefined;
        throw error;
      });
      await schema;
      return inTransaction(db, async (client) => {
        const inserted = await client.query(`INSERT INTO ${TABLE} (nonce, expires_at) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING RETURNING nonce`, [nonce, expiresAt]);
        await client.query(`DELETE FROM ${TABLE} WHERE expires_at < $1`, [now]);
        return inserted.rowCount === 1;
      });
    },
    close: () => pool.end(),
  };
}
