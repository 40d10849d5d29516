/**
 * Test harness: a real MCP Client connected to createServer over InMemoryTransport, with the
 * dependencies wired to a sandbox when one is given.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ElicitRequestSchema, type ClientCapabilities, type ElicitRequest, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { buildConfig, defaultAuditKeyPath, type Config } from '../../src/config.js';
import { auditKeySource, type AuditKeySource } from '../../src/safety/audit-key.js';
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
}

export interface TestServer {
  client: Client;
  server: McpServer;
  deps: Deps;
  config: Config;
  close(): Promise<void>;
}

/** A fresh temporary directory. */
export function tempDir(prefix = 'crdb-mcp-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The audit key source every test server of this file uses (the key file under the file's own XDG_STATE_HOME, see test/setup-state-dir.ts). */
export function testAuditKeys(): AuditKeySource {
  return auditKeySource({ auditKeyFile: defaultAuditKeyPath(process.env) });
}

/** Connects a real MCP client over InMemoryTransport; with `onElicit` it advertises form elicitation. */
export async function connectClient(server: McpServer, options: Pick<TestServerOptions, 'onElicit' | 'capabilities'> = {}): Promise<Client> {
  const capabilities: ClientCapabilities = { ...options.capabilities, ...(options.onElicit ? { elicitation: { form: {} } } : {}) };
  const client = new Client({ name: 'test-client', version: '1.0.0' }, { capabilities });
  if (options.onElicit) {
    const onElicit = options.onElicit;
    client.setRequestHandler(ElicitRequestSchema, async (request) => onElicit(request.params));
  }
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverTransport), client.connect(clientTransport)]);
  return client;
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
  const config = buildConfig({ auditLog: join(tempDir(), 'audit.jsonl'), sandbox: Boolean(options.sandbox), ...options.config });
  const deps = await createDeps(config, options.sandbox, options.deps);
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
  const result = await client.callTool({ name, arguments: args }, undefined, {
    ...(options.onprogress ? { onprogress: options.onprogress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    timeout: options.timeout ?? 60_000,
  });
  const content = (result.content ?? []) as Array<{ type: string; text?: string }>;
  return {
    isError: Boolean(result.isError),
    text: content.filter((part) => part.type === 'text').map((part) => part.text).join('\n'),
    structured: result.structuredContent as Record<string, any> | undefined,
  };
}
