/**
 * A client this project did not write: the MCP Inspector CLI (@modelcontextprotocol/inspector-cli,
 * pinned in devDependencies; runs on Node 20) drives the BUILT server (`node dist/index.js
 * --sandbox`, built by `npm test` before vitest) over stdio and over Streamable HTTP: tools/list,
 * a prompt with arguments, a skill resource, and sandbox tool calls. The Inspector speaks the
 * legacy era (initialize).
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_TOOLS } from '../../src/tools/index.js';
import { DIST, startBuiltHttpServer, stopChild } from '../helpers/built-server.js';
import { tempDir } from '../helpers/harness.js';

const run = promisify(execFile);
const INSPECTOR = join(dirname(createRequire(import.meta.url).resolve('@modelcontextprotocol/inspector-cli/package.json')), 'build', 'cli.js');
const AUDIT_LOG = join(tempDir('crdb-mcp-inspector-'), 'audit.jsonl');

/** Runs `mcp-inspector-cli --cli <target...> <options...>` and parses its JSON answer. */
async function inspector(target: string[], options: string[]): Promise<any> {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` before this test (npm test does it).`);
  const { stdout } = await run(process.execPath, [INSPECTOR, '--cli', ...target, ...options], { timeout: 30_000, maxBuffer: 10 * 1024 * 1024 });
  return JSON.parse(stdout);
}

const stdioServer = [process.execPath, DIST, '--sandbox', '--audit-log', AUDIT_LOG];

describe('MCP Inspector CLI against the built server over stdio', () => {
  it('tools/list: every registered tool, each with a description and an input schema', async () => {
    const { tools } = await inspector(stdioServer, ['--method', 'tools/list']);
    expect(tools.map((tool: { name: string }) => tool.name)).toEqual(ALL_TOOLS.map((def) => def.name));
    for (const tool of tools) {
      expect(tool.description).toBeTruthy();
      expect(tool.inputSchema.type).toBe('object');
      expect(Object.keys(tool.annotations).sort()).toEqual(['destructiveHint', 'idempotentHint', 'openWorldHint', 'readOnlyHint']);
    }
  });

  it('prompts/get gather_encryption_context with an argument', async () => {
    const prompt = await inspector(stdioServer, ['--method', 'prompts/get', '--prompt-name', 'gather_encryption_context', '--prompt-args', 'tier=Advanced']);
    expect(prompt.messages[0].content.text).toContain('tier = Advanced');
  });

  it('tools/call get_cmek_status on the sandbox', async () => {
    const result = await inspector(stdioServer, ['--method', 'tools/call', '--tool-name', 'get_cmek_status', '--tool-arg', 'cluster=prod-east']);
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ cluster: { name: 'prod-east' }, status: 'ENABLED' });
    expect(result.content[0].text).toMatch(/Next: /);
  });

  it('resources/list and resources/read a skill (skills extension URI)', async () => {
    const { resources } = await inspector(stdioServer, ['--method', 'resources/list']);
    expect(resources.map((resource: { uri: string }) => resource.uri)).toEqual([
      'skill://enabling-cmek-encryption/SKILL.md',
      'skill://managing-certificates-and-encryption/SKILL.md',
    ]);
    const { contents } = await inspector(stdioServer, ['--method', 'resources/read', '--uri', 'skill://enabling-cmek-encryption/SKILL.md']);
    expect(contents[0]).toMatchObject({ uri: 'skill://enabling-cmek-encryption/SKILL.md', mimeType: 'text/markdown' });
    expect(contents[0].text).toMatch(/^---\nname: enabling-cmek-encryption/);
  });

  it('tools/call with a hostile argument is refused with a clear message', async () => {
    const result = await inspector(stdioServer, [
      '--method',
      'tools/call',
      '--tool-name',
      'get_cmek_status',
      '--tool-arg',
      "cluster='; DROP TABLE clusters; --",
    ]);
    expect(result.isError).toBe(true);
    expect(result.content[0].text).toMatch(/Invalid arguments for get_cmek_status: cluster/);
  });
});

describe('MCP Inspector CLI against the built server over Streamable HTTP', () => {
  let child: ChildProcess;
  let url: string;

  beforeAll(async () => {
    ({ child, url } = await startBuiltHttpServer(['--sandbox', '--audit-log', AUDIT_LOG]));
  });
  afterAll(async () => {
    await stopChild(child);
  });

  it('tools/list and a sandbox tool call', async () => {
    const { tools } = await inspector([url], ['--transport', 'http', '--method', 'tools/list']);
    expect(tools).toHaveLength(ALL_TOOLS.length);
    const result = await inspector(
      [url],
      ['--transport', 'http', '--method', 'tools/call', '--tool-name', 'check_cmek_eligibility', '--tool-arg', 'cluster=analytics-gcp'],
    );
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent.cluster.name).toBe('analytics-gcp');
  });

  it('prompts/get and resources/read (the deprecated skill://<name> URI still reads)', async () => {
    const prompt = await inspector(
      [url],
      ['--transport', 'http', '--method', 'prompts/get', '--prompt-name', 'gather_encryption_context', '--prompt-args', 'tier=Advanced'],
    );
    expect(prompt.messages[0].content.text).toContain('tier = Advanced');
    const { contents } = await inspector([url], ['--transport', 'http', '--method', 'resources/read', '--uri', 'skill://managing-certificates-and-encryption']);
    expect(contents[0].text).toMatch(/^---\nname: managing-certificates-and-encryption/);
  });
});
