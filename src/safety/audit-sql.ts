/**
 * The team audit store (`--audit-db postgres://...`): the same chained entries in a table of a
 * PostgreSQL or CockroachDB database, shared by every server replica.
 *
 * Tables (created if missing):
 *   crdb_encryption_mcp_audit_log  (seq INT8 PRIMARY KEY, entry TEXT, hash TEXT)
 *   crdb_encryption_mcp_audit_head (id INT8 PRIMARY KEY, seq INT8, hash TEXT) -- one row, id 1
 * An append is one transaction that locks the head row (SELECT ... FOR UPDATE, supported by both
 * databases), checks it against the last entry, inserts the next entry and moves the head. The
 * seq primary key refuses a forked chain even if locking were bypassed; serialization failures
 * (40001, common on CockroachDB) are retried. The head row detects rows removed from the end.
 */
import type { Pool, PoolClient } from 'pg';
import { AuditLogError } from './audit-log-error.js';
import { ChainVerifier, GENESIS_HASH, chainHeadSchema, sealEntry, type ChainHead } from './audit-chain.js';
import { canonicalJson } from './canonical.js';
import { describeSqlUrl, inTransaction, lazyPool } from './sql-pool.js';
import type { AuditLog, AuditVerification, Redactor } from './types.js';

const LOG = 'crdb_encryption_mcp_audit_log';
const HEAD = 'crdb_encryption_mcp_audit_head';
const PAGE = 500;

/**
 * Creates the audit tables and the head row when missing (safe to run from several replicas).
 * One transaction, also so that PGlite-style servers that multiplex connections keep it together.
 */
async function ensureSchema(pool: Pool): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query(`CREATE TABLE IF NOT EXISTS ${LOG} (seq INT8 PRIMARY KEY, entry TEXT NOT NULL, hash TEXT NOT NULL)`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${HEAD} (id INT8 PRIMARY KEY, seq INT8 NOT NULL, hash TEXT NOT NULL)`);
    // Only an empty log gets a fresh head: a head row deleted from a non-empty log stays missing.
    await client.query(`INSERT INTO ${HEAD} (id, seq, hash) SELECT 1, 0, $1 WHERE NOT EXISTS (SELECT 1 FROM ${LOG}) ON CONFLICT (id) DO NOTHING`, [GENESIS_HASH]);
  });
}

function toHead(row: { seq: unknown; hash: unknown } | undefined): ChainHead | 'missing' | 'corrupt' {
  if (!row) return 'missing';
  const parsed = chainHeadSchema.safeParse({ seq: Number(row.seq), hash: row.hash });
  return parsed.success ? parsed.data : 'corrupt';
}

/** Checks the chain as seen by `client`'s transaction; a database never written to is an empty log. */
async function verifySnapshot(client: PoolClient, store: string): Promise<AuditVerification> {
  const tables = await client.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ($1, $2)`, [LOG, HEAD]);
  const present = new Set(tables.rows.map((row: { table_name: string }) => row.table_name));
  const headRow = present.has(HEAD) ? (await client.query(`SELECT seq, hash FROM ${HEAD} WHERE id = 1`)).rows[0] : undefined;
  const verifier = new ChainVerifier(toHead(headRow), store, 0);
  for (let after = -1; present.has(LOG); ) {
    const rows = (await client.query(`SELECT seq, entry FROM ${LOG} WHERE seq > $1 ORDER BY seq LIMIT ${PAGE}`, [after])).rows as Array<{ seq: unknown; entry: unknown }>;
    for (const row of rows) verifier.push(typeof row.entry === 'string' ? row.entry : null, Number(row.seq));
    if (rows.length < PAGE) break;
    after = Number(rows[rows.length - 1]!.seq);
  }
  return verifier.finish();
}

/** Opens the SQL audit store; connects (and creates the tables) on first use. */
export function openSqlAuditLog(url: string, redactor: Redactor): AuditLog {
  const store = `${describeSqlUrl(url)} table ${LOG}`;
  const pool = lazyPool(url, 4, (error) => {
    process.stderr.write(`[crdb-encryption-mcp] audit database connection error: ${redactor.redactText(error.message)}\n`);
  });
  let schema: Promise<void> | undefined;
  const unreachable = (error: unknown) =>
    new AuditLogError(
      `cannot use the audit database ${store}: ${redactor.redactText(error instanceof Error ? error.message : String(error))}`,
      `check that the database is reachable and that its user may create and write the tables ${LOG} and ${HEAD}.`,
    );
  const inconsistent = (problem: string) =>
    new AuditLogError(
      `the audit table ${store} is inconsistent: ${problem}`,
      `run \`crdb-encryption-mcp verify-audit-log --audit-db <url>\`, keep the tables unchanged as evidence (copy them), and investigate before writing to them again.`,
    );

  return {
    async append(event) {
      const entryEvent = redactor.redact(event);
      try {
        const db = await pool.get();
        schema ??= ensureSchema(db).catch((error: unknown) => {
          schema = undefined;
          throw error;
        });
        await schema;
        await inTransaction(db, async (client) => {
          const head = toHead((await client.query(`SELECT seq, hash FROM ${HEAD} WHERE id = 1 FOR UPDATE`)).rows[0]);
          if (head === 'missing') throw inconsistent('its head row is missing');
          if (head === 'corrupt') throw inconsistent('its head row is unreadable');
          const last = (await client.query(`SELECT seq, hash FROM ${LOG} ORDER BY seq DESC LIMIT 1`)).rows[0] as { seq: unknown; hash: unknown } | undefined;
          const lastSeq = last ? Number(last.seq) : 0;
          const lastHash = last ? last.hash : GENESIS_HASH;
          if (lastSeq !== head.seq || lastHash !== head.hash) {
            throw inconsistent(`its last entry (seq ${lastSeq}) does not match its head (seq ${head.seq}): rows were removed or edited`);
          }
          const entry = sealEntry(entryEvent, head);
          await client.query(`INSERT INTO ${LOG} (seq, entry, hash) VALUES ($1, $2, $3)`, [entry.seq, canonicalJson(entry), entry.hash]);
          await client.query(`UPDATE ${HEAD} SET seq = $1, hash = $2 WHERE id = 1`, [entry.seq, entry.hash]);
        });
      } catch (error) {
        throw error instanceof AuditLogError ? error : unreachable(error);
      }
    },

    async verify(): Promise<AuditVerification> {
      let client: PoolClient | undefined;
      try {
        client = await (await pool.get()).connect();
        // One snapshot for head and rows, so appends made meanwhile are not mistaken for tampering.
        await client.query('BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
        const result = await verifySnapshot(client, store);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client?.query('ROLLBACK').catch(() => {});
        throw unreachable(error);
      } finally {
        client?.release();
      }
    },

    close: () => pool.end(),
  };
}
