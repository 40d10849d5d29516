/**
 * Reliability: malformed input, for every tool in ALL_TOOLS (a new tool is covered by being
 * registered). Generators come from each tool's input schema (schema-arbitraries.ts); each draw is
 * checked to be invalid under the strict full schema the server enforces. Every answer must be an isError naming the tool
 * and a bad field, with zero requests at any sandbox emulator (Cloud API, AWS, GCP, Azure, SQL),
 * and the server must still answer tools/list afterwards.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import { inputSchema, type ToolDef } from '../../src/tools/define-tool.js';
import { ALL_TOOLS } from '../../src/tools/index.js';
import { expectActionableAnswer } from '../helpers/next-actions.js';
import { callTool, type TestServer } from '../helpers/harness.js';
import { useFastSandboxServer } from '../tools/cmek-helpers.js';
import { inputJsonSchema, malformedArbitrary, reportedFields, validArbitrary } from './schema-arbitraries.js';
import { upstreamCalls as countUpstream } from './upstream.js';

/** Malformed inputs per tool (issue 10: at least 1,000). */
const RUNS = 1000;

let sandbox: Sandbox;
let server: TestServer;

useFastSandboxServer((ready, readyServer) => {
  sandbox = ready;
  server = readyServer;
});

const upstreamCalls = () => countUpstream(sandbox);

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Whether the message names `field` (raw, or JSON-escaped as the SDK's validator prints it). */
function names(text: string, field: string): boolean {
  return text.includes(field) || text.includes(JSON.stringify(field).slice(1, -1));
}

/** What the server's check (the strict full schema) reports; undefined when it would accept the arguments. */
function badFields(def: ToolDef, args: Record<string, unknown>): string[] | undefined {
  const full = inputSchema(def).safeParse(args);
  return full.success ? undefined : reportedFields(full.error);
}

describe.each(ALL_TOOLS.map((def) => [def.name, def] as const))('%s: malformed input', (name, def) => {
  it(`${RUNS} malformed inputs: isError naming the tool and field, no upstream call, server still answers`, { timeout: 180_000 }, async () => {
    // Unknown top-level keys are refused for every tool (the enforced schema is strict).
    const schema = { ...inputJsonSchema(inputSchema(def)), additionalProperties: false };
    const malformed = malformedArbitrary(schema)
      .filter(isPlainObject)
      .filter((args) => badFields(def, args) !== undefined);
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(malformed, async (args) => {
        runs += 1;
        const before = upstreamCalls();
        const result = await callTool(server.client, name, args);
        expectActionableAnswer(result);
        expect(result.isError, result.text.slice(0, 500)).toBe(true);
        expect(result.text).toMatch(new RegExp(`Invalid arguments for (tool )?${name}\\b`));
        expect(result.structured).toMatchObject({ error: 'invalid_arguments', next_actions: [], next_step: expect.stringContaining(`call ${name} again`) });
        const fields = badFields(def, args)!;
        expect(
          fields.length === 0 || fields.some((field) => names(result.text, field)),
          `names one of ${fields.join(', ')}: ${result.text.slice(0, 300)}`,
        ).toBe(true);
        expect(result.text).not.toMatch(/Internal error|bug in crdb-encryption-mcp/);
        expect(upstreamCalls()).toBe(before);
      }),
      { numRuns: RUNS },
    );
    expect(runs).toBeGreaterThanOrEqual(RUNS);
    const { tools } = await server.client.listTools();
    expect(tools.map((tool) => tool.name)).toContain(name);
  });

  it('a misspelt argument (dryRun, DRY_RUN, force, Cluster) is refused by name, not ignored', async () => {
    const candidates = fc.sample(validArbitrary(inputJsonSchema(inputSchema(def))).filter(isPlainObject), { numRuns: 500, seed: 7 });
    const base = candidates.find((args) => badFields(def, args) === undefined) ?? {};
    const before = upstreamCalls();
    for (const typo of ['dryRun', 'DRY_RUN', 'force', 'Cluster']) {
      const result = await callTool(server.client, name, { ...base, [typo]: true });
      expectActionableAnswer(result);
      expect(result.isError, result.text).toBe(true);
      expect(result.text).toContain(typo);
    }
    expect(upstreamCalls()).toBe(before);
  });

  it('arguments that are not an object are refused at the protocol level, and nothing is called', async () => {
    const before = upstreamCalls();
    for (const args of [[], ['cluster', 'prod-east'], 'prod-east', 42, null, true]) {
      const answer = server.client.request({ method: 'tools/call', params: { name, arguments: args as never } });
      await expect(answer).rejects.toThrow(/-32602|Invalid/);
    }
    expect(upstreamCalls()).toBe(before);
  });
});

describe('tool names', () => {
  it('an unknown or hostile tool name is refused and nothing is called', async () => {
    const before = upstreamCalls();
    for (const name of ["'; DROP TABLE tools; --", '../../etc/passwd', '$(rm -rf /)', 'revoke_cmek\u0000', 'REVOKE_CMEK', '']) {
      const outcome = await server.client
        .callTool({ name, arguments: { cluster: 'prod-east' } })
        .then((result) => ({ isError: Boolean(result.isError), text: JSON.stringify(result.content) }))
        .catch((error: Error) => ({ isError: true, text: error.message }));
      expect(outcome.isError).toBe(true);
      expect(outcome.text).toMatch(/not found|Unknown tool|Invalid/i);
    }
    expect(upstreamCalls()).toBe(before);
  });

  it('a __proto__ argument changes nothing: the SDK drops it before validation (or it is refused)', async () => {
    const plain = await callTool(server.client, 'get_cmek_status', { cluster: 'prod-east' });
    const polluted = JSON.parse('{"cluster":"prod-east","__proto__":{"cluster":"reports-aws","dry_run":false,"isAdmin":true}}') as Record<string, unknown>;
    const result = await callTool(server.client, 'get_cmek_status', polluted);
    if (!result.isError) expect(result).toEqual(plain);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it('the SQL emulator was never started by any refused call', () => {
    expect(sandbox.sql.started).toBe(false);
  });
});
