/**
 * Both protocol eras against the BUILT server (`node dist/index.js --sandbox`, built by `npm test`
 * before vitest), on both transports, each through a real client this test did not write:
 * - modern (2026-07-28): the v2 SDK Client pinned to 2026-07-28 (no initialize; `_meta` per request);
 * - legacy (2025-11-25): the 1.x SDK Client (`@modelcontextprotocol/sdk`, a devDependency kept as
 *   the legacy peer), which opens with initialize.
 * Each lists tools, calls one on the sandbox, gets a prompt and reads a skill resource.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as LegacyStdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as LegacyHttpClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/harness.js';

const DIST = join(process.cwd(), 'dist', 'index.js');
const SERVER_ARGS = [DIST, '--sandbox'];

function serverEnv(): Record<string, string> {
  return { ...getDefaultEnvironment(), XDG_STATE_HOME: tempDir('crdb-e2e-eras-'), CRDB_SANDBOX_CMEK_DELAY_MS: '20' };
}

/** What every era must do: the calls a client makes in a first conversation. */
interface Conversation {
  listToolNames(): Promise<string[]>;
  callTool(name: string, args: Record<string, unknown>): Promise<{ isError?: boolean; structuredContent?: unknown; content: unknown }>;
  getPromptText(name: string, args: Record<string, string>): Promise<string>;
  readText(uri: string): Promise<string>;
  protocolVersion(): string | undefined;
  close(): Promise<void>;
}

function modern(client: Client): Conversation {
  return {
    listToolNames: async () => (await client.listTools()).tools.map((tool) => tool.name),
    callTool: (name, args) => client.callTool({ name, arguments: args }) as never,
    getPromptText: async (name, args) => {
      const content = (await client.getPrompt({ name, arguments: args })).messages[0]!.content;
      return content.type === 'text' ? content.text : '';
    },
    readText: async (uri) => {
      const first = (await client.readResource({ uri })).contents[0]!;
      return 'text' in first ? first.text : '';
    },
    protocolVersion: () => client.getNegotiatedProtocolVersion(),
    close: () => client.close(),
  };
}

/** Connects the 1.x client, noting the version the initialize handshake settled on (the client tells its transport). */
async function legacy(transport: LegacyStdioClientTransport | LegacyHttpClientTransport): Promise<Conversation> {
  const client = new LegacyClient({ name: 'e2e-legacy', version: '1.0.0' });
  let negotiated: string | undefined;
  const noted = transport as { setProtocolVersion?: (version: string) => void };
  const setProtocolVersion = noted.setProtocolVersion?.bind(transport);
  noted.setProtocolVersion = (version) => {
    negotiated = version;
    setProtocolVersion?.(version);
  };
  await client.connect(transport);
  return {
    listToolNames: async () => (await client.listTools()).tools.map((tool) => tool.name),
    callTool: (name, args) => client.callTool({ name, arguments: args }) as never,
    getPromptText: async (name, args) => {
      const content = (await client.getPrompt({ name, arguments: args })).messages[0]!.content;
      return content.type === 'text' ? content.text : '';
    },
    readText: async (uri) => {
      const first = (await client.readResource({ uri })).contents[0]!;
      return 'text' in first ? String(first.text) : '';
    },
    protocolVersion: () => negotiated,
    close: () => client.close(),
  };
}

const MODERN = { versionNegotiation: { mode: { pin: '2026-07-28' } } } as const;

async function startHttpChild(): Promise<{ child: ChildProcess; url: string }> {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` before this test (npm test does it).`);
  const child = spawn(process.execPath, [...SERVER_ARGS, '--transport', 'http', '--port', '0'], { env: serverEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /listening on (http:\/\/\S+\/mcp)/.exec(stderr);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${stderr}`)));
  });
  return { child, url };
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

let httpChild: ChildProcess | undefined;
let httpUrl = '';

const CONNECTIONS: Record<string, () => Promise<Conversation>> = {
  'stdio, modern (v2 Client pinned to 2026-07-28)': async () => {
    const client = new Client({ name: 'e2e-modern', version: '1.0.0' }, MODERN);
    await client.connect(new StdioClientTransport({ command: process.execPath, args: SERVER_ARGS, env: serverEnv(), stderr: 'ignore' }));
    return modern(client);
  },
  'stdio, legacy (1.x Client, initialize)': () =>
    legacy(new LegacyStdioClientTransport({ command: process.execPath, args: SERVER_ARGS, env: serverEnv(), stderr: 'ignore' })),
  'HTTP, modern (v2 Client pinned to 2026-07-28)': async () => {
    const client = new Client({ name: 'e2e-modern', version: '1.0.0' }, MODERN);
    await client.connect(new StreamableHTTPClientTransport(new URL(httpUrl)));
    return modern(client);
  },
  'HTTP, legacy (1.x Client, initialize)': () => legacy(new LegacyHttpClientTransport(new URL(httpUrl))),
};

beforeAll(async () => {
  ({ child: httpChild, url: httpUrl } = await startHttpChild());
});
afterAll(async () => {
  await stopChild(httpChild);
});

describe.each(Object.entries(CONNECTIONS))('%s', (_label, connect) => {
  let conversation: Conversation;
  beforeAll(async () => {
    conversation = await connect();
  });
  afterAll(async () => {
    await conversation?.close();
  });

  it('negotiates its era', () => {
    expect(conversation.protocolVersion()).toBe(_label.includes('modern') ? '2026-07-28' : '2025-11-25');
  });

  it('lists tools in the catalog order', async () => {
    const names = await conversation.listToolNames();
    expect(names[0]).toBe('list_clusters');
    expect(names).toContain('revoke_cmek');
  });

  it('calls a tool on the sandbox', async () => {
    const result = await conversation.callTool('get_cmek_status', { cluster: 'prod-east' });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ cluster: { name: 'prod-east' }, status: 'ENABLED' });
  });

  it('gets a prompt with an argument', async () => {
    expect(await conversation.getPromptText('gather_encryption_context', { tier: 'Advanced' })).toContain('tier = Advanced');
  });

  it('reads a skill resource', async () => {
    expect(await conversation.readText('skill://enabling-cmek-encryption')).toMatch(/^---\nname: enabling-cmek-encryption/);
  });
});
