/**
 * Regenerates src/tools/listing.json: what tools/list shows of every tool (name, title,
 * description, toolset, annotations, the lean input schema of tools/listing-schema.ts) and the
 * module that defines it. The server lists from this file and imports a tool's module on its
 * first call (src/tools/catalog.ts).
 *   tsx tools/generate-listing.ts          rewrite src/tools/listing.json
 *   tsx tools/generate-listing.ts --check  exit 1 when it is stale (npm test)
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TOOL_MODULES, type ListedTool, type ToolModule } from '../src/tools/catalog.js';
import { inputSchema, type ToolDef } from '../src/tools/define-tool.js';
import { ALL_TOOLS } from '../src/tools/index.js';
import { writeOrCheck } from './generated-file.js';
import { listedInputJsonSchema } from './listing-schema.js';

const LISTING = fileURLToPath(new URL('../src/tools/listing.json', import.meta.url));

/** Which TOOL_MODULES key defines each tool; fails unless the modules define exactly ALL_TOOLS. */
async function modulesByTool(): Promise<Map<ToolDef, ToolModule>> {
  const found = new Map<ToolDef, ToolModule>();
  for (const [module, load] of Object.entries(TOOL_MODULES) as Array<[ToolModule, () => Promise<readonly ToolDef[]>]>) {
    for (const def of await load()) {
      if (!ALL_TOOLS.includes(def)) throw new Error(`${def.name} (module ${module}) is missing from ALL_TOOLS in src/tools/index.ts`);
      if (found.has(def)) throw new Error(`${def.name} is exported by both ${found.get(def)} and ${module}`);
      found.set(def, module);
    }
  }
  const orphan = ALL_TOOLS.find((def) => !found.has(def));
  if (orphan) throw new Error(`${orphan.name} is in ALL_TOOLS but no entry of TOOL_MODULES (src/tools/catalog.ts) exports it`);
  return found;
}

const modules = await modulesByTool();
const listing: ListedTool[] = ALL_TOOLS.map((def) => ({
  name: def.name,
  title: def.title,
  description: def.description,
  toolset: def.toolset,
  annotations: def.annotations,
  module: modules.get(def)!,
  inputSchema: listedInputJsonSchema(inputSchema(def)),
}));
const next = `${JSON.stringify(listing, null, 2)}\n`;
let current = '';
try {
  current = readFileSync(LISTING, 'utf8');
} catch {
  // first run: nothing to compare with
}

writeOrCheck(LISTING, 'src/tools/listing.json', current, next, 'it differs from the tool definitions');
