import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSqlEmulator, type SqlEmulator } from '../../src/sandbox/sql-server.js';
import { SEEDED_NODES } from '../../src/sandbox/sql-seed.js';

let emulator: SqlEmulator;
let url: string;
const clients: pg.Client[] = [];

async function connect(extra: Partial<pg.ClientConfig> = {}): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, ...extra });
  client.on('error', () => {});
  await client.connect();
  clients.push(client);
  return client;
}

async function sqlError(promise: Promise<unknown>): Promise<{ code?: string; message: string; hint?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; message: string; hint?: string };
  }
  throw new Error('expected the statement to fail');
}

beforeAll(async () => {
  emulator = createSqlEmulator();
  expect(emulator.started).toBe(false);
  url = await emulator.connectionString();
});

afterEach(() => emulator.faults.reset());

afterAll(async () => {
  await Promise.all(clients.map((client) => client.end().catch(() => {})));
  await emulator.close();
});

describe('SQL emulator (PGlite over the Postgres wire)', () => {
  it('starts lazily on 127.0.0.1 and reports CockroachDB v26.1', async () => {
    expect(emulator.started).toBe(true);
    expect(url).toMatch(/^postgresql:\/\/root@127\.0\.0\.1:\d+\/defaultdb\?sslmode=disable$/);
    expect(await emulator.connectionString()).toBe(url);
    const client = await connect();
    const { rows } = await client.query('SELECT version() AS version');
    expect(rows[0].version).toMatch(/^CockroachDB CCL v26\.1\.0 \(x86_64-pc-linux-gnu, built /);
  });

  it('restricts crdb_internal until SET allow_unsafe_internals = true, scoped to the transaction', async () => {
    const client = await connect();
    const denied = await sqlError(client.query('SELECT node_id FROM crdb_internal.kv_node_status'));
    expect(denied.code).toBe('42501');
    expect(denied.message).toContain('Access to crdb_internal and system is restricted');
    expect(denied.hint).toContain('allow_unsafe_internals');

    await client.query('BEGIN TRANSACTION READ ONLY');
    await client.query('SET allow_unsafe_internals = true');
    expect((await client.query('SHOW allow_unsafe_internals')).rows[0].allow_unsafe_internals).toBe('on');
    const { rows } = await client.query('SELECT node_id, address, metrics FROM crdb_internal.kv_node_status ORDER BY node_id');
    await client.query('ROLLBACK');
    expect(rows.map((row) => Number(row.node_id))).toEqual([1, 2, 3]);
    const now = Date.now() / 1000;
    const days = (row: { metrics: Record<string, number> }, type: string) => (row.metrics[`security.certificate.expiration.${type}`]! - now) / 86_400;
    expect(days(rows[1], 'node')).toBeLessThan(30);
    expect(days(rows[2], 'node')).toBeGreaterThan(30);
    expect(days(rows[2], 'node')).toBeLessThan(90);
    expect(days(rows[0], 'ca')).toBeGreaterThan(365);
    expect(rows[0].metrics['security.certificate.expiration.ui-ca']).toBe(0);

    expect((await sqlError(client.query('SELECT 1 FROM crdb_internal.kv_node_status'))).code).toBe('42501');
    expect((await client.query('SHOW allow_unsafe_internals')).rows[0].allow_unsafe_internals).toBe('off');
  });

  it('seeds per-store encryption: node 1 AES-256, node 2 AES-256 V2, node 3 plaintext', async () => {
    const client = await connect();
    await client.query('BEGIN');
    await client.query("SET allow_unsafe_internals = 'on'");
    const { rows } = await client.query('SELECT node_id, store_id, metrics FROM crdb_internal.kv_store_status ORDER BY store_id');
    await client.query('ROLLBACK');
    expect(rows.map((row) => row.metrics['rocksdb.encryption.algorithm'])).toEqual(SEEDED_NODES.map((node) => node.storeEncryption));
    expect(rows.map((row) => row.metrics['rocksdb.encryption.algorithm'])).toEqual([3, 6, 0]);
  });

  it('refuses SET allow_unsafe_internals on a locked-down cluster', async () => {
    emulator.faults.refuseUnsafeInternals = true;
    const client = await connect();
    const error = await sqlError(client.query('SET allow_unsafe_internals = true'));
    expect(error.code).toBe('42501');
    expect(error.message).toContain('allow_unsafe_internals');
  });

  it('answers permission denied on crdb_internal when the knob is on', async () => {
    emulator.faults.permissionDenied = true;
    const client = await connect();
    await client.query('BEGIN');
    await client.query('SET allow_unsafe_internals = true');
    const error = await sqlError(client.query('SELECT * FROM crdb_internal.kv_node_status'));
    await client.query('ROLLBACK');
    expect(error.code).toBe('42501');
    expect(error.message).toContain('privilege');
  });

  it('injects 40001 a given number of times, over simple and extended protocol', async () => {
    const client = await connect();
    emulator.faults.retryErrors(2, /SELECT \$1::int/);
    expect((await sqlError(client.query('SELECT $1::int AS n', [7]))).code).toBe('40001');
    expect((await sqlError(client.query('SELECT $1::int AS n', [7]))).code).toBe('40001');
    expect((await client.query('SELECT $1::int AS n', [7])).rows[0].n).toBe(7);
    emulator.faults.inject({ match: /SELECT 41/, count: 1, sqlstate: '40001', message: 'restart transaction' });
    expect((await sqlError(client.query('SELECT 41'))).message).toBe('restart transaction');
    expect((await client.query('SELECT 41 AS n')).rows[0].n).toBe(41);
  });

  it('fails only the probe read-back and drop when asked to', async () => {
    const client = await connect();
    emulator.faults.failProbeAfterInsert().failProbeDrop();
    await client.query('CREATE TABLE crdb_mcp_probe_knob (id INT8 PRIMARY KEY)');
    await client.query('INSERT INTO crdb_mcp_probe_knob VALUES (1)');
    expect((await sqlError(client.query('SELECT id FROM crdb_mcp_probe_knob'))).message).toContain('between insert and drop');
    expect((await sqlError(client.query('DROP TABLE IF EXISTS crdb_mcp_probe_knob'))).code).toBe('08006');
    await client.query('DROP TABLE IF EXISTS crdb_mcp_probe_knob');
    const { rows } = await client.query("SELECT tablename FROM pg_tables WHERE tablename LIKE 'crdb_mcp_probe_%'");
    expect(rows).toEqual([]);
  });

  it('creates unqualified tables in public, not in the compatibility schema', async () => {
    const client = await connect();
    await client.query('CREATE TABLE plain_table (id INT8)');
    const { rows } = await client.query("SELECT schemaname FROM pg_tables WHERE tablename = 'plain_table'");
    await client.query('DROP TABLE plain_table');
    expect(rows).toEqual([{ schemaname: 'public' }]);
  });

  it('slows statements down (a client timeout fires)', async () => {
    const client = await connect({ query_timeout: 50 });
    emulator.faults.latencyMs = 400;
    emulator.faults.latencyMatch = /pg_sleep_marker/;
    const error = await sqlError(client.query('SELECT 1 AS pg_sleep_marker'));
    expect(error.message).toMatch(/timeout/i);
  });

  it('impersonates plain PostgreSQL when asked', async () => {
    emulator.faults.plainPostgres = true;
    const client = await connect();
    expect((await client.query('SELECT version() AS v')).rows[0].v).toMatch(/^PostgreSQL /);
    expect((await sqlError(client.query('SELECT * FROM crdb_internal.kv_node_status'))).code).toBe('42P01');
  });

  it('logs every statement it receives', async () => {
    const client = await connect();
    const before = emulator.statements.count();
    await client.query('SELECT 1');
    await client.query('SELECT $1::text AS t', ['x']);
    expect(emulator.statements.count() - before).toBe(2);
    expect(emulator.statements.count({ operation: /^SELECT \$1::text/ })).toBeGreaterThanOrEqual(1);
  });

  it('closes without having started', async () => {
    const idle = createSqlEmulator();
    await idle.close();
    expect(idle.started).toBe(false);
  });
});
