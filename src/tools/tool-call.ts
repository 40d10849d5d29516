/**
 * One tool call, start to end: policy check, loading the definition, strict validation against
 * the full input schema, the audit log around every mutating call (no 'attempted' entry, no
 * run), output-schema validation, mapping expected failures to actionable `isError` results,
 * and redaction of everything returned.
 */
import { randomUUID } from 'node:crypto';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { z } from 'zod';
import type { Config } from '../config.js';
import type { Deps } from '../deps.js';
import { OperatorError, errorMessage } from '../errors.js';
import { KmsError } from '../kms/provider.js';
import { AuditLogError } from '../safety/audit-log-error.js';
import type { AuditOutcome, Confirm, ConfirmationRequest, ConfirmationVerdict } from '../safety/types.js';
import { inputSchema, outputSchema, toolPolicy, type ToolContext, type ToolDef, type ToolEntry } from './define-tool.js';

/**
 * A tool's schemas validate a handful of calls per session: zod's eval-compiled fast path (built
 * on first parse of each object schema) would cost more than it saves.
 */
const ONE_PARSE = { jitless: true } as const;

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

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
      unknown: 'check the KMS console for this key and retry.',
    };
    return new OperatorError('KMS request failed', `${error.message}${error.providerCode ? ` (${error.providerCode})` : ''}.`, next[error.kind], {
      kind: error.kind,
      providerCode: error.providerCode,
      requestId: error.requestId,
    });
  }
  if (error instanceof Error && error.name === 'AbortError') {
    return new OperatorError('Cancelled', 'The request was cancelled before it finished.', 'check the current state (get_cmek_status) before running it again.');
  }
  return undefined;
}

function formatOperatorError(error: OperatorError): string {
  return `${error.what}. ${error.why}\nNext: ${error.next}`;
}

function progressSender(extra: Extra, deps: Deps): ToolContext['progress'] {
  const token = extra._meta?.progressToken;
  if (token === undefined) return async () => {};
  return async (progress, total, message) => {
    await extra.sendNotification({
      method: 'notifications/progress',
      params: { progressToken: token, progress, ...(total === undefined ? {} : { total }), ...(message ? { message: deps.redactor.redactText(message) } : {}) },
    });
  };
}

/** Runs one call of `entry` and returns what the client sees. */
export async function runToolCall(
  entry: ToolEntry,
  args: unknown,
  extra: Extra,
  env: { config: Config; deps: Deps; confirm: Confirm },
): Promise<CallToolResult> {
  const { config, deps } = env;
  const policy = toolPolicy(entry, config);
  if (!policy.allowed) return { isError: true, content: [{ type: 'text', text: policy.reason }] };
  let def: ToolDef;
  try {
    def = await entry.load();
  } catch (error) {
    process.stderr.write(`[crdb-encryption-mcp] ${entry.name} could not be loaded: ${deps.redactor.redactText(String((error as Error)?.stack ?? error))}\n`);
    return {
      isError: true,
      content: [{ type: 'text', text: `Internal error: ${entry.name} could not be loaded (${deps.redactor.redactText(errorMessage(error))}). Nothing was called.\nNext: this is a bug or a broken installation of crdb-encryption-mcp; reinstall it and retry.` }],
    };
  }

  const validated = inputSchema(def).safeParse(args ?? {}, ONE_PARSE);
  if (!validated.success) return invalidArguments(def, validated.error);
  const parsed = validated.data;
  const mutating = !def.annotations.readOnlyHint;
  const attemptId = randomUUID();
  const requestIds: string[] = [];
  const target = def.target?.(parsed) ?? '';
  const params = deps.redactor.redact(parsed as Record<string, unknown>);
  let confirmation: ConfirmationVerdict | undefined;
  const audit = async (outcome: AuditOutcome, detail?: string) => {
    if (!mutating) return;
    await deps.audit.append({
      time: new Date(deps.clock.now()).toISOString(),
      tool: def.name,
      target,
      params,
      outcome,
      ...(detail ? { detail: deps.redactor.redactText(detail) } : {}),
      ...(requestIds.length ? { requestIds: [...requestIds] } : {}),
      attemptId,
      ...(confirmation ? { confirmation } : {}),
    });
  };

  const ctx: ToolContext = {
    deps,
    config,
    signal: extra.signal,
    progress: progressSender(extra, deps),
    confirm: async (request) => {
      const result = await env.confirm(redactForHuman(request, deps, extra.signal));
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
    const { why, next } = auditFailure(error, config, deps);
    process.stderr.write(`[crdb-encryption-mcp] ${def.name} refused: audit log unavailable: ${why}\n`);
    return {
      isError: true,
      content: [{ type: 'text', text: `Not run: ${def.name} changes state and the audit log could not record the attempt (${why}). Nothing was changed.\nNext: ${next}` }],
    };
  }

  let result: CallToolResult;
  let outcome: AuditOutcome;
  let detail: string | undefined;
  try {
    const output = await def.run(parsed, ctx);
    const checked = outputSchema(def).safeParse(output.data, ONE_PARSE);
    if (!checked.success) throw new Error(`output does not match its schema: ${formatIssues(checked.error)}`);
    outcome = output.auditOutcome ?? 'succeeded';
    result = { content: [{ type: 'text', text: output.text }], structuredContent: output.data as Record<string, unknown> };
  } catch (error) {
    const known = toOperatorError(error);
    outcome = (known?.details.auditOutcome as AuditOutcome | undefined) ?? 'failed';
    detail = known
      ? formatOperatorError(known)
      : `Internal error in ${def.name}: ${errorMessage(error)}.\nNext: this is a bug in crdb-encryption-mcp; check the target's current state before retrying${mutating ? ' (the change may or may not have been applied)' : ''}.`;
    if (!known) process.stderr.write(`[crdb-encryption-mcp] ${def.name} failed: ${deps.redactor.redactText(String((error as Error)?.stack ?? error))}\n`);
    result = { isError: true, content: [{ type: 'text', text: detail }] };
  }

  try {
    await audit(outcome, detail);
  } catch (error) {
    // The call already happened: report it as it went, and say the outcome is missing from the log.
    const { why, next } = auditFailure(error, config, deps);
    process.stderr.write(`[crdb-encryption-mcp] ${def.name}: audit log could not record outcome '${outcome}' (attempt ${attemptId}): ${why}\n`);
    result.content.push({
      type: 'text',
      text: `Warning: the audit log could not record the outcome (${outcome}) of this call (${why}); it holds only the attempt ${attemptId}.\nNext: note this outcome by hand for your records, then ${next}`,
    });
  }
  return deps.redactor.redact(result);
}

function formatIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(arguments)'}: ${issue.message}`)
    .join('; ');
}

/** Malformed arguments: refused before anything is read or changed. */
function invalidArguments(def: ToolDef, error: z.ZodError): CallToolResult {
  const fields = Object.keys(inputSchema(def).shape).join(', ');
  return {
    isError: true,
    content: [
      {
        type: 'text',
        text: `Invalid arguments for ${def.name}: ${formatIssues(error)}. Nothing was called.\nNext: fix the arguments (accepted: ${fields}) and call ${def.name} again.`,
      },
    ],
  };
}

/** What the human is shown goes through the redactor too; the bound fields (params, state, name) stay exact. */
function redactForHuman(request: ConfirmationRequest, deps: Deps, signal: AbortSignal): ConfirmationRequest {
  const text = (value: string) => deps.redactor.redactText(value);
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
function auditFailure(error: unknown, config: Config, deps: Deps): { why: string; next: string } {
  const why = deps.redactor.redactText(errorMessage(error));
  if (error instanceof AuditLogError) return { why, next: error.next };
  const where = config.auditDb ? 'the --audit-db database is reachable and writable' : `${config.auditLog} and its directory are writable (permissions, free disk space)`;
  return { why, next: `check that ${where}, then retry. Read-only tools keep working meanwhile.` };
}
