/**
 * Reliability: concurrency over Streamable HTTP (src/http.ts) on the sandbox. 50 concurrent read
 * tool calls over one session, then over 10 sessions, must each give the same answer as the same
 * call made alone.
 */
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config.js';
import { createDeps, type Deps } from '../../src/deps.js';
import { startHttpServer, type RunningHttpServer } from '../../src/http.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { CLUSTERS } from '../../src/sandbox/seed.js';
import { callTool, tempDir, type ToolCallOutcome } from '../helpers/harness.js';

let sandbox: Sandbox;
let deps: Deps;
let http: RunningHttpServer;

beforeAll(async () => {
  sandbox = await startSandbox({ cmekTransitionMs: 30, rateLimitPerSecond: 1000 });
  const config = buildConfig({ transport: 'http', port: 0, sandbox: true, auditLog: join(tempDir(), 'audit.jsonl') });
  deps = await createDeps(config, sandbox);
  http = await startHttpServer(config, deps);
});
afterAll(async () => {
  await http?.close();
  await deps?.close();
  await sandbox?.stop();
});

async function connect(): Promise<Client> {
  const client = new Client({ name: 'concurrency-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(http.url)));
  return client;
}

interface Call {
  tool: string;
  args: Record<string, unknown>;
}

/** 50 calls: the three read tools over every seeded cluster (by name and by id) and list filters. */
const CALLS: Call[] = (() => {
  const calls: Call[] = [];
  for (const cluster of CLUSTERS) {
    calls.push({ tool: 'get_cmek_status', args: { cluster: cluster.name } });
    calls.push({ tool: 'check_cmek_eligibility', args: { cluster: cluster.name } });
    calls.push({ tool: 'get_cmek_status', args: { cluster: cluster.id } });
    calls.push({ tool: 'check_cmek_eligibility', args: { cluster: cluster.id } });
  }
  const lists: Array<Record<string, unknown>> = [{}, { plan: 'ADVANCED' }, { cloud: 'AWS' }, { cloud: 'GCP' }, { label: 'env=prod' }, { plan: 'STANDARD' }];
  for (let i = 0; calls.length < 50; i++) calls.push({ tool: 'list_clusters', args: lists[i % lists.length]! });
  return calls;
})();

const key = (call: Call) => `${call.tool} ${JSON.stringify(call.args)}`;
const reference = new Map<string, ToolCallOutcome>();

describe('50 concurrent tool calls over HTTP', () => {
  beforeAll(async () => {
    const client = await connect();
    for (const call of CALLS) reference.set(key(call), await callTool(client, call.tool, call.args));
    await client.close();
  });

  it('the reference answers (one call at a time) are all good, and a cluster by name answers as by id', () => {
    expect(CALLS).toHaveLength(50);
    const answers = [...reference.values()];
    expect(answers.every((answer) => !answer.isError && answer.structured !== undefined)).toBe(true);
    for (const cluster of CLUSTERS) {
      for (const tool of ['get_cmek_status', 'check_cmek_eligibility']) {
        expect(reference.get(key({ tool, args: { cluster: cluster.id } }))).toEqual(reference.get(key({ tool, args: { cluster: cluster.name } })));
      }
    }
    // 7 clusters x 2 tools, plus 6 different list filters.
    expect(new Set(answers.map((answer) => JSON.stringify(answer.structured))).size).toBe(CLUSTERS.length * 2 + 6);
  });

  it('over one session: every answer equals the one given alone', async () => {
    const client = await connect();
    try {
      const answers = await Promise.all(CALLS.map((call) => callTool(client, call.tool, call.args)));
      answers.forEach((answer, i) => expect(answer, key(CALLS[i]!)).toEqual(reference.get(key(CALLS[i]!))));
    } finally {
      await client.close();
    }
  });

  it('over 10 sessions (5 calls each): every answer equals the one given alone', async () => {
    const clients = await Promise.all(Array.from({ length: 10 }, () => connect()));
    try {
      expect(http.sessionCount()).toBeGreaterThanOrEqual(10);
      const answers = await Promise.all(CALLS.map((call, i) => callTool(clients[i % 10]!, call.tool, call.args)));
      answers.forEach((answer, i) => expect(answer, key(CALLS[i]!)).toEqual(reference.get(key(CALLS[i]!))));
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  });
});
