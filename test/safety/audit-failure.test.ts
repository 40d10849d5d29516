import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRedactor } from '../../src/safety/redact.js';
import { openFileAuditLog } from '../../src/safety/audit-file.js';
import type { AuditLog } from '../../src/safety/types.js';
import { defineTool, type ToolDef } from '../../src/tools/define-tool.js';
import { callTool, tempDir, testAuditKeys } from '../helpers/harness.js';
import { destroyWidgetTool, startGatedServer, type GatedServer, type Upstream } from './gated-tool.js';

const readTool = defineTool({
  name: 'read_widget',
  title: 'Read widget',
  description: 'Test-only read tool.',
  toolset: 'kms',
  input: () => z.object({}),
  output: () => z.object({ ok: z.boolean() }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  run: async () => ({ data: { ok: true }, text: 'ok\nNext: nothing.' }),
}) as unknown as ToolDef;

let open: GatedServer[] = [];
afterEach(async () => {
  await Promise.all(open.map((server) => server.close()));
  open = [];
});

async function serverWith(options: { auditLog?: string; audit?: AuditLog }) {
  const upstream: Upstream = { calls: 0, state: {} };
  const server = await startGatedServer({
    upstream,
    tools: [destroyWidgetTool(upstream), readTool],
    onElicit: () => ({ action: 'accept', content: { confirm_name: 'w-prod', decision: 'approve' } }),
    ...(options.auditLog ? { config: { auditLog: options.auditLog } } : {}),
    ...(options.audit ? { deps: { audit: options.audit } } : {}),
  });
  open.push(server);
  return server;
}

describe('when the audit log cannot be written', () => {
  it('a mutating tool does not run without its "attempted" entry, and says why; read tools still work', async () => {
    const notADirectory = join(tempDir(), 'file');
    writeFileSync(notADirectory, '');
    const server = await serverWith({ auditLog: join(notADirectory, 'audit.jsonl') });
    const result = await callTool(server.client, 'destroy_widget', { widget: 'w-prod' });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/^Not run: destroy_widget changes state and the audit log could not record the attempt/);
    expect(result.text).toContain('Nothing was changed.');
    expect(result.text).toMatch(/Next: check that .*audit\.jsonl and its directory are writable/);
    expect(server.upstream.calls).toBe(0);
    expect((await callTool(server.client, 'read_widget')).isError).toBe(false);
  });

  it('an inconsistent log refuses mutations and points at verify-audit-log', async () => {
    const path = join(tempDir(), 'audit.jsonl');
    const log = openFileAuditLog(path, createRedactor(), testAuditKeys());
    for (let i = 0; i < 3; i += 1) await log.append({ time: 't', tool: 'x', target: 'y', params: {}, outcome: 'attempted', attemptId: String(i) });
    writeFileSync(path, readFileSync(path, 'utf8').split('\n').slice(0, 1).join('\n') + '\n');
    const server = await serverWith({ auditLog: path });
    const result = await callTool(server.client, 'destroy_widget', { widget: 'w-prod' });
    expect(result.text).toMatch(/inconsistent/);
    expect(result.text).toMatch(/Next: run `crdb-encryption-mcp verify-audit-log --audit-log/);
    expect(server.upstream.calls).toBe(0);
  });

  it('an outcome that cannot be recorded is reported with the result, not hidden', async () => {
    const appended: string[] = [];
    const audit: AuditLog = {
      async append(event) {
        if (event.outcome !== 'attempted') throw new Error('disk full');
        appended.push(event.outcome);
      },
      verify: async () => ({ ok: true, entries: appended.length }),
      close: async () => {},
    };
    const server = await serverWith({ audit });
    const result = await callTool(server.client, 'destroy_widget', { widget: 'w-prod' });
    expect(server.upstream.calls).toBe(1);
    expect(result.isError).toBe(false);
    expect(result.structured).toEqual({ destroyed: 'w-prod' });
    expect(result.text).toMatch(/Warning: the audit log could not record the outcome \(succeeded\) of this call \(disk full\)/);
    expect(appended).toEqual(['attempted']);
  });
});
