/**
 * createServer: one McpServer per connection, wired to the shared dependencies. Wiring only.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { jsonSchemaValidator as JsonSchemaValidatorProvider } from '@modelcontextprotocol/sdk/validation/types.js';
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
 * The SDK's JSON Schema validator (Ajv), created on first use: only elicitation answers need it,
 * and building Ajv costs every start-up a few milliseconds.
 */
function lazyJsonSchemaValidator(): JsonSchemaValidatorProvider {
  let ajv: AjvJsonSchemaValidator | undefined;
  return { getValidator: (schema) => (ajv ??= new AjvJsonSchemaValidator()).getValidator(schema) };
}

/** Builds the MCP server for one connection. */
export function createServer(config: Config, deps: Deps): McpServer {
  const restrictions = [
    config.readOnly ? 'This server runs with --read-only: tools that change state are disabled.' : '',
    config.toolsets.length < TOOLSETS.length ? `Only these toolsets are enabled: ${config.toolsets.join(', ')}.` : '',
  ].filter(Boolean);
  const server = new McpServer(SERVER_INFO, {
    instructions: [INSTRUCTIONS, ...restrictions].join('\n'),
    capabilities: { logging: {}, completions: {} },
    jsonSchemaValidator: lazyJsonSchemaValidator(),
  });
  registerTools(server, TOOL_CATALOG, config, deps);
  registerPrompts(server, deps);
  registerResources(server, deps);
  return server;
}
