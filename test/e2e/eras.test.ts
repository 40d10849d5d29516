/**
 * Both protocol eras against the BUILT server (`node dist/index.js --sandbox`, built by `npm test`
 * before vitest), on both transports, each through a real client this test did not write:
 * - modern (2026-07-28): the v2 SDK Client pinned to 2026-07-28 (no initialize; `_meta` per request);
 * - legacy (2025-11-25): the 1.x SDK Client (`@modelcontextprotocol/sdk`, a devDependency kept as
 *   the legacy peer), which opens with initialize.
 * Each lists tools, calls one on the sandbox, gets a prompt, and lists, gets and reads the skills
 * through the skills extension (SEP-2640), digests checked against the files on disk.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as LegacyStdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as LegacyHttpClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DIST, startBuiltHttpServer, stopChild } from '../helpers/built-server.js';
import { tempDir } from '../helpers/harness.js';

const SERVER_ARGS = [DIST, '--sandbox'];
const SKILLS_DIR = join(import.meta.dirname, '..', '..', 'skills');

function serverEnv(): Record<string, string> {
  return { ...getDefaultEnvironment(), XDG_STATE_HOME: tempDir('crdb-e2e-eras-'), CRDB_SANDBOX_CMEK_DELAY_MS: '20' };
}

/** What every era must do: the calls a client makes in a first conversation. */
interface Conversation {
  listToolNames(): Promise<string[]>;
  callTool(name: string, args: Record<string, unknown>): Promise<{ isError?: boolean; structuredContent?: unknown; content: unknown }>;
  getPromptText(name: string, args: Record<string, string>): Promise<string>;
  readText(uri: string): Promise<string>;
  /** A raw request (the skills extension's methods), its result or its JSON-RPC error code. */
  request(method: string, params: Record<string, unknown>): Promise<Record<string, any>>;
  protocolVersion(): string | undefined;
  close(): Promise<void>;
}

/** What both SDK generations' clients offer for these calls (their types differ in detail). */
interface AnyClient {
  listTools(): Promise<{ tools: Array<{ name: string }> }>;
  callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<unknown>;
  getPrompt(params: { name: string; arguments: Record<string, string> }): Promise<{ messages: Array<{ content: { type: string; text?: unknown } }> }>;
  readResource(params: { uri: string }): Promise<{ contents: Array<{ text?: unknown }> }>;
  request(request: { method: string; params: Record<string, unknown> }, schema: z.ZodType): Promise<unknown>;
  close(): Promise<void>;
}

const ANY_RESULT = z.looseObject({});

function conversation(client: AnyClient, protocolVersion: () => string | undefined): Conversation {
  return {
    listToolNames: async () => (await client.listTools()).tools.map((tool) => tool.name),
    callTool: (name, args) => client.callTool({ name, arguments: args }) as never,
    getPromptText: async (name, args) => {
      const content = (await client.getPrompt({ name, arguments: args })).messages[0]!.content;
      return content.type === 'text' ? String(content.text) : '';
    },
    readText: async (uri) => String((await client.readResource({ uri })).contents[0]!.text ?? ''),
    request: async (method, params) =>
      (client.request({ method, params }, ANY_RESULT) as Promise<Record<string, any>>).catch((error: { code?: number; message: string }) => ({
        errorCode: error.code,
        message: error.message,
      })),
    protocolVersion,
    close: () => client.close(),
  };
}

function modern(client: Client): Conversation {
  return conversation(client as unknown as AnyClient, () => client.getNegotiatedProtocolVersion());
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
  return conversation(client as unknown as AnyClient, () => negotiated);
}

const MODERN = { versionNegotiation: { mode: { pin: '2026-07-28' } } } as const;

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
  ({ child: httpChild, url: httpUrl } = await startBuiltHttpServer(['--sandbox'], serverEnv()));
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

  it('lists, gets and reads the skills (skills extension); digests and sizes match the files', async () => {
    const { skills } = await conversation.request('skills/list', {});
    expect(skills.map((skill: { uri: string }) => skill.uri)).toEqual([
      'skill://enabling-cmek-encryption/SKILL.md',
      'skill://managing-certificates-and-encryption/SKILL.md',
    ]);
    for (const skill of skills) {
      expect((await conversation.request('skills/get', { uri: skill.uri })).skill).toEqual(skill);
      for (const file of skill.resources as Array<{ uri: string; digest: string; size: number }>) {
        const onDisk = readFileSync(join(SKILLS_DIR, file.uri.slice('skill://'.length)));
        expect(file, file.uri).toEqual({ uri: file.uri, digest: `sha256:${createHash('sha256').update(onDisk).digest('hex')}`, size: onDisk.byteLength });
        expect(await conversation.readText(file.uri)).toBe(onDisk.toString('utf8'));
      }
    }
    expect(await conversation.request('skills/get', { uri: 'skill://no-such-skill/SKILL.md' })).toMatchObject({ errorCode: -32602 });
  });

  it('still reads the deprecated skill://<name> URI', async () => {
    expect(await conversation.readText('skill://enabling-cmek-encryption')).toMatch(/^---\nname: enabling-cmek-encryption/);
  });
});
