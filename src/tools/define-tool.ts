/**
 * The tool registry: what a tool is (ToolDef), how it is listed (ToolEntry), the read-only and
 * toolset policy, and the server's own tools/list and tools/call handlers. Tools the policy hides
 * are not listed; a call to one gets our refusal. What happens on a call (validation, audit,
 * redaction, error mapping) is in tool-call.ts, imported on the first call.
 */
import { ProtocolError, ProtocolErrorCode, type McpServer, type Tool } from '@modelcontextprotocol/server';
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
   * writes and the argument that asks for it, or undefined when it writes nothing. Such a call is
   * audited like a mutation and refused under --read-only, with the same call without `option` as
   * the next step.
   */
  writes?: (args: z.output<In>) => WritingPart | undefined;
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
  const listedInput = z.toJSONSchema(inputSchema(def), { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
  return { name, title, description, toolset, annotations, listedInput, load: async () => def };
}

/** What a call of a read tool would write, and the argument that asks for it. */
export interface WritingPart {
  what: string;
  option: string;
}

/** Identity helper that keeps the input/output types of a tool definition. */
export function defineTool<In extends z.ZodObject, Out extends z.ZodObject>(def: ToolDef<In, Out>): ToolDef<In, Out> {
  return def;
}

/** Why a tool is not offered, in a refusal's terms: the cause, the flag that hides it, and the restart that would offer it. */
export interface ToolHidden {
  allowed: false;
  cause: 'read_only' | 'toolset';
  why: string;
  /** The restart that offers the tool, e.g. "without --read-only". */
  restart: string;
}

/** Whether a tool is offered under this configuration: the only such check (the registry lists only these; tool-call.ts refuses the rest). */
export function toolPolicy(def: Pick<ToolDef, 'annotations' | 'toolset' | 'name'>, config: Config): { allowed: true } | ToolHidden {
  if (!config.toolsets.includes(def.toolset)) {
    return {
      allowed: false,
      cause: 'toolset',
      why: `the server runs with --toolsets ${config.toolsets.join(',')}, which leaves out the '${def.toolset}' toolset it belongs to`,
      restart: `with --toolsets ${[...config.toolsets, def.toolset].join(',')}`,
    };
  }
  if (config.readOnly && !def.annotations.readOnlyHint) {
    return {
      allowed: false,
      cause: 'read_only',
      why: 'the server runs with --read-only, which offers only the tools that change nothing',
      restart: 'without --read-only',
    };
  }
  return { allowed: true };
}

/** What tools/list shows of an entry: no output schema (every call's output is checked against the full one in tool-call.ts) and no `execution` (no tool supports tasks). */
function listedTool(entry: ToolEntry): Tool {
  return {
    name: entry.name,
    title: entry.title,
    description: entry.description,
    inputSchema: entry.listedInput as Tool['inputSchema'],
    annotations: entry.annotations,
  };
}

/**
 * Serves tools/list and tools/call on the server from `entries`, in their order. Entries the
 * policy forbids are neither listed nor run: a call to one gets our refusal, audited.
 */
export function registerTools(server: McpServer, entries: readonly ToolEntry[], config: Config, deps: Deps): void {
  const offered = new Map<string, ToolEntry>();
  const hidden = new Map<string, ToolEntry>();
  for (const entry of entries) {
    assertConsistentAnnotations(entry);
    (toolPolicy(entry, config).allowed ? offered : hidden).set(entry.name, entry);
  }
  const tools = [...offered.values()].map(listedTool);
  server.server.registerCapabilities({ tools: { listChanged: false } });
  server.server.setRequestHandler('tools/list', () => ({ tools }));
  server.server.setRequestHandler('tools/call', async (request, ctx) => {
    const { name, arguments: args } = request.params;
    const entry = offered.get(name) ?? hidden.get(name);
    if (!entry) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${name}. Call tools/list for the tools this server offers.`);
    const { runToolCall } = await import('./tool-call.js');
    return runToolCall(entry, args, ctx, { config, deps, confirm: deps.createConfirm(elicitationSession(server, ctx)) });
  });
}

function assertConsistentAnnotations(tool: Pick<ToolDef, 'name' | 'annotations'>): void {
  if (tool.annotations.readOnlyHint && tool.annotations.destructiveHint) {
    throw new Error(`tool ${tool.name}: readOnlyHint and destructiveHint cannot both be true`);
  }
}
