/**
 * The server lists tools from src/tools/listing.json and imports a tool's module on its first
 * call (src/tools/catalog.ts). These tests prove the catalog is the same set of tools as the
 * definitions, that each entry loads its own definition, and that a module that fails to load
 * gives an operator-facing error without taking the server down.
 */
import { McpServer } from '@modelcontextprotocol/server';
import { describe, expect, it, vi } from 'vitest';
import { buildConfig } from '../../src/config.js';
import { createDeps } from '../../src/deps.js';
import { TOOL_CATALOG } from '../../src/tools/catalog.js';
import { registerTools, toolPolicy, type ToolEntry } from '../../src/tools/define-tool.js';
import { ALL_TOOLS } from '../../src/tools/index.js';
import { callTool, connectClient, tempDir } from '../helpers/harness.js';

describe('tool catalog', () => {
  it('lists exactly the defined tools, in order, with their titles, descriptions, toolsets and annotations', () => {
    expect(TOOL_CATALOG.map(({ name, title, description, toolset, annotations }) => ({ name, title, description, toolset, annotations }))).toEqual(
      ALL_TOOLS.map(({ name, title, description, toolset, annotations }) => ({ name, title, description, toolset, annotations })),
    );
  });

  it.each(TOOL_CATALOG.map((entry) => [entry.name, entry] as const))('%s loads its own definition', async (name, entry) => {
    expect(await entry.load()).toBe(ALL_TOOLS.find((def) => def.name === name));
  });

  it('a tool whose module fails to load answers isError with a next step; nothing runs and the server stays up', async () => {
    const config = buildConfig({ auditLog: `${tempDir()}/audit.jsonl` });
    const deps = await createDeps(config);
    const broken: ToolEntry = {
      name: 'broken_tool',
      title: 'Broken',
      description: 'A tool whose module cannot be imported.',
      toolset: 'kms',
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
      listedInput: { type: 'object', properties: {} },
      load: () => Promise.reject(new Error('Cannot find module ./broken.js')),
    };
    expect(toolPolicy(broken, config).allowed).toBe(true);
    const server = new McpServer({ name: 'catalog-test', version: '0.0.0' });
    registerTools(server, [broken], config, deps);
    const client = await connectClient(server);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const result = await callTool(client, 'broken_tool', {});
      expect(result.isError).toBe(true);
      expect(result.text).toMatch(/broken_tool could not be loaded \(Cannot find module/);
      expect(result.text).toMatch(/Nothing was called\.\nNext: /);
      expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(['broken_tool']);
      expect(stderr.mock.calls.map(([line]) => String(line)).join('')).toContain('broken_tool could not be loaded: Error: Cannot find module ./broken.js');
    } finally {
      stderr.mockRestore();
      await client.close();
      await server.close();
      await deps.close();
    }
  });
});
