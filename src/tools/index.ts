/** The tool registry: every tool the server offers, in tools/list order. */
import type { ToolDef } from './define-tool.js';

/** All tool definitions. Read-only and toolset filtering happen in define-tool.ts. */
export const ALL_TOOLS: readonly ToolDef[] = [];
