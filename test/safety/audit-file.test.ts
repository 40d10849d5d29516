import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config.js';
import { GENESIS_HASH, entryHash } from '../../src/safety/audit-chain.js';
import { openAuditLog } from '../../src/safety/audit-log.js';
import { openFileAuditLog, verifyAuditFile } from '../../src/safety/audit-file.js';
import { createRedactor } from '../../src/safety/redact.js';
import type { AuditEntry, AuditEvent } from '../../src/safety/types.js';
import { tempDir } from '../helpers/harness.js';

function event(i: number, extra: Partial<AuditEvent> = {}): AuditEvent {
  return { time: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(), tool: 'revoke_cmek', target: `cluster-${i}`, params: { cluster: `cluster-${i}` }, outcome: 'attempted', attemptId: `a-${i}`, ...extra };
}

async function makeLog(count: number, path = join(tempDir(), 'state', 'audit.jsonl')): Promise<string> {
  const log = openFileAuditLog(path, createRedactor());
  for (let i = 1; i <= count; i += 1) await log.append(event(i));
  await log.close();
  return path;
}

const readLines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);
const writeLines = (path: string, lines: string[]) => writeFileSync(path, lines.map((line) => `${line}\n`).join(''));
const verify = (path: string) => verifyAuditFile(path, { allowMissing: false });

describe('file audit log', () => {
  it('on the sandbox marks every entry sandbox: true (covered by the hash), elsewhere never', async () => {
    const dir = tempDir();
    for (const sandbox of [true, false]) {
      const config = buildConfig({ sandbox, auditLog: join(dir, `${sandbox}.jsonl`) });
      const log = await openAuditLog(config, createRedactor());
      await log.append(event(1));
      await log.append(event(2, { outcome: 'succeeded' }));
      await log.close();
      const entries = readLines(config.auditLog).map((line) => JSON.parse(line) as AuditEntry);
      expect(entries.map((entry) => entry.sandbox)).toEqual(sandbox ? [true, true] : [undefined, undefined]);
      expect(await verify(config.auditLog)).toMatchObject({ ok: true, entries: 2 });
    }
  });

  it('writes a hash chain from the genesis hash, in a 0600 file under a created directory, with a head file', async () => {
    const path = await makeLog(3);
    const entries = readLines(path).map((line) => JSON.parse(line) as AuditEntry);
    expect(entries.map((entry) => entry.seq)).toEqual([1, 2, 3]);
    expect(entries[0]!.prevHash).toBe(GENESIS_HASH);
    expect(entries[1]!.prevHash).toBe(entries[0]!.hash);
    for (const entry of entries) expect(entryHash(entry as unknown as Record<string, unknown>)).toBe(entry.hash);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(`${path}.head`, 'utf8'))).toEqual({ seq: 3, hash: entries[2]!.hash });
    expect(await verify(path)).toEqual({ ok: true, entries: 3, store: `file:${path}` });
  });

  it('resumes the chain when reopened, and redacts entries before hashing', async () => {
    const path = await makeLog(2);
    const redactor = createRedactor();
    redactor.addSecret('reopen-secret-value');
    const log = openFileAuditLog(path, redactor);
    await log.append(event(3, { detail: 'oops reopen-secret-value leaked', params: { password: 'p4ssw0rd-x' } }));
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain('reopen-secret-value');
    expect(text).not.toContain('p4ssw0rd-x');
    expect(await log.verify()).toMatchObject({ ok: true, entries: 3 });
  });

  it('serialises concurrent appends in one process into one chain', async () => {
    const path = join(tempDir(), 'audit.jsonl');
    const logs = [openFileAuditLog(path, createRedactor()), openFileAuditLog(path, createRedactor())];
    await Promise.all(Array.from({ length: 40 }, (_, i) => logs[i % 2]!.append(event(i + 1))));
    expect(await verify(path)).toMatchObject({ ok: true, entries: 40 });
  });

  it('verifying while appends run reports no false tampering', async () => {
    const path = await makeLog(1);
    const log = openFileAuditLog(path, createRedactor());
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
    writeFileSync(
      script,
      `import { existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { openFileAuditLog } from ${JSON.stringify(module)};
import { createRedactor } from ${JSON.stringify(redact)};
const [path, name] = process.argv.slice(2);
const log = openFileAuditLog(path, createRedactor());
writeFileSync(path + '.' + name + '.ready', '');
while (!existsSync(path + '.go')) await sleep(2);
await Promise.all(Array.from({ length: 25 }, (_, i) => log.append({ time: 't', tool: 'x', target: name, params: {}, outcome: 'attempted', attemptId: String(i) })));
`,
    );
    const run = (name: string) =>
      new Promise<number>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, path, name], { stdio: ['ignore', 'ignore', 'inherit'] });
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

  it('names the first bad entry: edited content', async () => {
    const path = await makeLog(5);
    const lines = readLines(path);
    lines[2] = lines[2]!.replace('"attempted"', '"succeeded"');
    writeLines(path, lines);
    expect(await verify(path)).toMatchObject({ ok: false, entries: 5, firstBadEntry: 3, problem: expect.stringMatching(/entry 3 was edited/) });
  });

  it('names the first bad entry: edited and re-hashed', async () => {
    const path = await makeLog(5);
    const lines = readLines(path);
    const entry = JSON.parse(lines[1]!) as AuditEntry;
    entry.outcome = 'succeeded';
    entry.hash = entryHash(entry as unknown as Record<string, unknown>);
    lines[1] = JSON.stringify(entry);
    writeLines(path, lines);
    expect(await verify(path)).toMatchObject({ ok: false, firstBadEntry: 2, problem: expect.stringMatching(/entry 2 was edited and re-hashed/) });
  });

  it('names the first bad entry: deleted', async () => {
    const path = await makeLog(5);
    const lines = readLines(path);
    lines.splice(2, 1);
    writeLines(path, lines);
    expect(await verify(path)).toMatchObject({ ok: false, entries: 4, firstBadEntry: 3, problem: expect.stringMatching(/deleted.*seq 3 is missing/) });
    const first = readLines(path).slice(1);
    writeLines(path, first);
    expect(await verify(path)).toMatchObject({ ok: false, firstBadEntry: 1, problem: expect.stringMatching(/deleted/) });
  });

  it('names the first bad entry: reordered', async () => {
    const path = await makeLog(5);
    const lines = readLines(path);
    [lines[1], lines[2]] = [lines[2]!, lines[1]!];
    writeLines(path, lines);
    expect(await verify(path)).toMatchObject({ ok: false, firstBadEntry: 2, problem: expect.stringMatching(/reordered/) });
  });

  it('names the first bad entry: truncated tail (detected through the head file)', async () => {
    const path = await makeLog(5);
    writeLines(path, readLines(path).slice(0, 3));
    expect(await verify(path)).toMatchObject({ ok: false, entries: 3, firstBadEntry: 4, problem: expect.stringMatching(/truncated.*entries 4-5 were removed/) });
    writeFileSync(path, '');
    expect(await verify(path)).toMatchObject({ ok: false, entries: 0, firstBadEntry: 1 });
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
      writeFileSync(path, lines.map((line) => `${line}\n`).join(''));
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
    const log = openFileAuditLog(path, createRedactor());
    await log.append(event(4));
    writeFileSync(`${path}.head`, head); // as if the process died between the two writes
    expect(await verify(path)).toMatchObject({ ok: true, entries: 4 });
    await log.append(event(5));
    expect(await verify(path)).toMatchObject({ ok: true, entries: 5 });
  });

  it('refuses to append to an inconsistent log, saying what to do', async () => {
    const path = await makeLog(4);
    const log = openFileAuditLog(path, createRedactor());
    writeLines(path, readLines(path).slice(0, 2));
    await expect(log.append(event(5))).rejects.toThrow(/inconsistent: its last entry \(seq 2\) does not match its head \(seq 4\)/);
    writeFileSync(path, `${readFileSync(path, 'utf8')}{"seq":3,"partial`);
    await expect(log.append(event(5))).rejects.toThrow(/last line is incomplete/);
    rmSync(path);
    await expect(log.append(event(5))).rejects.toMatchObject({ next: expect.stringMatching(/verify-audit-log --audit-log/) });
  });

  it('treats a missing configured log as empty, but a missing explicit path as an error', async () => {
    const path = join(tempDir(), 'none', 'audit.jsonl');
    expect(await openFileAuditLog(path, createRedactor()).verify()).toEqual({ ok: true, entries: 0, store: `file:${path}` });
    await expect(verify(path)).rejects.toThrow(/no audit log at/);
    await expect(verify(tempDir())).rejects.toThrow(/not a regular file/);
  });

  it('reports a line over 1 MiB as unparsable without loading it whole', async () => {
    const path = await makeLog(2);
    writeFileSync(path, `${readFileSync(path, 'utf8')}${'x'.repeat(3 << 20)}\n`);
    expect(await verify(path)).toMatchObject({ ok: false, entries: 3, firstBadEntry: 3 });
  });

  it('fails the append when the log cannot be created', async () => {
    const notADirectory = join(tempDir(), 'file');
    writeFileSync(notADirectory, '');
    await expect(openFileAuditLog(join(notADirectory, 'audit.jsonl'), createRedactor()).append(event(1))).rejects.toThrow(/EEXIST|ENOTDIR/);
  });
});
