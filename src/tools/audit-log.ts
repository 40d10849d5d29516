/** verify_audit_log: check the audit log's HMAC chain and name the first bad entry. */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { OperatorError } from '../errors.js';
import { AuditLogError, BROKEN_LOG_NEXT_STEP } from '../safety/audit-log-error.js';
import type { AuditVerification } from '../safety/types.js';
import { defineTool, type ToolDef } from './define-tool.js';
import { nextFields, nextLine, nextOutput, nextSteps } from './next-actions.js';

export const verifyAuditLogInput = () =>
  z.object({
    path: z.string().min(1).max(4096).optional().describe('Absolute path of an audit log file of this server; default: the configured log.'),
  });

export const verifyAuditLogOutput = () =>
  z.object({
    ok: z.boolean(),
    entries: z.number().int(),
    first_bad_entry: z.number().int().optional(),
    problem: z.string().optional(),
    store: z.string(),
    ...nextOutput(),
  });

/** Renders a verification for the operator, ending with the next step. */
export function renderVerification(result: AuditVerification): { data: z.output<ReturnType<typeof verifyAuditLogOutput>>; text: string } {
  const store = result.store ?? 'audit log';
  const next = nextSteps([], result.ok ? 'nothing to do: the log is intact; verify it again on your review cadence.' : BROKEN_LOG_NEXT_STEP);
  const data = {
    ok: result.ok,
    entries: result.entries,
    ...(result.firstBadEntry === undefined ? {} : { first_bad_entry: result.firstBadEntry }),
    ...(result.problem === undefined ? {} : { problem: result.problem }),
    store,
    ...nextFields(next),
  };
  const text = result.ok
    ? `Audit log ${store}: ${result.entries} entries, HMAC chain intact.`
    : `Audit log ${store} FAILED verification${result.firstBadEntry === undefined ? '' : ` at entry ${result.firstBadEntry}`} of ${result.entries}: ${result.problem}.`;
  return { data, text: `${text}\n${nextLine(next)}` };
}

export const verifyAuditLog = defineTool({
  name: 'verify_audit_log',
  title: 'Verify audit log',
  description:
    "Verify this server's HMAC-chained audit log; names the first edited, deleted, reordered or truncated entry, and reports a deleted log. Does not cover changes made outside this server.",
  toolset: 'audit',
  input: verifyAuditLogInput,
  output: verifyAuditLogOutput,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, ctx) {
    if (args.path !== undefined && !isAbsolute(args.path)) {
      throw new OperatorError(
        'Path not accepted',
        `${JSON.stringify(args.path)} is relative, and this server's working directory is not yours.`,
        'give the absolute path of the audit log, or omit path to check the configured log.',
      );
    }
    try {
      const result =
        args.path === undefined ? await ctx.deps.audit.verify() : await (await import('../safety/audit-log.js')).verifyAuditLogFile(ctx.config, args.path);
      return renderVerification(result);
    } catch (error) {
      if (error instanceof AuditLogError) throw new OperatorError('Audit log not checked', `${error.message}.`, error.next);
      throw error;
    }
  },
});

/** The audit-log toolset entries. */
export const AUDIT_LOG_TOOLS: readonly ToolDef[] = [verifyAuditLog];
