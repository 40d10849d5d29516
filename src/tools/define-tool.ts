/**
 * The tool registry's single gate: what a tool is (ToolDef), how it is listed (ToolEntry), the
 * read-only and toolset policy (applied at list AND at call), and registration on the server.
 * What happens on a call (validation, audit, redaction, error mapping) is in tool-call.ts,
 * imported on the first call.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { z } from 'zod';
import type { Config, Toolset } from '../config.js';
import type { Deps } from '../deps.js';
import type { AuditOutcome, Confirm, Redactor } from '../safety/types.js';
import { elicitationSession } from './elicitation.js';

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
  /** This call's redactor: configured secrets plus the call's own (e.g. its connection URL's password). */
  redactor: Redactor;
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
  /** Built on first call, like `output`: start-up lists the schema from listing.json. */
  input: () => In;
  output: () => Out;
  annotations: ToolAnnotations;
  /**
   * For a read tool with an optional writing part (a report file, a probe table): what this call
   * writes, or undefined when it writes nothing. Such a call is audited like a mutation and refused
   * under --read-only.
   */
  writes?: (args: z.output<In>) => string | undefined;
  /** Names the target in the audit log (cluster, key). */
  target?: (args: z.output<In>) => string;
  run(args: z.output<In>, ctx: ToolContext): Promise<ToolOutput<z.output<Out>>>;
}

const inputSchemas = new WeakMap<ToolDef, z.ZodObject>();
const outputSchemas = new WeakMap<ToolDef, z.ZodObject>();

function builtOnce(cache: WeakMap<ToolDef, z.ZodObject>, def: ToolDef, build: () => z.ZodObject): z.ZodObject {
  let schema = cache.get(def);
  if (!schema) {
    schema = build();
    cache.set(def, schema);
  }
  return schema;
}

/** A tool's full input schema, built once and strict (a typo like dryRun must not vanish): every call is validated against it. */
export function inputSchema(def: ToolDef): z.ZodObject {
  return builtOnce(inputSchemas, def, () => def.input().strict());
}

/** A tool's full output schema, built once. */
export function outputSchema(def: ToolDef): z.ZodObject {
  return builtOnce(outputSchemas, def, def.output);
}

/**
 * The SDK lists a zod schema; ours carries the entry's JSON Schema as metadata (zod merges it into
 * the JSON Schema it emits) on an object that lets every object through, so that the strict
 * validation against the full schema in tool-call.ts decides, with its clear message.
 */
function listedInputSchema(entry: ToolEntry): z.ZodObject {
  return z.looseObject({}).meta(entry.listedInput);
}

/** Outputs are listed as plain objects; tool-call.ts enforces the full output schema on every call. */
const LISTED_OUTPUT_SCHEMA = z.looseObject({});

/**
 * What tools/list shows of a tool, and its definition on demand. The server's entries come from
 * src/tools/catalog.ts, which imports a tool's module on its first call.
 */
export interface ToolEntry extends Pick<ToolDef, 'name' | 'title' | 'description' | 'toolset' | 'annotations'> {
  /** The input JSON Schema tools/list shows. */
  listedInput: Record<string, unknown>;
  load(): Promise<ToolDef>;
}

/** An entry for a definition at hand (a test's own tool): it lists its full input schema. */
export function toolEntry(def: ToolDef): ToolEntry {
  const { name, title, description, toolset, annotations } = def;
  const listedInput = z.toJSONSchema(inputSchema(def), { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  return { name, title, description, toolset, annotations, listedInput, load: async () => def };
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

/** Registers every entry on the server; those the policy forbids are registered disabled. */
export function registerTools(server: McpServer, entries: readonly ToolEntry[], config: Config, deps: Deps): void {
  const session = elicitationSession(server);
  const confirm = deps.createConfirm(session);
  for (const entry of entries) {
    assertConsistentAnnotations(entry);
    const tool = server.registerTool(
      entry.name,
      {
        title: entry.title,
        description: entry.description,
        inputSchema: listedInputSchema(entry),
        outputSchema: LISTED_OUTPUT_SCHEMA,
        annotations: entry.annotations,
      },
      (async (args: unknown, extra: RequestHandlerExtra<ServerRequest, ServerNotification>) => {
        const { runToolCall } = await import('./tool-call.js');
        return runToolCall(entry, args, extra, { config, deps, confirm });
      }) as never,
    );
    // No tool here supports tasks; an absent `execution` means exactly that (spec default), and
    // saves ~40 bytes per tool in the tools/list every conversation pays for.
    tool.execution = undefined;
    if (!toolPolicy(entry, config).allowed) tool.disable();
  }
}

function assertConsistentAnnotations(tool: Pick<ToolDef, 'name' | 'annotations'>): void {
  if (tool.annotations.readOnlyHint && tool.annotations.destructiveHint) {
    throw new Error(`tool ${tool.name}: readOnlyHint and destructiveHint cannot both be true`);
  }
}
