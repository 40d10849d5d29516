import {
  CLIENT_CAPABILITIES_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  inputResponse,
  type ClientCapabilities,
  type McpServer,
  type ServerContext,
} from '@modelcontextprotocol/server';
import type { ElicitationSession, RoundTripReply } from '../safety/elicitation-session.js';

/** The key of the confirmation form in a 2026-07-28 `inputRequests` / `inputResponses`. */
export const CONFIRM_INPUT_KEY = 'confirm';

/** An empty elicitation capability means form support (spec 2025-06-18); newer clients say form explicitly. */
function supportsForms(capabilities: ClientCapabilities | undefined): boolean {
  const elicitation = capabilities?.elicitation;
  if (!elicitation) return false;
  return Object.keys(elicitation).length === 0 || 'form' in elicitation;
}

/** What a retried 2026-07-28 call carried back: the raw requestState and the form's answer. */
function roundTripReply(ctx: ServerContext): RoundTripReply {
  const state = ctx.mcpReq.requestState();
  const view = inputResponse(ctx.mcpReq.inputResponses, CONFIRM_INPUT_KEY);
  return {
    ...(typeof state === 'string' ? { requestState: state } : {}),
    ...(view.kind === 'elicit' ? { answer: { action: view.action, ...(view.content ? { content: view.content } : {}) } } : {}),
  };
}

/**
 * Adapts how one tool call reaches its human to the SDK-free interface the gate uses. A
 * 2026-07-28 request (per-request `_meta` envelope) declares its capabilities itself and gets
 * forms back as `input_required`; a legacy session pushes `elicitation/create` and waits.
 */
export function elicitationSession(server: McpServer, ctx: ServerContext): ElicitationSession {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  if (envelope?.[PROTOCOL_VERSION_META_KEY] !== undefined) {
    return {
      supportsFormElicitation: () => supportsForms(envelope[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined),
      elicit: () => Promise.reject(new Error('a 2026-07-28 request cannot push a form; it is returned as input_required')),
      roundTrip: roundTripReply(ctx),
    };
  }
  return {
    supportsFormElicitation: () => supportsForms(server.server.getClientCapabilities()),
    async elicit(message, requestedSchema, signal) {
      // The gate bounds the wait through `signal`; lift the SDK's 60 s default, humans take longer.
      const result = await server.server.elicitInput({ mode: 'form', message, requestedSchema } as never, { signal, timeout: 60 * 60_000 });
      return { action: result.action, content: (result.content ?? undefined) as Record<string, unknown> | undefined };
    },
  };
}
