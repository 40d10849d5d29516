/**
 * The HTTP transport on the wire, with raw requests (no SDK client smoothing anything over):
 * the modern era's stateless serving, discovery, caching hints and header validation; the
 * transport's own hardening (Host/Origin on every bind, JSON-RPC errors for malformed bodies,
 * bearer scheme, legacy session cap and idle expiry, a port already in use).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConfig, type Config } from '../../src/config.js';
import { createDeps, type Deps } from '../../src/deps.js';
import { startHttpServer, type RunningHttpServer, type SessionLimits } from '../../src/http.js';
import { TOOL_CATALOG } from '../../src/tools/catalog.js';
import { tempDir } from '../helpers/harness.js';

const MODERN = '2026-07-28';
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};
const ACCEPT = 'application/json, text/event-stream';

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): any;
}

/** One POST with full control over the headers (fetch forbids setting Host). */
function post(url: string, body: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A modern request: `_meta` envelope in the body, the standard headers beside it. */
function modern(url: string, method: string, params: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const name = typeof params.name === 'string' ? params.name : typeof params.uri === 'string' ? params.uri : undefined;
  const body = JSON.stringify({ jsonrpc: '2.0', id: 7, method, params: { ...params, _meta: ENVELOPE } });
  return post(url, body, { 'mcp-protocol-version': MODERN, 'mcp-method': method, ...(name ? { 'mcp-name': name } : {}), ...headers });
}

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

async function serve(
  overrides: Partial<Config> = {},
  limits: Partial<SessionLimits> = {},
): Promise<{ http: RunningHttpServer; deps: Deps; close(): Promise<void> }> {
  const config = buildConfig({ transport: 'http', port: 0, auditLog: join(tempDir(), 'audit.jsonl'), ...overrides });
  const deps = await createDeps(config);
  const http = await startHttpServer(config, deps, limits);
  return {
    http,
    deps,
    async close() {
      await http.close();
      await deps.close();
    },
  };
}

describe('modern era (2026-07-28) over HTTP: stateless', () => {
  let server: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    server = await serve();
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers server/discover without a session, naming 2026-07-28 and our capabilities', async () => {
    const answer = await modern(server.http.url, 'server/discover');
    expect(answer.status).toBe(200);
    expect(answer.headers['mcp-session-id']).toBeUndefined();
    const { result } = answer.json();
    expect(result.supportedVersions).toContain(MODERN);
    expect(result.capabilities).toMatchObject({ tools: {}, prompts: {}, resources: {}, completions: {} });
    expect(result._meta['io.modelcontextprotocol/serverInfo']).toMatchObject({ name: 'crdb-encryption-mcp' });
    expect(server.http.sessionCount()).toBe(0);
  });

  it('lists tools in the catalog order, with caching hints', async () => {
    const { result } = (await modern(server.http.url, 'tools/list')).json();
    expect(result.tools.map((tool: { name: string }) => tool.name)).toEqual(TOOL_CATALOG.map((entry) => entry.name));
    expect(result).toMatchObject({ ttlMs: 3_600_000, cacheScope: 'public', resultType: 'complete' });
    for (const tool of result.tools) expect(tool.outputSchema).toBeUndefined();
    for (const method of ['prompts/list', 'resources/templates/list']) {
      expect((await modern(server.http.url, method)).json().result).toMatchObject({ ttlMs: 3_600_000, cacheScope: 'public' });
    }
  });

  it('refuses a Mcp-Method or Mcp-Name header that disagrees with the body', async () => {
    const method = await modern(server.http.url, 'tools/list', {}, { 'mcp-method': 'tools/call' });
    expect(method.status).toBe(400);
    expect(method.json().error.code).toBe(-32020);
    const name = await modern(server.http.url, 'tools/call', { name: 'list_clusters', arguments: {} }, { 'mcp-name': 'revoke_cmek' });
    expect(name.status).toBe(400);
    expect(name.json().error.code).toBe(-32020);
  });

  it('answers an unsupported protocol version with the versions it supports', async () => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/list',
      params: { _meta: { ...ENVELOPE, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } },
    });
    const answer = await post(server.http.url, body, { 'mcp-protocol-version': '2099-01-01', 'mcp-method': 'tools/list' });
    const { error } = answer.json();
    expect(error.code).toBe(-32022);
    expect(error.data).toMatchObject({ requested: '2099-01-01', supported: expect.arrayContaining([MODERN]) });
  });

  it('answers an unknown resource with -32602 and the URI in data', async () => {
    for (const uri of ['skill://no-such-skill', 'skill://no-such-skill/SKILL.md', 'skill://enabling-cmek-encryption/references/no-such.md']) {
      const { error } = (await modern(server.http.url, 'resources/read', { uri })).json();
      expect(error.code, uri).toBe(-32602);
      expect(error.data, uri).toMatchObject({ uri });
    }
  });

  it('answers an unknown tool with -32602', async () => {
    const { error } = (await modern(server.http.url, 'tools/call', { name: 'no_such_tool', arguments: {} })).json();
    expect(error.code).toBe(-32602);
    expect(error.message).toMatch(/Unknown tool: no_such_tool/);
  });
});

describe('HTTP hardening', () => {
  let server: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    server = await serve();
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers malformed JSON with a JSON-RPC parse error, never an HTML page', async () => {
    const answer = await post(server.http.url, '{"jsonrpc": "2.0", "id": 1, "method": ');
    expect(answer.status).toBe(400);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(answer.json()).toEqual({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error: the request body is not valid JSON' }, id: null });
    expect(answer.text).not.toMatch(/<html|node_modules|\/work\//i);
  });

  it('answers other paths with a JSON-RPC error', async () => {
    const answer = await post(server.http.url.replace('/mcp', '/other'), INITIALIZE);
    expect(answer.status).toBe(404);
    expect(answer.json().error.message).toMatch(/\/mcp/);
  });

  it('validates Origin on loopback: a foreign page is refused, a local one served', async () => {
    expect((await post(server.http.url, INITIALIZE, { origin: 'http://attacker.example' })).status).toBe(403);
    expect((await post(server.http.url, INITIALIZE, { origin: 'null' })).status).toBe(403);
    expect((await post(server.http.url, INITIALIZE, { origin: 'http://localhost:6274' })).status).toBe(200);
    expect((await modern(server.http.url, 'tools/list', {}, { origin: 'http://attacker.example' })).status).toBe(403);
  });
});

describe('HTTP hardening on a non-loopback bind (127.0.0.2, token required)', () => {
  const token = 'k'.repeat(40);
  let server: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    server = await serve({ host: '127.0.0.2', httpToken: token });
  });
  afterAll(async () => {
    await server.close();
  });

  it('validates Host and Origin against the bind address', async () => {
    const auth = { authorization: `Bearer ${token}` };
    expect((await post(server.http.url, INITIALIZE, { ...auth, host: 'attacker.example' })).status).toBe(403);
    expect((await post(server.http.url, INITIALIZE, { ...auth, host: `localhost:${server.http.port}` })).status).toBe(403);
    expect((await post(server.http.url, INITIALIZE, { ...auth, origin: 'http://attacker.example' })).status).toBe(403);
    expect(
      (await post(server.http.url, INITIALIZE, { ...auth, host: `127.0.0.2:${server.http.port}`, origin: `http://127.0.0.2:${server.http.port}` })).status,
    ).toBe(200);
  });

  it('accepts the bearer scheme in any case and refuses a wrong token', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      expect((await post(server.http.url, INITIALIZE, { authorization: `${scheme} ${token}` })).status, scheme).toBe(200);
    }
    const wrong = await post(server.http.url, INITIALIZE, { authorization: `Bearer ${'x'.repeat(40)}` });
    expect(wrong.status).toBe(401);
    expect(wrong.json().error.message).toMatch(/MCP_HTTP_TOKEN/);
    expect((await post(server.http.url, INITIALIZE, { authorization: `Basic ${token}` })).status).toBe(401);
  });
});

describe('legacy sessions', () => {
  it('are capped: one more initialize than allowed gets 503 with Retry-After', async () => {
    const server = await serve({}, { maxSessions: 2 });
    try {
      expect((await post(server.http.url, INITIALIZE)).status).toBe(200);
      expect((await post(server.http.url, INITIALIZE)).status).toBe(200);
      const third = await post(server.http.url, INITIALIZE);
      expect(third.status).toBe(503);
      expect(third.headers['retry-after']).toBe('60');
      expect(third.json().error.message).toMatch(/Too many open sessions \(2\)/);
    } finally {
      await server.close();
    }
  });

  it('expire when idle: a later request for the session gets 404, and its place is free', async () => {
    let now = 1_000_000;
    const server = await serve({}, { maxSessions: 1, idleMs: 60_000, now: () => now });
    try {
      const opened = await post(server.http.url, INITIALIZE);
      const sessionId = String(opened.headers['mcp-session-id']);
      expect(server.http.sessionCount()).toBe(1);
      now += 60_001;
      expect((await post(server.http.url, INITIALIZE)).status).toBe(200);
      const stale = await post(server.http.url, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), {
        'mcp-session-id': sessionId,
        'mcp-protocol-version': '2025-11-25',
      });
      expect(stale.status).toBe(404);
      expect(server.http.sessionCount()).toBe(1);
    } finally {
      await server.close();
    }
  });
});

describe('listen failures', () => {
  let occupier: Server;
  let port: number;
  beforeAll(async () => {
    occupier = createServer();
    await new Promise<void>((resolve) => occupier.listen(0, '127.0.0.1', resolve));
    port = (occupier.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => occupier.close(resolve));
  });

  it('the built server exits non-zero with the reason when the port is in use, and never says it listens', () => {
    const dist = join(process.cwd(), 'dist', 'index.js');
    if (!existsSync(dist)) throw new Error(`${dist} is missing: run \`npm run build\` before this test (npm test does it).`);
    const result = spawnSync(process.execPath, [dist, '--transport', 'http', '--port', String(port), '--audit-log', join(tempDir(), 'audit.jsonl')], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`cannot listen on 127.0.0.1:${port}: port ${port} is already in use`);
    expect(result.stderr).not.toMatch(/listening/);
  });
});
