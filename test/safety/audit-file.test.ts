import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { buildConfig } from '../../src/config.js';
import { AUDIT_LOG_FORMAT, parseHeader } from '../../src/safety/audit-chain.js';
import { auditFileKind, openFileAuditLog, verifyAuditFile } from '../../src/safety/audit-file.js';
import { auditKeySource, type AuditKeySource } from '../../src/safety/audit-key.js';
import { openAuditLog } from '../../src/safety/audit-log.js';
import { canonicalJson } from '../../src/safety/canonical.js';
import { createRedactor } from '../../src/safety/redact.js';
import type { AuditEntry, AuditEvent } from '../../src/safety/types.js';
import { tempDir } from '../helpers/harness.js';

function event(i: number, extra: Partial<AuditEvent> = {}): AuditEvent {
  return {
    time: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
    tool: 'revoke_cmek',
    target: `cluster-${i}`,
    params: { cluster: `cluster-${i}` },
    outcome: 'attempted',
    attemptId: `a-${i}`,
    ...extra,
  };
}

const stateDir = tempDir('crdb-audit-state-');
/** The key (and checkpoints) of this file's logs, in a state dir apart from the logs. */
const keys: AuditKeySource = auditKeySource({ auditKeyFile: join(stateDir, 'audit.key') });
const open = (path: string) => openFileAuditLog(path, createRedactor(), keys);

async function makeLog(count: number, path = join(tempDir(), 'state', 'audit.jsonl')): Promise<string> {
  const log = open(path);
  for (let i = 1; i <= count; i += 1) await log.append(event(i));
  await log.close();
  return path;
}

/** The entry lines (without the header line). */
const readLines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean).slice(1);
const headerLine = (path: string) => readFileSync(path, 'utf8').split('\n')[0]!;
const writeLines = (path: string, lines: string[]) => writeFileSync(path, [headerLine(path), ...lines].map((line) => `${line}\n`).join(''));
const verify = (path: string) => verifyAuditFile(path, { allowMissing: false, keys });
/** What an attacker without the key can compute: the unkeyed SHA-256 an earlier version used. */
const sha256Seal = (entry: Record<string, unknown>) => {
  const { hash: _hash, ...rest } = entry;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
};

describe('file audit log', () => {
  it('on the sandbox marks every entry sandbox: true (covered by the seal), elsewhere never', async () => {
    const dir = tempDir();
    for (const sandbox of [true, false]) {
      const config = buildConfig({ sandbox, auditLog: join(dir, `${sandbox}.jsonl`), auditKeyFile: join(stateDir, 'audit.key') });
      const log = await openAuditLog(config, createRedactor());
      await log.append(event(1));
      await log.append(event(2, { outcome: 'succeeded' }));
      await log.close();
      const entries = readLines(config.auditLog).map((line) => JSON.parse(line) as AuditEntry);
      expect(entries.map((entry) => entry.sandbox)).toEqual(sandbox ? [true, true] : [undefined, undefined]);
      expect(await verify(config.auditLog)).toMatchObject({ ok: true, entries: 2 });
    }
  });

  it('writes a header, then an HMAC chain from it, in a 0600 file with a signed head; the key file is created 0600 outside the log', async () => {
    const path = await makeLog(3);
    const header = parseHeader(headerLine(path))!;
    expect(header).toMatchObject({ format: AUDIT_LOG_FORMAT, version: 2, algorithm: 'HMAC-SHA-256', keyId: expect.stringMatching(/^[0-9a-f]{16}$/) });
    const entries = readLines(path).map((line) => JSON.parse(line) as AuditEntry);
    expect(entries.map((entry) => entry.seq)).toEqual([1, 2, 3]);
    expect(entries[0]!.prevHash).toBe(header.hash);
    expect(entries[1]!.prevHash).toBe(entries[0]!.hash);
    // Not the unkeyed hash: whoever lacks the key cannot compute the seal.
    for (const entry of entries) expect(sha256Seal(entry as unknown as Record<string, unknown>)).not.toBe(entry.hash);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(stateDir, 'audit.key')).mode & 0o777).toBe(0o600);
    const key = readFileSync(join(stateDir, 'audit.key'), 'utf8').trim();
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(path, 'utf8')).not.toContain(key);
    expect(JSON.parse(readFileSync(`${path}.head`, 'utf8'))).toEqual({
      seq: 3,
      hash: entries[2]!.hash,
      logId: header.logId,
      mac: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(await verify(path)).toEqual({ ok: true, entries: 3, store: `file:${path}` });
    expect(await auditFileKind(path)).toBe('keyed');
  });

  it('resumes the chain when reopened, and redacts entries before hashing', async () => {
    const path = await makeLog(2);
    const redactor = createRedactor();
    redactor.addSecret('reopen-secret-value');
    const log = openFileAuditLog(path, redactor, keys);
    await log.append(event(3, { detail: 'oops reopen-secret-value leaked', params: { password: 'p4ssw0rd-x' } }));
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain('reopen-secret-value');
    expect(text).not.toContain('p4ssw0rd-x');
    expect(await log.verify()).toMatchObject({ ok: true, entries: 3 });
  });

  it('serialises concurrent appends in one process into one chain', async () => {
    const path = join(tempDir(), 'audit.jsonl');
    const logs = [open(path), open(path)];
    await Promise.all(Array.from({ length: 40 }, (_, i) => logs[i % 2]!.append(event(i + 1))));
    expect(await verify(path)).toMatchObject({ ok: true, entries: 40 });
  });

  it('verifying while appends run reports no false tampering', async () => {
    const path = await makeLog(1);
    const log = open(path);
    const appends = Array.from({ length: 30 }, (_, i) => log.append(event(i + 2)));
    const checks = Array.from({ length: 10 }, () => log.verify());
    await Promise.all(appends);
    for (const result of await Promise.all(checks)) expect(result.ok).toBe(true);
    expect(await log.verify()).toMatchObject({ ok: true, entries: 31 });
  });

  it('keeps one chain when two processes append at the same time', async () => {
    const path = join(tempDir(), 'audit.jsonl');
    const script = join(tempDir(), 'append.mts');
    const module = fileURLToPath(new URL('../../src/safety/audit-file.ts', import.meta.url));
    const redact = fileURLToPath(new URL('../../src/safety/redact.ts', import.meta.url));
    const keyModule = fileURLToPath(new URL('../../src/safety/audit-key.ts', import.meta.url));
    writeFileSync(
      script,
      `import { existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { openFileAuditLog } from ${JSON.stringify(module)};
import { createRedactor } from ${JSON.stringify(redact)};
import { auditKeySource } from ${JSON.stringify(keyModule)};
const [path, name, keyFile] = process.argv.slice(2);
const log = openFileAuditLog(path, createRedactor(), auditKeySource({ auditKeyFile: keyFile }));
writeFileSync(path + '.' + name + '.ready', '');
while (!existsSync(path + '.go')) await sleep(2);
await Promise.all(Array.from({ length: 25 }, (_, i) => log.append({ time: 't', tool: 'x', target: name, params: {}, outcome: 'attempted', attemptId: String(i) })));
`,
    );
    const run = (name: string) =>
      new Promise<number>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, path, name, join(stateDir, 'audit.key')], { stdio: ['ignore', 'ignore', 'inherit'] });
        child.on('error', reject);
        child.on('exit', (code) => resolve(code ?? -1));
      });
    const runs = Promise.all([run('p1'), run('p2')]);
    // Start both at once: each waits for the "go" file after announcing it is ready.
    while (!existsSync(`${path}.p1.ready`) || !existsSync(`${path}.p2.ready`)) await new Promise((resolve) => setTimeout(resolve, 5));
    writeFileSync(`${path}.go`, '');
    expect(await runs).toEqual([0, 0]);
    expect(await verify(path)).toMatchObject({ ok: true, entries: 50 });
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it('edit: names the edited entry', async () => {
    const path = await makeLog(5);
    const lines = readLines(path);
    lines[2] = lines[2]!.replace('"attempted"', '"succeeded"');
    writeLines(path, lines);
    expect(await verify(path)).toMatchObject({ ok: false, entries: 5, firstBadEntry: 3, problem: expect.stringMatching(/entry 3 does not match its HMAC/) });
  });

  it('re-hash without the key: an edited entry re-sealed with SHA-256 (as the unkeyed format allowed), and the whole history rewritten so, are both caught', async () => {
    const path = await makeLog(5);
    const lines = readLines(path);
    const entry = JSON.parse(lines[1]!) as AuditEntry;
    entry.outcome = 'succeeded';
    entry.hash = sha256Seal(entry as unknown as Record<string, unknown>);
    lines[1] = JSON.stringify(entry);
    writeLines(path, lines);
    expect(await verify(path)).toMatchObject({
      ok: false,
      firstBadEntry: 2,
      problem: expect.stringMatching(/entry 2 does not match its HMAC: it was edited, or rewritten and re-hashed without the audit key/),
    });

    // Rewrite every entry and re-chain them consistently, then forge a matching head.
    let prevHash = parseHeader(headerLine(path))!.hash;
    const rewritten = readLines(path).map((line) => {
      const forged = { ...(JSON.parse(line) as AuditEntry), target: 'nobody', prevHash };
      forged.hash = sha256Seal(forged as unknown as Record<string, unknown>);
      prevHash = forged.hash;
      return JSON.stringify(forged);
    });
    writeLines(path, rewritten);
    const head = JSON.parse(readFileSync(`${path}.head`, 'utf8'));
    writeFileSync(`${path}.head`, JSON.stringify({ ...head, hash: prevHash }));
    expect(await verify(path)).toMatchObject({ ok: false, firstBadEntry: 1, problem: expect.stringMatching(/entry 1 does not match its HMAC/) });
  });

  it('delete: names the position of the deleted entry', async () => {
    const path = await makeLog(5);
    const lines = readLines(path);
    lines.splice(2, 1);
    writeLines(path, lines);
    expect(await verify(path)).toMatchObject({ ok: false, entries: 4, firstBadEntry: 3, problem: expect.stringMatching(/deleted.*seq 3 is missing/) });
    writeLines(path, readLines(path).slice(1));
    expect(await verify(path)).toMatchObject({ ok: false, firstBadEntry: 1, problem: expect.stringMatching(/deleted/) });
  });

  it('reorder: names the first entry out of place', async () => {
    const path = await makeLog(5);
    const lines = readLines(path);
    [lines[1], lines[2]] = [lines[2]!, lines[1]!];
    writeLines(path, lines);
    expect(await verify(path)).toMatchObject({ ok: false, firstBadEntry: 2, problem: expect.stringMatching(/reordered/) });
  });

  it('truncate the tail: detected through the head; emptied: detected too', async () => {
    const path = await makeLog(5);
    writeLines(path, readLines(path).slice(0, 3));
    expect(await verify(path)).toMatchObject({
      ok: false,
      entries: 3,
      firstBadEntry: 4,
      problem: expect.stringMatching(/truncated.*entries 4-5 were removed/),
    });
    writeLines(path, []);
    expect(await verify(path)).toMatchObject({ ok: false, entries: 0, firstBadEntry: 1 });
  });

  it('truncate the tail and rewrite the head without the key: the forged head is caught (and so is a head from another log)', async () => {
    const path = await makeLog(5);
    const lines = readLines(path).slice(0, 3);
    writeLines(path, lines);
    const last = JSON.parse(lines[2]!) as AuditEntry;
    const head = JSON.parse(readFileSync(`${path}.head`, 'utf8'));
    writeFileSync(`${path}.head`, JSON.stringify({ ...head, seq: 3, hash: last.hash }));
    // The head beside the log is forged, and this machine's checkpoint still records 5 entries.
    expect(await verify(path)).toMatchObject({
      ok: false,
      entries: 3,
      problem: expect.stringMatching(/head record does not carry a valid signature: it was rewritten without the audit key/),
    });

    // Another log's genuine head, copied over: signed, but for another log id.
    const other = await makeLog(3);
    writeFileSync(`${path}.head`, readFileSync(`${other}.head`));
    expect(await verify(path)).toMatchObject({ ok: false, problem: expect.stringMatching(/belongs to another log/) });
  });

  it('roll back log and head together to an earlier copy: the checkpoint under the state dir catches it', async () => {
    const path = await makeLog(3);
    const [logCopy, headCopy] = [readFileSync(path), readFileSync(`${path}.head`)];
    const log = open(path);
    await log.append(event(4));
    await log.append(event(5));
    writeFileSync(path, logCopy);
    writeFileSync(`${path}.head`, headCopy);
    expect(await verify(path)).toMatchObject({
      ok: false,
      entries: 3,
      firstBadEntry: 4,
      problem: expect.stringMatching(/truncated: this machine's checkpoint records 5 entries/),
    });
    await expect(log.append(event(6))).rejects.toThrow(/checkpoint records 5 entries .* rolled back/);
  });

  it('delete everything (log and head): the configured log reports NOT intact and refuses to start over silently', async () => {
    const path = await makeLog(4);
    const log = open(path);
    rmSync(path);
    rmSync(`${path}.head`);
    expect(await log.verify()).toMatchObject({
      ok: false,
      entries: 0,
      firstBadEntry: 1,
      problem: expect.stringMatching(/log and its head are missing, but this machine holds a checkpoint of 4 entries .*: the log was deleted/),
    });
    const refused = await log.append(event(5)).catch((error: unknown) => error);
    expect(refused).toMatchObject({
      message: expect.stringMatching(/missing or empty, but this machine holds a checkpoint/),
      next: expect.stringMatching(/delete .*audit-checkpoints.* too, and a new log starts/),
    });
    // Only the head deleted, or only the log:
    const second = await makeLog(2);
    rmSync(second);
    expect(await open(second).verify()).toMatchObject({ ok: false, problem: expect.stringMatching(/missing or empty but .*\.head holds a head of 2 entries/) });
  });

  it('a log never written is empty and intact; an explicit path that is missing, empty or not an audit log is refused without any count', async () => {
    const path = join(tempDir(), 'none', 'audit.jsonl');
    expect(await open(path).verify()).toEqual({ ok: true, entries: 0, store: `file:${path}` });
    await expect(verify(path)).rejects.toThrow(/no audit log at/);
    await expect(verify(tempDir())).rejects.toThrow(/not a regular file/);
    const passwd = join(tempDir(), 'shadow');
    writeFileSync(passwd, 'root:$6$salt$hash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n');
    await expect(verify(passwd)).rejects.toThrow(/is not an audit log of this server/);
    expect(await auditFileKind(passwd)).toBe('other');
    writeFileSync(passwd, '');
    await expect(verify(passwd)).rejects.toThrow(/is not an audit log of this server/);
  });

  it('edits of the header, a wrong key, and a lost key file are each named', async () => {
    const path = await makeLog(3);
    const original = readFileSync(path, 'utf8');
    writeFileSync(path, original.replace(/"created":"[^"]+"/, '"created":"2020-01-01T00:00:00.000Z"'));
    expect(await verify(path)).toMatchObject({ ok: false, problem: expect.stringMatching(/header was edited/) });
    writeFileSync(path, original);
    const otherKeys = auditKeySource({ auditKeyFile: join(tempDir(), 'other.key') });
    await openFileAuditLog(join(tempDir(), 'x.jsonl'), createRedactor(), otherKeys).append(event(1));
    expect(await verifyAuditFile(path, { allowMissing: false, keys: otherKeys })).toMatchObject({
      ok: false,
      entries: 3,
      problem: expect.stringMatching(/sealed with audit key id [0-9a-f]{16}, but the configured key has id [0-9a-f]{16}: the key was replaced or lost/),
    });
    const lostKeys = auditKeySource({ auditKeyFile: join(tempDir(), 'lost.key') });
    expect(await verifyAuditFile(path, { allowMissing: false, keys: lostKeys })).toMatchObject({
      ok: false,
      entries: 3,
      problem: expect.stringMatching(/audit key \(.*lost\.key\) is missing/),
    });
    await expect(openFileAuditLog(path, createRedactor(), otherKeys).append(event(4))).rejects.toThrow(/key was replaced or lost/);
  });

  it('an unkeyed log of an earlier version is reported as not vouched for, and not extended until moved aside', async () => {
    const path = join(tempDir(), 'audit.jsonl');
    let prevHash = '0'.repeat(64);
    const legacy = [1, 2].map((seq) => {
      const entry = { ...event(seq), seq, prevHash, hash: '' };
      entry.hash = sha256Seal(entry);
      prevHash = entry.hash;
      return JSON.stringify(entry);
    });
    writeFileSync(path, legacy.map((line) => `${line}\n`).join(''));
    writeFileSync(`${path}.head`, JSON.stringify({ seq: 2, hash: prevHash }));
    expect(await auditFileKind(path)).toBe('legacy');
    expect(await verify(path)).toMatchObject({ ok: false, entries: 2, problem: expect.stringMatching(/earlier version without a key/) });
    const log = open(path);
    await expect(log.append(event(3))).rejects.toMatchObject({
      message: expect.stringMatching(/earlier version without a key/),
      next: expect.stringMatching(/move .* aside/),
    });
    renameSync(path, `${path}.v1`);
    renameSync(`${path}.head`, `${path}.v1.head`);
    await log.append(event(3));
    expect(await log.verify()).toMatchObject({ ok: true, entries: 1 });
  });

  it('names the first bad entry: unparsable line, wrong shape, blank line', async () => {
    for (const [index, bad] of [
      [3, '{"seq":3,'],
      [2, '{"seq":2}'],
      [4, ''],
    ] as const) {
      const path = await makeLog(5);
      const lines = readLines(path);
      lines[index - 1] = bad;
      writeLines(path, lines);
      expect(await verify(path)).toMatchObject({ ok: false, firstBadEntry: index });
    }
  });

  it('reports a missing or unreadable head file', async () => {
    const path = await makeLog(2);
    writeFileSync(`${path}.head`, 'garbage');
    expect(await verify(path)).toMatchObject({ ok: false, problem: expect.stringMatching(/head record .* unreadable/) });
    rmSync(`${path}.head`);
    expect(await verify(path)).toMatchObject({ ok: false, problem: expect.stringMatching(/head record .* missing/) });
  });

  it('tolerates exactly one entry written before an interrupted head update, and continues', async () => {
    const path = await makeLog(3);
    const head = readFileSync(`${path}.head`, 'utf8');
    const log = open(path);
    await log.append(event(4));
    writeFileSync(`${path}.head`, head); // as if the process died between the two writes
    expect(await verify(path)).toMatchObject({ ok: true, entries: 4 });
    await log.append(event(5));
    expect(await verify(path)).toMatchObject({ ok: true, entries: 5 });
  });

  it('refuses to append to an inconsistent log, saying what to do', async () => {
    const path = await makeLog(4);
    const log = open(path);
    writeLines(path, readLines(path).slice(0, 2));
    await expect(log.append(event(5))).rejects.toThrow(/inconsistent: .*records 4 entries of log .* ends at seq 2/);
    writeFileSync(path, `${readFileSync(path, 'utf8')}{"seq":3,"partial`);
    await expect(log.append(event(5))).rejects.toThrow(/last line is incomplete/);
    rmSync(path);
    await expect(log.append(event(5))).rejects.toMatchObject({ next: expect.stringMatching(/verify-audit-log --audit-log/) });
  });

  it('reports a line over 1 MiB as unparsable without loading it whole', async () => {
    const path = await makeLog(2);
    writeFileSync(path, `${readFileSync(path, 'utf8')}${'x'.repeat(3 << 20)}\n`);
    expect(await verify(path)).toMatchObject({ ok: false, entries: 3, firstBadEntry: 3 });
  });

  it('fails the append when the log cannot be created', async () => {
    const notADirectory = join(tempDir(), 'file');
    writeFileSync(notADirectory, '');
    await expect(open(join(notADirectory, 'audit.jsonl')).append(event(1))).rejects.toThrow(/EEXIST|ENOTDIR/);
  });

  it('several processes creating the key file at once end up with one key', async () => {
    const dir = tempDir();
    const sources = Array.from({ length: 8 }, () => auditKeySource({ auditKeyFile: join(dir, 'k', 'audit.key') }));
    const ids = new Set((await Promise.all(sources.map((source) => source.load(true)))).map((key) => key!.id));
    expect(ids.size).toBe(1);
    expect(readdirSync(join(dir, 'k'))).toEqual(['audit.key']);
  });
});
