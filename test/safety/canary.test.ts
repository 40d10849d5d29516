/**
 * Canary secrets (API key, SQL password, confirm secret, HTTP token) pushed through success,
 * expected-failure and crash paths, progress notifications, confirmation forms and the token flow
 * must never reach a result, a notification, the audit log or stderr.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { Config } from '../../src/config.js';
import { OperatorError } from '../../src/errors.js';
import { requireConfirmation } from '../../src/safety/require-confirmation.js';
import { defineTool, type ToolDef } from '../../src/tools/define-tool.js';
import { callTool } from '../helpers/harness.js';
import { startGatedServer, tokenFrom, type GatedServer } from './gated-tool.js';

const API_KEY = 'canary-api-key-Zq81xPl0';
const DB_PASSWORD = 'canary-db-pw-Hy72Lm';
const CONFIRM_SECRET = 'canary-confirm-secret-Wd93Kf55';
const HTTP_TOKEN = 'canary-http-token-Pp04Jx12';
const CANARIES = [API_KEY, DB_PASSWORD, CONFIRM_SECRET, HTTP_TOKEN];
const DB_URL = `postgresql://app:${DB_PASSWORD}@db.internal:26257/app`;

const config: Partial<Config> = {
  cloud: { apiKey: API_KEY } as unknown as Config['cloud'],
  confirmSecret: CONFIRM_SECRET,
  httpToken: HTTP_TOKEN,
  sql: { targets: { prod: DB_URL } } as unknown as Config['sql'],
};

const everything = `key ${API_KEY}, url ${DB_URL}, bare ${DB_PASSWORD}, confirm ${CONFIRM_SECRET}, http ${HTTP_TOKEN}`;

const leakyTool = defineTool({
  name: 'leaky_change',
  title: 'Leaky change',
  description: 'Test-only mutating tool that tries to leak every secret.',
  toolset: 'sql',
  input: () =>
    z.object({
      mode: z.enum(['success', 'operator_error', 'crash', 'confirm']).describe('Path to take.'),
      password: z.string().optional().describe('A secret parameter.'),
      url: z.string().optional().describe('A connection URL parameter.'),
      confirmation_token: z.string().optional().describe('Token.'),
    }),
  output: () => z.object({ echo: z.string(), nested: z.object({ api_key: z.string(), note: z.string() }) }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  target: (args) => `target ${args.url ?? ''}`,
  async run(args, ctx) {
    await ctx.progress(1, 2, `progress: ${everything}`);
    if (args.mode === 'operator_error') throw new OperatorError(`Failed with ${API_KEY}`, `because ${everything}`, `retry with ${DB_URL}`);
    if (args.mode === 'crash') throw new Error(`crash: ${everything}`);
    if (args.mode === 'confirm') {
      await requireConfirmation(ctx.confirm, {
        tool: 'leaky_change',
        targetName: 'prod',
        targetDescription: `cluster prod at ${DB_URL}`,
        action: `Change using ${API_KEY}.`,
        consequences: [`Exposes ${CONFIRM_SECRET}?`],
        reversibility: `Undo with ${HTTP_TOKEN}.`,
        params: { mode: args.mode },
        targetState: { secret: CONFIRM_SECRET },
        ...(args.confirmation_token ? { token: args.confirmation_token } : {}),
      });
    }
    return { data: { echo: everything, nested: { api_key: API_KEY, note: everything } }, text: `Done: ${everything}\nNext: nothing.` };
  },
}) as unknown as ToolDef;

let stderr: string[] = [];
let server: GatedServer | undefined;
beforeEach(() => {
  stderr = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr.push(String(chunk));
    return true;
  });
});
afterEach(async () => {
  vi.restoreAllMocks();
  await server?.close();
  server = undefined;
});

function expectNoCanary(label: string, text: string): void {
  for (const canary of CANARIES) expect(text.includes(canary), `${label} contains ${canary}`).toBe(false);
}

async function runAll(client: GatedServer['client'], args: Record<string, unknown>[]) {
  const seen: string[] = [];
  for (const call of args) {
    const raw = await client.callTool(
      { name: 'leaky_change', arguments: call },
      {
        onprogress: (progress) => seen.push(JSON.stringify(progress)),
      },
    );
    seen.push(JSON.stringify(raw));
  }
  return seen;
}

describe('secret hygiene', () => {
  it('success, operator error, crash and progress paths never expose a canary', async () => {
    server = await startGatedServer({ config, tools: [leakyTool] });
    const outputs = await runAll(
      server.client,
      ['success', 'operator_error', 'crash'].map((mode) => ({ mode, password: DB_PASSWORD, url: DB_URL })),
    );
    expect(outputs.some((text) => text.includes('progress:'))).toBe(true);
    expect(outputs.join('\n')).toContain('[REDACTED]');
    expectNoCanary('results and progress', outputs.join('\n'));
    const audit = readFileSync(server.config.auditLog, 'utf8');
    expect(audit.split('\n').filter(Boolean)).toHaveLength(7); // the header and six entries
    expectNoCanary('audit log', audit);
    expect(stderr.join('')).toContain('leaky_change failed');
    expectNoCanary('stderr', stderr.join(''));
    expect((await server.deps.audit.verify()).ok).toBe(true);
  });

  it('confirmation forms and the token flow never expose a canary, but keep the token visible', async () => {
    const forms: string[] = [];
    server = await startGatedServer({
      config,
      tools: [leakyTool],
      onElicit: (request) => {
        forms.push(JSON.stringify(request));
        return { action: 'decline' };
      },
    });
    expectNoCanary('declined result', (await runAll(server.client, [{ mode: 'confirm' }])).join('\n'));
    expect(forms).toHaveLength(1);
    expectNoCanary('elicitation form', forms.join('\n'));
    await server.close();

    server = await startGatedServer({ config: { ...config, dangerouslyAllowTokenConfirmation: true }, tools: [leakyTool] });
    const plan = await callTool(server.client, 'leaky_change', { mode: 'confirm' });
    const token = tokenFrom(plan.text);
    expectNoCanary('plan', plan.text);
    const done = await callTool(server.client, 'leaky_change', { mode: 'confirm', confirmation_token: token });
    expect(done.isError).toBe(false);
    expectNoCanary('confirmed result', JSON.stringify(done));
    const audit = readFileSync(server.config.auditLog, 'utf8');
    expect(audit).toContain(token);
    expectNoCanary('audit log', audit);
    expectNoCanary('stderr', stderr.join(''));
  });
});
