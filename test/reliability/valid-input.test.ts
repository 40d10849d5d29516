/**
 * Reliability: arguments that pass the schema but are random (unknown clusters, odd key URIs,
 * paths that do not exist...). Whatever the tool answers, it must be an answer written for the
 * operator (never an internal error), end with a next step, and change nothing upstream without
 * a human confirming (this client has no elicitation, so nothing destructive can be confirmed).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import { inputSchema } from '../../src/tools/define-tool.js';
import { ALL_TOOLS } from '../../src/tools/index.js';
import { callTool, type TestServer } from '../helpers/harness.js';
import { expectActionableAnswer } from '../helpers/next-actions.js';
import { useFastSandboxServer } from '../tools/cmek-helpers.js';
import { inputJsonSchema, validArbitrary } from './schema-arbitraries.js';
import { mutatingCalls } from './upstream.js';

const RUNS = 100;

let sandbox: Sandbox;
let server: TestServer;

useFastSandboxServer((ready, readyServer) => {
  sandbox = ready;
  server = readyServer;
});

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Never let a random draw write a file somewhere on this machine. */
function harmless(args: Record<string, unknown>): Record<string, unknown> {
  const { report_path: _omitted, ...rest } = args;
  return rest;
}

describe.each(ALL_TOOLS.map((def) => [def.name, def] as const))('%s: random valid input', (name, def) => {
  it(`${RUNS} schema-valid random inputs: an operator-facing answer with a next step, no unconfirmed mutation`, { timeout: 120_000 }, async () => {
    const full = inputSchema(def);
    const valid = validArbitrary(inputJsonSchema(full))
      .filter(isPlainObject)
      .map(harmless)
      .filter((args) => full.safeParse(args).success);
    await fc.assert(
      fc.asyncProperty(valid, async (args) => {
        const before = mutatingCalls(sandbox);
        const result = await callTool(server.client, name, args);
        expect(result.text, JSON.stringify(args)).not.toMatch(/Internal error|bug in crdb-encryption-mcp|MCP error/);
        expect(result.text).toMatch(/Next: |next step|"next":/i);
        expectActionableAnswer(result, JSON.stringify(args));
        expect(mutatingCalls(sandbox)).toBe(before);
      }),
      { numRuns: RUNS },
    );
  });
});
