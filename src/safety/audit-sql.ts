/**
 * The team audit store (`--audit-db postgres://...`): the same sealed entries in a table of a
 * PostgreSQL or CockroachDB database, shared by every server replica (which must share the audit
 * key, CRDB_AUDIT_KEY).
 *
 * Tables (created if missing):
 *   crdb_encryption_mcp_audit_log  (seq INT8 PRIMARY KEY, entry TEXT, hash TEXT) -- seq 0 is the header
 *   crdb_encryption_mcp_audit_head (id INT8 PRIMARY KEY, seq INT8, hash TEXT, log_id TEXT, mac TEXT) -- one row, id 1
 * An append is one transaction that locks the head row (SELECT ... FOR UPDATE, supported by both
 * databases), checks its signature and the last entry against it, inserts the next entry and moves
 * the head. The seq primary key refuses a forked chain even if locking were bypassed;
 * serialization failures (40001, common on CockroachDB) are retried. The signed head row detects
 * rows removed from the end; this machine's checkpoint (audit-checkpoint.ts), tables dropped.
 */
import type { Pool, PoolClient } from 'pg';
import { AuditLogError } from './audit-log-error.js';
import {
  ChainVerifier,
  createHeader,
  entrySealValid,
  headSignatureValid,
  headerProblem,
  parseEntry,
  parseHead,
  parseHeader,
  sealEntry,
  signHead,
  type ChainHead,
  type LogHeader,
  type SignedHead,
  type StoredHead,
} from './audit-chain.js';
import { checkpointPath, readCheckpoint, writeCheckpoint } from './audit-checkpoint.js';
import type { AuditKey, AuditKeySource } from './audit-key.js';
import { canonicalJson } from './canonical.js';
import { describeSqlUrl, inTransaction, lazyPool } from './sql-pool.js';
import type { AuditVerification, AuditLog, Redactor } from './types.js';

const LOG = 'crdb_encryption_mcp_audit_log';
const HEAD = 'crdb_encryption_mcp_audit_head';
const PAGE = 500;

/**
 * Creates the audit tables when missing (safe to run from several replicas), and adds the head's
 * signature columns to tables of an earlier version. One transaction, also so that PGlite-style
 * servers that multiplex connections keep it together.
 */
async function ensureSchema(pool: Pool): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query(`CREATE TABLE IF NOT EXISTS ${LOG} (seq INT8 PRIMARY KEY, entry TEXT NOT NULL, hash TEXT NOT NULL)`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${HEAD} (id INT8 PRIMARY KEY, seq INT8 NOT NULL, hash TEXT NOT NULL, log_id TEXT, mac TEXT)`);
  });
  const columns = await pool.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`, [HEAD]);
  const present = new Set(columns.rows.map((row: { column_name: string }) => row.column_name));
  for (const column of ['log_id', 'mac']) {
    if (!present.has(column)) await inTransaction(pool, (client) => client.query(`ALTER TABLE ${HEAD} ADD COLUMN IF NOT EXISTS ${column} TEXT`));
  }
}

function toHead(row: { seq: unknown; hash: unknown; log_id?: unknown; mac?: unknown } | undefined): StoredHead {
  if (!row) return 'missing';
  return parseHead({ seq: Number(row.seq), hash: row.hash, logId: row.log_id, mac: row.mac });
}

/** What the store holds, read in one transaction: the head row, the header row, and whether entries exist. */
async function readState(client: PoolClient, lock: boolean): Promise<{ head: StoredHead; header: string | undefined; hasEntries: boolean }> {
  const head = toHead((await client.query(`SELECT seq, hash, log_id, mac FROM ${HEAD} WHERE id = 1${lock ? ' FOR UPDATE' : ''}`)).rows[0]);
  const headerRow = (await client.query(`SELECT entry FROM ${LOG} WHERE seq = 0`)).rows[0] as { entry: unknown } | undefined;
  const hasEntries = (await client.query(`SELECT 1 FROM ${LOG} WHERE seq > 0 LIMIT 1`)).rows.length > 0;
  return { head, header: headerRow === undefined ? undefined : String(headerRow.entry), hasEntries };
}

const LEGACY_PROBLEM = `the audit table was written by an earlier version without a key (an unkeyed SHA-256 chain that anyone able to write the table can re-hash), so it is not extended`;
const LEGACY_NEXT = `keep it as a record: rename both tables aside (ALTER TABLE ${LOG} RENAME TO ${LOG}_v1; ALTER TABLE ${HEAD} RENAME TO ${HEAD}_v1); the next audited call then starts a new keyed log.`;

interface Context {
  store: string;
  keys: AuditKeySource;
}

/** Checks the chain as seen by `client`'s transaction; `checkpoint` was read before that transaction began. */
async function verifySnapshot(client: PoolClient, { store, keys }: Context, checkpoint: SignedHead | 'corrupt' | undefined): Promise<AuditVerification> {
  const tables = await client.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ($1, $2)`, [
    LOG,
    HEAD,
  ]);
  const present = new Set(tables.rows.map((row: { table_name: string }) => row.table_name));
  const state = present.has(LOG) && present.has(HEAD) ? await readState(client, false) : { head: 'missing' as const, header: undefined, hasEntries: false };
  const count = async () => (present.has(LOG) ? Number((await client.query(`SELECT count(*) AS n FROM ${LOG} WHERE seq > 0`)).rows[0].n) : 0);
  const fail = async (problem: string, firstBadEntry?: number): Promise<AuditVerification> => ({
    ok: false,
    entries: await count(),
    store,
    problem,
    ...(firstBadEntry === undefined ? {} : { firstBadEntry }),
  });
  if (state.header === undefined) {
    if (state.hasEntries) return fail(`${LEGACY_PROBLEM}; ${LEGACY_NEXT}`);
    if (state.head !== 'missing') return fail('the log rows are gone but the head row remains: the log was deleted', 1);
    if (checkpoint !== undefined) {
      return fail(
        `the audit tables are missing or empty, but this machine holds a checkpoint of the log at ${checkpointPath(keys.checkpointDir, store)}: the log was deleted`,
        1,
      );
    }
    return { ok: true, entries: 0, store };
  }
  const header = parseHeader(state.header);
  if (!header) return fail('the header row (seq 0) was edited: it is not a valid audit-log header');
  const key = await keys.load(false);
  if (!key)
    return fail(
      `the audit key (${keys.description}) is missing, and this log was sealed with key id ${header.keyId}: it cannot be checked until the key is restored from your backup`,
    );
  const problem = headerProblem(header, key);
  if (problem) return fail(problem);
  if (checkpoint === 'corrupt') return fail(`this machine's checkpoint of the log (${checkpointPath(keys.checkpointDir, store)}) is unreadable`);
  const verifier = new ChainVerifier({ key, header, head: state.head, checkpoint, store, allowedHeadLag: 0 });
  for (let after = 0; ; ) {
    const rows = (await client.query(`SELECT seq, entry FROM ${LOG} WHERE seq > $1 ORDER BY seq LIMIT ${PAGE}`, [after])).rows as Array<{
      seq: unknown;
      entry: unknown;
    }>;
    for (const row of rows) verifier.push(typeof row.entry === 'string' ? row.entry : null, Number(row.seq));
    if (rows.length < PAGE) break;
    after = Number(rows[rows.length - 1]!.seq);
  }
  return verifier.finish();
}

/** Opens the SQL audit store, sealed with the key from `keys`; connects (and creates the tables) on first use. */
export function openSqlAuditLog(url: string, redactor: Redactor, keys: AuditKeySource): AuditLog {
  const store = `${describeSqlUrl(url)} table ${LOG}`;
  const context: Context = { store, keys };
  const pool = lazyPool(url, 4, (error) => {
    process.stderr.write(`[crdb-encryption-mcp] audit database connection error: ${redactor.redactText(error.message)}\n`);
  });
  let schema: Promise<void> | undefined;
  let checkpointed = 0;
  let checkpointing = Promise.resolve();
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

  /** The header and head the next entry chains to, inside the append's transaction (a new header for a new log). */
  async function continueFrom(client: PoolClient, key: AuditKey): Promise<{ header: LogHeader; head: ChainHead }> {
    const { head, header: headerText, hasEntries } = await readState(client, true);
    const checkpoint = await readCheckpoint(keys.checkpointDir, store);
    if (headerText === undefined) {
      if (hasEntries) throw new AuditLogError(`the audit table ${store}: ${LEGACY_PROBLEM}`, LEGACY_NEXT);
      if (head !== 'missing') throw inconsistent('its rows are gone but its head row remains');
      if (checkpoint !== undefined)
        throw inconsistent(
          `its tables are empty, but this machine holds a checkpoint of the log at ${checkpointPath(keys.checkpointDir, store)}: the log was deleted (if it was moved aside on purpose, delete that checkpoint file too)`,
        );
      const header = createHeader(key);
      const start = signHead({ seq: 0, hash: header.hash }, header.logId, key);
      await client.query(`INSERT INTO ${LOG} (seq, entry, hash) VALUES (0, $1, $2)`, [canonicalJson(header), header.hash]);
      await client.query(`INSERT INTO ${HEAD} (id, seq, hash, log_id, mac) VALUES (1, 0, $1, $2, $3)`, [start.hash, start.logId, start.mac]);
      return { header, head: start };
    }
    const header = parseHeader(headerText);
    if (!header) throw inconsistent('its header row (seq 0) is not a valid audit-log header');
    const problem = headerProblem(header, key);
    if (problem) throw inconsistent(problem);
    if (head === 'missing') throw inconsistent('its head row is missing');
    if (head === 'corrupt' || !headSignatureValid(head, header.logId, key))
      throw inconsistent('its head row is unreadable or does not carry a valid signature');
    const lastRow = (await client.query(`SELECT seq, entry FROM ${LOG} WHERE seq > 0 ORDER BY seq DESC LIMIT 1`)).rows[0] as
      | { seq: unknown; entry: unknown }
      | undefined;
    const last = lastRow ? parseEntry(String(lastRow.entry)) : { seq: 0, hash: header.hash };
    if (!last || (lastRow && !entrySealValid(last as never, key))) throw inconsistent('its last entry is unparsable or does not match its HMAC');
    if (last.seq !== head.seq || last.hash !== head.hash)
      throw inconsistent(`its last entry (seq ${last.seq}) does not match its head (seq ${head.seq}): rows were removed or edited`);
    if (checkpoint === 'corrupt') throw inconsistent(`this machine's checkpoint ${checkpointPath(keys.checkpointDir, store)} is unreadable`);
    if (checkpoint && (!headSignatureValid(checkpoint, header.logId, key) || checkpoint.seq > head.seq)) {
      throw inconsistent(
        `this machine's checkpoint records ${checkpoint.seq} entries of log ${checkpoint.logId}, but the log (id ${header.logId}) ends at seq ${head.seq}: it was replaced, truncated or rolled back`,
      );
    }
    return { header, head };
  }

  /** Records the newest head this process appended (never an older one over a newer one). */
  function checkpoint(head: SignedHead): Promise<void> {
    checkpointing = checkpointing.then(async () => {
      if (head.seq <= checkpointed) return;
      await writeCheckpoint(keys.checkpointDir, store, head);
      checkpointed = head.seq;
    });
    return checkpointing;
  }

  return {
    async append(event) {
      const entryEvent = redactor.redact(event);
      let signed: SignedHead;
      try {
        const key = (await keys.load(true))!;
        const db = await pool.get();
        schema ??= ensureSchema(db).catch((error: unknown) => {
          schema = undefined;
          throw error;
        });
        await schema;
        signed = await inTransaction(db, async (client) => {
          const { header, head } = await continueFrom(client, key);
          const entry = sealEntry(entryEvent, head, key);
          const next = signHead(entry, header.logId, key);
          await client.query(`INSERT INTO ${LOG} (seq, entry, hash) VALUES ($1, $2, $3)`, [entry.seq, canonicalJson(entry), entry.hash]);
          await client.query(`UPDATE ${HEAD} SET seq = $1, hash = $2, mac = $3 WHERE id = 1`, [next.seq, next.hash, next.mac]);
          return next;
        });
      } catch (error) {
        throw error instanceof AuditLogError ? error : unreachable(error);
      }
      await checkpoint(signed);
    },

    async verify(): Promise<AuditVerification> {
      let client: PoolClient | undefined;
      try {
        // Read before the snapshot: it never records more than the snapshot will hold.
        const checkpoint = await readCheckpoint(keys.checkpointDir, store).catch(() => 'corrupt' as const);
        client = await (await pool.get()).connect();
        // One snapshot for head and rows, so appends made meanwhile are not mistaken for tampering.
        await client.query('BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
        const result = await verifySnapshot(client, context, checkpoint);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client?.query('ROLLBACK').catch(() => {});
        throw error instanceof AuditLogError ? error : unreachable(error);
      } finally {
        client?.release();
      }
    },

    close: () => pool.end(),
  };
}
