/**
 * --read-only and --toolsets, proven through a real MCP client: hidden tools are not registered
 * (absent from tools/list) and a call to one by name gets our refusal, nothing run, the refusal
 * in the audit log.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Config, Toolset } from '../../src/config.js';
import { buildConfig } from '../../src/config.js';
import { defineTool, toolPolicy, type ToolAnnotations, type ToolDef } from '../../src/tools/define-tool.js';
import { ALL_TOOLS } from '../../src/tools/index.js';
import { auditEntries, callTool, startTestServer, type TestServer } from '../helpers/harness.js';
import { startGatedServer, type GatedServer } from '../safety/gated-tool.js';

const READ: ToolAnnotations = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
const WRITE: ToolAnnotations = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true };
const DESTROY: ToolAnnotations = { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true };

const runs: string[] = [];
function tool(name: string, toolset: Toolset, annotations: ToolAnnotations): ToolDef {
  return defineTool({
    name,
    title: name,
    description: `Test tool ${name}.`,
    toolset,
    input: () => z.object({ target: z.string().optional().describe('Target.') }),
    output: () => z.object({ ran: z.string() }),
    annotations,
    async run() {
      runs.push(name);
      return { data: { ran: name }, text: `${name} ran.\nNext: nothing.` };
    },
  }) as unknown as ToolDef;
}

const TOOLS = [
  tool('read_cmek', 'cmek', READ),
  tool('write_cmek', 'cmek', WRITE),
  tool('destroy_kms', 'kms', DESTROY),
  tool('read_audit', 'audit', READ),
  tool('write_sql', 'sql', WRITE),
];

let servers: Array<GatedServer | TestServer> = [];
afterEach(async () => {
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
  runs.length = 0;
});

async function serve(config: Partial<Config>) {
  const server = await startGatedServer({ config, tools: TOOLS, onElicit: () => ({ action: 'accept', content: { decision: 'approve', confirm_name: '' } }) });
  servers.push(server);
  return server;
}

/** The audit log's entries (tool and outcome), after its header line. */
function audited(config: Config): Array<{ tool: string; outcome: string; detail?: string }> {
  return auditEntries(config.auditLog);
}

const listed = async (server: GatedServer | TestServer) => (await server.client.listTools()).tools.map((t) => t.name).sort();

describe('read-only mode', () => {
  it('lists only read tools, and refuses every other tool by name without running it or auditing', async () => {
    const server = await serve({ readOnly: true });
    expect(await listed(server)).toEqual(['read_audit', 'read_cmek']);
    for (const name of ['write_cmek', 'destroy_kms', 'write_sql']) {
      const result = await callTool(server.client, name, { target: 'x' });
      expect(result.isError).toBe(true);
      expect(result.text).toBe(
        `${name} is not available: the server runs with --read-only, which offers only the tools that change nothing. Nothing was run.\nNext: ask the operator to restart the server without --read-only to use ${name}; the tools in tools/list keep working meanwhile.`,
      );
      expect(result.structured).toMatchObject({
        error: 'tool_not_available',
        tool: name,
        cause: 'read_only',
        restart: 'without --read-only',
        next_actions: [],
      });
    }
    expect((await callTool(server.client, 'read_cmek')).structured).toEqual({ ran: 'read_cmek' });
    expect(runs).toEqual(['read_cmek']);
    expect(audited(server.config).map(({ tool, outcome }) => `${tool}:${outcome}`)).toEqual(['write_cmek:refused', 'destroy_kms:refused', 'write_sql:refused']);
  });

  it('without --read-only, every tool is listed and runs', async () => {
    const server = await serve({});
    expect(await listed(server)).toEqual(['destroy_kms', 'read_audit', 'read_cmek', 'write_cmek', 'write_sql']);
    expect((await callTool(server.client, 'write_cmek')).isError).toBe(false);
    expect(runs).toEqual(['write_cmek']);
  });

  it('an unknown tool name is a protocol error, not a refusal', async () => {
    const server = await serve({ readOnly: true });
    await expect(server.client.callTool({ name: 'no_such_tool', arguments: {} })).rejects.toThrow(/Unknown tool: no_such_tool/);
  });

  it('the real registry: only read tools are listed, and each write tool is refused at call', async () => {
    const server = await startTestServer({ config: { readOnly: true } });
    servers.push(server);
    const tools = (await server.client.listTools()).tools;
    expect(tools.length).toBeGreaterThan(0);
    for (const listedTool of tools) expect(listedTool.annotations?.readOnlyHint, listedTool.name).toBe(true);
    const writers = ALL_TOOLS.filter((def) => !def.annotations.readOnlyHint);
    for (const def of writers) {
      expect(tools.map((t) => t.name)).not.toContain(def.name);
      const result = await callTool(server.client, def.name, { dry_run: true });
      expect(result.isError, def.name).toBe(true);
      expect(result.text).toMatch(new RegExp(`^${def.name} is not available: the server runs with --read-only`));
    }
    expect(audited(server.config).map(({ tool, outcome }) => `${tool}:${outcome}`)).toEqual(writers.map((def) => `${def.name}:refused`));
  });
});

describe('--toolsets', () => {
  it('lists and runs only the chosen toolsets; others are refused at call', async () => {
    const server = await serve({ toolsets: ['audit', 'sql'] });
    expect(await listed(server)).toEqual(['read_audit', 'write_sql']);
    for (const name of ['read_cmek', 'write_cmek', 'destroy_kms']) {
      const result = await callTool(server.client, name);
      expect(result.isError).toBe(true);
      expect(result.text).toMatch(/is not available: the server runs with --toolsets audit,sql, which leaves out the '(cmek|kms)' toolset/);
      expect(result.text).toMatch(/Next: ask the operator to restart the server with --toolsets audit,sql,(cmek|kms) to use/);
    }
    expect((await callTool(server.client, 'write_sql')).isError).toBe(false);
    expect(runs).toEqual(['write_sql']);
  });

  it('combines with read-only', async () => {
    const server = await serve({ toolsets: ['cmek', 'sql'], readOnly: true });
    expect(await listed(server)).toEqual(['read_cmek']);
  });

  it('the real registry keeps verify_audit_log under --toolsets audit --read-only', async () => {
    const server = await startTestServer({ config: { toolsets: ['audit'], readOnly: true } });
    servers.push(server);
    const names = (await server.client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('verify_audit_log');
    for (const def of ALL_TOOLS.filter((d) => d.toolset !== 'audit')) expect(names).not.toContain(def.name);
  });
});

describe('toolPolicy (the single check behind list and call)', () => {
  it('explains each refusal with the flag to change', () => {
    const config = buildConfig({ auditLog: '/unused', readOnly: true, toolsets: ['cmek'] });
    expect(toolPolicy({ name: 'destroy_kms', toolset: 'kms', annotations: DESTROY }, config)).toMatchObject({
      allowed: false,
      cause: 'toolset',
      restart: 'with --toolsets cmek,kms',
    });
    expect(toolPolicy({ name: 'write_cmek', toolset: 'cmek', annotations: WRITE }, config)).toMatchObject({
      allowed: false,
      cause: 'read_only',
      restart: 'without --read-only',
    });
    expect(toolPolicy({ name: 'read_cmek', toolset: 'cmek', annotations: READ }, config)).toEqual({ allowed: true });
  });
});
