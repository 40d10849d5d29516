/**
 * Test harness: a real MCP Client (SDK v2) connected to createServer, with the dependencies wired
 * to a sandbox when one is given. Legacy era (2025, initialize) over InMemoryTransport by default;
 * `era: 'modern'` serves 2026-07-28 per request through the SDK's HTTP handler, in process.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Client,
  InMemoryTransport,
  StreamableHTTPClientTransport,
  type ClientCapabilities,
  type ElicitRequest,
  type ElicitResult,
} from '@modelcontextprotocol/client';
import { createMcpHandler, type McpHttpHandler, type McpServer } from '@modelcontextprotocol/server';
import { buildConfig, defaultAuditKeyPath, type Config } from '../../src/config.js';
import { parseHeader } from '../../src/safety/audit-chain.js';
import { auditKeySource, type AuditKeySource } from '../../src/safety/audit-key.js';
import type { AuditEntry } from '../../src/safety/types.js';
import { createDeps, type Deps, type DepsOverrides } from '../../src/deps.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { createServer } from '../../src/server.js';

export interface TestServerOptions {
  config?: Partial<Config>;
  sandbox?: Sandbox;
  deps?: DepsOverrides;
  /** Answers elicitation requests; when given, the client advertises form elicitation. */
  onElicit?: (request: ElicitRequest['params']) => Promise<ElicitResult> | ElicitResult;
  capabilities?: ClientCapabilities;
  /** The protocol era the client speaks (default legacy: initialize over InMemoryTransport). */
  era?: 'legacy' | 'modern';
}

export interface TestServer {
  client: Client;
  /** The instance serving the client; a modern-era client is served by a fresh one per request. */
  server: McpServer | undefined;
  deps: Deps;
  config: Config;
  close(): Promise<void>;
}

/** A fresh temporary directory. */
export function tempDir(prefix = 'crdb-mcp-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The entries of a file audit log, oldest first, without its header line; [] before the first write. */
export function auditEntries(auditLog: string): AuditEntry[] {
  if (!existsSync(auditLog)) return [];
  const lines = readFileSync(auditLog, 'utf8').split('\n').filter(Boolean);
  const entries = lines[0] !== undefined && parseHeader(lines[0]) ? lines.slice(1) : lines;
  return entries.map((line) => JSON.parse(line) as AuditEntry);
}

/** The audit key source every test server of this file uses (the key file under the file's own XDG_STATE_HOME, see test/setup-state-dir.ts). */
export function testAuditKeys(): AuditKeySource {
  return auditKeySource({ auditKeyFile: defaultAuditKeyPath(process.env) });
}

function newClient(options: Pick<TestServerOptions, 'onElicit' | 'capabilities'>, modern: boolean): Client {
  const capabilities: ClientCapabilities = { ...options.capabilities, ...(options.onElicit ? { elicitation: { form: {} } } : {}) };
  const client = new Client(
    { name: 'test-client', version: '1.0.0' },
    { capabilities, ...(modern ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {}) },
  );
  if (options.onElicit) {
    const onElicit = options.onElicit;
    client.setRequestHandler('elicitation/create', async (request) => onElicit(request.params));
  }
  return client;
}

/** Connects a real legacy-era MCP client over InMemoryTransport; with `onElicit` it advertises form elicitation. */
export async function connectClient(server: McpServer, options: Pick<TestServerOptions, 'onElicit' | 'capabilities'> = {}): Promise<Client> {
  const client = newClient(options, false);
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverTransport), client.connect(clientTransport)]);
  return client;
}

/** Connects a modern-era (2026-07-28) client to `handler` in process: the URL is never dialled. */
export async function connectModernClient(handler: McpHttpHandler, options: Pick<TestServerOptions, 'onElicit' | 'capabilities'> = {}): Promise<Client> {
  const client = newClient(options, true);
  const transport = new StreamableHTTPClientTransport(new URL('http://127.0.0.1/mcp'), { fetch: (url, init) => handler.fetch(new Request(url, init)) });
  await client.connect(transport);
  return client;
}

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const listener = createNetServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const port = (listener.address() as { port: number }).port;
  await new Promise((resolve) => listener.close(resolve));
  return port;
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

/** Connects a real MCP client to a fresh server instance. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const state = tempDir();
  const config = buildConfig({
    auditLog: join(state, 'audit.jsonl'),
    reportsDir: join(state, 'reports'),
    sandbox: Boolean(options.sandbox),
    ...options.config,
  });
  const deps = await createDeps(config, options.sandbox, options.deps);
  if (options.era === 'modern') {
    const handler = createMcpHandler(() => createServer(config, deps), { legacy: 'reject' });
    const client = await connectModernClient(handler, options);
    return {
      client,
      server: undefined,
      deps,
      config,
      async close() {
        await client.close();
        await handler.close();
        await deps.close();
      },
    };
  }
  const server = createServer(config, deps);
  const client = await connectClient(server, options);
  return {
    client,
    server,
    deps,
    config,
    async close() {
      await client.close();
      await server.close();
      await deps.close();
    },
  };
}

/** What a tool call returned, flattened for assertions. */
export interface ToolCallOutcome {
  isError: boolean;
  text: string;
  structured: Record<string, any> | undefined;
}

/** Calls a tool and flattens its result. */
export async function callTool(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
  options: { onprogress?: (progress: { progress: number; total?: number; message?: string }) => void; signal?: AbortSignal; timeout?: number } = {},
): Promise<ToolCallOutcome> {
  const result = await client.callTool(
    { name, arguments: args },
    {
      ...(options.onprogress ? { onprogress: options.onprogress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      timeout: options.timeout ?? 60_000,
    },
  );
  const content = (result.content ?? []) as Array<{ type: string; text?: string }>;
  return {
    isError: Boolean(result.isError),
    text: content
      .filter((part) => part.type === 'text')
      .map((part) => part.text)
      .join('\n'),
    structured: result.structuredContent as Record<string, any> | undefined,
  };
}
