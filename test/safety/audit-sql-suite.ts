/**
 * The SQL audit store's verification suite, run against any PostgreSQL wire server: PGlite (fast,
 * audit-sql.test.ts) and a real PostgreSQL server (audit-sql-postgres.test.ts). Each tampering
 * is done as an attacker with database access but without the audit key would do it.
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config.js';
import { AUDIT_LOG_FORMAT } from '../../src/safety/audit-chain.js';
import { auditKeySource } from '../../src/safety/audit-key.js';
import { openAuditLog, verifyConfiguredAuditLog } from '../../src/safety/audit-log.js';
import { openSqlAuditLog } from '../../src/safety/audit-sql.js';
import { canonicalJson } from '../../src/safety/canonical.js';
import { createConfirmationGate } from '../../src/safety/confirm.js';
import { createRedactor } from '../../src/safety/redact.js';
import { createSqlTokenStore } from '../../src/safety/token-store.js';
import type { AuditEntry, AuditEvent, AuditLog } from '../../src/safety/types.js';
import { tempDir } from '../helpers/harness.js';

export interface SqlServer {
  /** postgresql:// URL with a password (which must never show in any answer). */
  url: string;
  password: string;
  admin: pg.Client;
}

const LOG = 'crdb_encryption_mcp_audit_log';
const HEAD = 'crdb_encryption_mcp_audit_head';

/** Registers the suite; `server()` is called inside tests, after the caller's beforeAll started the server. */
export function sqlAuditStoreSuite(server: () => SqlServer): void {
  const opened: Array<{ close(): Promise<void> }> = [];
  // The key every replica shares (CRDB_AUDIT_KEY in a deployment); the checkpoints are this test "machine"'s.
  const stateDir = tempDir('crdb-sql-audit-state-');
  const keyFile = join(stateDir, 'audit.key');
  const keys = () => auditKeySource({ auditKeyFile: keyFile });

  /** Drops the tables and this machine's checkpoints, as an operator starting over would. */
  async function reset(): Promise<void> {
    await server().admin.query(`DROP TABLE IF EXISTS ${LOG}, ${HEAD}, crdb_encryption_mcp_confirm_tokens`);
    rmSync(join(stateDir, 'audit-checkpoints'), { recursive: true, force: true });
  }

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((item) => item.close()));
    await reset();
  });

  function replica(): AuditLog {
    const log = openSqlAuditLog(server().url, createRedactor(), keys());
    opened.push(log);
    return log;
  }

  const event = (i: number, target = 'c'): AuditEvent => ({
    time: `2025-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`,
    tool: 'revoke_cmek',
    target,
    params: { i },
    outcome: 'attempted',
    attemptId: `a-${i}`,
  });

  async function fill(count: number): Promise<AuditLog> {
    const log = replica();
    for (let i = 1; i <= count; i += 1) await log.append(event(i));
    return log;
  }

  const rows = async () => (await server().admin.query(`SELECT seq, entry FROM ${LOG} ORDER BY seq`)).rows as Array<{ seq: string; entry: string }>;
  const sha256Seal = (entry: Record<string, unknown>) => {
    const { hash: _hash, ...rest } = entry;
    return createHash('sha256').update(canonicalJson(rest)).digest('hex');
  };

  describe('SQL audit store', () => {
    it('creates its tables with a header row, chains sealed entries and verifies', async () => {
      const log = await fill(3);
      const [header, ...stored] = (await rows()).map((row) => JSON.parse(row.entry) as AuditEntry & { format?: string; hash: string });
      expect(header).toMatchObject({ format: AUDIT_LOG_FORMAT, version: 2, algorithm: 'HMAC-SHA-256' });
      expect(stored.map((entry) => entry.seq)).toEqual([1, 2, 3]);
      expect(stored[0]!.prevHash).toBe(header!.hash);
      expect(stored[2]!.prevHash).toBe(stored[1]!.hash);
      const head = (await server().admin.query(`SELECT seq, hash, log_id, mac FROM ${HEAD}`)).rows;
      expect(head).toEqual([
        { seq: '3', hash: stored[2]!.hash, log_id: (header as unknown as { logId: string }).logId, mac: expect.stringMatching(/^[0-9a-f]{64}$/) },
      ]);
      const result = await log.verify();
      expect(result).toMatchObject({ ok: true, entries: 3 });
      expect(result.store).toMatch(/^postgres:\/\/127\.0\.0\.1:\d+\/postgres table crdb_encryption_mcp_audit_log$/);
      expect(JSON.stringify(result)).not.toContain(server().password);
    });

    it('keeps one valid chain when two replicas append concurrently, and verifying meanwhile finds nothing wrong', async () => {
      const [a, b] = [replica(), replica()];
      const appends = Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).append(event(i + 1, i % 2 ? 'from-a' : 'from-b')));
      const checks = Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).verify());
      await Promise.all(appends);
      for (const check of await Promise.all(checks)) expect(check.ok).toBe(true);
      expect(await a.verify()).toMatchObject({ ok: true, entries: 30 });
      expect((await rows()).map((row) => Number(row.seq))).toEqual(Array.from({ length: 31 }, (_, i) => i));
    });

    it('edit: names the edited row', async () => {
      const log = await fill(6);
      await server().admin.query(`UPDATE ${LOG} SET entry = replace(entry, '"attempted"', '"succeeded"') WHERE seq = 3`);
      expect(await log.verify()).toMatchObject({ ok: false, entries: 6, firstBadEntry: 3, problem: expect.stringMatching(/entry 3 does not match its HMAC/) });
      await expect(log.append(event(7))).resolves.toBeUndefined(); // appends check the tail only; the verdict stays
      expect(await log.verify()).toMatchObject({ ok: false, firstBadEntry: 3 });
    });

    it('delete: names the position of the deleted row', async () => {
      const log = await fill(6);
      await server().admin.query(`DELETE FROM ${LOG} WHERE seq = 4`);
      expect(await log.verify()).toMatchObject({ ok: false, entries: 5, firstBadEntry: 4, problem: expect.stringMatching(/deleted/) });
    });

    it('reorder: swapped rows are named', async () => {
      const log = await fill(6);
      const all = await rows();
      await server().admin.query(`UPDATE ${LOG} SET entry = $1 WHERE seq = 2`, [all[5]!.entry]);
      await server().admin.query(`UPDATE ${LOG} SET entry = $1 WHERE seq = 5`, [all[2]!.entry]);
      expect(await log.verify()).toMatchObject({ ok: false, firstBadEntry: 2, problem: expect.stringMatching(/reordered/) });
    });

    it('truncate the tail: named through the head row, and appends are refused', async () => {
      const log = await fill(6);
      await server().admin.query(`DELETE FROM ${LOG} WHERE seq > 4`);
      expect(await log.verify()).toMatchObject({ ok: false, entries: 4, firstBadEntry: 5, problem: expect.stringMatching(/truncated/) });
      await expect(log.append(event(7))).rejects.toThrow(/inconsistent: its last entry \(seq 4\) does not match its head \(seq 6\)/);
    });

    it('truncate the tail and rewrite the head row without the key: the forged head is caught, and so is the rollback', async () => {
      const log = await fill(6);
      const fourth = JSON.parse((await rows())[4]!.entry) as AuditEntry;
      await server().admin.query(`DELETE FROM ${LOG} WHERE seq > 4`);
      await server().admin.query(`UPDATE ${HEAD} SET seq = 4, hash = $1`, [fourth.hash]);
      expect(await log.verify()).toMatchObject({
        ok: false,
        entries: 4,
        problem: expect.stringMatching(/head record does not carry a valid signature: it was rewritten without the audit key/),
      });
      await expect(log.append(event(7))).rejects.toThrow(/head row is unreadable or does not carry a valid signature/);

      // A genuinely signed earlier head, saved before entries 5 and 6 and put back after cutting them: this machine's checkpoint remembers 6.
      await reset();
      const again = await fill(4);
      const saved = (await server().admin.query(`SELECT seq, hash, mac FROM ${HEAD}`)).rows[0] as { seq: string; hash: string; mac: string };
      await again.append(event(5));
      await again.append(event(6));
      await server().admin.query(`DELETE FROM ${LOG} WHERE seq > 4`);
      await server().admin.query(`UPDATE ${HEAD} SET seq = $1, hash = $2, mac = $3`, [saved.seq, saved.hash, saved.mac]);
      expect(await again.verify()).toMatchObject({
        ok: false,
        entries: 4,
        firstBadEntry: 5,
        problem: expect.stringMatching(/truncated: this machine's checkpoint records 6 entries/),
      });
      await expect(again.append(event(7))).rejects.toThrow(/checkpoint records 6 entries .* rolled back/);
    });

    it('re-hash history without the key: every row rewritten and re-chained with SHA-256 is caught at the first', async () => {
      const log = await fill(4);
      const [header, ...entries] = await rows();
      let prevHash = (JSON.parse(header!.entry) as { hash: string }).hash;
      for (const row of entries) {
        const forged = { ...(JSON.parse(row.entry) as AuditEntry), target: 'someone-else', prevHash };
        forged.hash = sha256Seal(forged as unknown as Record<string, unknown>);
        prevHash = forged.hash;
        await server().admin.query(`UPDATE ${LOG} SET entry = $1, hash = $2 WHERE seq = $3`, [JSON.stringify(forged), forged.hash, row.seq]);
      }
      await server().admin.query(`UPDATE ${HEAD} SET hash = $1`, [prevHash]);
      expect(await log.verify()).toMatchObject({
        ok: false,
        firstBadEntry: 1,
        problem: expect.stringMatching(/entry 1 does not match its HMAC: it was edited, or rewritten and re-hashed without the audit key/),
      });
    });

    it('delete everything (rows of both tables, or the tables themselves): NOT intact, and no new log starts over it silently', async () => {
      const log = await fill(4);
      await server().admin.query(`DELETE FROM ${LOG}`);
      await server().admin.query(`DELETE FROM ${HEAD}`);
      expect(await log.verify()).toMatchObject({
        ok: false,
        entries: 0,
        firstBadEntry: 1,
        problem: expect.stringMatching(/tables are missing or empty, but this machine holds a checkpoint .*: the log was deleted/),
      });
      await expect(log.append(event(5))).rejects.toThrow(/tables are empty, but this machine holds a checkpoint/);
      await server().admin.query(`DROP TABLE ${LOG}, ${HEAD}`);
      expect(await log.verify()).toMatchObject({ ok: false, problem: expect.stringMatching(/the log was deleted/) });
      // A deleted head row alone:
      await reset();
      const again = await fill(2);
      await server().admin.query(`DELETE FROM ${HEAD}`);
      expect(await again.verify()).toMatchObject({ ok: false, problem: expect.stringMatching(/head record .* missing/) });
      await expect(replica().append(event(3))).rejects.toThrow(/head row is missing/);
    });

    it('a replica with another key is refused, naming the key mismatch; one without the key file cannot vouch for the log', async () => {
      await fill(2);
      const stranger = openSqlAuditLog(server().url, createRedactor(), auditKeySource({ auditKeyFile: join(tempDir(), 'other.key') }));
      opened.push(stranger);
      await expect(stranger.append(event(3))).rejects.toThrow(/sealed with audit key id [0-9a-f]{16}, but the configured key has id [0-9a-f]{16}/);
      expect(await stranger.verify()).toMatchObject({ ok: false, entries: 2, problem: expect.stringMatching(/key was replaced or lost/) });
      const keyless = openSqlAuditLog(server().url, createRedactor(), auditKeySource({ auditKeyFile: join(tempDir(), 'absent.key') }));
      opened.push(keyless);
      const verdict = await keyless.verify();
      expect(verdict).toMatchObject({ ok: false, entries: 2, problem: expect.stringMatching(/audit key .* is missing/) });
    });

    it('an unkeyed table of an earlier version is reported and not extended', async () => {
      await server().admin.query(`CREATE TABLE ${LOG} (seq INT8 PRIMARY KEY, entry TEXT NOT NULL, hash TEXT NOT NULL)`);
      await server().admin.query(`CREATE TABLE ${HEAD} (id INT8 PRIMARY KEY, seq INT8 NOT NULL, hash TEXT NOT NULL)`);
      const legacy = { ...event(1), seq: 1, prevHash: '0'.repeat(64), hash: '' };
      legacy.hash = sha256Seal(legacy);
      await server().admin.query(`INSERT INTO ${LOG} VALUES (1, $1, $2)`, [JSON.stringify(legacy), legacy.hash]);
      await server().admin.query(`INSERT INTO ${HEAD} VALUES (1, 1, $1)`, [legacy.hash]);
      const log = replica();
      await expect(log.append(event(2))).rejects.toMatchObject({
        message: expect.stringMatching(/earlier version without a key/),
        next: expect.stringMatching(/RENAME TO/),
      });
      expect(await log.verify()).toMatchObject({ ok: false, entries: 1, problem: expect.stringMatching(/earlier version without a key/) });
    });

    it('treats a never-written database as an empty log, and reports an unreachable one without its password', async () => {
      expect(await replica().verify()).toMatchObject({ ok: true, entries: 0 });
      const down = openSqlAuditLog(`postgresql://postgres:${server().password}@127.0.0.1:1/postgres?sslmode=disable`, createRedactor(), keys());
      opened.push(down);
      await expect(down.append(event(1))).rejects.toThrow(/cannot use the audit database postgres:\/\/127\.0\.0\.1:1\/postgres/);
      const report = await verifyConfiguredAuditLog(
        buildConfig({ auditLog: '/unused', auditKeyFile: keyFile, auditDb: `postgresql://postgres:${server().password}@127.0.0.1:1/postgres` }),
      );
      expect(report).toMatchObject({ ok: false, problem: expect.stringMatching(/^not checked/) });
      expect(JSON.stringify(report)).not.toContain(server().password);
    });

    it('is what openAuditLog picks with --audit-db, and the CLI report reads it', async () => {
      const config = buildConfig({ auditLog: '/nonexistent/should-not-be-used.jsonl', auditKeyFile: keyFile, auditDb: server().url });
      const log = await openAuditLog(config, createRedactor());
      opened.push(log);
      await log.append(event(1));
      expect(await verifyConfiguredAuditLog(config)).toMatchObject({ ok: true, entries: 1, next: 'nothing to do.' });
    });
  });

  describe('SQL token store', () => {
    it('lets exactly one of several replicas consume a nonce', async () => {
      const stores = Array.from({ length: 4 }, () => createSqlTokenStore(server().url));
      opened.push(...stores);
      const results = await Promise.all(stores.map((store) => store.consume('nonce-1', 10_000, 0)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await stores[0]!.consume('nonce-2', 10_000, 0)).toBe(true);
    });

    it('backs the gate by default when --audit-db is set: a token is single use across replicas', async () => {
      const config = buildConfig({
        auditLog: '/unused',
        auditKeyFile: keyFile,
        auditDb: server().url,
        dangerouslyAllowTokenConfirmation: true,
        confirmSecret: 'shared-secret-for-replicas-123',
      });
      const session = { supportsFormElicitation: () => false, elicit: () => Promise.reject(new Error('no')) };
      const request = { tool: 't', targetName: 'x', targetDescription: 'x', action: 'a', consequences: [], reversibility: 'r', params: {}, targetState: {} };
      const [a, b] = [createConfirmationGate({ config, now: () => 0 })(session), createConfirmationGate({ config, now: () => 0 })(session)];
      const issued = (await a(request)) as { token: string };
      expect(await b({ ...request, token: issued.token })).toEqual({ approved: true, via: 'token' });
      expect(await a({ ...request, token: issued.token })).toMatchObject({ approved: false, reason: 'replayed' });
      const used = await server().admin.query('SELECT count(*)::int AS n FROM crdb_encryption_mcp_confirm_tokens');
      expect(used.rows[0].n).toBe(1);
    });
  });
}
