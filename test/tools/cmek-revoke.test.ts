import type { ElicitRequest, ElicitResult } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import { CLUSTER_IDS } from '../../src/sandbox/seed.js';
import { callTool, type TestServer } from '../helpers/harness.js';
import { cloudCalls, startCmekServer, useSandboxPerFile } from './cmek-helpers.js';

let sandbox: Sandbox;
const servers = useSandboxPerFile((ready) => (sandbox = ready));
const PROD = CLUSTER_IDS['prod-east'];

async function serverWith(onElicit?: (request: ElicitRequest['params']) => ElicitResult, tokens = false): Promise<TestServer> {
  const server = await startCmekServer(sandbox, {
    cloud: { rateLimitPerSecond: 1000 },
    ...(onElicit ? { onElicit } : {}),
    ...(tokens ? { config: { dangerouslyAllowTokenConfirmation: true } } : {}),
  });
  servers.push(server);
  return server;
}

const patches = () => cloudCalls(sandbox, 'PATCH', 'PATCH /cmek');

describe('revoke_cmek', () => {
  it('is refused without a confirming client, and nothing is sent', async () => {
    const server = await serverWith();
    const result = await callTool(server.client, 'revoke_cmek', { cluster: 'prod-east' });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/Nothing was changed/);
    expect(result.text).toMatch(/elicitation/);
    expect(patches()).toBe(0);
    expect(sandbox.cloud.cmek(PROD)?.status).toBe('ENABLED');
  });

  it.each([
    ['decline', { action: 'decline' }],
    ['cancel', { action: 'cancel' }],
    ['reject', { action: 'accept', content: { confirm_name: 'prod-east', decision: 'reject' } }],
    ['wrong name', { action: 'accept', content: { confirm_name: 'prod-west', decision: 'approve' } }],
  ] as const)('%s -> nothing sent', async (_name, answer) => {
    const server = await serverWith(() => answer as ElicitResult);
    const result = await callTool(server.client, 'revoke_cmek', { cluster: 'prod-east' });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/Nothing was changed/);
    expect(patches()).toBe(0);
  });

  it('accept + approve + exact name revokes once and waits for REVOKED', async () => {
    const asked: ElicitRequest['params'][] = [];
    const server = await serverWith((request) => {
      asked.push(request);
      return { action: 'accept', content: { confirm_name: 'prod-east', decision: 'approve' } };
    });
    const result = await callTool(server.client, 'revoke_cmek', { cluster: 'prod-east' });
    expect(result.isError).toBe(false);
    expect(result.structured).toMatchObject({ outcome: 'revoked', status: 'REVOKED' });
    expect(patches()).toBe(1);
    expect(asked).toHaveLength(1);
    expect(asked[0]!.message).toContain(PROD);
    expect(asked[0]!.message).toMatch(/stops serving AT ONCE/);
    expect(asked[0]!.message).not.toMatch(/next node restart\b(?!")/);
    expect(asked[0]!.message).toMatch(/Cockroach Labs support/);
    expect(result.text).toMatch(/Remove CockroachDB's access/);
    expect(result.text).toMatch(/Next: /);
  });

  it('dry_run returns the plan without asking and without sending', async () => {
    let asked = 0;
    const server = await serverWith(() => {
      asked += 1;
      return { action: 'decline' };
    });
    const result = await callTool(server.client, 'revoke_cmek', { cluster: 'prod-east', dry_run: true });
    expect(result.isError).toBe(false);
    expect(result.structured).toMatchObject({ outcome: 'dry_run', request: { method: 'PATCH', body: { action: 'REVOKE' } } });
    expect(result.structured!.steps).toHaveLength(2);
    expect(result.structured!.checks.map((c: any) => c.result)).toEqual(['warn', 'warn']);
    expect(asked).toBe(0);
    expect(patches()).toBe(0);
  });

  it.each(['reports-aws', 'analytics-gcp'])('refuses %s, whose CMEK is not ENABLED, before asking anyone', async (cluster) => {
    let asked = 0;
    const server = await serverWith(() => {
      asked += 1;
      return { action: 'accept', content: { confirm_name: cluster, decision: 'approve' } };
    });
    const result = await callTool(server.client, 'revoke_cmek', { cluster });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/needs CMEK status ENABLED/);
    expect(asked).toBe(0);
    expect(patches()).toBe(0);
  });

  it('token flow: a token issued for one state is stale after the state changed; a fresh one works once', async () => {
    const server = await serverWith(undefined, true);
    const tokenOf = (text: string) => /confirmation_token: "([^"]+)"/.exec(text)?.[1];
    const first = await callTool(server.client, 'revoke_cmek', { cluster: 'prod-east' });
    expect(first.isError).toBe(true);
    const staleToken = tokenOf(first.text);
    expect(staleToken).toBeTruthy();

    const rotated = await callTool(server.client, 'rotate_cmek', { cluster: 'prod-east', mode: 'new_version', regions: ['us-west-2'] });
    expect(rotated.structured!.outcome).toBe('rotated');
    const stale = await callTool(server.client, 'revoke_cmek', { cluster: 'prod-east', confirmation_token: staleToken });
    expect(stale.isError).toBe(true);
    expect(stale.text).toMatch(/stale/);
    expect(patches()).toBe(0);

    const fresh = tokenOf((await callTool(server.client, 'revoke_cmek', { cluster: 'prod-east' })).text);
    const done = await callTool(server.client, 'revoke_cmek', { cluster: 'prod-east', confirmation_token: fresh });
    expect(done.structured).toMatchObject({ outcome: 'revoked' });
    const replay = await callTool(server.client, 'revoke_cmek', { cluster: 'prod-east', confirmation_token: fresh });
    expect(replay.isError).toBe(true);
    expect(patches()).toBe(1);
  });
});
