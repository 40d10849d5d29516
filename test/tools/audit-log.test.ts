import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileAuditLog } from '../../src/safety/audit-file.js';
import { createRedactor } from '../../src/safety/redact.js';
import type { AuditEvent } from '../../src/safety/types.js';
import { callTool, startTestServer, tempDir, testAuditKeys, type TestServer } from '../helpers/harness.js';

const event = (i: number): AuditEvent => ({ time: 't', tool: 'revoke_cmek', target: 'prod', params: { i }, outcome: 'attempted', attemptId: String(i) });

async function writeLog(path: string, count: number): Promise<void> {
  const log = openFileAuditLog(path, createRedactor(), testAuditKeys());
  for (let i = 1; i <= count; i += 1) await log.append(event(i));
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

describe('verify_audit_log', () => {
  it('is listed as a read-only tool of the audit toolset with all four annotations', async () => {
    const tool = (await server.client.listTools()).tools.find((candidate) => candidate.name === 'verify_audit_log');
    expect(tool?.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false });
    expect(tool?.description?.length).toBeLessThanOrEqual(400);
    expect(tool?.inputSchema.properties?.path).toMatchObject({ type: 'string' });
  });

  it('checks the configured log by default: empty, then intact', async () => {
    const empty = await callTool(server.client, 'verify_audit_log');
    expect(empty.structured).toMatchObject({ ok: true, entries: 0, store: `file:${server.config.auditLog}`, next_actions: [] });
    expect(empty.text).toMatch(/Next: nothing to do: the log is intact/);
    await writeLog(server.config.auditLog, 4);
    expect((await callTool(server.client, 'verify_audit_log')).structured).toMatchObject({ ok: true, entries: 4 });
  });

  it('names the first bad entry of a tampered log, with what to do', async () => {
    const path = join(tempDir(), 'copy.jsonl');
    await writeLog(path, 5);
    const lines = readFileSync(path, 'utf8').split('\n');
    lines.splice(2, 1); // line 1 is the header: this deletes entry 2
    writeFileSync(path, lines.join('\n'));
    const result = await callTool(server.client, 'verify_audit_log', { path });
    expect(result.isError).toBe(false);
    expect(result.structured).toMatchObject({ ok: false, entries: 4, first_bad_entry: 2, problem: expect.stringMatching(/deleted/), store: `file:${path}` });
    expect(result.text).toMatch(/FAILED verification at entry 2 of 4/);
    expect(result.text).toMatch(/Next: preserve the log as evidence.*compare the entries around the first bad one with the upstream audit logs/);
  });

  it('refuses relative, missing and non-file paths with an actionable message', async () => {
    const cases: Array<[string, RegExp]> = [
      ['audit.jsonl', /relative/],
      [join(tempDir(), 'missing.jsonl'), /no audit log at/],
      [tempDir(), /not a regular file/],
    ];
    for (const [path, message] of cases) {
      const result = await callTool(server.client, 'verify_audit_log', { path });
      expect(result.isError).toBe(true);
      expect(result.text).toMatch(message);
      expect(result.text).toMatch(/\nNext: \S/);
    }
  });

  it('answers malformed arguments with a clear error, and keeps serving (property)', async () => {
    const before = readFileSync(server.config.auditLog, 'utf8');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({
            path: fc.oneof(
              fc.integer(),
              fc.boolean(),
              fc.constant(null),
              fc.array(fc.string()),
              fc.object(),
              fc.constant(''),
              fc.string({ minLength: 4097, maxLength: 5000 }),
            ),
          }),
          fc.record({ path: fc.string({ minLength: 1, maxLength: 50 }).filter((path) => !path.startsWith('/')) }),
        ),
        async (args) => {
          const result = await callTool(server.client, 'verify_audit_log', args as Record<string, unknown>);
          expect(result.isError).toBe(true);
          expect(result.text.length).toBeGreaterThan(10);
        },
      ),
      { numRuns: 40 },
    );
    expect((await server.client.listTools()).tools.some((tool) => tool.name === 'verify_audit_log')).toBe(true);
    expect(readFileSync(server.config.auditLog, 'utf8')).toBe(before);
  });

  it('reports malformed log contents after a genuine header as a finding, never as a crash (property)', async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    const genuine = join(dir, 'genuine.jsonl');
    await writeLog(genuine, 1);
    const header = readFileSync(genuine, 'utf8').split('\n')[0]!;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.string(),
            fc.jsonValue().map((value) => JSON.stringify(value)),
          ),
          { maxLength: 6 },
        ),
        async (lines) => {
          const path = join(dir, `log-${(n += 1)}.jsonl`);
          writeFileSync(path, [header, ...lines].join('\n'));
          const result = await callTool(server.client, 'verify_audit_log', { path });
          expect(result.isError).toBe(false);
          const data = result.structured!;
          if (data.ok) expect(data.entries).toBe(0);
          else expect(data.problem).toEqual(expect.any(String));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('answers for audit logs only: any other file is refused before anything about it is shown (property)', async () => {
    const dir = tempDir();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.string(),
            fc.jsonValue().map((value) => JSON.stringify(value)),
          ),
          { minLength: 1, maxLength: 25 },
        ),
        async (lines) => {
          const path = join(dir, `file-${(n += 1)}`);
          writeFileSync(path, lines.join('\n'));
          const result = await callTool(server.client, 'verify_audit_log', { path });
          if (result.isError) {
            expect(result.text).toMatch(/not an audit log of this server/);
            expect(result.text).not.toMatch(/entr(y|ies) \d/);
          } else {
            expect(result.structured).toMatchObject({ ok: false, problem: expect.stringMatching(/earlier version without a key/) });
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
