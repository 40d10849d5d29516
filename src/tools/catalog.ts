/**
 * The tools the server offers, as tools/list shows them, from src/tools/listing.json (generated
 * from the definitions by tools/generate-listing.ts; npm test fails when it is stale). A tool's
 * module is imported on its first call: start-up neither compiles nor runs the tool modules.
 */
import type { Toolset } from '../config.js';
import type { ToolAnnotations, ToolDef, ToolEntry } from './define-tool.js';
import LISTING from './listing.json' with { type: 'json' };

/** The modules that define tools, by the key listing.json records for each tool. */
export const TOOL_MODULES = {
  'cmek-read': () => import('./cmek-read.js').then((m) => m.CMEK_READ_TOOLS),
  'cmek-write': () => import('./cmek-write.js').then((m) => m.CMEK_WRITE_TOOLS),
  kms: () => import('./kms.js').then((m) => m.KMS_TOOLS),
  certs: () => import('./certs.js').then((m) => m.CERT_TOOLS),
  sql: () => import('./sql.js').then((m) => m.SQL_TOOLS),
  audit: () => import('./audit.js').then((m) => m.AUDIT_TOOLS),
  'audit-log': () => import('./audit-log.js').then((m) => m.AUDIT_LOG_TOOLS),
} satisfies Record<string, () => Promise<readonly ToolDef[]>>;

export type ToolModule = keyof typeof TOOL_MODULES;

/** One tool in listing.json. */
export interface ListedTool {
  name: string;
  title: string;
  description: string;
  toolset: Toolset;
  annotations: ToolAnnotations;
  module: ToolModule;
  inputSchema: Record<string, unknown>;
}

async function loadTool(module: ToolModule, name: string): Promise<ToolDef> {
  const def = (await TOOL_MODULES[module]()).find((candidate) => candidate.name === name);
  if (!def) throw new Error(`module ${module} does not define ${name} (src/tools/listing.json is stale: run npm run generate)`);
  return def;
}

/** Every tool, in tools/list order. */
export const TOOL_CATALOG: readonly ToolEntry[] = (LISTING as unknown as ListedTool[]).map(({ module, inputSchema, ...listed }) => ({
  ...listed,
  listedInput: inputSchema,
  load: () => loadTool(module, listed.name),
}));
