/**
 * One tool call, start to end: policy check, loading the definition, strict validation against
 * the full input schema, the audit log around every mutating call (no 'attempted' entry, no
 * run), output-schema validation, mapping expected failures to actionable `isError` results,
 * and redaction of everything returned.
 */
import { randomUUID } from 'node:crypto';
import { inputRequired, type CallToolResult, type InputRequiredResult, type ServerContext } from '@modelcontextprotocol/server';
import type { z } from 'zod';
import type { Config } from '../config.js';
import type { Deps } from '../deps.js';
import { OperatorError, errorMessage } from '../errors.js';
import { KmsError } from '../kms/provider.js';
import { AuditLogError } from '../safety/audit-log-error.js';
import { ConfirmationPending } from '../safety/require-confirmation.js';
import { secretsInArguments } from '../safety/redact.js';
import type { AuditOutcome, Confirm, ConfirmationRequest, ConfirmationVerdict, Redactor } from '../safety/types.js';
import { CONFIRM_INPUT_KEY } from './elicitation.js';
import { inputSchema, outputSchema, toolPolicy, type ToolContext, type ToolDef, type ToolEntry, type ToolHidden, type WritingPart } from './define-tool.js';
import { callText, errorActions, suggest, type ToolName } from './next-actions.js';

/**
 * A tool's schemas validate a handful of calls per session: zod's eval-compiled fast path (built
 * on first parse of each object schema) would cost more than it saves.
 */
const ONE_PARSE = { jitless: true } as const;

/** Turns known domain failures into operator-facing errors; anything else stays unknown. */
function toOperatorError(error: unknown): OperatorError | undefined {
  if (error instanceof OperatorError) return error;
  if (error instanceof KmsError) {
    const next: Record<KmsError['kind'], string> = {
      not_found: 'check the key URI (region, account/project, vault) and that the key exists.',
      access_denied: 'grant the credentials this server uses read access to the key (and its policy), then retry.',
      throttled: 'the KMS is throttling requests; wait a minute and retry.',
      invalid: 'fix the request as the message says and retry.',
      unavailable: 'the KMS did not answer; retry shortly and check the provider status page.',
      conflict: 'the key changed state meanwhile; re-read it and retry.',
      limit_reached: 'rotate to a new key instead (provision_cmek_key, then rotate_cmek mode new_key).',
      unknown: 'check the KMS console for this key and retry.',
    };
    return new OperatorError('KMS request failed', `${error.message}${error.providerCode ? ` (${error.providerCode})` : ''}.`, next[error.kind], {
      kind: error.kind,
      providerCode: error.providerCode,
      requestId: error.requestId,
    });
  }
  if (error instanceof Error && error.name === 'AbortError') {
    return new OperatorError(
      'Cancelled',
      'The request was cancelled before it finished.',
      'check the current state (get_cmek_status) before running it again.',
    );
  }
  return undefined;
}

function formatOperatorError(error: OperatorError): string {
  return `${error.what}. ${error.why}\nNext: ${error.next}`;
}

function progressSender(ctx: ServerContext, redactor: Redactor): ToolContext['progress'] {
  const token = ctx.mcpReq._meta?.progressToken;
  if (token === undefined) return async () => {};
  return async (progress, total, message) => {
    await ctx.mcpReq.notify({
      method: 'notifications/progress',
      params: { progressToken: token, progress, ...(total === undefined ? {} : { total }), ...(message ? { message: redactor.redactText(message) } : {}) },
    });
  };
}

/**
 * Runs one call of `entry` and returns what the client sees: a result, or on a 2026-07-28 call
 * that needs a human's confirmation, the form as `input_required` with its sealed requestState.
 */
export async function runToolCall(
  entry: ToolEntry,
  args: unknown,
  extra: ServerContext,
  env: { config: Config; deps: Deps; confirm: Confirm },
): Promise<CallToolResult | InputRequiredResult> {
  const { config, deps } = env;
  const policy = toolPolicy(entry, config);
  if (!policy.allowed) return refuseHidden(entry, args, policy, deps);
  let def: ToolDef;
  try {
    def = await entry.load();
  } catch (error) {
    process.stderr.write(`[crdb-encryption-mcp] ${entry.name} could not be loaded: ${deps.redactor.redactText(String((error as Error)?.stack ?? error))}\n`);
    return {
      isError: true,
      content: [
        {
          type: 'text',
          text: `Internal error: ${entry.name} could not be loaded (${deps.redactor.redactText(errorMessage(error))}). Nothing was called.\nNext: this is a bug or a broken installation of crdb-encryption-mcp; reinstall it and retry.`,
        },
      ],
    };
  }

  const validated = inputSchema(def).safeParse(args ?? {}, ONE_PARSE);
  if (!validated.success) return invalidArguments(def, validated.error);
  const parsed = validated.data;
  // The call's own secrets (a connection URL's password) are masked in this call's output only.
  const redactor = deps.redactor.withSecrets(secretsInArguments(parsed));
  const writes = def.writes?.(parsed);
  if (writes && config.readOnly) return refusedUnderReadOnly(def, parsed as Record<string, unknown>, writes, redactor, deps);
  const mutating = !def.annotations.readOnlyHint || writes !== undefined;
  const attemptId = randomUUID();
  const requestIds: string[] = [];
  const target = def.target?.(parsed) ?? '';
  const params = redactor.redact(parsed as Record<string, unknown>);
  let confirmation: ConfirmationVerdict | undefined;
  const audit = async (outcome: AuditOutcome, detail?: string) => {
    if (!mutating) return;
    await deps.audit.append({
      time: new Date(deps.clock.now()).toISOString(),
      tool: def.name,
      target,
      params,
      outcome,
      ...(detail ? { detail: redactor.redactText(detail) } : {}),
      ...(requestIds.length ? { requestIds: [...requestIds] } : {}),
      attemptId,
      ...(confirmation ? { confirmation } : {}),
    });
  };

  const ctx: ToolContext = {
    deps,
    config,
    signal: extra.mcpReq.signal,
    redactor,
    progress: progressSender(extra, redactor),
    confirm: async (request) => {
      const result = await env.confirm(redactForHuman(request, redactor, extra.mcpReq.signal));
      confirmation = result.approved ? 'approved' : result.reason;
      return result;
    },
    noteRequestId: (id) => {
      if (id) requestIds.push(id);
    },
  };

  // A mutation nobody can account for must not happen: no 'attempted' entry, no run.
  try {
    await audit('attempted');
  } catch (error) {
    const { why, next } = auditFailure(error, config, redactor);
    process.stderr.write(`[crdb-encryption-mcp] ${def.name} refused: audit log unavailable: ${why}\n`);
    return {
      isError: true,
      content: [
        {
          type: 'text',
          text: `Not run: ${def.name} changes state and the audit log could not record the attempt (${why}). Nothing was changed.\nNext: ${next}`,
        },
      ],
    };
  }

  let result: CallToolResult;
  let outcome: AuditOutcome;
  let detail: string | undefined;
  let pending: ConfirmationPending | undefined;
  try {
    const output = await def.run(parsed, ctx);
    const checked = outputSchema(def).safeParse(output.data, ONE_PARSE);
    if (!checked.success) throw new Error(`output does not match its schema: ${formatIssues(checked.error)}`);
    outcome = output.auditOutcome ?? 'succeeded';
    result = { content: [{ type: 'text', text: output.text }], structuredContent: output.data as Record<string, unknown> };
  } catch (error) {
    if (error instanceof ConfirmationPending) pending = error;
    const known = pending ? undefined : toOperatorError(error);
    outcome = pending ? 'refused' : ((known?.details.auditOutcome as AuditOutcome | undefined) ?? 'failed');
    const internalNext = `this is a bug in crdb-encryption-mcp; check the target's current state before retrying${mutating ? ' (the change may or may not have been applied)' : ''}.`;
    detail = pending ? pending.detail : known ? formatOperatorError(known) : `Internal error in ${def.name}: ${errorMessage(error)}.\nNext: ${internalNext}`;
    if (!known && !pending)
      process.stderr.write(`[crdb-encryption-mcp] ${def.name} failed: ${redactor.redactText(String((error as Error)?.stack ?? error))}\n`);
    const structuredContent = known
      ? { next_actions: errorActions(known), next_step: known.next }
      : { error: 'internal_error', next_actions: [], next_step: internalNext };
    result = { isError: true, content: [{ type: 'text', text: detail }], structuredContent };
  }

  try {
    await audit(outcome, detail);
  } catch (error) {
    // The call already happened: report it as it went, and say the outcome is missing from the log.
    const { why, next } = auditFailure(error, config, redactor);
    process.stderr.write(`[crdb-encryption-mcp] ${def.name}: audit log could not record outcome '${outcome}' (attempt ${attemptId}): ${why}\n`);
    result.content.push({
      type: 'text',
      text: `Warning: the audit log could not record the outcome (${outcome}) of this call (${why}); it holds only the attempt ${attemptId}.\nNext: note this outcome by hand for your records, then ${next}`,
    });
  }
  if (pending) return confirmationForm(pending, redactor);
  return redactor.redact(result);
}

/** The confirmation form of a 2026-07-28 call; the sealed requestState must come back unaltered, so only the text is redacted. */
function confirmationForm(pending: ConfirmationPending, redactor: Redactor): InputRequiredResult {
  return inputRequired({
    inputRequests: {
      [CONFIRM_INPUT_KEY]: inputRequired.elicit({
        mode: 'form',
        message: redactor.redactText(pending.form.message),
        requestedSchema: redactor.redact(pending.form.requestedSchema) as never,
      }),
    },
    requestState: pending.requestState,
  });
}

/**
 * A call to a tool this configuration does not offer: nothing is loaded or run, and the refusal
 * is audited like any other (the caller may be probing for what the flags hide).
 */
/** Writes a refusal (nothing was run) to the audit log; returns a warning line for the answer when that failed. */
async function auditRefusal(deps: Deps, tool: string, params: Record<string, unknown>, detail: string, target = ''): Promise<string> {
  try {
    await deps.audit.append({ time: new Date(deps.clock.now()).toISOString(), tool, target, params, outcome: 'refused', detail, attemptId: randomUUID() });
    return '';
  } catch (error) {
    return `\nWarning: the audit log could not record this refusal (${deps.redactor.redactText(errorMessage(error))}).`;
  }
}

/** The refusal of a tool this configuration does not offer: why, and the restart that would. */
async function refuseHidden(entry: ToolEntry, args: unknown, hidden: ToolHidden, deps: Deps): Promise<CallToolResult> {
  const next = `ask the operator to restart the server ${hidden.restart} to use ${entry.name}; the tools in tools/list keep working meanwhile.`;
  const text = `${entry.name} is not available: ${hidden.why}. Nothing was run.\nNext: ${next}`;
  const params = deps.redactor.redact(typeof args === 'object' && args !== null ? (args as Record<string, unknown>) : {});
  const auditNote = await auditRefusal(deps, entry.name, params, `not available: ${hidden.why}`);
  return {
    isError: true,
    content: [{ type: 'text', text: text + auditNote }],
    // No tool call can lift the flag: only the operator's restart can (next_actions stays empty).
    structuredContent: { error: 'tool_not_available', tool: entry.name, cause: hidden.cause, restart: hidden.restart, next_actions: [], next_step: next },
  };
}

function formatIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(arguments)'}: ${issue.message}`)
    .join('; ');
}

/** The writing part of a read tool, asked for on a --read-only server: refused before anything runs. */
/**
 * The refusal of a read tool's writing part under --read-only: what it would write, and as the
 * next step the same call without the argument that asks for it (the read part is allowed).
 */
async function refusedUnderReadOnly(def: ToolDef, args: Record<string, unknown>, writes: WritingPart, redactor: Redactor, deps: Deps): Promise<CallToolResult> {
  const { [writes.option]: _dropped, ...readOnly } = args;
  const retry = suggest(def.name as ToolName, redactor.redact(readOnly), `the same call without ${writes.option}: its read part works under --read-only`);
  const next = `call ${callText(retry)} (${retry.why}); to write ${writes.what}, ask the operator to restart the server without --read-only.`;
  const text = `Not run: this ${def.name} call would write ${writes.what} (${writes.option}), and this server runs with --read-only. Nothing was read or written.\nNext: ${next}`;
  const auditNote = await auditRefusal(deps, def.name, redactor.redact(args), `read-only: would write ${writes.what}`, def.target?.(args as never) ?? '');
  return {
    isError: true,
    content: [{ type: 'text', text: text + auditNote }],
    structuredContent: { error: 'read_only', tool: def.name, writes: writes.what, option: writes.option, next_actions: [retry], next_step: next },
  };
}

/** Malformed arguments: refused before anything is read or changed; no call can be suggested, only the fix. */
function invalidArguments(def: ToolDef, error: z.ZodError): CallToolResult {
  const fields = Object.keys(inputSchema(def).shape).join(', ');
  const issues = formatIssues(error);
  const next = `fix the arguments (accepted: ${fields}) and call ${def.name} again.`;
  return {
    isError: true,
    content: [{ type: 'text', text: `Invalid arguments for ${def.name}: ${issues}. Nothing was called.\nNext: ${next}` }],
    structuredContent: { error: 'invalid_arguments', issues, next_actions: [], next_step: next },
  };
}

/** What the human is shown goes through the redactor too; the bound fields (params, state, name) stay exact. */
function redactForHuman(request: ConfirmationRequest, redactor: Redactor, signal: AbortSignal): ConfirmationRequest {
  const text = (value: string) => redactor.redactText(value);
  return {
    ...request,
    targetDescription: text(request.targetDescription),
    action: text(request.action),
    consequences: request.consequences.map(text),
    reversibility: text(request.reversibility),
    signal: request.signal ?? signal,
  };
}

/** Why the audit log refused an entry, and what the operator should do about it. */
function auditFailure(error: unknown, config: Config, redactor: Redactor): { why: string; next: string } {
  const why = redactor.redactText(errorMessage(error));
  if (error instanceof AuditLogError) return { why, next: error.next };
  const where = config.auditDb
    ? 'the --audit-db database is reachable and writable'
    : `${config.auditLog} and its directory are writable (permissions, free disk space)`;
  return { why, next: `check that ${where}, then retry. Read-only tools keep working meanwhile.` };
}
