/**
 * The gate in front of the real revoke_cmek, counted at the Cloud API emulator: a failing
 * confirmation dialog and every bad token send nothing; a good token sends exactly one PATCH.
 */
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import { callTool } from '../helpers/harness.js';
import { cloudCalls, startCmekServer, useSandboxPerFile } from '../tools/cmek-helpers.js';
import { tokenFrom } from './gated-tool.js';

let sandbox: Sandbox;
const servers = useSandboxPerFile((ready) => (sandbox = ready), 20);

const patches = () => cloudCalls(sandbox, 'PATCH', 'PATCH /cmek');

describe('revoke_cmek behind the gate', () => {
  it('a confirmation dialog that fails sends nothing', async () => {
    const server = await startCmekServer(sandbox, {
      cloud: { rateLimitPerSecond: 1000 },
      onElicit: () => {
        throw new Error('the dialog crashed');
      },
    });
    servers.push(server);
    const result = await callTool(server.client, 'revoke_cmek', { cluster: 'prod-east' });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/Nothing was changed/);
    expect(patches()).toBe(0);
  });

  it('token flow: plan, tampered, good once, replay', async () => {
    const server = await startCmekServer(sandbox, { cloud: { rateLimitPerSecond: 1000 }, config: { dangerouslyAllowTokenConfirmation: true } });
    servers.push(server);
    const plan = await callTool(server.client, 'revoke_cmek', { cluster: 'prod-east' });
    expect(plan.text).toMatch(/Plan \(not executed\)/);
    const token = tokenFrom(plan.text);
    const flipped = token.slice(0, 10) + (token[10] === 'A' ? 'B' : 'A') + token.slice(11);
    expect((await callTool(server.client, 'revoke_cmek', { cluster: 'prod-east', confirmation_token: flipped })).text).toMatch(/not valid/);
    expect((await callTool(server.client, 'revoke_cmek', { cluster: 'prod-east', wait: false, confirmation_token: token })).text).toMatch(/not valid/);
    expect(patches()).toBe(0);
    const done = await callTool(server.client, 'revoke_cmek', { cluster: 'prod-east', confirmation_token: token });
    expect(done.isError).toBe(false);
    expect(patches()).toBe(1);
    const replay = await callTool(server.client, 'revoke_cmek', { cluster: 'prod-east', confirmation_token: token });
    expect(replay.isError).toBe(true);
    expect(patches()).toBe(1);
    const outcomes = (await server.deps.audit.verify()).entries;
    expect(outcomes).toBe(10);
  });
});
