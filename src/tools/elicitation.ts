import type { McpServer } from '@modelcontextprotocol/server';
import type { ElicitationSession } from '../safety/elicitation-session.js';

/** Adapts one MCP session's elicitation support to the SDK-free interface the gate uses. */
export function elicitationSession(server: McpServer): ElicitationSession {
  return {
    supportsFormElicitation() {
      const elicitation = server.server.getClientCapabilities()?.elicitation;
      if (!elicitation) return false;
      // An empty elicitation capability means form support (spec 2025-06-18); newer clients say form explicitly.
      return Object.keys(elicitation).length === 0 || 'form' in elicitation;
    },
    async elicit(message, requestedSchema, signal) {
      // The gate bounds the wait through `signal`; lift the SDK's 60 s default, humans take longer.
      const result = await server.server.elicitInput({ mode: 'form', message, requestedSchema } as never, { signal, timeout: 60 * 60_000 });
      return { action: result.action, content: (result.content ?? undefined) as Record<string, unknown> | undefined };
    },
  };
}
