// PLACEHOLDER: replaced by the skill resources implementation.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Deps } from '../deps.js';

export function registerResources(_server: McpServer, _deps: Deps): void {}
