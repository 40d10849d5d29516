// PLACEHOLDER: replaced by the prompts implementation.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Deps } from '../deps.js';

export function registerPrompts(_server: McpServer, _deps: Deps): void {}
