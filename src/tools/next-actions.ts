/**
 * What to do next, machine-readable: every tool answer carries `next_actions`, an ordered list of
 * tool calls (the first is the recommended one) whose `arguments` are complete whenever the server
 * knows them, and whose `needs` names the arguments only the operator can supply. The text's one
 * "Next:" line is rendered here from the same data, so the two never disagree. When there is no
 * call to suggest, `next_step` says why (and what to do outside this server).
 */
import { z } from 'zod';
import { OperatorError } from '../errors.js';

/** The tools an action may name (a test checks this list against the registry). */
export const TOOL_NAMES = [
  'list_clusters',
  'check_cmek_eligibility',
  'get_cmek_status',
  'enable_cmek',
  'rotate_cmek',
  'revoke_cmek',
  'provision_cmek_key',
  'delete_kms_key',
  'inspect_certificates',
  'plan_certificate_rotation',
  'check_certificate_expiry',
  'verify_encryption_sql',
  'audit_encryption_posture',
  'verify_audit_log',
] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

/** One suggested call. */
export interface NextAction {
  tool: ToolName;
  /** Valid for the tool's input schema once every argument in `needs` is added. */
  arguments: Record<string, unknown>;
  why: string;
  /**
   * What only the operator can supply: argument name -> what to pass (absent from `arguments`),
   * and under MANUAL_STEP a step outside this server to take before calling.
   */
  needs?: Record<string, string>;
}

/** The `needs` entry for work outside this server that must come before the call. */
export const MANUAL_STEP = 'manual_step';

/** The next step of an answer: calls in order, and advice beyond them (required when there is no call). */
export type NextSteps = { actions: [NextAction, ...NextAction[]]; note?: string } | { actions: []; note: string };

/** A suggested call; `needs` only when the operator must add arguments. */
export function suggest(tool: ToolName, args: Record<string, unknown>, why: string, needs?: Record<string, string>): NextAction {
  return { tool, arguments: args, why, ...(needs && Object.keys(needs).length ? { needs } : {}) };
}

/** Steps from a list of calls and the advice to show with them (with no call, the advice says why none). */
export function nextSteps(actions: readonly NextAction[], note?: string): NextSteps {
  if (actions.length === 0) {
    if (!note) throw new Error('a next step without any call must say why none');
    return { actions: [], note };
  }
  return { actions: actions as [NextAction, ...NextAction[]], ...(note ? { note } : {}) };
}

/** A call written the way guidance writes it: `tool {json arguments}`. */
export function callText(action: Pick<NextAction, 'tool' | 'arguments'>): string {
  return `${action.tool} ${JSON.stringify(action.arguments)}`;
}

function needsText(needs: Record<string, string>): string {
  const { [MANUAL_STEP]: manual, ...args } = needs;
  const supply = Object.entries(args).map(([name, what]) => `${name} (${what})`);
  return [
    ...(manual ? [`First, outside this server: ${manual.replace(/\.$/, '')}.`] : []),
    ...(supply.length ? [`You supply: ${supply.join(', ')}.`] : []),
  ].join(' ');
}

/** The "Next:" sentence (without the label): the recommended call, its reason, what else, advice. */
export function renderNext(next: NextSteps): string {
  const [first, ...rest] = next.actions;
  if (!first) return next.note ?? '';
  const parts = [`${callText(first)} - ${first.why}${first.why.endsWith('.') ? '' : '.'}`];
  if (first.needs) parts.push(needsText(first.needs));
  if (rest.length) parts.push(`Then or instead: ${rest.map((action) => `${action.tool} (${action.why.replace(/\.$/, '')})`).join('; ')}.`);
  if (next.note) parts.push(next.note);
  return parts.join(' ');
}

/** The answer's single "Next:" line. */
export function nextLine(next: NextSteps): string {
  return `Next: ${renderNext(next)}`;
}

/** The structured fields every answer carries. */
export function nextFields(next: NextSteps): { next_actions: NextAction[]; next_step: string } {
  return { next_actions: [...next.actions], next_step: renderNext(next) };
}

/** Output schema of one suggested call. */
export const nextActionOutput = () =>
  z.object({
    tool: z.enum(TOOL_NAMES),
    arguments: z.record(z.string(), z.unknown()),
    why: z.string().min(1),
    needs: z.record(z.string(), z.string()).optional(),
  });

/** Output schema fields every tool adds: `next_actions` and the rendered `next_step`. */
export const nextOutput = () => ({ next_actions: z.array(nextActionOutput()), next_step: z.string().min(1) });

/** An expected failure whose next step includes calls the server knows: tool-call.ts puts them in the answer. */
export function operatorError(what: string, why: string, next: NextSteps, details: Record<string, unknown> = {}): OperatorError {
  return new OperatorError(what, why, renderNext(next), { ...details, next_actions: [...next.actions] });
}

/** The suggested calls an OperatorError carries (see operatorError), if they are well formed. */
export function errorActions(error: OperatorError): NextAction[] {
  const parsed = z.array(nextActionOutput()).safeParse(error.details.next_actions);
  return parsed.success ? (parsed.data as NextAction[]) : [];
}
