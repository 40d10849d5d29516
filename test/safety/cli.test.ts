import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openFileAuditLog } from '../../src/safety/audit-file.js';
import { createRedactor } from '../../src/safety/redact.js';
import { tempDir, testAuditKeys } from '../helpers/harness.js';

const entry = fileURLToPath(new URL('../../src/index.ts', import.meta.url));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const { CRDB_AUDIT_LOG: _log, CRDB_AUDIT_DB: _db, ...env } = process.env;
    execFile(process.execPath, ['--import', 'tsx', entry, ...args], { env }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('crdb-encryption-mcp verify-audit-log', () => {
  it('prints the verdict as JSON and exits 0 when intact, 1 when tampered', async () => {
    const path = join(tempDir(), 'audit.jsonl');
    const log = openFileAuditLog(path, createRedactor(), testAuditKeys());
    for (let i = 0; i < 3; i += 1) await log.append({ time: 't', tool: 'delete_kms_key', target: 'k', params: {}, outcome: 'attempted', attemptId: String(i) });

    const intact = await cli(['verify-audit-log', '--audit-log', path]);
    expect(intact.code).toBe(0);
    expect(JSON.parse(intact.stdout)).toEqual({ ok: true, entries: 3, store: `file:${path}`, next: 'nothing to do.' });

    writeFileSync(path, readFileSync(path, 'utf8').replace('"k"', '"other"'));
    const broken = await cli(['verify-audit-log', '--audit-log', path]);
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout)).toMatchObject({
      ok: false,
      entries: 3,
      first_bad_entry: 1,
      problem: expect.stringMatching(/edited/),
      next: expect.stringMatching(/preserve/),
    });
  });
});
