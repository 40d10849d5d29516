import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { ElicitRequest, ElicitResult } from '@modelcontextprotocol/client';
import { buildConfig } from '../../src/config.js';
import { createConfirmationGate } from '../../src/safety/confirm.js';
import { SEALED_TTL_MS } from '../../src/safety/sealed-state.js';
const TOKEN_TTL_MS = SEALED_TTL_MS.token;
import { callTool } from '../helpers/harness.js';
import { CONSEQUENCES, DESCRIPTION, REVERSIBILITY, destroyWidgetTool, startGatedServer, tokenFrom, type GatedServer, type Upstream } from './gated-tool.js';

let open: GatedServer[] = [];
afterEach(async () => {
  await Promise.all(open.map((server) => server.close()));
  open = [];
});

async function withElicit(onElicit: (request: ElicitRequest['params']) => Promise<ElicitResult> | ElicitResult, config = {}) {
  const server = await startGatedServer({ onElicit, config });
  open.push(server);
  return server;
}

const approve = (name: string): ElicitResult => ({ action: 'accept', content: { confirm_name: name, decision: 'approve' } });

function outcomes(server: GatedServer): string[] {
  return server.auditEntries().map((entry) => entry.outcome);
}

describe('confirmation by elicitation', () => {
  it('proceeds exactly once on accept + approve + the exact name, after showing target, action, consequences, reversibility', async () => {
    const seen: ElicitRequest['params'][] = [];
    const server = await withElicit((request) => {
      seen.push(request);
      return approve('w-prod');
    });
    const result = await callTool(server.client, 'destroy_widget', { widget: 'w-prod' });
    expect(result.isError).toBe(false);
    expect(result.structured).toEqual({ destroyed: 'w-prod' });
    expect(server.upstream.calls).toBe(1);
    expect(seen).toHaveLength(1);
    const request = seen[0]! as ElicitRequest['params'] & { requestedSchema: any };
    for (const part of [DESCRIPTION, 'Destroy widget w-prod.', ...CONSEQUENCES, REVERSIBILITY]) expect(request.message).toContain(part);
    const { properties, required } = request.requestedSchema;
    expect(properties.confirm_name).toMatchObject({ type: 'string', title: 'Type w-prod to confirm' });
    expect(properties.decision).toMatchObject({ type: 'string', enum: ['approve', 'reject'] });
    expect(properties.decision.default).toBeUndefined();
    expect(required).toEqual(['confirm_name', 'decision']);
    expect(outcomes(server)).toEqual(['attempted', 'succeeded']);
    expect(server.auditEntries()[1]!.requestIds).toEqual(['req-123']);
  });

  it('accepts the name with surrounding whitespace only (documented), nothing else', async () => {
    const server = await withElicit(() => approve('  w-prod\n'));
    expect((await callTool(server.client, 'destroy_widget', { widget: 'w-prod' })).isError).toBe(false);
    expect(server.upstream.calls).toBe(1);
  });

  const refusals: Array<[string, ElicitResult | (() => never), RegExp, string]> = [
    ['accept + reject (the microsoft/mcp bug)', { action: 'accept', content: { confirm_name: 'w-prod', decision: 'reject' } }, /You chose reject/, 'rejected'],
    ['accept + approve + wrong case', approve('W-PROD'), /did not match w-prod exactly/, 'name_mismatch'],
    ['accept + approve + another name', approve('w-prod-2'), /did not match w-prod exactly/, 'name_mismatch'],
    ['accept + approve + empty name', approve(''), /did not match w-prod exactly/, 'name_mismatch'],
    ['accept without content', { action: 'accept' }, /You chose reject/, 'rejected'],
    ['decline', { action: 'decline' }, /You declined/, 'declined'],
    ['cancel', { action: 'cancel' }, /was cancelled/, 'cancelled'],
    [
      'handler throws',
      () => {
        throw new Error('dialog crashed');
      },
      /confirmation form .* failed/,
      'error',
    ],
  ];

  it.each(refusals)('%s -> zero upstream calls, says nothing changed and what next', async (_label, answer, message, verdict) => {
    const server = await withElicit(() => (typeof answer === 'function' ? answer() : answer));
    const result = await callTool(server.client, 'destroy_widget', { widget: 'w-prod' });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(message);
    expect(result.text).toContain('Nothing was changed.');
    expect(result.text).toMatch(/\nNext: \S/);
    expect(server.upstream.calls).toBe(0);
    const [attempted, outcome] = server.auditEntries();
    expect(attempted!.outcome).toBe('attempted');
    expect(outcome!.outcome).toBe(_label === 'handler throws' ? 'refused' : 'declined');
    expect(outcome!.confirmation).toBe(verdict);
    expect(outcome!.attemptId).toBe(attempted!.attemptId);
  });

  it('an unanswered form times out -> zero upstream calls', async () => {
    const server = await startGatedServer({
      onElicit: () => new Promise<ElicitResult>(() => {}),
      deps: { createConfirm: createConfirmationGate({ config: buildConfig({ auditLog: '/unused' }), now: Date.now, elicitTimeoutMs: 30 }) },
    });
    open.push(server);
    const result = await callTool(server.client, 'destroy_widget', { widget: 'w-prod' });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/no answer within/);
    expect(server.upstream.calls).toBe(0);
  });

  it('elicitation wins over a token even when the token flow is allowed', async () => {
    const server = await withElicit(() => ({ action: 'decline' }), { dangerouslyAllowTokenConfirmation: true });
    const result = await callTool(server.client, 'destroy_widget', { widget: 'w-prod', confirmation_token: 'x'.repeat(119) });
    expect(result.text).toMatch(/You declined/);
    expect(server.upstream.calls).toBe(0);
  });

  it('a client without elicitation is refused with how to get confirmation, and nothing runs', async () => {
    const server = await startGatedServer();
    open.push(server);
    const result = await callTool(server.client, 'destroy_widget', { widget: 'w-prod' });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/form elicitation/);
    expect(result.text).toMatch(/--dangerously-allow-token-confirmation/);
    expect(result.text).toContain('Nothing was changed.');
    expect(server.upstream.calls).toBe(0);
    expect(outcomes(server)).toEqual(['attempted', 'refused']);
  });
});

describe('two-step token confirmation (--dangerously-allow-token-confirmation)', () => {
  async function tokenServer(upstream?: Upstream) {
    const clock = { now: () => Date.parse('2025-06-01T12:00:00Z') };
    const server = await startGatedServer({ config: { dangerouslyAllowTokenConfirmation: true }, deps: { clock }, ...(upstream ? { upstream } : {}) });
    open.push(server);
    return { server, clock };
  }

  async function plan(server: GatedServer, args: Record<string, unknown> = { widget: 'w-prod' }) {
    const first = await callTool(server.client, 'destroy_widget', args);
    expect(first.isError).toBe(true);
    expect(first.text).toContain('Plan (not executed)');
    for (const part of [DESCRIPTION, ...CONSEQUENCES, REVERSIBILITY]) expect(first.text).toContain(part);
    expect(first.text).toMatch(/identical parameters plus confirmation_token/);
    expect(server.upstream.calls).toBe(0);
    return tokenFrom(first.text);
  }

  it('happy path runs once; the same token is then refused as a replay', async () => {
    const { server } = await tokenServer();
    const token = await plan(server);
    const second = await callTool(server.client, 'destroy_widget', { widget: 'w-prod', confirmation_token: token });
    expect(second.isError).toBe(false);
    expect(server.upstream.calls).toBe(1);
    const third = await callTool(server.client, 'destroy_widget', { widget: 'w-prod', confirmation_token: token });
    expect(third.isError).toBe(true);
    expect(third.text).toMatch(/already used/);
    expect(server.upstream.calls).toBe(1);
    expect(outcomes(server)).toEqual(['attempted', 'refused', 'attempted', 'succeeded', 'attempted', 'refused']);
    expect(server.auditEntries().map((entry) => entry.confirmation)).toEqual([undefined, 'token_issued', undefined, 'approved', undefined, 'replayed']);
    expect(server.auditEntries()[1]!.detail).toContain(token);
  });

  it('a changed parameter invalidates the token', async () => {
    const { server } = await tokenServer();
    const token = await plan(server);
    for (const args of [{ widget: 'w-prod', force: true }, { widget: 'w-prod2' }]) {
      const result = await callTool(server.client, 'destroy_widget', { ...args, confirmation_token: token });
      expect(result.text).toMatch(/not valid for these parameters/);
    }
    expect(server.upstream.calls).toBe(0);
    // Still unused: the original parameters work.
    expect((await callTool(server.client, 'destroy_widget', { widget: 'w-prod', confirmation_token: token })).isError).toBe(false);
  });

  it('a token for another tool is invalid', async () => {
    const upstream: Upstream = { calls: 0, state: { v: 1 } };
    const clock = { now: () => 0 };
    const server = await startGatedServer({
      config: { dangerouslyAllowTokenConfirmation: true },
      deps: { clock },
      upstream,
      tools: [destroyWidgetTool(upstream), destroyWidgetTool(upstream, 'destroy_other_widget')],
    });
    open.push(server);
    const token = tokenFrom((await callTool(server.client, 'destroy_widget', { widget: 'w' })).text);
    const other = await callTool(server.client, 'destroy_other_widget', { widget: 'w', confirmation_token: token });
    expect(other.text).toMatch(/not valid for these parameters/);
    expect(upstream.calls).toBe(0);
  });

  it('expires after 5 minutes (fake clock)', async () => {
    const { server, clock } = await tokenServer();
    const start = clock.now();
    const token = await plan(server);
    clock.now = () => start + TOKEN_TTL_MS;
    const late = await callTool(server.client, 'destroy_widget', { widget: 'w-prod', confirmation_token: token });
    expect(late.text).toMatch(/expired at 2025-06-01T12:05:00.000Z/);
    expect(server.upstream.calls).toBe(0);
    const token2 = await plan(server);
    clock.now = () => start + 2 * TOKEN_TTL_MS - 1;
    expect((await callTool(server.client, 'destroy_widget', { widget: 'w-prod', confirmation_token: token2 })).isError).toBe(false);
  });

  it('a changed target makes the plan stale', async () => {
    const { server } = await tokenServer();
    const token = await plan(server);
    server.upstream.state = { status: 'ROTATING', version: 2 };
    const result = await callTool(server.client, 'destroy_widget', { widget: 'w-prod', confirmation_token: token });
    expect(result.text).toMatch(/stale plan/);
    expect(server.upstream.calls).toBe(0);
  });

  it('any single-character change to the token is refused (property)', async () => {
    const { server } = await tokenServer();
    const token = await plan(server);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: token.length - 1 }), fc.constantFrom(...alphabet), async (index, char) => {
        fc.pre(token[index] !== char);
        const forged = token.slice(0, index) + char + token.slice(index + 1);
        const result = await callTool(server.client, 'destroy_widget', { widget: 'w-prod', confirmation_token: forged });
        expect(result.isError).toBe(true);
        expect(result.text).toMatch(/not valid for these parameters/);
      }),
      { numRuns: 60 },
    );
    expect(server.upstream.calls).toBe(0);
  });

  it('garbage tokens are refused without running anything', async () => {
    const { server } = await tokenServer();
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300 }), async (garbage) => {
        fc.pre(garbage.length > 0);
        const result = await callTool(server.client, 'destroy_widget', { widget: 'w-prod', confirmation_token: garbage });
        expect(result.isError).toBe(true);
      }),
      { numRuns: 40 },
    );
    expect(server.upstream.calls).toBe(0);
    expect((await server.client.listTools()).tools.map((tool) => tool.name)).toEqual(['destroy_widget']);
  });
});

describe('audit trail of gated calls', () => {
  it('records attempted plus refused, declined, failed, succeeded and dry_run', async () => {
    let answer: ElicitResult = { action: 'decline' };
    const server = await withElicit(() => answer);
    await callTool(server.client, 'destroy_widget', { widget: 'w-prod' });
    answer = approve('w-prod');
    await callTool(server.client, 'destroy_widget', { widget: 'w-prod' });
    server.upstream.failWith = 'the provider said no';
    const failed = await callTool(server.client, 'destroy_widget', { widget: 'w-prod' });
    expect(failed.text).toMatch(/Upstream failed/);
    await callTool(server.client, 'destroy_widget', { widget: 'w-prod', dry_run: true });
    answer = { action: 'accept', content: { confirm_name: 'nope', decision: 'approve' } };
    await callTool(server.client, 'destroy_widget', { widget: 'w-prod' });
    const entries = server.auditEntries();
    expect(entries.map((entry) => entry.outcome)).toEqual([
      'attempted',
      'declined',
      'attempted',
      'succeeded',
      'attempted',
      'failed',
      'attempted',
      'dry_run',
      'attempted',
      'declined',
    ]);
    expect(entries.map((entry) => entry.confirmation)).toEqual([
      undefined,
      'declined',
      undefined,
      'approved',
      undefined,
      'approved',
      undefined,
      undefined,
      undefined,
      'name_mismatch',
    ]);
    expect(entries.every((entry) => entry.tool === 'destroy_widget' && entry.target === 'w-prod')).toBe(true);
    expect(entries.map((entry) => entry.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(entries[5]!.detail).toMatch(/the provider said no/);
    expect((await server.deps.audit.verify()).ok).toBe(true);
  });
});
