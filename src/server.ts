/**
 * createServer: one McpServer per serving unit (a stdio connection, a legacy HTTP session or one
 * modern HTTP request), wired to the shared dependencies. Wiring only.
 */
import { McpServer, type CacheHint } from '@modelcontextprotocol/server';
import { TOOLSETS, type Config } from './config.js';
import type { Deps } from './deps.js';
import { registerPrompts } from './prompts/index.js';
import { registerResources } from './resources/index.js';
import { registerTools } from './tools/define-tool.js';
import { TOOL_CATALOG } from './tools/catalog.js';
import { SERVER_INFO } from './version.js';

const INSTRUCTIONS = `Manages CockroachDB data-at-rest encryption under the operator's own keys (CMEK on CockroachDB Cloud with AWS KMS, GCP Cloud KMS or Azure Key Vault) and TLS certificates of self-hosted clusters.
Start with the gather_encryption_context prompt or list_clusters. Read tools first; every write tool supports dry_run. Destructive tools (revoke_cmek, delete_kms_key) need explicit human confirmation. Never disable or delete an old key until a rotation is complete and verified.`;

/**
 * Caching hints for modern (2026-07-28) list results. The lists are fixed for the life of the
 * process and the same for every caller; skill files change only with a new release.
 */
const STATIC_FOR_AN_HOUR: CacheHint = { ttlMs: 60 * 60_000, cacheScope: 'public' };
const CACHE_HINTS = {
  'server/discover': STATIC_FOR_AN_HOUR,
  'tools/list': STATIC_FOR_AN_HOUR,
  'prompts/list': STATIC_FOR_AN_HOUR,
  'resources/list': STATIC_FOR_AN_HOUR,
  'resources/templates/list': STATIC_FOR_AN_HOUR,
  'resources/read': STATIC_FOR_AN_HOUR,
} as const;

/** Builds the MCP server for one serving unit; the factory both eras and both transports share. */
export function createServer(config: Config, deps: Deps): McpServer {
  const restrictions = [
    config.readOnly ? 'This server runs with --read-only: tools that change state are not offered.' : '',
    config.toolsets.length < TOOLSETS.length ? `Only these toolsets are enabled: ${config.toolsets.join(', ')}.` : '',
  ].filter(Boolean);
  const server = new McpServer(SERVER_INFO, {
    instructions: [INSTRUCTIONS, ...restrictions].join('\n'),
    capabilities: { logging: {}, completions: {}, prompts: { listChanged: false }, resources: { listChanged: false } },
    cacheHints: CACHE_HINTS,
  });
  registerTools(server, TOOL_CATALOG, config, deps);
  registerPrompts(server, deps);
  registerResources(server, deps);
  return server;
}
