/**
 * Checks suggested calls the way a model would use them: each names a real tool, and its
 * arguments pass the tool's full strict input schema except for exactly the arguments `needs`
 * says the operator supplies (needs.manual_step is work outside the server, not an argument).
 */
import { expect } from 'vitest';
import { inputSchema } from '../../src/tools/define-tool.js';
import { ALL_TOOLS } from '../../src/tools/index.js';
import { MANUAL_STEP } from '../../src/tools/next-actions.js';
import type { ToolCallOutcome } from './harness.js';

const BY_NAME = new Map(ALL_TOOLS.map((def) => [def.name, def]));

/** Problems with one suggested call ([] when it is valid). */
export function actionProblems(action: { tool: string; arguments: Record<string, unknown>; needs?: Record<string, string> }): string[] {
  const def = BY_NAME.get(action.tool);
  if (!def) return [`${action.tool} is not a tool`];
  const needed = new Set(Object.keys(action.needs ?? {}).filter((name) => name !== MANUAL_STEP));
  const fields = Object.keys(inputSchema(def).shape);
  const problems = [...needed].filter((name) => !fields.includes(name)).map((name) => `needs names ${name}, not an argument of ${action.tool}`);
  problems.push(...[...needed].filter((name) => name in action.arguments).map((name) => `needs names ${name}, which arguments already gives`));
  const parsed = inputSchema(def).safeParse(action.arguments);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = String(issue.path[0] ?? '');
      if (!needed.has(field)) problems.push(`${action.tool}: ${issue.path.join('.') || '(arguments)'}: ${issue.message}`);
    }
  }
  return problems;
}

/**
 * Every tool answer has next_actions (each valid) or, with none, a Next: line saying why. Error
 * answers the server could not attach calls to still end with their Next: line.
 */
export function expectActionableAnswer(result: ToolCallOutcome, context = ''): void {
  const actions = result.structured?.next_actions as Array<{ tool: string; arguments: Record<string, unknown>; needs?: Record<string, string> }> | undefined;
  expect(result.text, context).toMatch(/(^|\n)Next: \S|"next":"\S/);
  if (!result.isError) expect(Array.isArray(actions), `${context}: next_actions missing`).toBe(true);
  for (const action of actions ?? []) expect(actionProblems(action), `${context}: ${JSON.stringify(action)}`).toEqual([]);
}
