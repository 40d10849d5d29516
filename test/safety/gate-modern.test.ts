/**
 * The confirmation gate on the 2026-07-28 era: a v2 Client pinned to 2026-07-28 calls the real
 * delete_kms_key on the sandbox. The form comes back as `input_required` with a sealed
 * requestState; the client answers through its elicitation handler (auto-fulfilment) or, in
 * manual mode, retries with whatever a hostile client might send. Deletions are counted at the
 * AWS KMS emulator.
 */
import { Client, StreamableHTTPClientTransport, type ElicitResult } from '@modelcontextprotocol/client';
import { createMcpHandler } from '@modelcontextprotocol/server';
import { beforeEach, describe, expect, it } from 'vitest';
import { FORM_REFUSALS, GATE_KEYS, approveAnswer, useGateSandbox } from './gate-sandbox.js';
import { createDeps } from '../../src/deps.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { AWS_KEYS } from '../../src/sandbox/seed.js';
import { SEALED_TTL_MS } from '../../src/safety/sealed-state.js';
import { createServer } from '../../src/server.js';
import { auditEntries, callTool, type TestServer } from '../helpers/harness.js';
import { startCmekServer } from '../tools/cmek-helpers.js';

const gate = useGateSandbox();
const { servers, deletions } = gate;
const { unused, approved: approvedKey, raced } = GATE_KEYS;
const approve = (name: string): ElicitResult => approveAnswer(name);
let sandbox: Sandbox;
beforeEach(() => {
  sandbox = gate.sandbox();
});

function audit(server: Pick<TestServer, 'config'>): Array<[string, string | undefined]> {
  return auditEntries(server.config.auditLog)
    .filter((entry) => entry.tool === 'delete_kms_key')
    .map((entry) => [entry.outcome, entry.confirmation]);
}

async function modernServer(onElicit: (request: { message: string; requestedSchema?: unknown }) => Promise<ElicitResult> | ElicitResult) {
  const server = await startCmekServer(sandbox, { era: 'modern', cloud: { rateLimitPerSecond: 1000 }, onElicit: onElicit as never });
  servers.push(server);
  return server;
}

describe('2026-07-28: the form through input_required (auto-fulfilled by the v2 client)', () => {
  const refusals = FORM_REFUSALS;

  it.each(refusals)('%s: nothing deleted, both rounds audited', async (_label, answer, says, outcome, verdict) => {
    const forms: string[] = [];
    const server = await modernServer((request) => {
      forms.push(request.message);
      return answer;
    });
    const result = await callTool(server.client, 'delete_kms_key', { key_uri: unused });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(says);
    expect(result.text).toContain('Nothing was changed.');
    expect(forms).toHaveLength(1);
    expect(forms[0]).toContain(unused);
    expect(deletions()).toBe(0);
    expect(audit(server)).toEqual([
      ['attempted', undefined],
      ['refused', 'input_required'],
      ['attempted', undefined],
      [outcome, verdict],
    ]);
  });

  it('approve with the exact name: deleted exactly once', async () => {
    const server = await modernServer(() => approve(AWS_KEYS.prodEastNextWest.id));
    const result = await callTool(server.client, 'delete_kms_key', { key_uri: approvedKey, pending_window_days: 7 });
    expect(result.isError, result.text).toBe(false);
    expect(result.structured).toMatchObject({ state: 'PendingDeletion', window_days: 7 });
    expect(deletions()).toBe(1);
    expect(audit(server)).toEqual([
      ['attempted', undefined],
      ['refused', 'input_required'],
      ['attempted', undefined],
      ['succeeded', 'approved'],
    ]);
  });

  it('race: a rotate_cmek new_key onto the key while the form is open stops the deletion', async () => {
    let server: TestServer | undefined;
    server = await modernServer(async () => {
      const rotated = await callTool(server!.client, 'rotate_cmek', {
        cluster: 'prod-east',
        mode: 'new_key',
        regions: ['us-east-1'],
        new_keys: { 'us-east-1': raced },
      });
      expect(rotated.isError, rotated.text).toBe(false);
      return approve(AWS_KEYS.prodEastNext.id);
    });
    const result = await callTool(server.client, 'delete_kms_key', { key_uri: raced });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/the key is in use/);
    expect(result.text).toMatch(/prod-east .* region us-east-1: current key/);
    expect(deletions()).toBe(0);
    expect(sandbox.aws.keyState(raced)).toBe('Enabled');
  });

  it('a client that declares no elicitation gets the explanation, not a form', async () => {
    const server = await startCmekServer(sandbox, { era: 'modern', cloud: { rateLimitPerSecond: 1000 } });
    servers.push(server);
    const result = await callTool(server.client, 'delete_kms_key', { key_uri: unused });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/cannot show a confirmation form/);
    expect(deletions()).toBe(0);
    expect(audit(server)).toEqual([
      ['attempted', undefined],
      ['refused', 'unsupported'],
    ]);
  });
});

describe('2026-07-28: what a hostile client sends back (manual mode)', () => {
  /** A v2 client that returns input_required to the test instead of answering it. */
  async function manual(clock: { now: () => number } = { now: () => Date.now() }) {
    const server = await startCmekServer(sandbox, { era: 'modern', cloud: { rateLimitPerSecond: 1000 }, deps: { clock } });
    servers.push(server);
    const handler = createMcpHandler(() => createServer(server.config, server.deps), { legacy: 'reject' });
    const client = new Client(
      { name: 'manual', version: '1.0.0' },
      { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode: { pin: '2026-07-28' } }, inputRequired: { autoFulfill: false } },
    );
    await client.connect(new StreamableHTTPClientTransport(new URL('http://127.0.0.1/mcp'), { fetch: (url, init) => handler.fetch(new Request(url, init)) }));
    servers.push({
      close: async () => {
        await client.close();
        await handler.close();
      },
    } as TestServer);
    const ask = async (args: Record<string, unknown>) => {
      const first = (await client.callTool({ name: 'delete_kms_key', arguments: args }, { allowInputRequired: true })) as unknown as {
        resultType?: string;
        requestState: string;
        inputRequests: Record<string, { method?: string; params?: { message: string } }>;
      };
      expect(first.resultType).toBe('input_required');
      expect(first.requestState).toMatch(/^[A-Za-z0-9_-]{120}$/);
      return first;
    };
    const answer = async (args: Record<string, unknown>, requestState: string, response: ElicitResult) => {
      const result = (await client.callTool({ name: 'delete_kms_key', arguments: args, inputResponses: { confirm: response }, requestState } as never, {
        allowInputRequired: true,
      })) as {
        isError?: boolean;
        content?: Array<{ type: string; text?: string }>;
      };
      return { isError: Boolean(result.isError), text: (result.content ?? []).map((part) => part.text ?? '').join('\n') };
    };
    return { server, ask, answer };
  }

  const args = { key_uri: unused };
  const yes = approve(AWS_KEYS.unused.id);

  it('the form names the key exactly and asks for the typed name and an explicit choice', async () => {
    const { ask } = await manual();
    const first = await ask(args);
    const form = first.inputRequests.confirm as unknown as { method?: string; params?: { message: string; requestedSchema: any } } & {
      message?: string;
      requestedSchema?: any;
    };
    const params = form.params ?? (form as { message: string; requestedSchema: any });
    expect(params.message).toContain(unused);
    expect(params.requestedSchema.properties.decision.enum).toEqual(['approve', 'reject']);
    expect(params.requestedSchema.required).toEqual(['confirm_name', 'decision']);
    expect(deletions()).toBe(0);
  });

  it('tampered: one character of the requestState changed', async () => {
    const { server, ask, answer } = await manual();
    const { requestState } = await ask(args);
    const forged = requestState.slice(0, 40) + (requestState[40] === 'A' ? 'B' : 'A') + requestState.slice(41);
    const result = await answer(args, forged, yes);
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/not valid for these parameters/);
    expect(deletions()).toBe(0);
    expect(audit(server).at(-1)).toEqual(['refused', 'tampered']);
  });

  it('foreign: a state sealed for other arguments, or by another server', async () => {
    const { ask, answer } = await manual();
    const { requestState } = await ask({ key_uri: unused, action: 'disable' });
    expect((await answer(args, requestState, yes)).text).toMatch(/not valid for these parameters/);
    const other = await manual();
    const theirs = (await other.ask(args)).requestState;
    expect((await answer(args, theirs, yes)).text).toMatch(/not valid for these parameters/);
    expect(deletions()).toBe(0);
  });

  it('replayed: a declined state sent again with an approving answer', async () => {
    const { server, ask, answer } = await manual();
    const { requestState } = await ask(args);
    expect((await answer(args, requestState, { action: 'decline' })).text).toMatch(/You declined/);
    const replay = await answer(args, requestState, yes);
    expect(replay.isError).toBe(true);
    expect(replay.text).toMatch(/already used/);
    expect(deletions()).toBe(0);
    expect(audit(server).slice(-3)).toEqual([
      ['declined', 'declined'],
      ['attempted', undefined],
      ['refused', 'replayed'],
    ]);
  });

  it('expired: answered after the 10 minutes the state is valid', async () => {
    let now = Date.parse('2026-12-01T12:00:00Z');
    const { server, ask, answer } = await manual({ now: () => now });
    const { requestState } = await ask(args);
    now += SEALED_TTL_MS.form;
    const late = await answer(args, requestState, yes);
    expect(late.isError).toBe(true);
    expect(late.text).toMatch(/expired at 2026-12-01T12:10:00.000Z/);
    expect(deletions()).toBe(0);
    expect(audit(server).at(-1)).toEqual(['refused', 'expired']);
  });

  it('no answer in the retried call', async () => {
    const { ask, answer } = await manual();
    const { requestState } = await ask(args);
    const result = await answer(args, requestState, undefined as never);
    expect(result.isError).toBe(true);
    expect(deletions()).toBe(0);
  });
});
