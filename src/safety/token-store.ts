/**
 * Where spent confirmation nonces are remembered, so each sealed confirmation state (form state
 * or token) works once: in memory for one process, in a file under the state directory shared by
 * every process on the machine, or in a table of the `--audit-db` database shared by replicas.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { withFileLock } from './file-lock.js';
import { inTransaction, lazyPool } from './sql-pool.js';
import type { TokenStore } from './types.js';

/** Single-use bookkeeping for one process. Expired nonces are dropped (their states fail on expiry first). */
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

/**
 * Single-use bookkeeping shared by every process that uses the same file (the default without
 * --audit-db: several stdio servers or HTTP processes on one machine with one CONFIRM_SECRET).
 * The file holds `{ nonce: expiresAt }` as JSON (0600); a consume runs under a lock file
 * (`<path>.lock`, see file-lock.ts), drops expired nonces, and replaces the file atomically
 * (written, fsynced, renamed) before it answers, so a spent nonce survives a crash.
 */
export function createFileTokenStore(path: string): TokenStore {
  return {
    async consume(nonce, expiresAt, now) {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      return withFileLock(`${path}.lock`, async () => {
        const used = await readSpent(path);
        for (const [key, expiry] of used) if (expiry < now) used.delete(key);
        if (used.has(nonce)) return false;
        used.set(nonce, expiresAt);
        await replaceFile(path, JSON.stringify(Object.fromEntries(used)));
        return true;
      });
    },
    async close() {},
  };
}

async function readSpent(path: string): Promise<Map<string, number>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !Object.values(parsed).every((value) => typeof value === 'number')) {
    throw new Error(
      `${path} is not a spent-confirmation file; move it aside (confirmations issued before then stay refused only until they expire, 10 minutes at most)`,
    );
  }
  return new Map(Object.entries(parsed as Record<string, number>));
}

async function replaceFile(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomUUID()}.tmp`;
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
}

const TABLE = 'crdb_encryption_mcp_confirm_tokens';

/**
 * Single-use bookkeeping shared through PostgreSQL/CockroachDB (the `--audit-db` database), for
 * replicas behind one URL that share CONFIRM_SECRET.
 *
 * Contract (what a test on a real server may rely on):
 * - Table `crdb_encryption_mcp_confirm_tokens (nonce TEXT PRIMARY KEY, expires_at INT8 NOT NULL)`,
 *   expires_at in epoch ms, created on first use (`CREATE TABLE IF NOT EXISTS`).
 * - `consume(nonce, expiresAt, now)` resolves true for exactly one caller per nonce across every
 *   process and connection: one transaction runs `INSERT ... ON CONFLICT (nonce) DO NOTHING
 *   RETURNING nonce` (true when a row came back), then deletes rows with expires_at < now. The
 *   transaction is retried on serialization failures and unique-violation races (sql-pool.ts).
 * - A database error rejects; the gate then refuses the confirmation (single use unprovable).
 * - `close()` ends the pool; idle connections also close after 500 ms on their own.
 */
export function createSqlTokenStore(url: string, onIdleError: (error: Error) => void = () => {}): TokenStore {
  // Nothing closes the gate's store: idle connections go quickly instead (confirmations are rare).
  const pool = lazyPool(url, 2, onIdleError, 500);
  let schema: Promise<unknown> | undefined;
  return {
    async consume(nonce, expiresAt, now) {
      const db = await pool.get();
      schema ??= inTransaction(db, (client) => client.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (nonce TEXT PRIMARY KEY, expires_at INT8 NOT NULL)`)).catch(
        (error: unknown) => {
          schema = undefined;
          throw error;
        },
      );
      await schema;
      return inTransaction(db, async (client) => {
        const inserted = await client.query(`INSERT INTO ${TABLE} (nonce, expires_at) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING RETURNING nonce`, [
          nonce,
          expiresAt,
        ]);
        await client.query(`DELETE FROM ${TABLE} WHERE expires_at < $1`, [now]);
        return inserted.rowCount === 1;
      });
    },
    close: () => pool.end(),
  };
}
