import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/client';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { buildConfig } from '../../src/config.js';
import { createDeps, type Deps } from '../../src/deps.js';
import { startHttpServer, type RunningHttpServer } from '../../src/http.js';
import { tempDir } from '../helpers/harness.js';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';

/** POSTs with an explicit Host header (fetch does not let a caller set Host). */
function postWithHost(url: string, host: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: 'POST', headers: { host, 'content-type': 'application/json', accept: 'application/json, text/event-stream' } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function connect(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'http-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

describe('Streamable HTTP transport on loopback', () => {
  let http: RunningHttpServer;
  let deps: Deps;

  beforeAll(async () => {
    const config = buildConfig({ transport: 'http', port: 0, auditLog: join(tempDir(), 'audit.jsonl') });
    deps = await createDeps(config);
    http = await startHttpServer(config, deps);
  });
  afterAll(async () => {
    await http.close();
    await deps.close();
  });

  it('gives each client its own session', async () => {
    const a = await connect(http.url);
    const b = await connect(http.url);
    expect(http.sessionCount()).toBe(2);
    const [listA, listB] = await Promise.all([a.listTools(), b.listTools()]);
    expect(listA.tools.map((tool) => tool.name)).toEqual(listB.tools.map((tool) => tool.name));
    await a.close();
    await b.close();
  });

  it('answers 50 concurrent requests over one session and over 10 sessions', async () => {
    const one = await connect(http.url);
    const pings = await Promise.all(Array.from({ length: 50 }, () => one.ping()));
    expect(pings).toHaveLength(50);
    const clients = await Promise.all(Array.from({ length: 10 }, () => connect(http.url)));
    const lists = await Promise.all(clients.flatMap((client) => Array.from({ length: 5 }, () => client.listTools())));
    expect(lists).toHaveLength(50);
    await Promise.all([one, ...clients].map((client) => client.close()));
  });

  it('rejects a foreign Host header (DNS rebinding protection)', async () => {
    expect(await postWithHost(http.url, 'evil.example', initialize)).toBe(403);
    expect(await postWithHost(http.url, `localhost:${http.port}`, initialize)).toBe(200);
  });

  it('rejects requests for unknown sessions and non-initialize requests without one', async () => {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const unknown = await fetch(http.url, {
      method: 'POST',
      headers: { ...headers, 'mcp-session-id': 'nope' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(unknown.status).toBe(404);
    const noSession = await fetch(http.url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) });
    expect(noSession.status).toBe(400);
  });
});

describe('Streamable HTTP transport with a bearer token', () => {
  const token = 't'.repeat(40);
  let http: RunningHttpServer;
  let deps: Deps;

  beforeAll(async () => {
    const config = buildConfig({ transport: 'http', port: 0, httpToken: token, auditLog: join(tempDir(), 'audit.jsonl') });
    deps = await createDeps(config);
    http = await startHttpServer(config, deps);
  });
  afterAll(async () => {
    await http.close();
    await deps.close();
  });

  it('refuses requests without the token', async () => {
    const response = await fetch(http.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(initialize),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('serves clients that send the token', async () => {
    const client = await connect(http.url, { authorization: `Bearer ${token}` });
    await expect(client.ping()).resolves.toBeDefined();
    await client.close();
  });
});

describe('non-loopback binding', () => {
  it('refuses to start without a token', async () => {
    const config = { ...buildConfig({ transport: 'http', port: 0, auditLog: join(tempDir(), 'audit.jsonl') }), host: '0.0.0.0' };
    const deps = await createDeps(config);
    await expect(startHttpServer(config, deps)).rejects.toThrow(/MCP_HTTP_TOKEN/);
    await deps.close();
  });
});
