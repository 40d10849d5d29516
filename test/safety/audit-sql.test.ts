/**
 * The SQL audit store and token table against PostgreSQL wire protocol (PGlite over
 * pglite-socket, started once for the file), through `pg`, as replicas would use them.
 */
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config.js';
import { openAuditLog, verifyConfiguredAuditLog } from '../../src/safety/audit-log.js';
import { entryHash } from '../../src/safety/audit-chain.js';
import { openSqlAuditLog } from '../../src/safety/audit-sql.js';
import { createConfirmationGate } from '../../src/safety/confirm.js';
import { createRedactor } from '../../src/safety/redact.js';
import { createSqlTokenStore } from '../../src/safety/token-store.js';
import type { AuditEntry, AuditEvent, AuditLog } from '../../src/safety/types.js';

const PASSWORD = 'sql-canary-pw-7Kd0';
let db: PGlite;
let socket: PGLiteSocketServer;
let url: string;
let admin: pg.Client;
const opened: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  db = await PGlite.create();
  socket = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 32 });
  await socket.start();
  const port = Number(socket.getServerConn().split(':').pop());
  url = `postgresql://postgres:${PASSWORD}@127.0.0.1:${port}/postgres?sslmode=disable`;
  admin = new pg.Client({ connectionString: url });
  await admin.connect();
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((item) => item.close()));
  await admin.query('DROP TABLE IF EXISTS crdb_encryption_mcp_audit_log, crdb_encryption_mcp_audit_head, crdb_encryption_mcp_confirm_tokens');
});

afterAll(async () => {
  await admin.end();
  await socket.stop();
  await db.close();
});

function replica(): AuditLog {
  const log = openSqlAuditLog(url, createRedactor());
  opened.push(log);
  return log;
}

function event(i: number, target = 'c'): AuditEvent {
  return { time: `2025-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`, tool: 'revoke_cmek', target, params: { i }, outcome: 'attempted', attemptId: `a-${i}` };
}

async function fill(count: number): Promise<AuditLog> {
  const log = replica();
  for (let i = 1; i <= count; i += 1) await log.append(event(i));
  return log;
}

const rows = async () => (await admin.query('SELECT seq, entry FROM crdb_encryption_mcp_audit_log ORDER BY seq')).rows as Array<{ seq: string; entry: string }>;

describe('SQL audit store', () => {
  it('creates its tables, chains entries and verifies', async () => {
    const log = await fill(3);
    const stored = (await rows()).map((row) => JSON.parse(row.entry) as AuditEntry);
    expect(stored.map((entry) => entry.seq)).toEqual([1, 2, 3]);
    expect(stored[2]!.prevHash).toBe(stored[1]!.hash);
    const result = await log.verify();
    expect(result).toMatchObject({ ok: true, entries: 3 });
    expect(result.store).toMatch(/^postgres:\/\/127\.0\.0\.1:\d+\/postgres table crdb_encryption_mcp_audit_log$/);
    expect(JSON.stringify(result)).not.toContain(PASSWORD);
  });

  it('keeps one valid chain when two replicas append concurrently', async () => {
    const [a, b] = [replica(), replica()];
    const appends = Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).append(event(i + 1, i % 2 ? 'from-a' : 'from-b')));
    const checks = Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).verify());
    await Promise.all(appends);
    for (const check of await Promise.all(checks)) expect(check.ok).toBe(true);
    expect(await a.verify()).toMatchObject({ ok: true, entries: 30 });
    expect((await rows()).map((row) => Number(row.seq))).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('names the first bad entry: edited, deleted, reordered, truncated', async () => {
    const log = await fill(6);
    await admin.query(`UPDATE crdb_encryption_mcp_audit_log SET entry = replace(entry, '"attempted"', '"succeeded"') WHERE seq = 3`);
    expect(await log.verify()).toMatchObject({ ok: false, firstBadEntry: 3, problem: expect.stringMatching(/edited/) });
    await admin.query('DROP TABLE crdb_encryption_mcp_audit_log, crdb_encryption_mcp_audit_head');

    const log2 = await fill(6);
    await admin.query('DELETE FROM crdb_encryption_mcp_audit_log WHERE seq = 4');
    expect(await log2.verify()).toMatchObject({ ok: false, entries: 5, firstBadEntry: 4, problem: expect.stringMatching(/deleted/) });
    await admin.query('DROP TABLE crdb_encryption_mcp_audit_log, crdb_encryption_mcp_audit_head');

    const log3 = await fill(6);
    const [two, five] = [(await rows())[1]!.entry, (await rows())[4]!.entry];
    await admin.query('UPDATE crdb_encryption_mcp_audit_log SET entry = $1 WHERE seq = 2', [five]);
    await admin.query('UPDATE crdb_encryption_mcp_audit_log SET entry = $1 WHERE seq = 5', [two]);
    expect(await log3.verify()).toMatchObject({ ok: false, firstBadEntry: 2, problem: expect.stringMatching(/reordered/) });
    await admin.query('DROP TABLE crdb_encryption_mcp_audit_log, crdb_encryption_mcp_audit_head');

    const log4 = await fill(6);
    await admin.query('DELETE FROM crdb_encryption_mcp_audit_log WHERE seq > 4');
    expect(await log4.verify()).toMatchObject({ ok: false, entries: 4, firstBadEntry: 5, problem: expect.stringMatching(/truncated/) });
    await expect(log4.append(event(7))).rejects.toThrow(/inconsistent: its last entry \(seq 4\) does not match its head \(seq 6\)/);
  });

  it('detects a re-hashed edit and a deleted head row, and refuses to append over them', async () => {
    const log = await fill(4);
    const entry = JSON.parse((await rows())[1]!.entry) as AuditEntry;
    entry.target = 'someone-else';
    entry.hash = entryHash(entry as unknown as Record<string, unknown>);
    await admin.query('UPDATE crdb_encryption_mcp_audit_log SET entry = $1 WHERE seq = 2', [JSON.stringify(entry)]);
    expect(await log.verify()).toMatchObject({ ok: false, firstBadEntry: 2, problem: expect.stringMatching(/re-hashed/) });

    await admin.query('DELETE FROM crdb_encryption_mcp_audit_head');
    const fresh = replica(); // re-runs the schema setup, which must not recreate the head over existing rows
    await expect(fresh.append(event(5))).rejects.toThrow(/head row is missing/);
    expect(await fresh.verify()).toMatchObject({ ok: false });
  });

  it('treats a never-written database as an empty log, and reports an unreachable one', async () => {
    expect(await replica().verify()).toMatchObject({ ok: true, entries: 0 });
    const down = openSqlAuditLog(`postgresql://postgres:${PASSWORD}@127.0.0.1:1/postgres?sslmode=disable`, createRedactor());
    opened.push(down);
    await expect(down.append(event(1))).rejects.toThrow(/cannot use the audit database postgres:\/\/127\.0\.0\.1:1\/postgres/);
    const report = await verifyConfiguredAuditLog(buildConfig({ auditLog: '/unused', auditDb: `postgresql://postgres:${PASSWORD}@127.0.0.1:1/postgres` }));
    expect(report).toMatchObject({ ok: false, problem: expect.stringMatching(/^not checked/) });
    expect(JSON.stringify(report)).not.toContain(PASSWORD);
  });

  it('is what openAuditLog picks with --audit-db, and the CLI report reads it', async () => {
    const config = buildConfig({ auditLog: '/nonexistent/should-not-be-used.jsonl', auditDb: url });
    const log = await openAuditLog(config, createRedactor());
    opened.push(log);
    await log.append(event(1));
    expect(await verifyConfiguredAuditLog(config)).toMatchObject({ ok: true, entries: 1, next: 'nothing to do.' });
  });
});

describe('SQL token store', () => {
  it('lets exactly one of several replicas consume a nonce', async () => {
    const stores = Array.from({ length: 4 }, () => createSqlTokenStore(url));
    opened.push(...stores);
    const results = await Promise.all(stores.map((store) => store.consume('nonce-1', 10_000, 0)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await stores[0]!.consume('nonce-2', 10_000, 0)).toBe(true);
  });

  it('backs the gate by default when --audit-db is set: a token is single use across replicas', async () => {
    const config = buildConfig({ auditLog: '/unused', auditDb: url, dangerouslyAllowTokenConfirmation: true, confirmSecret: 'shared-secret-for-replicas-123' });
    const session = { supportsFormElicitation: () => false, elicit: () => Promise.reject(new Error('no')) };
    const request = { tool: 't', targetName: 'x', targetDescription: 'x', action: 'a', consequences: [], reversibility: 'r', params: {}, targetState: {} };
    const [a, b] = [createConfirmationGate({ config, now: () => 0 })(session), createConfirmationGate({ config, now: () => 0 })(session)];
    const issued = (await a(request)) as { token: string };
    expect(await b({ ...request, token: issued.token })).toEqual({ approved: true, via: 'token' });
    expect(await a({ ...request, token: issued.token })).toMatchObject({ approved: false, reason: 'replayed' });
    const used = await admin.query('SELECT count(*)::int AS n FROM crdb_encryption_mcp_confirm_tokens');
    expect(used.rows[0].n).toBe(1);
  });
});
