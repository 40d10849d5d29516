/**
 * Test-only tools behind the real confirmation gate and audit log, registered with the real
 * registry (registerTools) on a fresh McpServer, driven by a real MCP Client. The destructive tool
 * counts its "upstream" calls, so a test can prove nothing ran.
 */
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { McpServer } from '@modelcontextprotocol/server';
import type { ClientCapabilities, ElicitRequest, ElicitResult } from '@modelcontextprotocol/client';
import { z } from 'zod';
import { buildConfig, type Config } from '../../src/config.js';
import { createDeps, type Deps, type DepsOverrides } from '../../src/deps.js';
import { OperatorError } from '../../src/errors.js';
import { requireConfirmation } from '../../src/safety/require-confirmation.js';
import type { AuditEntry } from '../../src/safety/types.js';
import { defineTool, registerTools, toolEntry, type ToolDef } from '../../src/tools/define-tool.js';
import { auditEntries, connectClient, tempDir } from '../helpers/harness.js';

/** The fake upstream the destructive tool "calls". */
export interface Upstream {
  calls: number;
  /** What the gate binds a token to; change it to make a plan stale. */
  state: Record<string, unknown>;
  /** When set, the upstream call fails with this message (after confirmation). */
  failWith?: string;
}

export const DESCRIPTION = 'widget w-prod (id 3b1f) in region us-east-1';
export const CONSEQUENCES = ['Data encrypted under the widget becomes unreadable.', 'Backups stop.'];
export const REVERSIBILITY = 'Irreversible after 7 days; cancel before then with restore_widget.';

/** A destructive tool: confirmation first, then one upstream call. */
export function destroyWidgetTool(upstream: Upstream, name = 'destroy_widget'): ToolDef {
  return defineTool({
    name,
    title: 'Destroy widget',
    description: 'Test-only destructive tool.',
    toolset: 'kms',
    input: () =>
      z.object({
        widget: z.string().describe('Widget name.'),
        force: z.boolean().default(false).describe('Force.'),
        dry_run: z.boolean().default(false).describe('Plan only.'),
        confirmation_token: z.string().optional().describe('Token.'),
      }),
    output: () => z.object({ destroyed: z.string() }),
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    target: (args) => args.widget,
    async run(args, ctx) {
      if (args.dry_run) return { data: { destroyed: '' }, text: 'Dry run.\nNext: run without dry_run.', auditOutcome: 'dry_run' };
      const { confirmation_token: token, ...params } = args;
      await requireConfirmation(ctx.confirm, {
        tool: name,
        targetName: args.widget,
        targetDescription: DESCRIPTION,
        action: `Destroy widget ${args.widget}.`,
        consequences: CONSEQUENCES,
        reversibility: REVERSIBILITY,
        params,
        targetState: upstream.state,
        ...(token ? { token } : {}),
      });
      upstream.calls += 1;
      if (upstream.failWith) throw new OperatorError('Upstream failed', upstream.failWith, 'retry later.');
      ctx.noteRequestId('req-123');
      return { data: { destroyed: args.widget }, text: `Destroyed ${args.widget}.\nNext: nothing.` };
    },
  }) as unknown as ToolDef;
}

export interface GatedServerOptions {
  config?: Partial<Config>;
  deps?: DepsOverrides;
  /** Tools to register (default: destroy_widget wired to `upstream`). */
  tools?: ToolDef[];
  upstream?: Upstream;
  onElicit?: (request: ElicitRequest['params']) => Promise<ElicitResult> | ElicitResult;
  capabilities?: ClientCapabilities;
}

export interface GatedServer {
  client: Client;
  deps: Deps;
  config: Config;
  upstream: Upstream;
  /** Audit entries written so far (file store). */
  auditEntries(): AuditEntry[];
  close(): Promise<void>;
}

/** A fresh server with the given tools (default: destroy_widget) and a connected client. */
export async function startGatedServer(options: GatedServerOptions = {}): Promise<GatedServer> {
  const upstream: Upstream = options.upstream ?? { calls: 0, state: { status: 'ENABLED', version: 1 } };
  const config = buildConfig({ auditLog: join(tempDir(), 'audit.jsonl'), ...options.config });
  const deps = await createDeps(config, undefined, options.deps);
  const server = new McpServer({ name: 'gated-test', version: '0.0.0' }, { capabilities: { logging: {} } });
  registerTools(server, (options.tools ?? [destroyWidgetTool(upstream)]).map(toolEntry), config, deps);
  const client = await connectClient(server, options);
  return {
    client,
    deps,
    config,
    upstream,
    auditEntries: () => auditEntries(config.auditLog),
    async close() {
      await client.close();
      await server.close();
      await deps.close();
    },
  };
}

/** Extracts the token from a token_issued answer. */
export function tokenFrom(text: string): string {
  const match = /confirmation_token: "([A-Za-z0-9_-]+)"/.exec(text);
  if (!match) throw new Error(`no token in: ${text}`);
  return match[1]!;
}
