import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { OperatorError } from '../../src/errors.js';
import { createRedactor } from '../../src/safety/redact.js';
import { createSqlEmulator, type SqlEmulator } from '../../src/sandbox/sql-server.js';
import { createSqlConnector, type SqlConnector } from '../../src/sql/connector.js';
import { runProbe } from '../../src/sql/probe.js';
import { closedPort } from '../helpers/harness.js';

let emulator: SqlEmulator;
let url: string;
let connector: SqlConnector;
let inspector: pg.Client;
const redactor = createRedactor();

async function probeTables(): Promise<string[]> {
  const { rows } = await inspector.query("SELECT tablename FROM pg_tables WHERE tablename LIKE 'crdb_mcp_probe_%'");
  return rows.map((row) => row.tablename as string);
}

beforeAll(async () => {
  emulator = createSqlEmulator();
  url = await emulator.connectionString();
  connector = createSqlConnector({
    targets: { local: url },
    sandboxTarget: { name: 'selfhosted', url: () => emulator.connectionString() },
    statementTimeoutMs: 300,
    redactor,
    retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 4 },
  });
  inspector = new pg.Client({ connectionString: url });
  await inspector.connect();
});

afterEach(() => emulator.faults.reset());

afterAll(async () => {
  await inspector.end();
  await connector.close();
  await emulator.close();
});

describe('SQL connector against the sandbox SQL server', () => {
  it('resolves the sandbox target by name and as the default', async () => {
    const port = Number(new URL(url).port);
    expect((await connector.resolve({ connection: 'selfhosted' })).port).toBe(port);
    expect(await connector.resolve({})).toMatchObject({ source: 'default', port, sslmode: 'disable' });
  });

  it('runs read-only transactions', async () => {
    const conn = await connector.resolve({ connection: 'local' });
    const { value } = await connector.readOnly(conn, (session) => session.query<{ v: string }>('SELECT version() AS v'));
    expect(value[0]!.v).toContain('CockroachDB CCL v26.1.0');
    await expect(connector.readOnly(conn, (session) => session.query('CREATE TABLE nope (id INT8)'))).rejects.toMatchObject({ details: { sqlstate: '25006' } });
  });

  it('retries 40001 with backoff, and gives up at the cap with a clear error', async () => {
    const conn = await connector.resolve({ connection: 'local' });
    emulator.faults.retryErrors(2, /SELECT 7 AS retried/);
    const ok = await connector.readOnly(conn, (session) => session.query<{ retried: number }>('SELECT 7 AS retried'));
    expect(ok).toEqual({ value: [{ retried: 7 }], retries: 2 });
    emulator.faults.retryErrors(10, /SELECT 8 AS retried/);
    await expect(connector.readOnly(conn, (session) => session.query('SELECT 8 AS retried'))).rejects.toMatchObject({
      what: expect.stringContaining('kept conflicting'),
      details: { kind: 'retry_exhausted' },
    });
    expect(emulator.faults.pending()[0]!.count).toBe(6);
  });

  it('maps permission denied', async () => {
    const conn = await connector.resolve({ connection: 'local' });
    emulator.faults.permissionDenied = true;
    const error = await connector.readOnly(conn, (session) => session.query('SELECT 1 FROM crdb_internal.kv_node_status')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperatorError);
    expect(error).toMatchObject({ what: expect.stringMatching(/^Permission denied on 127\.0\.0\.1:\d+$/), details: { kind: 'permission_denied' } });
  });

  it('reports a closed port, an unresolvable host and a TLS mismatch without echoing the password', async () => {
    const port = await closedPort();
    const secret = 'hunter2-very-secret';
    const conn = await connector.resolve({ connection: `postgresql://app:${secret}@127.0.0.1:${port}/db?sslmode=disable` });
    const refused = (await connector.readOnly(conn, (s) => s.query('SELECT 1')).catch((e: unknown) => e)) as OperatorError;
    expect(refused.what).toBe(`Cannot connect to 127.0.0.1:${port}`);
    expect(refused.message).not.toContain(secret);
    // A per-call URL's password is that call's secret (tool-call.ts masks it); the process-wide redactor never learns it.
    expect(redactor.redactText(`oops ${secret}`)).toBe(`oops ${secret}`);
    const dns = await connector.resolve({ connection: 'postgresql://root@no-such-host.invalid:26257/db?sslmode=disable&connect_timeout=3' });
    expect(await connector.readOnly(dns, (s) => s.query('SELECT 1')).catch((e: unknown) => e)).toMatchObject({ details: { kind: 'unreachable' } });
    const tls = await connector.resolve({ connection: url, sslmode: 'require' });
    expect(await connector.readOnly(tls, (s) => s.query('SELECT 1')).catch((e: unknown) => e)).toMatchObject({ details: { kind: 'tls' } });
  });

  it('reports unreadable TLS files before connecting', async () => {
    const conn = await connector.resolve({ connection: url, sslmode: 'verify-full', sslrootcert: '/nonexistent/ca.crt' });
    await expect(connector.readOnly(conn, (s) => s.query('SELECT 1'))).rejects.toMatchObject({ what: 'Cannot read sslrootcert /nonexistent/ca.crt' });
  });

  it('times out slow statements and interrupts a cancelled read', async () => {
    const conn = await connector.resolve({ connection: 'local' });
    emulator.faults.latencyMs = 700;
    emulator.faults.latencyMatch = /slow_marker/;
    await expect(connector.readOnly(conn, (s) => s.query('SELECT 1 AS slow_marker'))).rejects.toMatchObject({ details: { kind: 'timeout' } });
    const controller = new AbortController();
    const pending = connector.readOnly(conn, (s) => s.query('SELECT 2 AS slow_marker'), { signal: controller.signal });
    await vi.waitFor(() => expect(emulator.statements.count({ operation: /SELECT 2 AS slow_marker/ })).toBe(1));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('read/write probe', () => {
  it('creates, writes, reads back and drops its table', async () => {
    const conn = await connector.resolve({ connection: 'local' });
    const result = await runProbe(connector, conn);
    expect(result).toMatchObject({
      ok: true,
      steps_done: ['create', 'insert', 'select'],
      read_back_matches: true,
      cleanup: 'same_connection',
      left_behind: false,
    });
    expect(result.table).toMatch(/^crdb_mcp_probe_[a-z0-9]+_[0-9a-f]{8}$/);
    expect(await probeTables()).toEqual([]);
  });

  it('drops the table after a failure between insert and drop', async () => {
    const conn = await connector.resolve({ connection: 'local' });
    emulator.faults.failProbeAfterInsert();
    const result = await runProbe(connector, conn);
    expect(result).toMatchObject({ ok: false, failed_step: 'select', steps_done: ['create', 'insert'], cleanup: 'same_connection', left_behind: false });
    expect(result.error).toContain('between insert and drop');
    expect(await probeTables()).toEqual([]);
  });

  it('falls back to a fresh connection when the drop fails, and says when nothing worked', async () => {
    const conn = await connector.resolve({ connection: 'local' });
    emulator.faults.failProbeDrop(1);
    expect(await runProbe(connector, conn)).toMatchObject({ ok: true, cleanup: 'fresh_connection', left_behind: false });
    expect(await probeTables()).toEqual([]);
    emulator.faults.failProbeDrop(2);
    const stuck = await runProbe(connector, conn);
    expect(stuck).toMatchObject({ cleanup: 'failed', left_behind: true });
    expect(await probeTables()).toEqual([stuck.table]);
    await inspector.query(`DROP TABLE "${stuck.table}"`);
  });

  it('does not clean up what was never created', async () => {
    const conn = await connector.resolve({ connection: 'local' });
    emulator.faults.inject({
      match: /^CREATE TABLE "crdb_mcp_probe_/,
      count: 1,
      sqlstate: '42501',
      message: 'user app has no CREATE privilege on database defaultdb',
    });
    const drops = emulator.statements.count({ operation: /^DROP TABLE/ });
    const result = await runProbe(connector, conn);
    expect(result).toMatchObject({ ok: false, failed_step: 'create', cleanup: 'not_needed', left_behind: false });
    expect(result.error).toContain('no CREATE privilege');
    expect(emulator.statements.count({ operation: /^DROP TABLE/ })).toBe(drops);
  });

  it('drops the table when cancelled mid-probe', async () => {
    const conn = await connector.resolve({ connection: 'local' });
    emulator.faults.latencyMs = 200;
    emulator.faults.latencyMatch = /^INSERT INTO "crdb_mcp_probe_/;
    const controller = new AbortController();
    const inserts = emulator.statements.count({ operation: /^INSERT INTO "crdb_mcp_probe_/ });
    const pending = runProbe(connector, conn, controller.signal);
    await vi.waitFor(() => expect(emulator.statements.count({ operation: /^INSERT INTO "crdb_mcp_probe_/ })).toBe(inserts + 1));
    controller.abort();
    const error = (await pending.catch((e: unknown) => e)) as OperatorError;
    expect(error.what).toBe('Probe cancelled');
    expect(error.why).toMatch(/Cancelled after create, insert; table crdb_mcp_probe_\S+ was dropped/);
    expect(await probeTables()).toEqual([]);
  });

  it('throws a clear error when it cannot connect at all', async () => {
    const conn = await connector.resolve({ connection: `postgresql://root@127.0.0.1:${await closedPort()}/db?sslmode=disable` });
    await expect(runProbe(connector, conn)).rejects.toMatchObject({ details: { kind: 'unreachable' } });
  });
});
