/**
 * The tool registry's single gate: turns each ToolDef into an MCP tool, applies read-only and
 * toolset filtering (at list AND at call), maps expected failures to actionable `isError`
 * results, redacts secrets from everything returned, and writes the audit log around every
 * mutating call.
 */
import { randomUUID } from 'node:crypto';
import type { McpServer, RegisteredTool } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { z } from 'zod';
import type { Config, Toolset } from '../config.js';
import type { Deps } from '../deps.js';
import { OperatorError, errorMessage } from '../errors.js';
import { KmsError } from '../kms/provider.js';
import { AuditLogError } from '../safety/audit-log-error.js';
import type { AuditOutcome, Confirm, ConfirmationRequest } from '../safety/types.js';
import { elicitationSession } from './elicitation.js';
import { listedInputSchema, listedOutputSchema } from './listing-schema.js';

/** The four behaviour hints, all required so none falls back to the spec's pessimistic defaults. */
export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/** What a tool handler sees besides its arguments. */
export interface ToolContext {
  deps: Deps;
  config: Config;
  /** Aborted when the client cancels the request. */
  signal: AbortSignal;
  /** Sends notifications/progress when the client asked for progress; a no-op otherwise. */
  progress(progress: number, total?: number, message?: string): Promise<void>;
  /** Confirmation gate bound to this session (elicitation, or the token flow when allowed). */
  confirm: Confirm;
  /** Records an upstream request id for the audit entry. */
  noteRequestId(id: string | undefined): void;
}

/** A successful tool answer: structured data plus a short text rendering. */
export interface ToolOutput<T> {
  data: T;
  text: string;
  /** Overrides the audit outcome of a mutating tool (e.g. dry_run). */
  auditOutcome?: AuditOutcome;
}

/** One tool: everything tools/list shows, and its handler. */
export interface ToolDef<In extends z.ZodObject = z.ZodObject, Out extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  toolset: Toolset;
  input: In;
  /** Built on first use (start-up builds only what tools/list shows). */
  output: () => Out;
  annotations: ToolAnnotations;
  /** Names the target in the audit log (cluster, key). */
  target?: (args: z.output<In>) => string;
  run(args: z.output<In>, ctx: ToolContext): Promise<ToolOutput<z.output<Out>>>;
}

const outputSchemas = new WeakMap<ToolDef, z.ZodObject>();

/** A tool's full output schema, built once. */
export function outputSchema(def: ToolDef): z.ZodObject {
  let schema = outputSchemas.get(def);
  if (!schema) {
    schema = def.output();
    outputSchemas.set(def, schema);
  }
  return schema;
}

/** Identity helper that keeps the input/output types of a tool definition. */
export function defineTool<In extends z.ZodObject, Out extends z.ZodObject>(def: ToolDef<In, Out>): ToolDef<In, Out> {
  return def;
}

/** Whether a tool may be listed and called under this configuration. The only such check. */
export function toolPolicy(def: Pick<ToolDef, 'annotations' | 'toolset' | 'name'>, config: Config): { allowed: true } | { allowed: false; reason: string } {
  if (!config.toolsets.includes(def.toolset)) {
    return {
      allowed: false,
      reason: `${def.name} belongs to toolset '${def.toolset}', which this server was started without (--toolsets ${config.toolsets.join(',')}). Restart with --toolsets including ${def.toolset} to use it.`,
    };
  }
  if (config.readOnly && !def.annotations.readOnlyHint) {
    return {
      allowed: false,
      reason: `${def.name} changes state and this server runs with --read-only. Restart without --read-only to use it.`,
    };
  }
  return { allowed: true };
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** Turns known domain failures into operator-facing errors; anything else stays unknown. */
export function toOperatorError(error: unknown): OperatorError | undefined {
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

/** Registers every definition on the server; those the policy forbids are registered disabled. */
export function registerTools(server: McpServer, defs: readonly ToolDef[], config: Config, deps: Deps): Map<string, RegisteredTool> {
  const registered = new Map<string, RegisteredTool>();
  const session = elicitationSession(server);
  const confirm = deps.createConfirm(session);
  for (const def of defs) {
    assertConsistentAnnotations(def);
    const strictInput = def.input.strict();
    const tool = server.registerTool(
      def.name,
      {
        title: def.title,
        description: def.description,
        inputSchema: listedInputSchema(def.input),
        outputSchema: listedOutputSchema(),
        annotations: def.annotations,
      },
      (async (args: unknown, extra: Extra) => invoke(def, strictInput, args, extra, { config, deps, confirm })) as never,
    );
    // No tool here supports tasks; an absent `execution` means exactly that (spec default), and
    // saves ~40 bytes per tool in the tools/list every conversation pays for.
    tool.execution = undefined;
    if (!toolPolicy(def, config).allowed) tool.disable();
    registered.set(def.name, tool);
  }
  return registered;
}

function assertConsistentAnnotations(def: ToolDef): void {
  if (def.annotations.readOnlyHint && def.annotations.destructiveHint) {
    throw new Error(`tool ${def.name}: readOnlyHint and destructiveHint cannot both be true`);
  }
}

async function invoke(
  def: ToolDef,
  strictInput: z.ZodObject,
  args: unknown,
  extra: Extra,
  env: { config: Config; deps: Deps; confirm: Confirm },
): Promise<CallToolResult> {
  const { config, deps } = env;
  const policy = toolPolicy(def, config);
  if (!policy.allowed) return { isError: true, content: [{ type: 'text', text: policy.reason }] };

  const validated = strictInput.safeParse(args ?? {});
  if (!validated.success) return invalidArguments(def, validated.error);
  const parsed = validated.data;
  const mutating = !def.annotations.readOnlyHint;
  const attemptId = randomUUID();
  const requestIds: string[] = [];
  const target = def.target?.(parsed) ?? '';
  const params = deps.redactor.redact(parsed as Record<string, unknown>);
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
    });
  };

  const ctx: ToolContext = {
    deps,
    config,
    signal: extra.signal,
    progress: progressSender(extra, deps),
    confirm: (request) => env.confirm(redactForHuman(request, deps, extra.signal)),
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
    const checked = outputSchema(def).safeParse(output.data);
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
  const fields = Object.keys(def.input.shape).join(', ');
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
